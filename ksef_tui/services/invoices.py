"""Invoice files as both faces show them: load one safely, and its summary as labelled rows.

The rows are data (label, value), not formatted text: the command line aligns them in columns, the TUI puts
them in a detail pane. Amounts use the decimal comma in Polish; dates are DD.MM.RRRR as accountants read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui.domain.booking import warsaw_date
from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t

if TYPE_CHECKING:
    from ksef_tui.fa.parse import ParsedInvoice


@dataclass(frozen=True, slots=True)
class BucketRow:
    label: str
    net: str
    vat: str
    vat_pln: str


@dataclass(slots=True)
class InvoiceSummary:
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    buckets: list[BucketRow] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # after the VAT table

    @property
    def shows_vat_pln(self) -> bool:
        return any(row.vat_pln for row in self.buckets)


class InvoiceFileError(UserError):
    """An invoice-layer error, with the file it came from (the layer knows bytes, the service the path)."""

    key = "err.not_invoice"
    category = Category.INPUT  # a file that is not a readable invoice (validate's verdicts are INVALID)

    def __init__(self, path: Path, cause: Exception) -> None:
        super().__init__(category=cause.category if isinstance(cause, UserError) else None, path=path)
        self.cause = cause

    def message(self) -> str:
        reason = self.cause.message() if isinstance(self.cause, UserError) else str(self.cause)
        return t(self.key, reason=reason, **self.params)

    def hint(self) -> str:
        return self.cause.hint() if isinstance(self.cause, UserError) else ""


def load_invoice(path: Path) -> tuple[bytes, ParsedInvoice]:
    """Read (refusing special files and oversized ones) and parse an FA(3)/FA(2) file. Blocking."""
    from ksef_tui.fa.parse import InvoiceParseError, parse_invoice
    from ksef_tui.services.files import read_input

    data = read_input(path)
    try:
        return data, parse_invoice(data)
    except InvoiceParseError as exc:
        raise InvoiceFileError(path, exc) from None


def display_date(value: date) -> str:
    """A date as accountants read it, DD.MM.RRRR; a moment is shown by its Warsaw day."""
    if isinstance(value, datetime):
        value = warsaw_date(value)
    return f"{value:%d.%m.%Y}"


def _party_id(id_type: str, value: str | None) -> str:
    if id_type == "None" or not value:
        return t("show.no_id")
    return f"{'NIP' if id_type == 'Nip' else id_type} {value}"


def summarize(invoice: ParsedInvoice) -> InvoiceSummary:
    from ksef_tui.domain.vat import BUCKETS
    from ksef_tui.services.booking import kind_label  # the words for kinds and amounts, shared with the
    from ksef_tui.services.purchases import money  # purchase rows (imported here: they load the store)

    summary = InvoiceSummary(
        t(
            "show.header",
            schema=invoice.schema,
            kind=kind_label(invoice.kind),
            number=invoice.number,
            date=display_date(invoice.issue_date),
        )
    )
    facts = summary.facts
    facts.append((t("show.seller"), f"NIP {invoice.seller.id}  {invoice.seller.name or ''}".rstrip()))
    facts.append(
        (t("show.buyer"), f"{_party_id(invoice.buyer.id_type, invoice.buyer.id)}  {invoice.buyer.name or ''}".rstrip())
    )
    if invoice.sale_date:
        facts.append((t("show.sale_date"), display_date(invoice.sale_date)))
    facts.append((t("show.currency"), invoice.currency))
    for bucket in BUCKETS.values():
        if bucket.net not in invoice.buckets and (bucket.tax is None or bucket.tax not in invoice.buckets):
            continue
        net = invoice.buckets.get(bucket.net)
        tax = invoice.buckets.get(bucket.tax) if bucket.tax else None
        pln = invoice.buckets.get(bucket.tax_pln) if bucket.tax_pln else None
        summary.buckets.append(
            BucketRow(
                t(f"bucket.{bucket.net}"),
                money(net) if net is not None else "",
                money(tax) if tax is not None else "",
                money(pln) if pln is not None else "",
            )
        )
    notes = summary.notes
    notes.append((t("show.gross"), f"{money(invoice.gross)} {invoice.currency}"))
    notes.append((t("show.lines"), str(len(invoice.lines))))
    for ref in invoice.corrected:
        where = f"KSeF {ref.ksef_number}" if ref.ksef_number else t("show.corrects_outside")
        notes.append((t("show.corrects"), f"{ref.number} ({display_date(ref.issue_date)}), {where}"))
    if invoice.correction_reason:
        notes.append((t("show.reason"), invoice.correction_reason))
    if invoice.payment_due:
        notes.append((t("show.payment_due"), ", ".join(display_date(d) for d in invoice.payment_due)))
    for account in invoice.bank_accounts:
        notes.append((t("show.bank_account"), account))
    if invoice.reverse_charge:
        notes.append((t("show.reverse_charge"), ""))
    if invoice.split_payment:
        notes.append((t("show.split_payment"), ""))
    if invoice.exemption:
        notes.append((t("show.exemption"), invoice.exemption))
    return summary
