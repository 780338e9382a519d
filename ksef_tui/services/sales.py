"""The sales register (issue 10, first part): FA(3) invoices made elsewhere imported into it, and its rows as
both faces show them.

Blocking by design (files, lxml, the store): call from thread workers. Import order, as for purchases: the XML
files are written and flushed first, then the register's records in one write per month, so a record never
points at a file that is not on disk; a crash between leaves a file no record names, written again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui.domain.booking import Period
from ksef_tui.domain.invoice import SalesInvoice
from ksef_tui.domain.money import q2
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t
from ksef_tui.services.booking import kind_label, plain_text
from ksef_tui.services.purchases import money
from ksef_tui.store.atomic import atomic_write, fsync_dir, sync_files
from ksef_tui.store.sales import Sale, SaleRecord, SalesRepository, SendState, SendStatus

if TYPE_CHECKING:
    from ksef_tui.domain.customer import Customer
    from ksef_tui.domain.numbering import NumberPattern
    from ksef_tui.fa.parse import ParsedInvoice
    from ksef_tui.store.customers import CustomerBook
    from ksef_tui.store.profiles import ProfileRepository

Clock = Callable[[], datetime]
Mark = Callable[[SaleRecord, bytes], SaleRecord]
"""What becomes of a record before it is stored, given its exact XML bytes (``services.offline`` adds the offline
issue: mode, KOD I, KOD II, deadline); a ``UserError`` from it refuses that invoice."""

_ID_TYPES = {"Nip": "nip", "UE": "eu", "Other": "other", "None": "none"}


class SaleRefused(UserError):
    """One file of an import refused, with the reason in the user's words."""

    category = Category.INPUT


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: list[str]  # invoice numbers, in the order of the files
    refused: list[tuple[Path, UserError]]


def sales_xml_root(store_path: Path) -> Path:
    """Where the register keeps the XML of its invoices: ``sales-xml/YYYY/MM/<sha256>.xml`` beside the store."""
    return store_path.with_name("sales-xml")


def read_own_invoice(path: Path, profile: Profile) -> tuple[bytes, ParsedInvoice]:
    """The bytes of an FA(3) file of ``profile``'s company and what they say (blocking): refused with the
    validator's findings when it is not a valid FA(3), :class:`SaleRefused` when it cannot be read or its seller
    is another NIP. Imports and technical corrections take their files through here."""
    from ksef_tui.fa.parse import InvoiceParseError, parse_invoice
    from ksef_tui.fa.validate import Schema, validate_bytes
    from ksef_tui.services.files import read_input

    data = read_input(path)
    error = validate_bytes(data, expect=Schema.FA3).error()
    if error is not None:
        raise error
    try:
        parsed = parse_invoice(data)
    except InvoiceParseError as exc:
        raise SaleRefused("sales.import.unreadable", path=path, detail=exc.message()) from None
    if parsed.seller.id != profile.nip:
        raise SaleRefused(
            "sales.import.seller", number=parsed.number, found=parsed.seller.id or "-", expected=profile.nip
        )
    return data, parsed


def import_invoices(
    repo: SalesRepository,
    xml_root: Path,
    profile: Profile,
    paths: Sequence[Path],
    *,
    clock: Clock = lambda: datetime.now(UTC),
    mark: Mark | None = None,
) -> ImportResult:
    """Put FA(3) files into the register, queued to be sent. Each file is checked on its own: it must be a
    valid FA(3) (the validator's findings otherwise), sold by the profile's NIP and numbered as no invoice of
    the register (nor another file of this import) is. The others are imported all the same. Each file's bytes
    are kept exactly as read; ``mark`` (an offline issue) sees them with their record and may refuse the file."""
    known = set(repo.numbers())
    accepted: list[tuple[SaleRecord, bytes]] = []
    refused: list[tuple[Path, UserError]] = []
    now = clock()
    for path in paths:
        try:
            data, parsed = read_own_invoice(path, profile)
            if parsed.number in known:
                raise SaleRefused("sales.import.exists", number=parsed.number)
            record = _record(parsed, data, "imported", now)
            if mark is not None:
                record = mark(record, data)
        except UserError as exc:
            refused.append((path, exc))
            continue
        known.add(parsed.number)
        accepted.append((record, data))
    _write_xml(xml_root, accepted)
    repo.add_many((record, SendStatus(SendState.QUEUED, now)) for record, _ in accepted)
    return ImportResult([record.number for record, _ in accepted], refused)


def issue_invoice(
    repo: SalesRepository,
    xml_root: Path,
    profile: Profile,
    invoice: SalesInvoice,
    *,
    series: str | None = None,
    queue: bool = True,
    clock: Clock = lambda: datetime.now(UTC),
    mark: Mark | None = None,
) -> Sale:
    """Number, build, validate and register an invoice entered in the app (``invoice.number`` is ignored): the
    next number of its series (``series``, else the profile's for invoices or corrections) for its issue date,
    so numbers have no gaps and are never reused. The number is taken and the invoice stored under the store's
    lock, so two issuers never take the same one. Queued to be sent unless ``queue`` is false (a draft). Refused
    with the validator's findings when the XML is not valid. ``mark`` as for :func:`import_invoices`."""
    from ksef_tui.domain.numbering import next_number
    from ksef_tui.fa.build import BuildError, build_xml
    from ksef_tui.fa.parse import parse_invoice
    from ksef_tui.fa.validate import Schema, validate_bytes

    if invoice.seller.nip != profile.nip:
        raise SaleRefused("sales.import.seller", number="-", found=invoice.seller.nip, expected=profile.nip)
    is_correction = invoice.kind.value.startswith("KOR")
    pattern = parse_series(series or (profile.numbering.corrections if is_correction else profile.numbering.invoices))
    now = clock()
    with repo.lock:
        number = next_number(pattern, invoice.issue_date, repo.numbers())
        numbered = replace(invoice, number=number)
        try:
            data = build_xml(numbered, created_at=now)
        except BuildError as exc:
            raise SaleRefused("sales.build_failed", number=number, detail=str(exc)) from None
        error = validate_bytes(data, expect=Schema.FA3).error()
        if error is not None:
            raise error
        record = _record(parse_invoice(data), data, "built", now)  # the register says what the XML says
        if mark is not None:
            record = mark(record, data)
        _write_xml(xml_root, [(record, data)])
        status = SendStatus(SendState.QUEUED if queue else SendState.DRAFT, now)
        repo.add_many([(record, status)])
    return Sale(record, status)


class CustomerRefused(UserError):
    category = Category.INPUT


def add_customer(
    book: CustomerBook,
    name: str,
    *,
    nip: str | None = None,
    eu_vat: str | None = None,
    other_id: tuple[str, str] | None = None,
    email: str | None = None,
    language: str = "pl",
) -> tuple[Customer, bool]:
    """A customer checked as typed (NIP checksum, EU VAT shape, e-mail, language) into the book; an existing
    one with the same id is replaced. Returns it and whether it was new."""
    from ksef_tui.domain.customer import Customer, InvalidCustomer

    try:
        customer = Customer.checked(name, nip=nip, eu_vat=eu_vat, other_id=other_id, email=email, language=language)
    except InvalidCustomer as exc:
        raise CustomerRefused(f"customer.{exc.problem.value}", value=exc.value) from None
    return customer, book.put(customer)


def customer_json(customer: Customer) -> dict[str, object]:
    return {
        "key": customer.key,
        "name": customer.name,
        "id_type": customer.id_type.value,
        "tax_id": customer.tax_id,
        "eu_code": customer.eu_code,
        "country": customer.country,
        "email": customer.email,
        "language": customer.language,
    }


def parse_series(text: str) -> NumberPattern:
    """A numbering pattern, or :class:`SaleRefused` naming it and what is wrong."""
    from ksef_tui.domain.numbering import BadPattern, NumberPattern

    try:
        return NumberPattern.parse(text)
    except BadPattern as exc:
        raise SaleRefused("sales.bad_series", series=text, detail=t(f"numbering.{exc.reason}")) from None


def set_numbering(
    profiles: ProfileRepository, profile: Profile, *, invoices: str | None = None, corrections: str | None = None
) -> Profile:
    """Change the profile's series (both checked before anything is written)."""
    numbering = replace(
        profile.numbering,
        invoices=parse_series(invoices).text if invoices is not None else profile.numbering.invoices,
        corrections=parse_series(corrections).text if corrections is not None else profile.numbering.corrections,
    )
    updated = replace(profile, numbering=numbering)
    profiles.add(updated, replace=True)
    return updated


def next_numbers(profile: Profile, day: date, existing: Sequence[str]) -> tuple[str, str]:
    """The numbers the next invoice and the next correction issued on ``day`` would take, given the register's
    ``existing`` numbers."""
    from ksef_tui.domain.numbering import next_number

    return (
        next_number(parse_series(profile.numbering.invoices), day, existing),
        next_number(parse_series(profile.numbering.corrections), day, existing),
    )


def write_xml(root: Path, invoices: Sequence[tuple[SaleRecord, bytes]]) -> None:
    """The invoices' exact bytes under ``root`` (content-addressed by their SHA-256), flushed before any record
    names them."""
    _write_xml(root, invoices)


def _write_xml(root: Path, invoices: Sequence[tuple[SaleRecord, bytes]]) -> None:
    written: list[Path] = []
    for record, data in invoices:
        target = root / record.xml_path
        with contextlib.suppress(OSError):
            if hashlib.sha256(target.read_bytes()).hexdigest() == record.xml_sha256:
                continue  # content-addressed: the same bytes are there already
        atomic_write(target, data, sync_dir=False, sync_file=False)
        written.append(target)
    sync_files(written)
    for directory in {path.parent.parent for path in written} | {root}:
        fsync_dir(directory)


def record_of(parsed: ParsedInvoice, data: bytes, source: str, now: datetime) -> SaleRecord:
    """The register's header of the invoice ``data`` (``parsed`` from it): what the XML says, its hashes."""
    return _record(parsed, data, source, now)


def _record(parsed: ParsedInvoice, data: bytes, source: str, now: datetime) -> SaleRecord:
    from ksef_tui.ksef.crypto import sha256_b64

    digest = hashlib.sha256(data).hexdigest()
    buyer = parsed.buyer
    return SaleRecord(
        number=parsed.number,
        issue_date=parsed.issue_date,
        customer_id=buyer.id or "",
        customer_id_type=_ID_TYPES.get(buyer.id_type, "other"),
        customer_name=buyer.name or "",
        net=parsed.net_total,
        vat=parsed.vat_total,
        gross=parsed.gross,
        currency=parsed.currency,
        kind=parsed.kind,
        corrected_number=next((c.number for c in parsed.corrected), None),
        xml_path=f"{parsed.issue_date:%Y}/{parsed.issue_date:%m}/{digest}.xml",
        xml_sha256=digest,
        invoice_hash=sha256_b64(data),
        source=source,
        created_at=now,
    )


@dataclass(frozen=True, slots=True)
class SaleRow:
    """One sales invoice, display-ready (words for states, the current language's amounts)."""

    number: str
    customer: str
    customer_id: str
    issue_date: str
    gross: str
    currency: str
    kind: str
    state: str
    ksef_number: str
    mail: str


def sale_row(sale: Sale) -> SaleRow:
    record, status = sale.record, sale.status
    return SaleRow(
        number=plain_text(record.number),
        customer=plain_text(record.customer_name),
        customer_id=plain_text(record.customer_id),
        issue_date=record.issue_date.isoformat(),
        gross=money(q2(record.gross)),
        currency=plain_text(record.currency),
        kind=kind_label(record.kind),
        state=t(f"sale.state.{status.state.value}"),
        ksef_number=status.ksef_number or "",
        mail=t(f"sale.mail.{status.mail.value}"),
    )


def list_sales(repo: SalesRepository, period: Period | None = None, state: SendState | None = None) -> list[Sale]:
    return repo.list(period, state)


def sale_json(sale: Sale, *, profile: Profile | None = None, today: date | None = None) -> dict[str, object]:
    """One invoice for ``sales list --json``. With the ``profile`` (the seller), an online invoice KSeF accepted
    carries its KOD I link; an offline one always carries both codes (:func:`offline_fields`)."""
    record, status = sale.record, sale.status
    return {
        "number": record.number,
        "customer_nip": record.customer_id if record.customer_id_type == "nip" else None,
        "customer_id": record.customer_id or None,
        "customer": record.customer_name,
        "issue_date": record.issue_date.isoformat(),
        "net": format(record.net, "f"),
        "vat": format(record.vat, "f"),
        "gross": format(record.gross, "f"),
        "currency": record.currency,
        "kind": record.kind,
        "state": status.state.value,
        "ksef_number": status.ksef_number,
        "mail_state": status.mail.value,
        "acquisition_date": None if status.acquisition_date is None else status.acquisition_date.isoformat(),
        "duplicate": status.duplicate,
        "error_code": status.error_code,
        "error": " ".join([status.error_description or "", *status.error_details]).strip() or None,
        "session_ref": status.session_ref,
        "upo": status.upo_path is not None,
        **offline_fields(sale, profile=profile, today=today),
    }


def offline_fields(sale: Sale, *, profile: Profile | None = None, today: date | None = None) -> dict[str, object]:
    """The offline part of an invoice's JSON: ``offline_mode`` (``None`` for an invoice issued in KSeF),
    ``deadline`` (the last day to send it, ``None`` once KSeF accepted it or while an outage it waits for lasts),
    ``kod1`` and ``kod2`` (links, ``None`` where there is none), and for offline invoices ``issued_offline_at``,
    ``offline_deadline`` (the deadline, kept after the send), ``deadline_status`` (``open``, ``due_today``,
    ``overdue``, ``waiting`` while unsent; ``met`` or ``late`` once accepted) and ``hash_of_corrected`` (a technical
    correction: the rejected original's hash)."""
    from ksef_tui.domain.booking import WARSAW, warsaw_date
    from ksef_tui.domain.offline import deadline_status

    record, status = sale.record, sale.status
    offline = record.offline
    accepted = status.state is SendState.ACCEPTED
    if offline is None:
        kod1 = _kod1_of_record(record, profile) if accepted and profile is not None else None
        return {"offline_mode": None, "deadline": None, "kod1": kod1, "kod2": None}
    due = offline.deadline
    if accepted:
        sent = sent_day(sale)
        state = "late" if due is not None and sent is not None and sent > due else "met"
    else:
        state = deadline_status(offline.mode, due, today or warsaw_date(datetime.now(WARSAW))).state.value
    return {
        "offline_mode": offline.mode.value,
        "deadline": None if accepted or due is None else due.isoformat(),
        "kod1": offline.kod1,
        "kod2": offline.kod2,
        "issued_offline_at": offline.issued_at.isoformat(),
        "offline_deadline": None if due is None else due.isoformat(),
        "deadline_status": state,
        "hash_of_corrected": offline.corrected_hash,
    }


def sent_day(sale: Sale) -> date | None:
    """The Warsaw day KSeF took an accepted invoice for processing (its ``invoicingDate``, kept by the send), else
    the day it was numbered."""
    from ksef_tui.domain.booking import warsaw_date

    status = sale.status
    sent = status.extra.get("sent_at")
    if sent:
        return warsaw_date(datetime.fromisoformat(str(sent)))
    if status.acquisition_date is not None:
        return warsaw_date(status.acquisition_date)
    return None


def _kod1_of_record(record: SaleRecord, profile: Profile) -> str | None:
    """KOD I of a registered invoice from its header, without reading the file: the seller is the profile's
    company (imports and the form refuse any other), the hash is the file's SHA-256."""
    import base64

    from ksef_tui.fa.qr import QrError, qr_base

    try:
        base = qr_base(profile.qr_environment)
        digest = bytes.fromhex(record.xml_sha256)
    except (QrError, ValueError):
        return None
    segment = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return f"{base}/invoice/{profile.nip}/{record.issue_date.strftime('%d-%m-%Y')}/{segment}"


def parse_state(text: str) -> SendState:
    try:
        return SendState(text)
    except ValueError:
        raise UserError(
            "sales.bad_state", value=text, options=", ".join(s.value for s in SendState), category=Category.INPUT
        ) from None
