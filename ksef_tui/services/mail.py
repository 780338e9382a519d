"""E-mail to the customer with the KSeF number of an accepted sales invoice (issue 10, part 4).

Blocking by design (files, lxml, the store, SMTP): call from thread workers, never on the event loop.

The way of a message:

1. **Queued** (:func:`queue_after_acceptance` from the send pipeline when the profile's automatic mail is on,
   :func:`queue_invoices` by hand). The recipient is the customer's address from the customer book (by the
   invoice's buyer id), else the buyer's e-mail in the invoice XML (``Podmiot2/DaneKontaktowe/Email``); without
   either the invoice is not mailed. The language is the customer's (``pl``/``en``); without a customer in the
   book, Polish for a Polish NIP or no id, English for an EU or foreign buyer. The message (the text template
   of that language with the invoice number, KSeF number, issue date, gross and the KOD I link, and MF's HTML
   visualisation attached) is built **once**, its ``.eml`` flushed to disk, then named by the outbox
   (``store.outbox``) as ``pending``; the sale's mail state becomes ``pending``.
2. **Delivered** (:func:`deliver_pending`, :func:`deliver`). Each message is marked ``sending`` (written)
   before its SMTP transaction and ``sent`` after the server's ``250`` to the message; a failure marks it
   ``failed`` with the error and keeps it. The sale's mail state follows (``sent``/``failed``).

**Exactly once: what is honest.** SMTP cannot promise it: if the connection is lost after the message's last
byte went out but before the server's answer came back, the server may or may not have taken it. So:

* a failure *before* the end of the message went out (no connection, TLS, login, a refused sender or
  recipient, a refused ``DATA``, a connection lost while the message was being written) or a server's refusal
  of the message is certain: the message was **not** delivered. A ``4xx`` or a network failure is
  ``temporary`` (retried by every :func:`deliver_pending`); a ``5xx`` is ``permanent`` (retried only when the
  invoice is named, :func:`deliver` with ``numbers``: after the address was corrected, the message is rebuilt
  for the new address by :func:`queue_invoices`, which is safe because nothing was delivered);
* no answer after the message's end, and a message found ``sending`` when a delivery starts (the program
  stopped during a transaction), are ``uncertain``: the message **may** have been delivered. It is never
  sent again automatically; naming it with ``force=True`` (``ksef-tui mail --invoice N --force``) sends the
  very same bytes with the same ``Message-ID``, so a recipient's mail program can recognise the repeat.

A message ``sent`` is never sent again. Within one process, deliveries from one outbox take turns
(``Outbox.delivery_lock``), so a message ``sending`` seen by a delivery is always a leftover, never another
thread's transaction; other processes cannot write the store at all (its single-writer lock).

**Transports.** SMTP (the stdlib's ``smtplib``): ``starttls`` (refused if the server does not offer it, never
downgraded), ``ssl`` (TLS from the first byte) or ``none`` (a relay on this machine: a password is never sent
in clear to another host), certificates checked against the system's CAs; one connection per delivery run.
The file transport (the sandbox) writes each message as ``<sha256>.eml`` into its directory: nothing leaves the
machine, and the same message written twice is the same file.

**Secrets.** The SMTP password comes from the vault (``Vault.get_mail_password``) and is passed in; it is never
written to a file of ours, the outbox, an error text or a log (server replies are scrubbed of it).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

from ksef_tui.domain.booking import WARSAW
from ksef_tui.domain.money import format_amount
from ksef_tui.domain.profile import MailSecurity, MailSettings, MailTransport, Profile
from ksef_tui.errors import Category, PathError, UserError, os_reason
from ksef_tui.i18n import CATALOGS, t
from ksef_tui.store.atomic import atomic_write
from ksef_tui.store.customers import CustomerBook
from ksef_tui.store.db import Store, StoreCorrupt
from ksef_tui.store.outbox import Failure, Outbox, OutboxMessage, OutboxState
from ksef_tui.store.sales import MailState, Sale, SaleRecord, SalesRepository, SendState

if TYPE_CHECKING:
    from ksef_tui.domain.customer import Customer
    from ksef_tui.fa.parse import ParsedInvoice, Party
    from ksef_tui.store.profiles import ProfileRepository
    from ksef_tui.vault import Vault

PURPOSE = "ksef-number"
SMTP_TIMEOUT = 60.0
"""Seconds for each SMTP step (connecting, each reply); no answer to the message itself is ``uncertain``."""
DEFAULT_PORTS = {MailSecurity.STARTTLS: 587, MailSecurity.SSL: 465, MailSecurity.NONE: 25}

Clock = Callable[[], datetime]

_ADDRESS = re.compile(r"[^@\s,;<>\"()\[\]\\]{1,64}@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\]+")
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z._-]+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029]+")


def _now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------------- errors


class MailNotConfigured(UserError):
    key = "mail.not_configured"
    category = Category.CONFIG


class MailPasswordMissing(UserError):
    key = "mail.password_missing"
    category = Category.CONFIG


class BadMailSetting(UserError):
    category = Category.INPUT


class NotMailable(UserError):
    """This invoice's mail cannot be sent (unknown, not accepted, no address): the reason in the user's words."""

    category = Category.INPUT


class DeliveryFailed(Exception):
    """A transport's failure: ``reason`` in the user's words (never a secret); ``failure`` says whether the
    message may have been delivered; ``connection`` that the server cannot be used for the rest of the run."""

    def __init__(self, reason: str, failure: Failure = Failure.TEMPORARY, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failure = failure
        self.connection = connection


# --------------------------------------------------------------------------------------------- settings


def is_address(text: str) -> bool:
    """One plain ASCII address (``a@b.pl``): SMTP without SMTPUTF8 carries nothing else."""
    return text.isascii() and bool(_ADDRESS.fullmatch(text))


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_settings(settings: MailSettings) -> MailSettings:
    """The settings if they can send mail, else :class:`BadMailSetting` naming the first problem."""
    address = parseaddr(settings.sender)[1]
    if not settings.sender or _CONTROLS.search(settings.sender) or not is_address(address):
        raise BadMailSetting("mail.bad_sender", value=_clean(settings.sender))
    if settings.transport is MailTransport.FILE:
        if not settings.file_dir:
            raise BadMailSetting("mail.no_dir")
        return settings
    if not settings.host or any(c.isspace() or c in "/@" for c in settings.host) or _CONTROLS.search(settings.host):
        raise BadMailSetting("mail.bad_host", value=_clean(settings.host))
    if not 0 < settings.port < 65536:
        raise BadMailSetting("mail.bad_port", value=settings.port)
    if _CONTROLS.search(settings.username):
        raise BadMailSetting("mail.bad_user")
    if settings.security is MailSecurity.NONE and settings.username and not _is_loopback(settings.host):
        raise BadMailSetting("mail.cleartext_login", host=settings.host)
    return settings


def password_needed(settings: MailSettings) -> bool:
    """Whether sending asks the vault for a password (SMTP with a user name)."""
    return settings.transport is MailTransport.SMTP and bool(settings.username)


def stored_password(vault: Vault, profile: Profile) -> str | None:
    """The profile's SMTP password from the vault, or ``None`` when its mail needs none (or none is stored)."""
    if not password_needed(profile.mail):
        return None
    return vault.get_mail_password(profile.vault_environment, profile.name)


def save_settings(
    profiles: ProfileRepository,
    vault: Vault | None,
    profile: Profile,
    settings: MailSettings,
    *,
    password: str | None = None,
    forget_password: bool = False,
) -> Profile:
    """Check and keep a profile's mail settings; the password (if given) goes to the vault first, so a vault
    failure leaves the profile as it was. Returns the profile as saved."""
    check_settings(settings)
    if password is not None or forget_password:
        if vault is None:
            raise ValueError("save_settings: a password change needs the vault")
        if password is None:
            vault.delete_mail_password(profile.vault_environment, profile.name)
        elif not password:
            raise BadMailSetting("mail.password_empty")
        else:
            vault.set_mail_password(profile.vault_environment, profile.name, password)
    updated = replace(profile, mail=settings)
    profiles.add(updated, replace=True)
    return updated


# ---------------------------------------------------------------------------------------- the message


def message_key(number: str) -> str:
    """The outbox id of an invoice's KSeF-number mail: one per invoice."""
    return f"{number}#{PURPOSE}"


def _template(language: str, key: str, **values: object) -> str:
    """A text in the customer's language (not the session's): the catalogs hold the mail templates too."""
    return CATALOGS[language][key].format(**values)


def _clean(text: str) -> str:
    return " ".join(_CONTROLS.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    name: str
    language: str
    source: str  # "customers" | "invoice"


def _customer_of(book: CustomerBook, record: SaleRecord) -> Customer | None:
    kind, ident = record.customer_id_type, record.customer_id
    if kind in ("nip", "eu") and ident:
        return book.get(f"{kind}:{ident}")
    if kind == "other" and ident:
        return next((c for c in book.all() if c.key.startswith("other:") and c.tax_id == ident), None)
    return None


def find_recipient(store: Store, record: SaleRecord, buyer: Party) -> Recipient | None:
    """Who gets the invoice's mail: the customer book's address, else the invoice's own; ``None`` if neither.
    An address that is not one (a list, a stray character) is :class:`NotMailable`."""
    customer = _customer_of(CustomerBook.of(store), record)
    if customer is not None and customer.email:
        address, source = customer.email, "customers"
    elif buyer.email:
        address, source = buyer.email.strip(), "invoice"
    else:
        return None
    if not is_address(address):
        raise NotMailable("mail.bad_address", number=record.number, value=_clean(address))
    if customer is not None:
        language = customer.language
    else:
        language = "pl" if record.customer_id_type in ("nip", "none") else "en"
    name = _clean(customer.name if customer is not None else (buyer.name or record.customer_name))
    return Recipient(address, name, language if language in CATALOGS else "pl", source)


def _gross(value: Decimal, currency: str, language: str) -> str:
    amount = format_amount(value, decimal_comma=language == "pl")
    unit = "zł" if language == "pl" and currency == "PLN" else currency
    return f"{amount} {unit}"


def _issue_date(record: SaleRecord, language: str) -> str:
    return f"{record.issue_date:%d.%m.%Y}" if language == "pl" else record.issue_date.isoformat()


def build_message(
    *,
    sender: str,
    recipient: Recipient,
    subject: str,
    body: str,
    attachment: tuple[str, str],
    message_id: str,
    moment: datetime,
) -> bytes:
    """The ``.eml``: text in UTF-8 (quoted-printable), headers encoded per RFC 2047, the attachment (name, HTML)
    in base64, CRLF line ends: 7-bit clean for any SMTP server."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    local, _, domain = recipient.address.rpartition("@")
    message["To"] = Address(display_name=recipient.name, username=local, domain=domain)
    message["Subject"] = subject
    message["Date"] = format_datetime(moment.astimezone(WARSAW))
    message["Message-ID"] = message_id
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    name, html = attachment
    message.add_attachment(html, subtype="html", charset="utf-8", cte="base64", filename=name)
    return message.as_bytes()


@dataclass(frozen=True, slots=True)
class Invoice:
    """An accepted invoice with what its mail needs: the exact XML bytes sent to KSeF and their parse."""

    sale: Sale
    xml: bytes
    parsed: ParsedInvoice

    @property
    def ksef_number(self) -> str:
        number = self.sale.status.ksef_number
        assert number is not None
        return number


def load_invoice(store: Store, sale: Sale) -> Invoice:
    """The invoice's XML as the register keeps it (checked against its digest) and parsed."""
    from ksef_tui.fa.parse import parse_invoice
    from ksef_tui.services.sales import sales_xml_root

    record = sale.record
    path = sales_xml_root(store.path) / record.xml_path
    try:
        xml = path.read_bytes()
    except OSError as exc:
        raise PathError(path, exc, category=Category.CONFIG) from None
    if hashlib.sha256(xml).hexdigest() != record.xml_sha256:
        raise StoreCorrupt(path, f"{record.number}: the file differs from the invoice in the register (SHA-256)")
    return Invoice(sale, xml, parse_invoice(xml))


def compose(
    profile: Profile, invoice: Invoice, recipient: Recipient, message_id: str, moment: datetime
) -> tuple[str, bytes]:
    """The message of ``invoice`` for ``recipient`` in their language: its subject and its ``.eml``."""
    from ksef_tui.fa.qr import kod1_url
    from ksef_tui.fa.render import render_html

    record, language = invoice.sale.record, recipient.language
    seller_nip = invoice.parsed.seller.id or profile.nip
    link = kod1_url(profile.qr_environment, seller_nip, record.issue_date, invoice.xml)
    values = {
        "number": _clean(record.number),
        "ksef_number": invoice.ksef_number,
        "issue_date": _issue_date(record, language),
        "gross": _gross(record.gross, record.currency, language),
        "kod1": link,
        "seller": _clean(invoice.parsed.seller.name or profile.name),
    }
    html = render_html(invoice.xml, ksef_number=invoice.ksef_number, qr_url=link)
    attachment = _template(language, "mail.attachment", number=_UNSAFE_NAME.sub("_", record.number).strip("_"))
    subject = _template(language, "mail.subject", **values)
    data = build_message(
        sender=profile.mail.sender,
        recipient=recipient,
        subject=subject,
        body=_template(language, "mail.body", **values),
        attachment=(attachment, html),
        message_id=message_id,
        moment=moment,
    )
    return subject, data


def _new_message_id(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "ksef-tui.invalid"
    return make_msgid(idstring="ksef-tui", domain=domain)


# ---------------------------------------------------------------------------------------------- queueing


def _accepted(sale: Sale) -> bool:
    return sale.status.state is SendState.ACCEPTED and bool(sale.status.ksef_number)


def _set_sale_mail(store: Store, numbers: Iterable[str], state: MailState, moment: datetime) -> None:
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return
    SalesRepository(store).update_statuses(
        wanted,
        lambda sale: None if sale.status.mail is state else replace(sale.status, mail=state, updated_at=moment),
    )


def _outbox_message(
    outbox: Outbox,
    profile: Profile,
    invoice: Invoice,
    recipient: Recipient,
    moment: datetime,
    *,
    previous: OutboxMessage | None = None,
) -> OutboxMessage:
    """Build the message's ``.eml`` and write it (flushed); the outbox entry naming it is the caller's to put.
    A rebuild (``previous``: never delivered) keeps the id, the ``Message-ID`` and the attempts."""
    number = invoice.sale.record.number
    message_id = previous.message_id if previous is not None else _new_message_id(profile.mail.sender)
    subject, data = compose(profile, invoice, recipient, message_id, moment)
    name, digest = outbox.write_eml(message_key(number), data)
    return OutboxMessage(
        id=message_key(number),
        invoice_number=number,
        purpose=PURPOSE,
        recipient=recipient.address,
        language=recipient.language,
        subject=subject,
        message_id=message_id,
        eml=name,
        eml_sha256=digest,
        state=OutboxState.PENDING,
        created_at=previous.created_at if previous is not None else moment,
        updated_at=moment,
        attempts=previous.attempts if previous is not None else 0,
    )


def queue_after_acceptance(store: Store, profile: Profile, numbers: Sequence[str], *, clock: Clock = _now) -> int:
    """Queue (not send) the KSeF-number mail of each accepted invoice of ``numbers`` whose customer has an
    address, when the profile's automatic mail is on; the sale's mail state becomes ``pending``. An invoice
    already in the outbox is left alone (one message per invoice, however often this runs). An invoice whose
    mail cannot be built (its XML unreadable, a malformed address) gets the mail state ``failed`` and does not
    stop the others: ``ksef-tui mail --invoice N`` says why. Returns how many were queued."""
    if not (profile.mail.auto and profile.mail.configured):
        return 0
    outbox, repo = Outbox.of(store), SalesRepository(store)
    queued: list[OutboxMessage] = []
    failed: list[str] = []
    for number in dict.fromkeys(numbers):
        if outbox.get(message_key(number)) is not None:
            continue
        sale = repo.get(number)
        if sale is None or not _accepted(sale):
            continue
        moment = clock()
        try:
            invoice = load_invoice(store, sale)
            recipient = find_recipient(store, sale.record, invoice.parsed.buyer)
            if recipient is None:
                continue
            message = _outbox_message(outbox, profile, invoice, recipient, moment)
        except (NotMailable, StoreCorrupt, PathError, ValueError):  # FaError (parse, render, KOD I) is a ValueError
            failed.append(number)
            continue
        queued.append(message)
    outbox.put(*queued)
    moment = clock()
    _set_sale_mail(store, (m.invoice_number for m in queued), MailState.PENDING, moment)
    _set_sale_mail(store, failed, MailState.FAILED, moment)
    return len(queued)


@dataclass(frozen=True, slots=True)
class QueueResult:
    to_send: list[str] = field(default_factory=list)  # numbers whose message is in the outbox, not sent yet
    already_sent: list[OutboxMessage] = field(default_factory=list)
    refused: list[tuple[str, UserError]] = field(default_factory=list)


def queue_invoices(store: Store, profile: Profile, numbers: Sequence[str], *, clock: Clock = _now) -> QueueResult:
    """Put the named invoices' mail in the outbox (by hand: automatic mail on or off). Each invoice on its own:
    unknown, not accepted or without an address is refused with the reason; a message already sent is left
    alone; one not delivered yet keeps its bytes, unless the customer's address changed since (or its file was
    lost), then it is built again for the new address (safe: nothing was delivered). An ``uncertain`` message is
    listed to send: whether it goes is :func:`deliver`'s ``force``."""
    if not profile.mail.configured:
        raise MailNotConfigured(profile=profile.name)
    outbox, repo = Outbox.of(store), SalesRepository(store)
    result = QueueResult()
    queued: list[str] = []  # new or rebuilt: the sale's mail state becomes pending
    for number in dict.fromkeys(numbers):
        sale = repo.get(number)
        if sale is None:
            result.refused.append((number, NotMailable("mail.unknown_invoice", number=number)))
            continue
        if not _accepted(sale):
            state = t(f"sale.state.{sale.status.state.value}")
            result.refused.append((number, NotMailable("mail.not_accepted", number=number, state=state)))
            continue
        existing = outbox.get(message_key(number))
        if existing is not None and existing.state is OutboxState.SENT:
            result.already_sent.append(existing)
            continue
        if existing is not None and (existing.state is OutboxState.SENDING or existing.failure is Failure.UNCERTAIN):
            result.to_send.append(number)
            continue
        try:
            invoice = load_invoice(store, sale)
            recipient = find_recipient(store, sale.record, invoice.parsed.buyer)
            if recipient is None:
                raise NotMailable("mail.no_recipient", number=number, customer=_clean(sale.record.customer_name))
            if existing is None:
                outbox.put(_outbox_message(outbox, profile, invoice, recipient, clock()))
                queued.append(number)
            elif _needs_rebuild(outbox, existing, recipient):
                with outbox.delivery_lock:  # never under a delivery that might be reading the old file
                    outbox.put(_outbox_message(outbox, profile, invoice, recipient, clock(), previous=existing))
                queued.append(number)
        except UserError as exc:
            result.refused.append((number, exc))
            continue
        result.to_send.append(number)
    _set_sale_mail(store, queued, MailState.PENDING, clock())
    return result


def _needs_rebuild(outbox: Outbox, message: OutboxMessage, recipient: Recipient) -> bool:
    if (message.recipient, message.language) != (recipient.address, recipient.language):
        return True
    try:
        outbox.read_eml(message)
    except StoreCorrupt:
        return True
    return False


# --------------------------------------------------------------------------------------------- transports


class Transport(Protocol):
    """Hands one message over; raises :class:`DeliveryFailed`. ``close`` ends the connection, if any: a transport
    given to :func:`deliver` is the caller's to close (``with SmtpTransport(...) as transport``)."""

    def send(self, sender: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


def _dot_stuffed(data: bytes) -> bytes:
    """The message as the DATA phase carries it: CRLF line ends, a leading dot doubled, ``.`` CRLF at the end."""
    lines = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    lines = re.sub(rb"(?m)^\.", b"..", lines)
    if not lines.endswith(b"\r\n"):
        lines += b"\r\n"
    return lines + b".\r\n"


class SmtpTransport:
    """SMTP with ``smtplib``: one connection for a run of messages, opened on the first one."""

    def __init__(
        self,
        settings: MailSettings,
        password: str | None,
        *,
        timeout: float = SMTP_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context``: the certificates to trust (the system's by default; tests pass their own CA)."""
        from ksef_tui.vault.redact import Redacted

        check_settings(settings)
        if password_needed(settings) and not password:
            raise MailPasswordMissing(user=settings.username, host=settings.host)
        self.settings = settings
        self._password = Redacted(password) if password else None
        self._timeout = timeout
        self._context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def _reason(self, key: str, detail: str = "") -> str:
        from ksef_tui.vault.redact import scrub

        where = f"{self.settings.host}:{self.settings.port}"
        return scrub(t(key, server=where, user=self.settings.username, detail=detail), (self._password or "",))

    @staticmethod
    def _detail(exc: BaseException) -> str:
        if isinstance(exc, smtplib.SMTPResponseException):
            return _reply(exc.smtp_code, exc.smtp_error)
        if isinstance(exc, OSError) and exc.errno is not None and not isinstance(exc, ssl.SSLError):
            return os_reason(exc)
        return f"{type(exc).__name__}: {exc}".rstrip(": ")

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        settings = self.settings
        context = self._context or ssl.create_default_context()
        local = socket.gethostname() or "localhost"
        try:
            if settings.security is MailSecurity.SSL:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, local, timeout=self._timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, local, timeout=self._timeout)
        except ssl.SSLError as exc:
            raise DeliveryFailed(self._reason("mail.err.tls", self._detail(exc)), connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(self._reason("mail.err.connect", self._detail(exc)), connection=True) from None
        try:
            self._greet(smtp, context)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _greet(self, smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
        settings = self.settings
        try:
            smtp.ehlo()
            if settings.security is MailSecurity.STARTTLS:
                if not smtp.has_extn("starttls"):
                    raise DeliveryFailed(self._reason("mail.err.no_starttls"), connection=True)
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                self._login(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(self._reason("mail.err.login", self._detail(exc)), connection=True) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryFailed(self._reason("mail.err.no_auth"), connection=True) from None
        except ssl.SSLError as exc:
            raise DeliveryFailed(self._reason("mail.err.tls", self._detail(exc)), connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(self._reason("mail.err.connect", self._detail(exc)), connection=True) from None

    def _login(self, smtp: smtplib.SMTP) -> None:
        """AUTH PLAIN or LOGIN with the credentials in UTF-8 (RFC 4616): ``smtplib.login`` sends ASCII only, and
        a Polish password may well have a "ł". Other mechanisms go through ``smtplib`` (ASCII passwords)."""
        user, password = self.settings.username, self._password or ""
        if not smtp.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("AUTH")
        offered = smtp.esmtp_features.get("auth", "").upper().split()

        def b64(data: str) -> str:
            return base64.b64encode(data.encode("utf-8")).decode("ascii")

        if "PLAIN" in offered:
            code, reply = smtp.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{password}"))
        elif "LOGIN" in offered:
            code, reply = smtp.docmd("AUTH", "LOGIN " + b64(user))
            if code == 334:
                code, reply = smtp.docmd(b64(password))
        else:
            smtp.login(user, password)
            return
        if code not in (235, 503):  # 503: already authenticated
            raise smtplib.SMTPAuthenticationError(code, reply)

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _refused(self, code: int, reply: bytes) -> DeliveryFailed:
        """The server said no (and the session goes on after a RSET)."""
        failure = Failure.PERMANENT if 500 <= code < 600 else Failure.TEMPORARY
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()
        return DeliveryFailed(self._reason("mail.err.refused", _reply(code, reply)), failure)

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        smtp = self._connect()
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                raise self._refused(code, reply)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise self._refused(code, reply)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise self._refused(code, reply)
            smtp.send(_dot_stuffed(data))  # an error here: the final "." never left, nothing was delivered
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryFailed(self._reason("mail.err.lost", self._detail(exc))) from None
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryFailed(self._reason("mail.err.no_answer", self._detail(exc)), Failure.UNCERTAIN) from None
        if code != 250:
            raise self._refused(code, reply)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {_clean(text)}"


class FileTransport:
    """The sandbox's transport: each message as ``<sha256 of its bytes>.eml`` in ``directory`` (atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        target = self.directory / f"{hashlib.sha256(data).hexdigest()[:32]}.eml"
        try:
            atomic_write(target, data, mode=0o600)
        except OSError as exc:
            reason = t("mail.err.file", path=exc.filename or target, detail=os_reason(exc))
            raise DeliveryFailed(reason, connection=True) from None

    def close(self) -> None:
        pass


def transport_for(profile: Profile, password: str | None) -> Transport:
    """The transport the profile's settings name (checked); :class:`MailNotConfigured` if they name none."""
    settings = profile.mail
    if not settings.configured:
        raise MailNotConfigured(profile=profile.name)
    if settings.transport is MailTransport.FILE:
        check_settings(settings)
        return FileTransport(Path(settings.file_dir))
    return SmtpTransport(settings, password)


# ----------------------------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What a delivery did: ``attempted`` (each message as it ended: ``sent`` or ``failed``, in order) and
    ``held``: failed messages not sent this time because only a named, explicit retry may (``permanent``) or
    only a forced one (``uncertain``)."""

    attempted: tuple[OutboxMessage, ...] = ()
    held: tuple[OutboxMessage, ...] = ()

    @property
    def sent(self) -> list[OutboxMessage]:
        return [m for m in self.attempted if m.state is OutboxState.SENT]

    @property
    def failed(self) -> list[OutboxMessage]:
        return [m for m in self.attempted if m.state is not OutboxState.SENT]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.held


def _due(message: OutboxMessage, *, named: bool, force: bool) -> bool | None:
    """Whether a delivery sends ``message``: ``True`` yes, ``False`` it is held (named or forced only),
    ``None`` nothing to do (sent)."""
    if message.state is OutboxState.PENDING:
        return True
    if message.state is OutboxState.SENT:
        return None
    failure = Failure.UNCERTAIN if message.state is OutboxState.SENDING else (message.failure or Failure.TEMPORARY)
    if failure is Failure.TEMPORARY:
        return True
    if failure is Failure.PERMANENT:
        return named
    return named and force


def pending_count(store: Store, numbers: Sequence[str] | None = None, *, force: bool = False) -> int:
    """How many messages a delivery with these arguments would send (to ask the vault only when needed)."""
    wanted = None if numbers is None else {message_key(n) for n in numbers}
    return sum(
        1
        for m in Outbox.of(store).all()
        if (wanted is None or m.id in wanted) and _due(m, named=wanted is not None, force=force)
    )


def deliver_pending(
    store: Store, profile: Profile, password: str | None, *, transport: Transport | None = None, clock: Clock = _now
) -> DeliveryResult:
    """Send every message due (``pending``, or ``failed`` for a temporary reason); see :func:`deliver`."""
    return deliver(store, profile, password, transport=transport, clock=clock)


def deliver(
    store: Store,
    profile: Profile,
    password: str | None,
    *,
    transport: Transport | None = None,
    numbers: Sequence[str] | None = None,
    force: bool = False,
    clock: Clock = _now,
) -> DeliveryResult:
    """Send the messages due (only the named invoices' with ``numbers``, ``permanent`` failures included;
    ``uncertain`` ones only with ``force`` as well). Messages found ``sending`` become ``uncertain`` first.
    ``transport`` defaults to the profile's (``password`` from the vault for SMTP with a user, none for the file
    transport); nothing is opened when nothing is due. Updates the outbox and the sales' mail states."""
    outbox = Outbox.of(store)
    with outbox.delivery_lock:
        _settle_interrupted(store, outbox, clock())
        wanted = None if numbers is None else {message_key(n) for n in numbers}
        due: list[OutboxMessage] = []
        held: list[OutboxMessage] = []
        for message in outbox.all():
            if wanted is not None and message.id not in wanted:
                continue
            decision = _due(message, named=wanted is not None, force=force)
            if decision:
                due.append(message)
            elif decision is False:
                held.append(message)
        if not due:
            return DeliveryResult((), tuple(held))
        own = transport is None
        used = transport_for(profile, password) if transport is None else transport
        run = _Delivery(store, outbox, used, parseaddr(profile.mail.sender)[1], clock)
        try:
            attempted = run.send_all(due)
        finally:
            if own:
                used.close()
        return DeliveryResult(tuple(attempted), tuple(held))


def _settle_interrupted(store: Store, outbox: Outbox, moment: datetime) -> None:
    leftovers = [m.id for m in outbox.in_state(OutboxState.SENDING)]
    if not leftovers:
        return
    settled = outbox.update(
        leftovers,
        lambda m: (
            replace(
                m,
                state=OutboxState.FAILED,
                failure=Failure.UNCERTAIN,
                last_error=t("mail.err.interrupted"),
                updated_at=moment,
            )
            if m.state is OutboxState.SENDING
            else None
        ),
    )
    _set_sale_mail(store, (m.invoice_number for m in settled.values()), MailState.FAILED, moment)


@dataclass(frozen=True, slots=True)
class _Delivery:
    """One run of messages through one transport; each message's state written before and after its attempt."""

    store: Store
    outbox: Outbox
    transport: Transport
    envelope_from: str
    clock: Clock

    def send_all(self, due: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        attempted: list[OutboxMessage] = []
        for index, message in enumerate(due):
            current = self._mark_sending(message)
            if current is None:
                continue  # changed since the run began: the next run sees it as it is now
            try:
                data = self.outbox.read_eml(current)
                self.transport.send(self.envelope_from, current.recipient, data)
            except StoreCorrupt as exc:  # never other bytes than the ones built: naming the invoice rebuilds it
                attempted.append(self._finish(current, exc.message(), Failure.PERMANENT))
                continue
            except DeliveryFailed as exc:
                attempted.append(self._finish(current, exc.reason, exc.failure))
                if exc.connection:
                    attempted += self._not_tried(due[index + 1 :], exc.reason)
                    break
                continue
            attempted.append(self._finish(current, None, None))
        return attempted

    def _mark_sending(self, message: OutboxMessage) -> OutboxMessage | None:
        moment = self.clock()

        def sending(m: OutboxMessage) -> OutboxMessage | None:
            if m.state is not message.state or m.eml_sha256 != message.eml_sha256:
                return None
            return replace(m, state=OutboxState.SENDING, attempts=m.attempts + 1, updated_at=moment)

        return self.outbox.update([message.id], sending).get(message.id)

    def _finish(self, message: OutboxMessage, error: str | None, failure: Failure | None) -> OutboxMessage:
        moment = self.clock()
        if error is None:
            new = replace(
                message, state=OutboxState.SENT, failure=None, last_error=None, updated_at=moment, sent_at=moment
            )
        else:
            if message.failure is Failure.UNCERTAIN:  # an earlier attempt may have delivered it: that stays true
                failure = Failure.UNCERTAIN
            new = replace(message, state=OutboxState.FAILED, failure=failure, last_error=error, updated_at=moment)
        self.outbox.put(new)  # this run holds the delivery lock: nobody else changes a message it is sending
        mail = MailState.SENT if error is None else MailState.FAILED
        _set_sale_mail(self.store, [message.invoice_number], mail, moment)
        return new

    def _not_tried(self, rest: Sequence[OutboxMessage], error: str) -> list[OutboxMessage]:
        """The server cannot be used: the rest of the run fails with the same reason, without an attempt."""
        moment = self.clock()
        ids = {m.id: m for m in rest}

        def failed(m: OutboxMessage) -> OutboxMessage | None:
            if m.state is not ids[m.id].state or m.state is OutboxState.SENT:
                return None
            failure = m.failure if m.state is OutboxState.FAILED and m.failure else Failure.TEMPORARY
            return replace(m, state=OutboxState.FAILED, failure=failure, last_error=error, updated_at=moment)

        changed = self.outbox.update(ids, failed)
        _set_sale_mail(self.store, (m.invoice_number for m in changed.values()), MailState.FAILED, moment)
        return list(changed.values())


def list_messages(store: Store) -> list[OutboxMessage]:
    """The outbox, oldest first."""
    return Outbox.of(store).all()
