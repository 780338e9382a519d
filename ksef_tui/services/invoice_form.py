"""The sales invoice form and the correction form, without the screen: what a person typed (a draft of texts)
made into the domain's :class:`SalesInvoice`, its VAT summary exactly as the XML will carry it, the problems
mapped to the form's fields, and the save through :func:`ksef_tui.services.sales.issue_invoice`.

The totals come from :func:`ksef_tui.domain.invoice.compute_totals`, the very function
:func:`ksef_tui.fa.build.build_xml` writes ``P_13_x``/``P_14_x``/``P_15`` from, so what the form shows is what
the invoice says. Schema findings of the built XML are mapped back to fields by element (and, for the lines,
by the ``FaWiersz`` they are in).

A new invoice may be issued offline (issue 14, CERTS_OFFLINE.md §5): ``offline24`` by the seller's choice at
any time, ``offline`` while KSeF announced an unavailability, ``emergency`` while it announced a failure
(:func:`offline_choices`: the mode KSeF's state suggests comes pre-selected). :func:`offline_note` says what that
means (the deadline to send it, KOD II signed with the company's Offline certificate, or how to get one), and
:func:`save` issues it through :func:`ksef_tui.services.offline.issue_offline_invoice`.

Blocking where it reads or writes (the store, the XML files, lxml, the vault): call :func:`load_form`,
:func:`check_schema` and :func:`save` from thread workers; :func:`read_draft`, :func:`totals_view`,
:func:`offline_choices` and :func:`offline_note` are pure.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    BuyerIdType,
    CorrectedInvoice,
    CorrectionType,
    InvoiceKind,
    InvoiceLine,
    Payment,
    PaymentForm,
    SalesInvoice,
    Seller,
    compute_totals,
)
from ksef_tui.domain.money import q2
from ksef_tui.domain.nip import nip_problem, normalize_nip
from ksef_tui.domain.offline import DeadlineState, OfflineMode, Outage, OutageKind, deadline
from ksef_tui.domain.vat import BUCKETS, VatRate
from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t
from ksef_tui.services.purchases import money

if TYPE_CHECKING:
    from collections.abc import Callable

    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.availability import Availability
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.store.sales import Sale

#: The rates a form offers (FA(3) ``P_12``; the margin scheme needs a procedure the form does not ask for).
FORM_RATES: tuple[VatRate, ...] = tuple(rate for rate in VatRate if rate is not VatRate.MARGIN)
LINE_COLUMNS = ("name", "unit", "quantity", "price", "rate")
#: Field ids of the form (a line's are ``line-<index>-<column>``).
FIELDS = (
    "seller_name",
    "seller_address",
    "customer",
    "issue_date",
    "sale_date",
    "lines",
    "currency",
    "exchange_rate",
    "payment_form",
    "due_date",
    "bank_account",
    "reason",
    "correction_type",
)
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


class FormRefused(UserError):
    """The form cannot open or save (an invoice that cannot be corrected, a customer refused…)."""

    category = Category.INPUT


def line_field(index: int, column: str) -> str:
    return f"line-{index}-{column}"


@dataclass
class LineDraft:
    """One line as typed."""

    name: str = ""
    unit: str = "szt."
    quantity: str = "1"
    price: str = ""
    rate: VatRate = VatRate.R23

    @classmethod
    def of(cls, line: InvoiceLine) -> LineDraft:
        return cls(line.name, line.unit, plain_number(line.quantity), plain_number(line.unit_price), line.rate)


@dataclass(frozen=True, slots=True)
class Original:
    """The accepted invoice a correction starts from."""

    invoice: SalesInvoice
    ksef_number: str


@dataclass
class InvoiceDraft:
    """The form's content as typed; :func:`read_draft` reads it."""

    seller: Seller
    customer: Customer | None = None
    issue_date: str = ""
    sale_date: str = ""
    lines: list[LineDraft] = field(default_factory=lambda: [LineDraft()])
    currency: str = "PLN"
    exchange_rate: str = ""
    payment_form: PaymentForm | None = PaymentForm.TRANSFER
    due_date: str = ""
    bank_account: str = ""
    original: Original | None = None  # a correction of it
    reason: str = ""
    correction_type: CorrectionType | None = CorrectionType.AT_CORRECTION_DATE


@dataclass(frozen=True, slots=True)
class Reading:
    """A draft read: the invoice (``None`` when nothing can be totalled yet), the problems by field id (in the
    current language), and whether the invoice is complete (no problem at all)."""

    invoice: SalesInvoice | None
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.invoice is not None and not self.errors


def plain_number(value: Decimal) -> str:
    """A quantity or price as a person types it: ``1080``, ``2,5`` (Polish) or ``2.5``."""
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    from ksef_tui.i18n import language

    return text.replace(".", ",") if language() == "pl" else text


def format_date(day: date | None) -> str:
    return "" if day is None else f"{day:%d.%m.%Y}"


def parse_date(text: str) -> date | None:
    """``DD.MM.RRRR`` (or ``RRRR-MM-DD``); ``None`` when it is no date."""
    text = text.strip()
    match = _DATE.fullmatch(text)
    try:
        if match is not None:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_number(text: str) -> Decimal | None:
    """A number as typed (``1 234,56`` or ``1234.56``), ``None`` when it is none."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not cleaned or not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def nip_message(text: str) -> str:
    """What is wrong with a NIP as typed ("" when it is fine): the checksum checked as it is typed."""
    problem = nip_problem(normalize_nip(text))
    return "" if problem is None else t(f"form.nip.{problem.value}")


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _read_line(index: int, line: LineDraft, errors: dict[str, str], *, correction: bool) -> InvoiceLine | None:
    name = " ".join(line.name.split())
    quantity = parse_number(line.quantity)
    price = parse_number(line.price)
    if not name:
        errors[line_field(index, "name")] = t("form.err.required")
    if not line.unit.strip():
        errors[line_field(index, "unit")] = t("form.err.required")
    if quantity is None:
        errors[line_field(index, "quantity")] = t("form.err.number")
    elif (quantity <= 0 and not correction) or _decimals(quantity) > 6:
        errors[line_field(index, "quantity")] = t("form.err.quantity")
    if price is None:
        errors[line_field(index, "price")] = t("form.err.number")
    elif price < 0 or _decimals(price) > 8:
        errors[line_field(index, "price")] = t("form.err.price")
    if quantity is None or price is None:
        return None
    # a line with a wrong name or unit still counts in the totals
    return InvoiceLine(name or "-", quantity, price, line.rate, unit=line.unit.strip() or "szt.")


def read_draft(draft: InvoiceDraft) -> Reading:
    """The draft as an invoice and its problems by field. Lines whose numbers can be read count in the totals
    even while another field is wrong, so the totals follow the typing."""
    errors: dict[str, str] = {}
    original = draft.original
    correction = original is not None
    issue = parse_date(draft.issue_date)
    if issue is None:
        errors["issue_date"] = t("form.err.date")
    sale: date | None = None
    if draft.sale_date.strip():
        sale = parse_date(draft.sale_date)
        if sale is None:
            errors["sale_date"] = t("form.err.date")
    lines: list[InvoiceLine] = []
    for index, typed in enumerate(draft.lines):
        line = _read_line(index, typed, errors, correction=correction)
        if line is not None:
            lines.append(line)
    if not draft.lines and not correction:
        errors["lines"] = t("form.err.no_lines")
    currency = draft.currency.strip().upper()
    if not _CURRENCY.fullmatch(currency):
        errors["currency"] = t("form.err.currency")
        currency = "PLN"
    rate: Decimal | None = None
    if currency != "PLN":
        rate = parse_number(draft.exchange_rate)
        if rate is None or rate <= 0 or _decimals(rate) > 6:
            errors["exchange_rate"] = t("form.err.exchange_rate")
            rate = None
    due: date | None = None
    if draft.due_date.strip():
        due = parse_date(draft.due_date)
        if due is None:
            errors["due_date"] = t("form.err.date")
        elif issue is not None and due < issue:
            errors["due_date"] = t("form.err.due_before")
    account = re.sub(r"\s", "", draft.bank_account)
    if account and not re.fullmatch(r"(PL)?\d{26}|[A-Z]{2}\d{2}[A-Z0-9]{10,30}", account):
        errors["bank_account"] = t("form.err.bank_account")
    seller = draft.seller
    if not seller.name.strip():
        errors["seller_name"] = t("form.err.required")
    if not seller.address.line1.strip():
        errors["seller_address"] = t("form.err.required")
    buyer: Buyer
    if original is not None:
        buyer = original.invoice.buyer
        if not " ".join(draft.reason.split()):
            errors["reason"] = t("form.err.required")
        if draft.correction_type is None:
            errors["correction_type"] = t("form.err.required")
    elif draft.customer is None:
        errors["customer"] = t("form.err.customer")
        buyer = Buyer("-", BuyerIdType.NONE)
    else:
        buyer = draft.customer.buyer()
    if rate is None and currency != "PLN":
        return Reading(None, errors)  # no PLN tax without a rate: nothing to total yet
    invoice = SalesInvoice(
        number="",
        issue_date=issue or date(2000, 1, 1),
        seller=seller,
        buyer=buyer,
        lines=tuple(lines),
        sale_date=sale if sale != issue else None,
        currency=currency,
        exchange_rate=rate,
        payment=Payment(due_date=due, form=draft.payment_form, bank_account=account or None)
        if (due or draft.payment_form or account)
        else None,
    )
    if original is not None:
        before = original.invoice
        invoice = replace(
            invoice,
            kind=InvoiceKind.KOR,
            buyer=before.buyer,
            currency=before.currency,
            exchange_rate=rate if before.currency != "PLN" else None,
            price_basis=before.price_basis,
            corrected=(CorrectedInvoice(before.issue_date, before.number, original.ksef_number),),
            correction_reason=" ".join(draft.reason.split()) or None,
            correction_type=draft.correction_type,
            lines_before=before.lines,
            split_payment=before.split_payment,
            cash_accounting=before.cash_accounting,
            exemption=before.exemption,
        )
    if VatRate.EXEMPT in {line.rate for line in invoice.all_lines} and invoice.exemption is None:
        errors["lines"] = t("form.err.exempt")
    return Reading(invoice, errors)


# ------------------------------------------------------------------------------------------------ totals


@dataclass(frozen=True, slots=True)
class TotalsRow:
    label: str  # the rates of the bucket ("23%", "zw", "0% WDT"…)
    net: str
    vat: str
    gross: str


@dataclass(frozen=True, slots=True)
class TotalsView:
    """The VAT summary as the form shows it: a row per summary bucket and the grand total (``P_15``)."""

    rows: tuple[TotalsRow, ...]
    net: str
    vat: str
    gross: str
    currency: str
    fields: dict[str, Decimal]  # exactly the XML's P_13_x/P_14_x(W)
    gross_value: Decimal


def rate_label(rate: VatRate) -> str:
    return t(f"form.rate.{rate.name}")


def totals_view(invoice: SalesInvoice | None) -> TotalsView:
    if invoice is None:
        zero = money(Decimal(0))
        return TotalsView((), zero, zero, zero, "PLN", {}, Decimal("0.00"))
    totals = compute_totals(invoice)
    rates_of: dict[str, list[VatRate]] = defaultdict(list)
    for line in invoice.all_lines:
        if line.rate not in rates_of[line.rate.bucket.net]:
            rates_of[line.rate.bucket.net].append(line.rate)
    rows = []
    for bucket in BUCKETS.values():
        if bucket.net not in totals.fields:
            continue
        net = totals.fields[bucket.net]
        vat = totals.fields.get(bucket.tax, Decimal("0.00")) if bucket.tax else Decimal("0.00")
        label = ", ".join(rate_label(rate) for rate in rates_of.get(bucket.net, []))
        rows.append(TotalsRow(label, money(net), money(vat), money(q2(net + vat))))
    return TotalsView(
        tuple(rows),
        money(totals.net),
        money(totals.vat),
        money(totals.gross),
        invoice.currency,
        dict(totals.fields),
        totals.gross,
    )


# ------------------------------------------------------------------------------------------------ schema

#: Schema elements and the field they come from (``FaWiersz`` children: the line's column).
_ELEMENT_FIELD = {
    "P_1": "issue_date",
    "P_6": "sale_date",
    "KodWaluty": "currency",
    "KursWaluty": "exchange_rate",
    "TerminPlatnosci": "due_date",
    "Termin": "due_date",
    "FormaPlatnosci": "payment_form",
    "NrRB": "bank_account",
    "RachunekBankowy": "bank_account",
    "PrzyczynaKorekty": "reason",
    "TypKorekty": "correction_type",
    "Podmiot2": "customer",
    "Nazwa": "customer",
    "AdresL1": "seller_address",
    "AdresL2": "seller_address",
}
_LINE_ELEMENT = {"P_7": "name", "P_8A": "unit", "P_8B": "quantity", "P_9A": "price", "P_9B": "price", "P_12": "rate"}


def check_schema(invoice: SalesInvoice, *, created_at: datetime) -> dict[str, str]:
    """The FA(3) schema's findings on the invoice's XML, by field ("form" for those of no field). Blocking (lxml)."""
    from lxml import etree

    from ksef_tui.fa.build import BuildError, build_xml
    from ksef_tui.fa.validate import Schema, validate_bytes

    numbered = replace(invoice, number=invoice.number or "FORM/1")
    try:
        data = build_xml(numbered, created_at=created_at)
    except BuildError as exc:
        return {"form": exc.message()}
    findings = validate_bytes(data, expect=Schema.FA3).findings
    if not findings:
        return {}
    # which FaWiersz each line of the XML is in (before-lines of a correction first, as written)
    root = etree.fromstring(data)
    spans: list[tuple[int, int, int]] = []  # (first line, last line, form line index)
    before = len(invoice.lines_before)
    rows = [el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "FaWiersz"]
    for position, row in enumerate(rows):
        last = max((el.sourceline or 0) for el in row.iter())
        spans.append((row.sourceline or 0, last, position - before))
    errors: dict[str, str] = {}
    for finding in findings:
        element = str(finding.text.params.get("element", ""))
        name = element.rsplit("/", 1)[-1].rsplit(":", maxsplit=1)[-1]
        target = "form"
        if name in _LINE_ELEMENT and finding.line:
            index = next((i for first, last, i in spans if first <= finding.line <= last), -1)
            target = line_field(index, _LINE_ELEMENT[name]) if index >= 0 else "lines"
        elif name in _ELEMENT_FIELD:
            target = _ELEMENT_FIELD[name]
        errors.setdefault(target, finding.message)
    return errors


# ------------------------------------------------------------------------------------------------ store


@dataclass(frozen=True, slots=True)
class FormContext:
    """What the form starts from, read from the company's store."""

    customers: tuple[Customer, ...]
    seller: Seller
    bank_account: str
    next_number: str
    original: Original | None = None
    original_number: str = ""
    offline_certificate: str = ""  # the name of the company's valid Offline KSeF certificate, "" when none
    outages: tuple[Outage, ...] = ()  # the KSeF outages announced (Latarnia), for the offline deadlines


def _invoice_of(workspace: Workspace, profile: Profile, sale: Sale) -> SalesInvoice:
    from ksef_tui.fa.convert import to_sales_invoice
    from ksef_tui.fa.parse import parse_invoice
    from ksef_tui.services.sales import sales_xml_root

    path = sales_xml_root(workspace.store_path(profile)) / sale.record.xml_path
    return to_sales_invoice(parse_invoice(path.read_bytes()))


def load_form(
    workspace: Workspace, profile: Profile, today: date, correct: str | None = None, *, now: datetime | None = None
) -> FormContext:
    """The customer book, the seller and bank account of the company's latest invoice, the number the new
    document would take, and for a correction the accepted invoice it corrects; for a new invoice the company's
    Offline certificate valid at ``now`` (default: noon of ``today``) and the outages KSeF announced. Blocking."""
    from ksef_tui.services.sales import next_numbers
    from ksef_tui.services.workspace import StoreUnavailable
    from ksef_tui.store.customers import CustomerBook
    from ksef_tui.store.sales import SalesRepository, SendState

    try:
        store = workspace.store(profile, read_only=True)
    except StoreUnavailable:  # a company that has no store yet: no customers, no invoices
        if correct is not None:
            raise FormRefused("form.not_accepted", number=correct) from None
        first, _ = next_numbers(profile, today, [])
        return FormContext((), Seller(profile.nip, profile.name, Address("")), "", first)
    with contextlib.closing(store):
        customers = tuple(sorted(CustomerBook.of(store).all(), key=lambda c: c.name.casefold()))
        repo = SalesRepository(store)
        sales = repo.list()
        numbers = repo.numbers()
        original: Original | None = None
        if correct is not None:
            sale = repo.get(correct)
            if sale is None or sale.status.state is not SendState.ACCEPTED or not sale.status.ksef_number:
                raise FormRefused("form.not_accepted", number=correct)
            invoice = _invoice_of(workspace, profile, sale)
            if invoice.kind is not InvoiceKind.VAT:
                raise FormRefused("form.not_correctable", number=correct)
            original = Original(invoice, sale.status.ksef_number)
        seller = Seller(profile.nip, profile.name, Address(""))
        account = ""
        latest = sorted(
            (s for s in sales if s.record.source == "built"),
            key=lambda s: (s.record.issue_date, s.record.created_at),
            reverse=True,
        )
        for sale in latest[:1]:
            try:
                last = _invoice_of(workspace, profile, sale)
            except (OSError, UserError):
                continue
            seller = last.seller
            account = (last.payment.bank_account if last.payment else None) or ""
        if original is not None:
            seller = original.invoice.seller
    invoice_number, correction_number = next_numbers(profile, today, numbers)
    certificate, outages = ("", ()) if correct else _offline_context(workspace, profile, now or _noon(today))
    return FormContext(
        customers,
        seller,
        account,
        correction_number if correct else invoice_number,
        original,
        correct or "",
        certificate,
        outages,
    )


def _offline_context(workspace: Workspace, profile: Profile, moment: datetime) -> tuple[str, tuple[Outage, ...]]:
    """The company's Offline certificate valid at ``moment`` (its name) and the outages KSeF announced; what cannot
    be read is "none" (the form then says how to get a certificate), never a form that does not open. Blocking."""
    from ksef_tui.services.availability import outages
    from ksef_tui.services.offline import offline_certificates

    try:
        valid = [c.name for c in offline_certificates(workspace, profile) if c.valid_at(moment)]
    except (UserError, OSError):
        valid = []
    return (valid[0] if valid else ""), tuple(outages(workspace, profile))


def add_customer(workspace: Workspace, profile: Profile, name: str, nip: str, email: str) -> Customer:
    """A new customer (NIP checked) into the company's book. Blocking."""
    from ksef_tui.services.sales import add_customer as put
    from ksef_tui.store.customers import CustomerBook

    with workspace.open_store(profile) as store:
        customer, _ = put(CustomerBook.of(store), name, nip=nip or None, email=email or None)
    return customer


def save(
    workspace: Workspace,
    profile: Profile,
    invoice: SalesInvoice,
    *,
    clock: Callable[[], datetime],
    offline: OfflineMode | None = None,
    outages: tuple[Outage, ...] = (),
) -> Sale:
    """Issue the invoice or the correction (numbered under the store's lock), queued to be sent. With ``offline``
    it is issued in that mode (KOD I and KOD II, signed with the company's Offline certificate from the vault;
    ``outages`` the KSeF outages it is judged by), sent with ``offlineMode`` once KSeF answers. Blocking."""
    from ksef_tui.services.sales import issue_invoice, sales_xml_root
    from ksef_tui.store.sales import SalesRepository

    if offline is not None:
        from ksef_tui.services.offline import issue_offline_invoice, offline_signer

        signer = offline_signer(workspace, profile, now=clock())
        with workspace.open_store(profile) as store:
            return issue_offline_invoice(
                SalesRepository(store), sales_xml_root(store.path), profile, invoice, mode=offline, signer=signer,
                outages=outages, clock=clock,
            )  # fmt: skip
    with workspace.open_store(profile) as store:
        return issue_invoice(
            SalesRepository(store), sales_xml_root(store.path), profile, invoice, queue=True, clock=clock
        )


# ------------------------------------------------------------------------------------------------ offline issue


@dataclass(frozen=True, slots=True)
class OfflineChoices:
    """How a new invoice may be issued: the offline modes offered (``offline24`` always; ``offline`` while KSeF
    announced an unavailability, ``emergency`` while it announced a failure) and the one to pre-select (``None``:
    online, KSeF is available)."""

    modes: tuple[OfflineMode, ...]
    chosen: OfflineMode | None


_STATE_MODE = {"maintenance": OfflineMode.OFFLINE, "failure": OfflineMode.EMERGENCY}


def offline_choices(availability: Availability | None) -> OfflineChoices:
    """What the form offers given KSeF's state as the app knows it (``None``: not known yet, online)."""
    from ksef_tui.services.availability import suggested_mode

    state = availability.state.value if availability is not None else "available"
    extra = _STATE_MODE.get(state)
    modes = (OfflineMode.OFFLINE24,) + ((extra,) if extra is not None else ())
    suggested = suggested_mode(availability) if availability is not None else None
    return OfflineChoices(modes, suggested if suggested in modes else None)


_MODE_OUTAGE = {OfflineMode.OFFLINE: OutageKind.UNAVAILABILITY, OfflineMode.EMERGENCY: OutageKind.FAILURE}


def issue_outages(
    mode: OfflineMode, issued: date, known: tuple[Outage, ...], availability: Availability | None
) -> tuple[Outage, ...]:
    """The outages an invoice issued in ``mode`` on ``issued`` is judged by: those KSeF announced (``known``),
    and, when none of the mode's kind covers the issue day, the one the app sees now (its start, and for an
    unavailability its announced end; a failure's end is not known until KSeF says it ended)."""
    kind = _MODE_OUTAGE.get(mode)
    if kind is None or any(o.kind is kind and o.covers(issued) for o in known):
        return known
    start = availability.since if availability is not None and availability.since is not None else issued
    end = availability.until if availability is not None and kind is OutageKind.UNAVAILABILITY else None
    try:
        seen = Outage(kind, min(start, _noon(issued)) if isinstance(start, datetime) else issued, end)
    except ValueError:
        seen = Outage(kind, issued)
    return (*known, seen)


def _noon(day: date) -> datetime:
    from datetime import time

    from ksef_tui.domain.booking import WARSAW

    return datetime.combine(day, time(12), WARSAW)


def offline_deadline(mode: OfflineMode, issued: date, outages: tuple[Outage, ...]) -> tuple[DeadlineState, date | None]:
    """The deadline an invoice issued now in ``mode`` would get: (``OPEN``, the date) or (``WAITING``, ``None``)
    while the outage it depends on has not ended."""
    try:
        due = deadline(mode, issued, outages)
    except ValueError:
        due = None
    return (DeadlineState.OPEN if due is not None else DeadlineState.WAITING), due


def offline_note(
    mode: OfflineMode | None, issued: date | None, outages: tuple[Outage, ...], certificate: str
) -> tuple[list[str], bool]:
    """What issuing in ``mode`` means, in lines (empty for online), and whether it cannot be done as it stands
    (no Offline certificate: KOD II cannot be signed; the lines then say how to get one)."""
    if mode is None:
        return [], False
    lines = [t(f"form.offline.means.{mode.value}")]
    if issued is None:
        lines.append(t("form.offline.deadline_after_date"))
    else:
        state, due = offline_deadline(mode, issued, outages)
        if state is DeadlineState.OPEN and due is not None:
            lines.append(t(f"form.offline.deadline.{mode.value}", date=format_date(due)))
        else:
            lines.append(t("form.offline.deadline_waiting"))
    if certificate:
        lines.append(t("form.offline.kod2", name=certificate))
        return lines, False
    lines.append(t("form.offline.no_certificate"))
    lines.append(t("form.offline.no_certificate.how"))
    return lines, True


def draft_from(context: FormContext, today: date) -> InvoiceDraft:
    """The form's first content: today's dates, payment by transfer in 14 days to the latest account; for a
    correction the original's lines to edit, its currency and rate."""
    from datetime import timedelta

    draft = InvoiceDraft(
        seller=context.seller,
        issue_date=format_date(today),
        sale_date=format_date(today),
        due_date=format_date(today + timedelta(days=14)),
        bank_account=context.bank_account,
    )
    original = context.original
    if original is not None:
        invoice = original.invoice
        payment = invoice.payment
        draft.original = original
        draft.lines = [LineDraft.of(line) for line in invoice.lines]
        draft.currency = invoice.currency
        draft.exchange_rate = plain_number(invoice.exchange_rate) if invoice.exchange_rate is not None else ""
        draft.payment_form = payment.form if payment else None
        draft.bank_account = (payment.bank_account if payment else None) or ""
        draft.due_date = ""
        draft.sale_date = ""
    return draft


__all__ = [
    "FIELDS",
    "FORM_RATES",
    "FormContext",
    "FormRefused",
    "InvoiceDraft",
    "LineDraft",
    "OfflineChoices",
    "Original",
    "Reading",
    "TotalsRow",
    "TotalsView",
    "add_customer",
    "check_schema",
    "draft_from",
    "format_date",
    "issue_outages",
    "load_form",
    "nip_message",
    "offline_choices",
    "offline_deadline",
    "offline_note",
    "parse_date",
    "parse_number",
    "read_draft",
    "save",
    "totals_view",
]
