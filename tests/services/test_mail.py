"""Customer e-mail with the KSeF number (services.mail, store.outbox) against a real SMTP server (aiosmtpd on
127.0.0.1): what arrives, what a failure leaves in the outbox, and that a retry delivers exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.domain.profile import MailSecurity, MailSettings, MailTransport, Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import build_xml
from ksef_tui.fa.qr import kod1_url
from ksef_tui.i18n import t
from ksef_tui.services import mail
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.store.customers import CustomerBook
from ksef_tui.store.db import Store
from ksef_tui.store.outbox import Failure, Outbox, OutboxState
from ksef_tui.store.profiles import ProfileRepository
from ksef_tui.store.sales import MailState, SalesRepository, SendState
from ksef_tui.vault import MemoryKeyring, Vault

SELLER_NIP = "5265877635"
BUYER_NIP = "7740001454"
SELLER_NAME = "Zażółć gęślą jaźń sp. z o.o."
BUYER_NAME = "Klient „Żółw” sp. z o.o."
PASSWORD = "Hasło-SMTP-ąęł-1234"


def today() -> dt.date:
    return datetime.now(ZoneInfo("Europe/Warsaw")).date()


def invoice_xml(
    number: str,
    *,
    buyer_email: str | None = "ksiegowosc@klient.pl",
    buyer_nip: str = BUYER_NIP,
    seller_nip: str = SELLER_NIP,
) -> bytes:
    invoice = SalesInvoice(
        number,
        today(),
        Seller(seller_nip, SELLER_NAME, Address("ul. Świętokrzyska 1", "90-001 Łódź")),
        Buyer(BUYER_NAME, tax_id=buyer_nip, email=buyer_email),
        (InvoiceLine("usługa programistyczna", Decimal(2), Decimal("1000.00"), VatRate.R23),),
    )
    return build_xml(invoice, created_at=datetime.now(UTC))


# ------------------------------------------------------------------------------------------- SMTP server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps what arrived; ``refuse_*`` make it answer with that reply instead."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_rcpt: str | None = None
    refuse_data: str | None = None
    delay: float = 0.0  # before answering the message (after keeping it)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 Ok: queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            self.logins.append((login, password))
            return AuthResult(success=login == "faktury" and password == PASSWORD, handled=False)
        return AuthResult(success=False, handled=False)

    def messages(self) -> list[EmailMessage]:
        parsed = [email.message_from_bytes(data, policy=policy.default) for _, _, data in self.received]
        return [m for m in parsed if isinstance(m, EmailMessage)]


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    started: list[Controller] = []

    def start(*, port: int | None = None, **options: Any) -> SmtpServer:
        inbox = Inbox()
        if options.pop("auth", False):
            options["authenticator"] = inbox.authenticate
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **options)
        controller.start()
        started.append(controller)
        return SmtpServer(inbox, controller.port, controller)

    yield start
    for controller in started:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (the client trusts it as its only CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(folder / "cert.pem", folder / "key.pem")


# ------------------------------------------------------------------------------------------ the company


def profile_for(port: int, **changes: Any) -> Profile:
    settings = MailSettings(
        host="127.0.0.1",
        port=port,
        sender=f"{SELLER_NAME} <faktury@firma.pl>",
        security=MailSecurity.NONE,
        auto=True,
    )
    return Profile("firma", SELLER_NIP, "test", dt.date(2026, 2, 1), mail=replace(settings, **changes))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "company" / "store.json") as opened:
        yield opened


def add_accepted(store: Store, tmp_path: Path, number: str, index: int = 1, **xml: Any) -> str:
    """An invoice in the register, accepted by KSeF; returns its KSeF number."""
    source = tmp_path / f"{index}.xml"
    source.write_bytes(invoice_xml(number, **xml))
    repo = SalesRepository(store)
    result = import_invoices(repo, sales_xml_root(store.path), profile_for(0), [source])
    assert result.imported == [number], result.refused
    ksef_number = make_ksef_number(SELLER_NIP, today(), f"{index:012X}")
    repo.update_statuses(
        [number],
        lambda sale: replace(
            sale.status, state=SendState.ACCEPTED, ksef_number=ksef_number, updated_at=datetime.now(UTC)
        ),
    )
    return ksef_number


def mail_state(store: Store, number: str) -> MailState:
    sale = SalesRepository(store).get(number)
    assert sale is not None
    return sale.status.mail


def queued(store: Store, tmp_path: Path, profile: Profile, number: str = "FV/1/03/2026") -> str:
    """An accepted invoice whose mail waits in the outbox; returns its KSeF number."""
    ksef_number = add_accepted(store, tmp_path, number)
    assert mail.queue_after_acceptance(store, profile, [number]) == 1
    return ksef_number


def the_message(store: Store, number: str) -> Any:
    message = Outbox.of(store).get(mail.message_key(number))
    assert message is not None
    return message


# ----------------------------------------------------------------------------------------------- tests


def test_the_message_arrives_with_the_ksef_number_the_visualisation_and_polish_text(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()
    profile = profile_for(server.port)
    ksef_number = add_accepted(store, tmp_path, "FV/1/03/2026")

    assert mail.queue_after_acceptance(store, profile, ["FV/1/03/2026"]) == 1
    assert mail_state(store, "FV/1/03/2026") is MailState.PENDING
    assert server.inbox.received == []  # queued, not sent

    result = mail.deliver_pending(store, profile, None)

    assert [m.invoice_number for m in result.sent] == ["FV/1/03/2026"] and result.ok
    assert len(server.inbox.received) == 1
    sender, recipients, raw = server.inbox.received[0]
    assert (sender, recipients) == ("faktury@firma.pl", ["ksiegowosc@klient.pl"])
    assert raw.isascii()  # 7-bit clean: RFC 2047 headers, quoted-printable text, base64 attachment
    message = server.inbox.messages()[0]
    assert message["Subject"] == f"Faktura FV/1/03/2026 – numer KSeF {ksef_number}"
    assert message["From"].addresses[0].display_name == SELLER_NAME
    assert message["To"].addresses[0].display_name == BUYER_NAME
    assert message["To"].addresses[0].addr_spec == "ksiegowosc@klient.pl"
    stored = the_message(store, "FV/1/03/2026")
    assert message["Message-ID"] == stored.message_id
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert text.startswith("Dzień dobry,")
    assert ksef_number in text
    assert f"z dnia {today():%d.%m.%Y}" in text
    assert "2\u00a0460,00 zł brutto" in text
    sale = SalesRepository(store).get("FV/1/03/2026")
    assert sale is not None
    xml = (sales_xml_root(store.path) / sale.record.xml_path).read_bytes()
    assert kod1_url("test", SELLER_NIP, today(), xml) in text
    assert text.rstrip().endswith(SELLER_NAME)  # ąćęłńóśźż, through the wire and back
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    attachment = attachments[0]
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_filename() == "faktura_FV_1_03_2026.html"
    html = attachment.get_content()
    assert ksef_number in html and "Żółw" in html and "Zażółć gęślą jaźń" in html

    assert stored.state is OutboxState.SENT and stored.attempts == 1 and stored.sent_at is not None
    assert mail_state(store, "FV/1/03/2026") is MailState.SENT
    assert raw.rstrip(b"\r\n") == Outbox.of(store).read_eml(stored).rstrip(b"\r\n")  # the bytes built once


def test_a_refusal_keeps_the_message_and_the_retry_delivers_it_exactly_once(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()
    server.inbox.refuse_data = "451 4.3.0 Mail server temporarily unavailable"
    profile = profile_for(server.port)
    queued(store, tmp_path, profile)
    built = Outbox.of(store).read_eml(the_message(store, "FV/1/03/2026"))

    failed = mail.deliver_pending(store, profile, None)

    assert not failed.ok and [m.invoice_number for m in failed.failed] == ["FV/1/03/2026"]
    message = the_message(store, "FV/1/03/2026")
    assert (message.state, message.failure, message.attempts) == (OutboxState.FAILED, Failure.TEMPORARY, 1)
    assert message.last_error is not None and "451 4.3.0 Mail server temporarily unavailable" in message.last_error
    assert mail_state(store, "FV/1/03/2026") is MailState.FAILED
    assert server.inbox.received == []

    server.inbox.refuse_data = None
    retried = mail.deliver_pending(store, profile, None)
    again = mail.deliver_pending(store, profile, None)
    mail.queue_after_acceptance(store, profile, ["FV/1/03/2026"])  # the pipeline asking again queues nothing
    once_more = mail.deliver_pending(store, profile, None)

    assert [m.invoice_number for m in retried.sent] == ["FV/1/03/2026"]
    assert again.attempted == () and once_more.attempted == ()
    assert len(server.inbox.received) == 1
    assert server.inbox.received[0][2].rstrip(b"\r\n") == built.rstrip(b"\r\n")  # the same bytes as built
    message = the_message(store, "FV/1/03/2026")
    assert (message.state, message.attempts, message.last_error) == (OutboxState.SENT, 2, None)
    assert mail_state(store, "FV/1/03/2026") is MailState.SENT


def test_a_server_that_is_down_leaves_every_message_in_the_outbox(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    port = free_port()  # nobody listens there yet
    profile = profile_for(port)
    for index in (1, 2):
        add_accepted(store, tmp_path, f"FV/{index}/03/2026", index)
    assert mail.queue_after_acceptance(store, profile, ["FV/1/03/2026", "FV/2/03/2026"]) == 2

    down = mail.deliver_pending(store, profile, None)

    assert len(down.failed) == 2 and not down.sent
    first, second = the_message(store, "FV/1/03/2026"), the_message(store, "FV/2/03/2026")
    assert first.attempts == 1 and second.attempts == 0  # the second was not tried against a dead server
    for message in (first, second):
        assert message.state is OutboxState.FAILED and message.failure is Failure.TEMPORARY
        assert message.last_error is not None
        assert f"127.0.0.1:{port}" in message.last_error and "Connection refused" in message.last_error

    server = smtp_server(port=port)
    up = mail.deliver_pending(store, profile, None)
    assert len(up.sent) == 2 and mail.deliver_pending(store, profile, None).attempted == ()
    assert sorted(rcpt for _, rcpt, _ in server.inbox.received) == [["ksiegowosc@klient.pl"]] * 2
    subjects = sorted(m["Subject"] for m in server.inbox.messages())
    assert [s.split(" – ")[0] for s in subjects] == ["Faktura FV/1/03/2026", "Faktura FV/2/03/2026"]


def test_a_permanent_refusal_waits_for_a_corrected_address_and_is_sent_again_by_name(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()
    server.inbox.refuse_rcpt = "550 5.1.1 <ksiegowosc@klient.pl>: Recipient address rejected"
    profile = profile_for(server.port)
    queued(store, tmp_path, profile)
    message_id = the_message(store, "FV/1/03/2026").message_id

    refused = mail.deliver_pending(store, profile, None)
    assert the_message(store, "FV/1/03/2026").failure is Failure.PERMANENT
    assert refused.failed[0].last_error is not None and "550 5.1.1" in refused.failed[0].last_error
    server.inbox.refuse_rcpt = None
    held = mail.deliver_pending(store, profile, None)  # a 5xx is not retried on its own
    assert held.attempted == () and [m.invoice_number for m in held.held] == ["FV/1/03/2026"]
    assert server.inbox.received == []

    CustomerBook.of(store).put(Customer.checked(BUYER_NAME, nip=BUYER_NIP, email="faktury@klient.pl"))
    requeued = mail.queue_invoices(store, profile, ["FV/1/03/2026"])
    assert requeued.to_send == ["FV/1/03/2026"] and not requeued.refused
    rebuilt = the_message(store, "FV/1/03/2026")
    assert (rebuilt.recipient, rebuilt.state, rebuilt.message_id) == (
        "faktury@klient.pl",
        OutboxState.PENDING,
        message_id,
    )
    sent = mail.deliver(store, profile, None, numbers=["FV/1/03/2026"])

    assert len(sent.sent) == 1 and len(server.inbox.received) == 1
    assert server.inbox.received[0][1] == ["faktury@klient.pl"]
    assert server.inbox.messages()[0]["Message-ID"] == message_id
    again = mail.queue_invoices(store, profile, ["FV/1/03/2026"])
    assert [m.invoice_number for m in again.already_sent] == ["FV/1/03/2026"] and again.to_send == []


def test_no_answer_after_the_message_may_mean_delivered_so_only_a_forced_retry_sends_it_again(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()
    server.inbox.delay = 1.5  # the server keeps the message, then answers too late
    profile = profile_for(server.port)
    queued(store, tmp_path, profile)

    with mail.SmtpTransport(profile.mail, None, timeout=0.5) as impatient:
        slow = mail.deliver_pending(store, profile, None, transport=impatient)

    assert slow.failed[0].failure is Failure.UNCERTAIN and len(server.inbox.received) == 1
    server.inbox.delay = 0
    assert mail.deliver_pending(store, profile, None).attempted == ()  # never again on its own
    assert mail.deliver(store, profile, None, numbers=["FV/1/03/2026"]).attempted == ()  # nor by name alone
    assert len(server.inbox.received) == 1

    forced = mail.deliver(store, profile, None, numbers=["FV/1/03/2026"], force=True)
    assert len(forced.sent) == 1 and len(server.inbox.received) == 2
    first, second = server.inbox.messages()
    assert first["Message-ID"] == second["Message-ID"]  # the recipient can tell it is the same message


def test_a_message_left_sending_by_a_crash_is_not_sent_blindly(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()
    profile = profile_for(server.port)
    queued(store, tmp_path, profile)
    # the state a crash between "sending" and the server's answer leaves behind
    Outbox.of(store).update(
        [mail.message_key("FV/1/03/2026")], lambda m: replace(m, state=OutboxState.SENDING, attempts=1)
    )

    result = mail.deliver_pending(store, profile, None)

    message = the_message(store, "FV/1/03/2026")
    assert result.attempted == () and [m.id for m in result.held] == [message.id]
    assert (message.state, message.failure) == (OutboxState.FAILED, Failure.UNCERTAIN)
    assert message.last_error == t("mail.err.interrupted")
    assert mail_state(store, "FV/1/03/2026") is MailState.FAILED
    assert server.inbox.received == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_login_takes_the_password_and_never_keeps_it(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer], certificate: Certificate, mechanism: str
) -> None:
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    server = smtp_server(
        tls_context=certificate.server_context(), require_starttls=True, auth=True, auth_exclude_mechanism=[other]
    )
    profile = profile_for(server.port, security=MailSecurity.STARTTLS, username="faktury")
    queued(store, tmp_path, profile)
    client = certificate.client_context()

    with mail.SmtpTransport(profile.mail, "wrong-password", ssl_context=client) as transport:
        wrong = mail.deliver_pending(store, profile, None, transport=transport)
    assert wrong.failed[0].last_error is not None and "faktury" in wrong.failed[0].last_error
    assert "wrong-password" not in wrong.failed[0].last_error

    with mail.SmtpTransport(profile.mail, PASSWORD, ssl_context=client) as transport:
        right = mail.deliver_pending(store, profile, None, transport=transport)

    assert len(right.sent) == 1 and len(server.inbox.received) == 1
    assert server.inbox.logins[-1] == ("faktury", PASSWORD)
    for path in store.path.parent.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes() and b"wrong-password" not in path.read_bytes(), path


def test_ssl_from_the_first_byte_and_a_certificate_that_is_not_trusted(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_server(ssl_context=certificate.server_context())
    profile = profile_for(server.port, security=MailSecurity.SSL)
    queued(store, tmp_path, profile)

    untrusted = mail.deliver_pending(store, profile, None)  # the system's CAs do not know our certificate
    assert untrusted.failed[0].last_error is not None and "CERTIFICATE_VERIFY_FAILED" in untrusted.failed[0].last_error
    assert server.inbox.received == []

    with mail.SmtpTransport(profile.mail, None, ssl_context=certificate.client_context()) as trusted:
        assert len(mail.deliver_pending(store, profile, None, transport=trusted).sent) == 1
    assert len(server.inbox.received) == 1


def test_starttls_is_never_dropped_when_the_server_does_not_offer_it(
    store: Store, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()  # no TLS at all
    profile = profile_for(server.port, security=MailSecurity.STARTTLS)
    queued(store, tmp_path, profile)

    result = mail.deliver_pending(store, profile, None)

    assert result.failed[0].last_error == t("mail.err.no_starttls", server=f"127.0.0.1:{server.port}")
    assert server.inbox.received == []


def test_the_file_transport_writes_an_eml_once(store: Store, tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox-mail"
    profile = profile_for(0, host="", transport=MailTransport.FILE, file_dir=str(sandbox))
    ksef_number = queued(store, tmp_path, profile)

    assert len(mail.deliver_pending(store, profile, None).sent) == 1
    assert mail.deliver_pending(store, profile, None).attempted == ()
    mail.deliver(store, profile, None, numbers=["FV/1/03/2026"], force=True)  # sent: never again, forced or not

    files = list(sandbox.iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == f"Faktura FV/1/03/2026 – numer KSeF {ksef_number}"
    assert message["To"].addresses[0].addr_spec == "ksiegowosc@klient.pl"
    assert [a.get_filename() for a in message.iter_attachments()] == ["faktura_FV_1_03_2026.html"]


def test_who_gets_it_and_in_which_language(store: Store, tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox-mail"
    profile = profile_for(0, host="", transport=MailTransport.FILE, file_dir=str(sandbox))
    add_accepted(store, tmp_path, "FV/1/03/2026")  # buyer e-mail only in the invoice
    add_accepted(store, tmp_path, "FV/2/03/2026", 2, buyer_email=None)  # nowhere
    add_accepted(store, tmp_path, "FV/3/03/2026", 3, buyer_nip="1111111111", buyer_email="x@invoice.pl")
    CustomerBook.of(store).put(
        Customer.checked("Customer Ltd", nip="1111111111", email="ap@customer.example", language="en")
    )

    assert mail.queue_after_acceptance(store, profile, ["FV/1/03/2026", "FV/2/03/2026", "FV/3/03/2026"]) == 2

    assert the_message(store, "FV/1/03/2026").recipient == "ksiegowosc@klient.pl"
    assert Outbox.of(store).get(mail.message_key("FV/2/03/2026")) is None
    assert mail_state(store, "FV/2/03/2026") is MailState.NONE
    english = the_message(store, "FV/3/03/2026")
    assert (english.recipient, english.language) == ("ap@customer.example", "en")  # the book beats the XML
    assert english.subject.startswith("Invoice FV/3/03/2026 – KSeF number ")
    body = email.message_from_bytes(Outbox.of(store).read_eml(english), policy=policy.default)
    assert isinstance(body, EmailMessage)
    plain = body.get_body(("plain",))
    assert plain is not None and "for 2,460.00 PLN (gross)" in plain.get_content()
    refused = mail.queue_invoices(store, profile, ["FV/2/03/2026", "FV/9/03/2026"])
    assert [(n, e.key) for n, e in refused.refused] == [
        ("FV/2/03/2026", "mail.no_recipient"),
        ("FV/9/03/2026", "mail.unknown_invoice"),
    ]


def test_only_accepted_invoices_with_automatic_mail_on_are_queued(store: Store, tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox-mail"
    profile = profile_for(0, host="", transport=MailTransport.FILE, file_dir=str(sandbox))
    add_accepted(store, tmp_path, "FV/1/03/2026")
    source = tmp_path / "queued.xml"
    source.write_bytes(invoice_xml("FV/2/03/2026"))
    import_invoices(SalesRepository(store), sales_xml_root(store.path), profile, [source])  # queued for KSeF only

    assert (
        mail.queue_after_acceptance(store, replace(profile, mail=replace(profile.mail, auto=False)), ["FV/1/03/2026"])
        == 0
    )
    assert mail.queue_after_acceptance(store, profile, ["FV/2/03/2026"]) == 0
    assert mail.queue_after_acceptance(store, profile, ["FV/1/03/2026", "FV/1/03/2026"]) == 1
    assert mail.queue_after_acceptance(store, profile, ["FV/1/03/2026"]) == 0
    assert len(Outbox.of(store).all()) == 1
    refused = mail.queue_invoices(store, profile, ["FV/2/03/2026"]).refused
    assert [e.key for _, e in refused] == ["mail.not_accepted"]


def test_an_invoice_whose_xml_is_gone_is_marked_failed_and_the_rest_go_on(store: Store, tmp_path: Path) -> None:
    profile = profile_for(0, host="", transport=MailTransport.FILE, file_dir=str(tmp_path / "out"))
    add_accepted(store, tmp_path, "FV/1/03/2026")
    add_accepted(store, tmp_path, "FV/2/03/2026", 2)
    sale = SalesRepository(store).get("FV/1/03/2026")
    assert sale is not None
    (sales_xml_root(store.path) / sale.record.xml_path).unlink()

    assert mail.queue_after_acceptance(store, profile, ["FV/1/03/2026", "FV/2/03/2026"]) == 1
    assert mail_state(store, "FV/1/03/2026") is MailState.FAILED
    assert mail_state(store, "FV/2/03/2026") is MailState.PENDING


def test_a_damaged_eml_is_never_replaced_by_other_bytes(store: Store, tmp_path: Path) -> None:
    profile = profile_for(0, host="", transport=MailTransport.FILE, file_dir=str(tmp_path / "out"))
    queued(store, tmp_path, profile)
    outbox = Outbox.of(store)
    (outbox.directory / the_message(store, "FV/1/03/2026").eml).write_bytes(b"Subject: something else\r\n\r\n")

    result = mail.deliver_pending(store, profile, None)

    assert result.failed[0].failure is Failure.PERMANENT and not (tmp_path / "out").exists()
    assert mail.queue_invoices(store, profile, ["FV/1/03/2026"]).to_send == ["FV/1/03/2026"]  # rebuilt
    assert len(mail.deliver(store, profile, None, numbers=["FV/1/03/2026"]).sent) == 1


def test_the_outbox_survives_reopening_and_a_read_only_view_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "company" / "store.json"
    profile = profile_for(0, host="", transport=MailTransport.FILE, file_dir=str(tmp_path / "out"))
    with Store.open(path) as store:
        add_accepted(store, tmp_path, "FV/1/03/2026")
        mail.queue_after_acceptance(store, profile, ["FV/1/03/2026"])
        before = Outbox.of(store).all()
    with Store.open(path, read_only=True) as view:
        assert Outbox.of(view).all() == before
        with pytest.raises(Exception, match="read"):
            mail.deliver_pending(view, profile, None)
    data = json.loads(path.with_name("store.outbox.json").read_text(encoding="utf-8"))
    assert [m["state"] for m in data["messages"]] == ["pending"]


def test_settings_are_checked_and_old_profiles_still_read(tmp_path: Path) -> None:
    good = MailSettings(host="smtp.firma.pl", port=587, sender="Firma <faktury@firma.pl>", username="u")
    assert mail.check_settings(good) is good
    problems = {
        "mail.bad_sender": replace(good, sender="faktury"),
        "mail.bad_host": replace(good, host="smtp firma"),
        "mail.bad_port": replace(good, port=70000),
        "mail.cleartext_login": replace(good, security=MailSecurity.NONE),
        "mail.no_dir": replace(good, transport=MailTransport.FILE),
    }
    for key, settings in problems.items():
        with pytest.raises(mail.BadMailSetting) as caught:
            mail.check_settings(settings)
        assert caught.value.key == key
    assert mail.check_settings(replace(good, host="localhost", security=MailSecurity.NONE)).host == "localhost"
    assert mail.is_address("jan.kowalski@firma.pl")
    for not_one in ("łukasz@firma.pl", "a@b.pl, c@d.pl", "a@b.pl\r\nBcc: x@y.pl", "faktury"):
        assert not mail.is_address(not_one), not_one

    profiles = tmp_path / "profiles.json"
    old = {"host": "smtp.firma.pl", "port": 25, "username": "", "sender": "a@b.pl", "starttls": False, "enabled": True}
    profiles.write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": [
                    {"name": "firma", "nip": SELLER_NIP, "environment": "test", "start_date": "2026-02-01", "mail": old}
                ],
            }
        )
    )
    repo = ProfileRepository(profiles)
    read = repo.get("firma").mail
    assert (read.security, read.auto, read.transport, read.port) == (MailSecurity.NONE, True, MailTransport.SMTP, 25)
    repo.add(repo.get("firma"), replace=True)
    assert repo.get("firma").mail == read


def test_the_password_lives_in_the_vault_beside_the_token() -> None:
    vault = Vault(MemoryKeyring())
    vault.set_token("test", "firma", "token")
    profile = profile_for(25, host="smtp.firma.pl", security=MailSecurity.STARTTLS, username="faktury")
    assert mail.stored_password(vault, profile) is None
    vault.set_mail_password("test", "firma", PASSWORD)
    assert mail.stored_password(vault, profile) == PASSWORD
    assert vault.get_token("test", "firma") == "token"
    assert mail.stored_password(vault, replace(profile, mail=replace(profile.mail, username=""))) is None
    assert vault.delete_mail_password("test", "firma") is True
    assert vault.get_mail_password("test", "firma") is None and vault.get_token("test", "firma") == "token"
    with pytest.raises(mail.MailPasswordMissing):
        mail.SmtpTransport(profile.mail, None)
