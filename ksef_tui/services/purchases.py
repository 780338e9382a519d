"""Purchase invoices as both faces show them: rows with words and Warsaw dates, and totals per currency.

The CLI prints these rows as a table (``purchases list``), the UI will put them in a DataTable; neither formats
a record itself. Every text a supplier controls (invoice number, seller name) is stripped of control characters
here, so an escape sequence in a seller's name cannot repaint the terminal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal

from ksef_tui.domain.booking import warsaw_date
from ksef_tui.domain.money import ZERO, format_amount, q2
from ksef_tui.i18n import language, t
from ksef_tui.services.booking import category_label, kind_label, parse_period, plain_text
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository


@dataclass(frozen=True, slots=True)
class PurchaseRow:
    """One purchase invoice, display-ready: text with words instead of codes, dates (``RRRR-MM-DD``) in
    Europe/Warsaw, amounts in the current language's format; the rounded amounts ride along for totals."""

    ksef_number: str
    invoice_number: str
    issue_date: str
    received: str  # the day KSeF assigned the number, in Warsaw (the receipt date)
    seller_nip: str
    seller_name: str
    kind: str  # "podstawowa", "korygująca", ...
    corrects: str  # the corrected invoice's KSeF number, or ""
    net: str
    vat: str
    gross: str
    currency: str
    booked: str  # "niezaksięgowana" or how it is booked; "skorygowana (jest korekta); " first when corrected
    amounts: tuple[Decimal, Decimal, Decimal]  # net, VAT, gross, rounded to the grosz
    is_booked: bool
    is_corrected: bool


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """The sums of one currency's rows, as text (``net``, ``vat``, ``gross``) and as numbers (``amounts``)."""

    currency: str
    count: int
    net: str
    vat: str
    gross: str
    amounts: tuple[Decimal, Decimal, Decimal]

    def text(self) -> str:
        """The totals line, e.g. "Razem 3 faktury w PLN: netto …" (the plural chosen by ``count``)."""
        return t(
            "purchases.total", count=self.count, currency=self.currency, net=self.net, vat=self.vat, gross=self.gross
        )


def money(value: Decimal) -> str:
    """An amount for the screen: ``1 234,56`` in Polish, ``1,234.56`` in English."""
    return format_amount(value, decimal_comma=language() == "pl")


def list_purchases(
    repo: PurchaseRepository, period: str | None = None, *, booked: bool | None = None
) -> list[PurchaseRecord]:
    """Purchases issued in ``period`` (``YYYY-MM``, the one parser: a malformed period is a ``BadPeriod``)."""
    return repo.list(None if period is None else parse_period(period), booked)


def purchase_row(record: PurchaseRecord, *, corrected: bool = False) -> PurchaseRow:
    booking = record.booking
    parts = [t("purchase.state.corrected")] if corrected else []
    if booking is None:
        parts.append(t("purchase.state.unbooked"))
    else:
        parts.append(
            t(
                "purchase.booked_as",
                category=plain_text(category_label(booking.category)),
                deduction=booking.vat_deduction,
                period=booking.period,
            )
        )
    net, vat, gross = q2(record.net), q2(record.vat), q2(record.gross)
    return PurchaseRow(
        ksef_number=record.ksef_number,
        invoice_number=plain_text(record.invoice_number),
        issue_date=record.issue_date.isoformat(),
        received=warsaw_date(record.acquisition_date).isoformat(),
        seller_nip=plain_text(record.seller_nip),
        seller_name=plain_text(record.seller_name),
        kind=kind_label(record.kind),
        corrects=record.corrected_ksef_number or "",
        net=money(net),
        vat=money(vat),
        gross=money(gross),
        currency=plain_text(record.currency),
        booked="; ".join(parts),
        amounts=(net, vat, gross),
        is_booked=booking is not None,
        is_corrected=corrected,
    )


def purchase_rows(records: Iterable[PurchaseRecord], *, corrected: Collection[str] = ()) -> list[PurchaseRow]:
    """Rows in the records' order. ``corrected``: KSeF numbers that have a correction
    (``PurchaseRepository.corrected_numbers()``), marked "skorygowana (jest korekta)"."""
    return [purchase_row(r, corrected=r.ksef_number in corrected) for r in records]


def totals(rows: Iterable[PurchaseRow]) -> list[CurrencyTotal]:
    """Sums per currency (PLN first, then alphabetical); amounts are never added across currencies."""
    sums: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    counts: dict[str, int] = {}
    for row in rows:
        net, vat, gross = sums.get(row.currency, (ZERO, ZERO, ZERO))
        sums[row.currency] = (net + row.amounts[0], vat + row.amounts[1], gross + row.amounts[2])
        counts[row.currency] = counts.get(row.currency, 0) + 1
    result = []
    for currency in sorted(sums, key=lambda c: (c != "PLN", c)):
        amounts = sums[currency]
        result.append(
            CurrencyTotal(currency, counts[currency], money(amounts[0]), money(amounts[1]), money(amounts[2]), amounts)
        )
    return result
