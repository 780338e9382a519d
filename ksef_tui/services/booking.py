"""Booking purchases (category, VAT deduction, period) and the purchase register export (CSV)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ksef_tui.domain.money import q2
from ksef_tui.i18n import t
from ksef_tui.store.atomic import atomic_write
from ksef_tui.store.purchases import Booking, PurchaseRecord, PurchaseRepository

#: Default categories, after the KPiR columns (book of revenue and expenses).
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "goods",  # zakup towarów handlowych i materiałów (kol. 10)
    "incidental",  # koszty uboczne zakupu (kol. 11)
    "other",  # pozostałe wydatki (kol. 13)
    "fixed-asset",  # środek trwały / wartość niematerialna
    "not-cost",  # nie stanowi kosztu
)
DEDUCTIONS = (100, 50, 0)
PERIOD_RE = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")


class BookingError(ValueError):
    """A user mistake; the message is ready to show."""


@dataclass(frozen=True, slots=True)
class BookingRequest:
    category: str
    vat_deduction: int
    period: str
    note: str = ""


def category_label(category: str) -> str:
    key = f"category.{category}"
    text = t(key)
    return category if text == key else text


def check_request(request: BookingRequest, categories: tuple[str, ...] = DEFAULT_CATEGORIES) -> None:
    if request.category not in categories:
        raise BookingError(t("booking.bad_category", category=request.category, options=", ".join(categories)))
    if request.vat_deduction not in DEDUCTIONS:
        raise BookingError(t("booking.bad_deduction", value=request.vat_deduction))
    if not PERIOD_RE.match(request.period):
        raise BookingError(t("booking.bad_period", value=request.period))


def book(
    repo: PurchaseRepository,
    ksef_number: str,
    request: BookingRequest,
    *,
    categories: tuple[str, ...] = DEFAULT_CATEGORIES,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PurchaseRecord:
    """Book (or re-book) one purchase; one store write. Blocking."""
    check_request(request, categories)
    booking = Booking(request.category, request.vat_deduction, request.period, request.note, clock())
    repo.set_booking(ksef_number, booking)
    record = repo.get(ksef_number)
    assert record is not None
    return record


def unbook(repo: PurchaseRepository, ksef_number: str) -> None:
    repo.set_booking(ksef_number, None)


def deductible_vat(record: PurchaseRecord) -> Decimal:
    if record.booking is None:
        return Decimal("0.00")
    return q2(record.vat * Decimal(record.booking.vat_deduction) / Decimal(100))


REGISTER_COLUMNS = (
    "ksef_number",
    "invoice_number",
    "issue_date",
    "received",
    "seller_nip",
    "seller_name",
    "kind",
    "corrects",
    "net",
    "vat",
    "gross",
    "currency",
    "category",
    "vat_deduction",
    "vat_deductible",
    "period",
    "note",
)


def register_rows(records: list[PurchaseRecord], *, decimal_comma: bool) -> list[list[str]]:
    def amount(value: Decimal) -> str:
        text = format(q2(value), "f")
        return text.replace(".", ",") if decimal_comma else text

    rows = []
    for r in sorted(records, key=lambda r: (r.issue_date, r.ksef_number)):
        booking = r.booking
        rows.append(
            [
                r.ksef_number,
                r.invoice_number,
                r.issue_date.isoformat(),
                r.acquisition_date.date().isoformat(),
                r.seller_nip,
                r.seller_name,
                r.kind,
                r.corrected_ksef_number or "",
                amount(r.net),
                amount(r.vat),
                amount(r.gross),
                r.currency,
                booking.category if booking else "",
                str(booking.vat_deduction) if booking else "",
                amount(deductible_vat(r)),
                booking.period if booking else "",
                booking.note if booking else "",
            ]
        )
    return rows


def export_register(repo: PurchaseRepository, period: str, out: Path, *, decimal_comma: bool = True) -> int:
    """Write the register of purchases booked into ``period`` as CSV (UTF-8 with BOM, ``;``). Blocking.

    Returns the number of rows. The file is written atomically: a half-written register never appears.
    """
    if not PERIOD_RE.match(period):
        raise BookingError(t("booking.bad_period", value=period))
    records = [r for r in repo.all() if r.booking is not None and r.booking.period == period]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(REGISTER_COLUMNS)
    writer.writerows(register_rows(records, decimal_comma=decimal_comma))
    atomic_write(out, ("\ufeff" + buffer.getvalue()).encode("utf-8"), mode=0o644)
    return len(records)
