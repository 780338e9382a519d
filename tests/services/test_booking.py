"""Booking with its guard rails (fixed clocks), the one period parser, and the CSV register an accountant opens
in a spreadsheet: Warsaw dates, Polish words, and no live formula from a supplier's data."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ksef_tui import i18n
from ksef_tui.domain.booking import Booking, Period
from ksef_tui.errors import Category, UserError, report
from ksef_tui.services.booking import (
    REGISTER_COLUMNS,
    REGISTER_COLUMNS_PL,
    BadCategory,
    BadDeduction,
    BadPeriod,
    BookingRequest,
    NotBooked,
    PeriodBeforeIssue,
    PeriodTooFar,
    PurchaseUnknown,
    book,
    export_register,
    parse_period,
    register_csv,
    safe_cell,
    unbook,
    unbook_many,
)
from ksef_tui.services.purchases import list_purchases
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository

from ..factories import number, record


def clock_at(moment: datetime) -> Any:
    return lambda: moment


MARCH_20 = clock_at(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def polish() -> Iterator[None]:
    i18n.set_language("pl")
    yield
    i18n.set_language(None)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[PurchaseRepository]:
    with Store.open(tmp_path / "store.json") as store:
        yield PurchaseRepository(store)


def messages(error: UserError) -> tuple[str, str]:
    """The message in Polish and in English."""
    i18n.set_language("pl")
    pl = error.message()
    i18n.set_language("en")
    en = error.message()
    i18n.set_language("pl")
    return pl, en


# ----------------------------------------------------------------------------------------------- booking


def test_a_period_before_the_issue_month_is_refused_naming_both(repo: PurchaseRepository) -> None:
    repo.upsert_many([record(1)])  # issued 2026-03-05
    key = record(1).ksef_number
    with pytest.raises(PeriodBeforeIssue) as caught:
        book(repo, key, BookingRequest("goods", 100, "2026-02"), clock=MARCH_20)
    error = caught.value
    assert error.category is Category.INPUT and report(error).exit_code == 2
    for text in messages(error):
        assert "2026-02" in text and "2026-03" in text and "2026-03-05" in text
    assert "2026-03" in error.hint()
    stored = repo.get(key)
    assert stored is not None and stored.booking is None  # nothing written


def test_next_month_is_the_latest_period_in_warsaw_time(repo: PurchaseRepository) -> None:
    repo.upsert_many([record(1)])
    key = record(1).ksef_number
    assert book(repo, key, BookingRequest("goods", 100, "2026-03"), clock=MARCH_20).booking is not None
    booked = book(repo, key, BookingRequest("other", 50, "2026-04", "auto"), clock=MARCH_20)
    assert booked.booking == Booking("other", 50, "2026-04", "auto", datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    with pytest.raises(PeriodTooFar) as caught:
        book(repo, key, BookingRequest("goods", 100, "2026-05"), clock=MARCH_20)
    for text in messages(caught.value):
        assert "2026-05" in text and "2026-04" in text
    stored = repo.get(key)
    assert stored is not None and stored.booking is not None and stored.booking.period == "2026-04"  # unchanged

    # 22:30 UTC on 31 March is 00:30 on 1 April in Warsaw: May is next month there, though not yet in UTC
    warsaw_april = clock_at(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))
    assert book(repo, key, BookingRequest("goods", 100, "2026-05"), clock=warsaw_april).booking is not None
    with pytest.raises(PeriodTooFar):
        book(repo, key, BookingRequest("goods", 100, "2026-06"), clock=warsaw_april)


def test_years_ahead_are_refused(repo: PurchaseRepository) -> None:
    repo.upsert_many([record(1)])
    with pytest.raises(PeriodTooFar):
        book(repo, record(1).ksef_number, BookingRequest("goods", 100, "2062-03"), clock=MARCH_20)


def test_a_malformed_period_reads_the_same_in_list_book_and_export(repo: PurchaseRepository, tmp_path: Path) -> None:
    repo.upsert_many([record(1)])
    attempts: list[Callable[[], object]] = [
        lambda: parse_period("2026-3"),
        lambda: list_purchases(repo, "2026-3"),
        lambda: book(repo, record(1).ksef_number, BookingRequest("goods", 100, "2026-3"), clock=MARCH_20),
        lambda: export_register(repo, "2026-3", tmp_path / "r.csv"),
    ]
    seen: set[tuple[str, str]] = set()
    for attempt in attempts:
        with pytest.raises(BadPeriod) as caught:
            attempt()
        assert caught.value.category is Category.INPUT
        seen.add(messages(caught.value))
    assert len(seen) == 1
    [(pl, en)] = seen
    assert "2026-3" in pl and "RRRR-MM" in pl
    assert "2026-3" in en and "YYYY-MM" in en
    assert not (tmp_path / "r.csv").exists()
    assert parse_period("2026-03") == Period(2026, 3)


def test_unknown_category_deduction_and_number(repo: PurchaseRepository) -> None:
    repo.upsert_many([record(1)])
    key = record(1).ksef_number
    with pytest.raises(BadCategory) as category:
        book(repo, key, BookingRequest("towary", 100, "2026-03"), clock=MARCH_20)
    pl, en = messages(category.value)
    assert "towary" in pl and "goods" in pl and "not-cost" in en
    with pytest.raises(BadDeduction) as deduction:
        book(repo, key, BookingRequest("goods", 75, "2026-03"), clock=MARCH_20)
    assert all("75" in text for text in messages(deduction.value))
    missing = number(date(2026, 3, 5), 99)
    with pytest.raises(PurchaseUnknown) as unknown:
        book(repo, missing, BookingRequest("goods", 100, "2026-03"), clock=MARCH_20)
    assert all(missing in text for text in messages(unknown.value))
    with pytest.raises(PurchaseUnknown):
        unbook(repo, missing)
    assert book(repo, key, BookingRequest("towary", 100, "2026-03"), categories=("towary",), clock=MARCH_20)


def test_unbook(repo: PurchaseRepository) -> None:
    repo.upsert_many([record(1)])
    key = record(1).ksef_number
    book(repo, key, BookingRequest("goods", 100, "2026-03"), clock=MARCH_20)
    unbook(repo, key)
    stored = repo.get(key)
    assert stored is not None and stored.booking is None


def test_unbook_many_is_all_or_nothing_and_names_the_periods(repo: PurchaseRepository) -> None:
    march, april = record(1), record(2, date(2026, 4, 2))
    idle = record(3)
    repo.upsert_many([march, april, idle])
    book(repo, march.ksef_number, BookingRequest("goods", 100, "2026-03"), clock=MARCH_20)
    book(
        repo,
        april.ksef_number,
        BookingRequest("other", 50, "2026-04"),
        clock=clock_at(datetime(2026, 4, 3, tzinfo=UTC)),
    )
    chosen = [march.ksef_number, april.ksef_number]

    def periods() -> dict[str, str | None]:
        return {n: (r.booking.period if r.booking else None) for n in chosen if (r := repo.get(n)) is not None}

    # one of them not booked: refused naming it (in both languages), nothing unbooked
    with pytest.raises(NotBooked) as not_booked:
        unbook_many(repo, [*chosen, idle.ksef_number])
    assert all(idle.ksef_number in text for text in messages(not_booked.value))
    assert not_booked.value.category is Category.INPUT
    assert periods() == {march.ksef_number: "2026-03", april.ksef_number: "2026-04"}
    # an unknown number: refused, nothing unbooked
    missing = number(date(2026, 3, 5), 99)
    with pytest.raises(PurchaseUnknown):
        unbook_many(repo, [*chosen, missing])
    assert periods() == {march.ksef_number: "2026-03", april.ksef_number: "2026-04"}
    # all booked: every one unbooked, the periods they were booked in returned
    assert unbook_many(repo, chosen) == {march.ksef_number: "2026-03", april.ksef_number: "2026-04"}
    assert periods() == {march.ksef_number: None, april.ksef_number: None}
    # a second time: nothing to unbook, and said so
    with pytest.raises(NotBooked):
        unbook_many(repo, chosen[:1])


def test_unbook_many_persists(tmp_path: Path) -> None:
    """The unbooking is in the files: a store opened again (as a new session would) sees it."""
    path = tmp_path / "store.json"
    records = [record(i, date(2026, 3, 1 + i % 28)) for i in range(60)]  # over 50: one read of the whole store
    with Store.open(path) as store:
        repo = PurchaseRepository(store)
        repo.upsert_many(records)
        repo.set_bookings(
            {r.ksef_number: Booking("goods", 100, "2026-03", "", datetime(2026, 3, 30, tzinfo=UTC)) for r in records}
        )
        assert len(unbook_many(repo, [r.ksef_number for r in records[:55]])) == 55
    with Store.open(path, read_only=True) as store:
        repo = PurchaseRepository(store)
        assert {r.ksef_number for r in repo.list(booked=True)} == {r.ksef_number for r in records[55:]}


# ----------------------------------------------------------------------------------------------- register


def parse(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def booked(rec: PurchaseRecord, category: str = "goods", deduction: int = 100, note: str = "") -> PurchaseRecord:
    return dataclasses.replace(rec, booking=Booking(category, deduction, "2026-03", note, MARCH_20()))


HOSTILE = {
    '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
    "@SUM(1)": "'@SUM(1)",
    "-2+3": "'-2+3",
    "+48 123": "'+48 123",
    "\t=1": "'=1",
    "\r=1+1": "'=1+1",
    "  =cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    'Firma "Kowalski"; Spółka\r\nJawna': 'Firma "Kowalski"; Spółka Jawna',
    "A\x1b[2JB\x00C\u202eD": "A [2JB C D",  # no ESC, so no escape sequence
    "FV/1/2026": "FV/1/2026",
}


@pytest.mark.parametrize(("hostile", "shown"), list(HOSTILE.items()))
def test_supplier_text_never_becomes_a_formula(hostile: str, shown: str) -> None:
    assert safe_cell(hostile) == shown


def test_the_register_parses_back_with_hostile_values_neutralised() -> None:
    hostile = list(HOSTILE)
    records = [
        booked(
            record(
                i,
                invoice_number=text,
                seller_name=hostile[-1 - i],
                net=Decimal("-2.00"),
                vat=Decimal("-0.46"),
                gross=Decimal("-2.46"),
                kind="KOR",
            ),
            note=hostile[(i + 3) % len(hostile)],
        )
        for i, text in enumerate(hostile)
    ]
    rows = parse(register_csv(records, header="en"))
    assert rows[0] == list(REGISTER_COLUMNS)
    assert len(rows) == 1 + len(records)
    by_number = {row[0]: dict(zip(REGISTER_COLUMNS, row, strict=True)) for row in rows[1:]}
    for i, text in enumerate(hostile):
        cells = by_number[records[i].ksef_number]
        assert cells["invoice_number"] == HOSTILE[text]
        assert cells["seller_name"] == HOSTILE[hostile[-1 - i]]
        assert cells["note"] == HOSTILE[hostile[(i + 3) % len(hostile)]]
        # amounts stay numbers: a negative correction is "-2,00", not text
        assert (cells["net"], cells["vat"], cells["gross"]) == ("-2,00", "-0,46", "-2,46")
        assert cells["vat_deductible"] == "-0,46"
        for name, value in cells.items():
            assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in value), name
            if name not in {"net", "vat", "gross", "vat_deductible"}:
                assert not value.lstrip(" ").startswith(("=", "+", "-", "@")), (name, value)


def test_the_polish_register_speaks_polish(repo: PurchaseRepository) -> None:
    original = record(1)
    correction = record(
        2,
        kind="KOR",
        corrected_ksef_number=original.ksef_number,
        net=Decimal("-10.00"),
        vat=Decimal("-2.30"),
        gross=Decimal("-12.30"),
    )
    rows = parse(register_csv([booked(original, "incidental", 50), booked(correction, "fixed-asset")]))
    assert rows[0] == list(REGISTER_COLUMNS_PL)
    assert rows[0][:4] == ["Nr KSeF", "Nr faktury", "Data wystawienia", "Data otrzymania (nadania nr KSeF)"]
    first = dict(zip(REGISTER_COLUMNS_PL, rows[1], strict=True))
    second = dict(zip(REGISTER_COLUMNS_PL, rows[2], strict=True))
    assert first["Rodzaj faktury"] == "podstawowa"
    assert first["Kategoria"] == "koszty uboczne zakupu"
    assert (first["Odliczenie VAT (%)"], first["VAT do odliczenia"]) == ("50", "11,50")
    assert second["Rodzaj faktury"] == "korygująca"
    assert second["Faktura korygowana (nr KSeF)"] == original.ksef_number
    assert second["Kategoria"] == "środek trwały"
    assert second["Brutto"] == "-12,30"
    # the same register for scripts: codes and the snake_case header, the language of the UI does not matter
    i18n.set_language("en")
    assert parse(register_csv([booked(original, "incidental", 50)]))[1][6] == "podstawowa"
    en = parse(register_csv([booked(original, "incidental", 50)], header="en", decimal_comma=False))
    assert dict(zip(REGISTER_COLUMNS, en[1], strict=True))["kind"] == "VAT"
    assert dict(zip(REGISTER_COLUMNS, en[1], strict=True))["category"] == "incidental"
    assert dict(zip(REGISTER_COLUMNS, en[1], strict=True))["vat_deductible"] == "11.50"


def test_the_received_date_is_the_warsaw_date() -> None:
    # numbered at 00:13 Warsaw time on 31 May (22:13 UTC on 30 May): received 31.05, not 30.05
    late = record(1, day=date(2026, 5, 30), acquisition_date=datetime(2026, 5, 30, 22, 13, tzinfo=UTC))
    # a month end: 00:13 on 1 June in Warsaw is 31 May in UTC; the invoice belongs to June
    month_end = record(2, day=date(2026, 5, 31), acquisition_date=datetime(2026, 5, 31, 22, 13, tzinfo=UTC))
    # winter time (UTC+1): 23:30 UTC on 31 December is 00:30 on 1 January in Warsaw
    new_year = record(3, day=date(2025, 12, 31), acquisition_date=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    rows = parse(register_csv([booked(late), booked(month_end), booked(new_year)], header="en"))
    received = {row[0]: row[3] for row in rows[1:]}
    assert received[late.ksef_number] == "2026-05-31"
    assert received[month_end.ksef_number] == "2026-06-01"
    assert received[new_year.ksef_number] == "2026-01-01"


def test_deductible_vat_rounds_half_up() -> None:
    tie = booked(record(1, vat=Decimal("0.01"), net=Decimal("0.05"), gross=Decimal("0.06")), deduction=50)
    negative_tie = booked(record(2, vat=Decimal("-0.05"), net=Decimal("-0.20"), gross=Decimal("-0.25")), deduction=50)
    rows = parse(register_csv([tie, negative_tie], header="en"))
    deductible = {row[0]: row[14] for row in rows[1:]}
    assert deductible[tie.ksef_number] == "0,01"  # 0.005 half-up; banker's rounding would give 0,00
    assert deductible[negative_tie.ksef_number] == "-0,03"  # -0.025 away from zero


def test_export_writes_only_the_period_atomically(repo: PurchaseRepository, tmp_path: Path) -> None:
    april = record(3, day=date(2026, 4, 2))
    repo.upsert_many([record(1), record(2), april])
    book(repo, record(1).ksef_number, BookingRequest("goods", 100, "2026-03"), clock=MARCH_20)
    book(repo, april.ksef_number, BookingRequest("goods", 100, "2026-04"), clock=MARCH_20)
    out = tmp_path / "rejestr.csv"
    assert export_register(repo, "2026-03", out) == 1
    rows = parse(out.read_bytes())
    assert [row[0] for row in rows[1:]] == [record(1).ksef_number]
    assert out.stat().st_mode & 0o777 == 0o644
    assert export_register(repo, Period(2026, 5), out) == 0
    assert len(parse(out.read_bytes())) == 1
    written: dict[Path, bytes] = {}
    assert export_register(repo, "2026-04", out, write=written.__setitem__, header="en") == 1
    assert parse(written[out])[1][0] == april.ksef_number
    with pytest.raises(ValueError):
        export_register(repo, "2026-04", out, header="de")  # type: ignore[arg-type]
