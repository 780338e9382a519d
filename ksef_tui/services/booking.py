"""Booking purchases (category, VAT deduction, settlement period) and the purchase register (CSV).

The rules live in the domain (:mod:`ksef_tui.domain.booking`); this module applies them to stored purchases
with a clock, turns every refusal into a :class:`BookingError` (a ``UserError`` of category INPUT, translated
when shown) and writes the register an accountant opens in Excel or LibreOffice: dates in Europe/Warsaw,
Polish words, and no cell a supplier could turn into a live formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ksef_tui.domain.booking import (
    CATEGORIES,
    Booking,
    BookingProblem,
    InvalidBooking,
    Period,
    check_category,
    check_deduction,
    check_period,
    warsaw_date,
)
from ksef_tui.domain.money import q2
from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import CATALOGS, t
from ksef_tui.store.atomic import atomic_write
from ksef_tui.store.db import StoreLocked
from ksef_tui.store.purchases import PurchaseNotFound, PurchaseRecord, PurchaseRepository

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.workspace import Workspace

#: Default categories, after the KPiR columns (book of revenue and expenses); codes, shown as their labels.
DEFAULT_CATEGORIES: tuple[str, ...] = CATEGORIES

Clock = Callable[[], datetime]
Header = Literal["pl", "en"]


# ----------------------------------------------------------------------------------------------- errors


class BookingError(UserError):
    """A booking the user asked for breaks a rule; the message names the value and the rule."""

    category = Category.INPUT


class BadPeriod(BookingError):
    key = "booking.bad_period"

    def __init__(self, value: object) -> None:
        super().__init__(value=value)


class BadCategory(BookingError):
    key = "booking.bad_category"

    def __init__(self, value: object, options: Iterable[str]) -> None:
        super().__init__(value=value, options=", ".join(options))


class BadDeduction(BookingError):
    key = "booking.bad_deduction"

    def __init__(self, value: object) -> None:
        super().__init__(value=value)


class PeriodBeforeIssue(BookingError):
    key = "booking.period_before_issue"

    def __init__(self, period: object, issue_date: date) -> None:
        super().__init__(period=period, issue_month=str(Period.of(issue_date)), issue_date=issue_date.isoformat())


class PeriodTooFar(BookingError):
    key = "booking.period_too_far"

    def __init__(self, period: object, latest: Period) -> None:
        super().__init__(period=period, latest=str(latest))


class PurchaseUnknown(BookingError):
    key = "booking.not_found"

    def __init__(self, number: str) -> None:
        super().__init__(number=number)


def booking_error(exc: InvalidBooking) -> BookingError:
    """The user-facing error for a domain refusal."""
    details = exc.details
    if exc.problem is BookingProblem.PERIOD_FORMAT:
        return BadPeriod(exc.value)
    if exc.problem is BookingProblem.CATEGORY:
        options = details.get("options", ())
        return BadCategory(exc.value, options if isinstance(options, tuple) else ())
    if exc.problem is BookingProblem.DEDUCTION:
        return BadDeduction(exc.value)
    if exc.problem is BookingProblem.PERIOD_BEFORE_ISSUE:
        issued = details["issue_date"]
        assert isinstance(issued, date)
        return PeriodBeforeIssue(exc.value, issued)
    latest = details["latest"]
    assert isinstance(latest, Period)
    return PeriodTooFar(exc.value, latest)


def parse_period(text: str) -> Period:
    """The one parser of a ``YYYY-MM`` period for every command and screen (list, book, export)."""
    try:
        return Period.parse(text)
    except InvalidBooking as exc:
        raise booking_error(exc) from None


# ----------------------------------------------------------------------------------------------- booking


@dataclass(frozen=True, slots=True)
class BookingRequest:
    category: str
    vat_deduction: int
    period: str
    note: str = ""


def _label(prefix: str, code: str, lang: str | None) -> str:
    key = f"{prefix}.{code}"
    if lang is not None:
        return CATALOGS[lang].get(key, code)
    text = t(key)
    return code if text == key else text


def category_label(category: str, lang: str | None = None) -> str:
    """The words for a category code, in ``lang`` or the current language (the code when no words exist)."""
    return _label("category", category, lang)


def kind_label(kind: str, lang: str | None = None) -> str:
    """The words for an invoice kind code (``VAT`` -> "podstawowa", ``KOR`` -> "korygująca")."""
    return _label("kind", kind, lang)


def check_request(request: BookingRequest, categories: Sequence[str] = DEFAULT_CATEGORIES) -> Period:
    """The checks that need no invoice: category, deduction, the period's form. Returns the period."""
    try:
        check_category(request.category, categories)
        check_deduction(request.vat_deduction)
        return Period.parse(request.period)
    except InvalidBooking as exc:
        raise booking_error(exc) from None


def check_for(
    request: BookingRequest,
    *,
    issue_date: date,
    now: datetime,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
) -> Period:
    """Every check :func:`book` makes, for an invoice issued on ``issue_date`` (a form checks before it closes:
    the latest issue date of a selection covers all of it). Returns the period; raises a :class:`BookingError`."""
    period = check_request(request, categories)
    try:
        check_period(period, issue_date=issue_date, today=warsaw_date(now))
    except InvalidBooking as exc:
        raise booking_error(exc) from None
    return period


def field_of(error: BookingError) -> str:
    """The form field a refusal is about: ``category``, ``deduction``, ``period``, or ``""`` (the invoice)."""
    if isinstance(error, BookingOf):
        return field_of(error.cause)
    if isinstance(error, BadCategory):
        return "category"
    if isinstance(error, BadDeduction):
        return "deduction"
    if isinstance(error, BadPeriod | PeriodBeforeIssue | PeriodTooFar):
        return "period"
    return ""


def book(
    repo: PurchaseRepository,
    ksef_number: str,
    request: BookingRequest,
    *,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    clock: Clock = lambda: datetime.now(UTC),
) -> PurchaseRecord:
    """Book (or re-book) one purchase: one write of its month's bookings file. Blocking.

    Refused (:class:`BookingError`): an unknown category or deduction, a malformed period, a period before the
    invoice's issue month or after next month (today in Warsaw), an unknown KSeF number.
    """
    period = check_request(request, categories)
    record = repo.get(ksef_number)
    if record is None:
        raise PurchaseUnknown(ksef_number)
    now = clock()
    try:
        check_period(period, issue_date=record.issue_date, today=warsaw_date(now))
    except InvalidBooking as exc:
        raise booking_error(exc) from None
    booking = Booking(request.category, request.vat_deduction, str(period), request.note, now)
    try:
        repo.set_booking(ksef_number, booking)
    except PurchaseNotFound:
        raise PurchaseUnknown(ksef_number) from None
    booked = repo.get(ksef_number)
    assert booked is not None
    return booked


class BookingOf(BookingError):
    """One invoice of several refused a booking: its number and why."""

    key = "booking.refused_for"

    def __init__(self, number: str, cause: BookingError) -> None:
        super().__init__(number=number, reason=cause.message())
        self.cause = cause
        self.number = number

    def message(self) -> str:
        return t(self.key, number=self.number, reason=self.cause.message())

    def hint(self) -> str:
        return self.cause.hint()


def book_many(
    repo: PurchaseRepository,
    ksef_numbers: Sequence[str],
    request: BookingRequest,
    *,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    clock: Clock = lambda: datetime.now(UTC),
) -> int:
    """Book several purchases alike (a selection on the purchase screen): every one is checked first, then one
    write per month touched; all or none. Blocking. Returns how many were booked.

    Refused: what :func:`book` refuses for any one of them, as a :class:`BookingOf` naming that invoice (the
    request's own faults, the same for all, as they are)."""
    period = check_request(request, categories)
    now = clock()
    today = warsaw_date(now)
    records = {r.ksef_number: r for r in repo.list()} if len(ksef_numbers) > 50 else {}
    bookings: dict[str, Booking | None] = {}
    for number in ksef_numbers:
        record = records.get(number) or repo.get(number)
        if record is None:
            raise PurchaseUnknown(number)
        try:
            check_period(period, issue_date=record.issue_date, today=today)
        except InvalidBooking as exc:
            raise BookingOf(number, booking_error(exc)) from None
        bookings[number] = Booking(request.category, request.vat_deduction, str(period), request.note, now)
    try:
        repo.set_bookings(bookings)
    except PurchaseNotFound as exc:
        raise PurchaseUnknown(str(exc.args[0])) from None
    return len(bookings)


def unbook(repo: PurchaseRepository, ksef_number: str) -> None:
    try:
        repo.set_booking(ksef_number, None)
    except PurchaseNotFound:
        raise PurchaseUnknown(ksef_number) from None


class NotBooked(BookingError):
    """An unbooking of a purchase that is not booked (nothing would change: the user is told, not ignored)."""

    key = "booking.not_booked"

    def __init__(self, number: str) -> None:
        super().__init__(number=number)
        self.number = number


def unbook_many(repo: PurchaseRepository, ksef_numbers: Sequence[str]) -> dict[str, str]:
    """Unbook several purchases (a selection on the purchase screen, or one): every one is checked first, then
    one write per month touched; all or none. Blocking. Returns the period each was booked in (by KSeF number,
    in the order given).

    Refused: an unknown KSeF number (:class:`PurchaseUnknown`), a purchase that is not booked
    (:class:`NotBooked`); nothing is written then."""
    records = {r.ksef_number: r for r in repo.list()} if len(ksef_numbers) > 50 else {}
    periods: dict[str, str] = {}
    for number in ksef_numbers:
        record = records.get(number) or repo.get(number)
        if record is None:
            raise PurchaseUnknown(number)
        if record.booking is None:
            raise NotBooked(number)
        periods[number] = record.booking.period
    try:
        repo.set_bookings(dict.fromkeys(periods))
    except PurchaseNotFound as exc:
        raise PurchaseUnknown(str(exc.args[0])) from None
    return periods


@dataclass(frozen=True, slots=True)
class BookingChange:
    """What a screen asks to write: book ``numbers`` alike (``request``), or unbook them (``None``)."""

    numbers: tuple[str, ...]
    request: BookingRequest | None = None


@dataclass(frozen=True, slots=True)
class StoreHeld:
    """Nothing was written: another session holds the store's single-writer lock (its pid and host, when its
    owner file says so). Try again when it lets go."""

    pid: int | None
    host: str | None


def apply_change(
    workspace: Workspace,
    profile: Profile,
    change: BookingChange,
    *,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    clock: Clock = lambda: datetime.now(UTC),
) -> list[str] | StoreHeld:
    """Write ``change`` into the company's store, opened for writing just for it: :func:`book` for one invoice,
    :func:`book_many` or :func:`unbook_many` for several (all or nothing). Blocking.

    Returns the period of each invoice (booked into, or unbooked from), or :class:`StoreHeld` when another
    session holds the store (nothing written). Refusals raise what those functions raise."""
    try:
        with workspace.open_store(profile) as store:
            repo = PurchaseRepository(store)
            request = change.request
            if request is None:
                return list(unbook_many(repo, change.numbers).values())
            if len(change.numbers) == 1:
                book(repo, change.numbers[0], request, categories=categories, clock=clock)
            else:
                book_many(repo, change.numbers, request, categories=categories, clock=clock)
            return [request.period] * len(change.numbers)
    except StoreLocked as exc:
        return StoreHeld(exc.pid, exc.host)


def deductible_vat(record: PurchaseRecord) -> Decimal:
    if record.booking is None:
        return Decimal("0.00")
    return q2(record.vat * Decimal(record.booking.vat_deduction) / Decimal(100))


# ----------------------------------------------------------------------------------------------- register

#: The English header, for scripts (values are codes: ``VAT``/``KOR``, ``goods``); stable since the first release.
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
#: The Polish header (the glossary's register; values in words). Net and gross are in the invoice's currency;
#: VAT is KSeF's ``vatAmount``, which is in PLN whatever the currency (OpenAPI: "Łączna kwota VAT wyrażona w
#: PLN"), hence "VAT w zł" as the glossary has it.
REGISTER_COLUMNS_PL = (
    "Nr KSeF",
    "Nr faktury",
    "Data wystawienia",
    "Data otrzymania (nadania nr KSeF)",
    "NIP sprzedawcy",
    "Nazwa sprzedawcy",
    "Rodzaj faktury",
    "Faktura korygowana (nr KSeF)",
    "Netto",
    "VAT w zł",
    "Brutto",
    "Waluta",
    "Kategoria",
    "Odliczenie VAT (%)",
    "VAT do odliczenia",
    "Okres rozliczeniowy",
    "Uwagi",
)
_AMOUNT_COLUMNS = frozenset({"net", "vat", "gross", "vat_deductible"})

# C0 and C1 control characters, DEL, line/paragraph separators and the bidirectional controls that can make a
# cell display something else than it holds.
_CONTROLS = re.compile("(?: *[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]+ *)+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain_text(text: str) -> str:
    """``text`` without control characters: each run (line breaks, tabs, escape sequences' ESC, bidi overrides),
    with the spaces around it, becomes one space; leading and trailing spaces go. For anything a supplier wrote
    that we show or export."""
    return _CONTROLS.sub(" ", text).strip()


def safe_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text (OWASP's CSV-injection rule).

    Control characters (line breaks, tabs, bidi overrides) become one space each run; a cell that would start,
    after leading spaces, with ``=``, ``+``, ``-`` or ``@`` gets a leading apostrophe. Amounts never come here:
    they stay numbers, negative ones included.
    """
    cleaned = plain_text(text)
    if cleaned.startswith(_FORMULA_START):
        return "'" + cleaned
    return cleaned


Progress = Callable[[int, int], None]
"""``(done, total)`` rows of a register written so far."""
PROGRESS_EVERY = 200


def register_rows(
    records: Iterable[PurchaseRecord], *, decimal_comma: bool, header: Header = "pl", progress: Progress | None = None
) -> list[list[str]]:
    """The register's rows, in issue-date order, every text cell through :func:`safe_cell`; ``progress`` hears
    every :data:`PROGRESS_EVERY` rows."""

    def amount(value: Decimal) -> str:
        text = format(q2(value), "f")
        return text.replace(".", ",") if decimal_comma else text

    lang = "pl" if header == "pl" else None  # None: codes, for scripts
    rows = []
    ordered = sorted(records, key=lambda r: (r.issue_date, r.ksef_number))
    for done, r in enumerate(ordered):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(ordered))
        booking = r.booking
        category = ""
        if booking is not None:
            category = category_label(booking.category, lang) if lang else booking.category
        cells: dict[str, str] = {
            "ksef_number": r.ksef_number,
            "invoice_number": r.invoice_number,
            "issue_date": r.issue_date.isoformat(),
            "received": warsaw_date(r.acquisition_date).isoformat(),
            "seller_nip": r.seller_nip,
            "seller_name": r.seller_name,
            "kind": kind_label(r.kind, lang) if lang else r.kind,
            "corrects": r.corrected_ksef_number or "",
            "net": amount(r.net),
            "vat": amount(r.vat),
            "gross": amount(r.gross),
            "currency": r.currency,
            "category": category,
            "vat_deduction": str(booking.vat_deduction) if booking else "",
            "vat_deductible": amount(deductible_vat(r)),
            "period": booking.period if booking else "",
            "note": booking.note if booking else "",
        }
        rows.append([cells[c] if c in _AMOUNT_COLUMNS else safe_cell(cells[c]) for c in REGISTER_COLUMNS])
    if progress is not None:
        progress(len(ordered), len(ordered))
    return rows


def register_csv(
    records: Iterable[PurchaseRecord],
    *,
    decimal_comma: bool = True,
    header: Header = "pl",
    progress: Progress | None = None,
) -> bytes:
    """The register as CSV bytes: UTF-8 with a BOM (Excel reads Polish letters), ``;``, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(REGISTER_COLUMNS_PL if header == "pl" else REGISTER_COLUMNS)
    writer.writerows(register_rows(records, decimal_comma=decimal_comma, header=header, progress=progress))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_register(
    repo: PurchaseRepository,
    period: Period | str,
    out: Path,
    *,
    decimal_comma: bool = True,
    header: Header = "pl",
    write: Callable[[Path, bytes], None] | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the register of purchases booked into ``period`` as CSV. Blocking.

    ``header="pl"``: the Polish header and words (kind "podstawowa"/"korygująca", category labels);
    ``header="en"``: the English snake_case header and codes, for scripts. ``write`` puts the bytes in place
    (a face passes its checked output writer); by default an atomic replace, mode 0644, so a half-written
    register never appears. Returns the number of rows.
    """
    if header not in ("pl", "en"):
        raise ValueError(f"header must be 'pl' or 'en', got {header!r}")
    settled = parse_period(period) if isinstance(period, str) else period
    records = repo.list(settled, by="booking")
    data = register_csv(records, decimal_comma=decimal_comma, header=header, progress=progress)
    if write is None:
        atomic_write(out, data, mode=0o644)
    else:
        write(out, data)
    return len(records)
