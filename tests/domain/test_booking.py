"""The booking rules: the one period parser, the guard rails, Warsaw dates and the Booking value."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ksef_tui.domain.booking import (
    CATEGORIES,
    MAX_MONTHS_AHEAD,
    VAT_DEDUCTIONS,
    Booking,
    BookingProblem,
    InvalidBooking,
    Period,
    check_category,
    check_deduction,
    check_period,
    latest_period,
    warsaw_date,
)

BOOKED_AT = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-05", Period(2026, 5)), ("2000-01", Period(2000, 1)), ("2099-12", Period(2099, 12))],
)
def test_a_period_is_year_and_month(text: str, expected: Period) -> None:
    assert Period.parse(text) == expected
    assert str(Period.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-5",
        "2026-13",
        "2026-00",
        "26-05",
        "2026/05",
        "2026-05-01",
        " 2026-05",
        "2026-05\n",
        "1999-12",
        "2100-01",
        "",
        "abcd-ef",
        "２０２６-０５",
        "2026-0５",
        "20２６-05",
    ],
)
def test_anything_else_is_refused_with_one_problem(text: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        Period.parse(text)
    assert caught.value.problem is BookingProblem.PERIOD_FORMAT
    assert caught.value.value == text
    assert "YYYY-MM" in str(caught.value)


def test_periods_order_and_shift_across_years() -> None:
    assert Period(2026, 12).shifted(1) == Period(2027, 1)
    assert Period(2026, 1).shifted(-1) == Period(2025, 12)
    assert Period(2026, 3).shifted(14) == Period(2027, 5)
    assert Period(2025, 12) < Period(2026, 1) < Period(2026, 2)
    assert Period.of(date(2026, 2, 28)) == Period(2026, 2)
    with pytest.raises(InvalidBooking):
        Period(2026, 13)


def test_a_period_before_the_issue_month_is_refused_naming_both() -> None:
    with pytest.raises(InvalidBooking) as caught:
        check_period(Period(2026, 2), issue_date=date(2026, 3, 1), today=date(2026, 3, 20))
    assert caught.value.problem is BookingProblem.PERIOD_BEFORE_ISSUE
    assert caught.value.value == "2026-02"
    assert caught.value.details["issue_date"] == date(2026, 3, 1)
    assert caught.value.details["earliest"] == Period(2026, 3)
    # the issue month itself and any later month up to the limit are fine
    check_period(Period(2026, 3), issue_date=date(2026, 3, 31), today=date(2026, 3, 31))
    check_period(Period(2026, 4), issue_date=date(2026, 3, 31), today=date(2026, 3, 31))


def test_a_period_more_than_one_month_ahead_is_refused() -> None:
    assert MAX_MONTHS_AHEAD == 1
    today = date(2026, 12, 31)
    check_period(Period(2027, 1), issue_date=date(2026, 12, 1), today=today)  # next month, across the year end
    with pytest.raises(InvalidBooking) as caught:
        check_period(Period(2027, 2), issue_date=date(2026, 12, 1), today=today)
    assert caught.value.problem is BookingProblem.PERIOD_TOO_FAR
    assert caught.value.details["latest"] == Period(2027, 1) == latest_period(today)
    with pytest.raises(InvalidBooking):  # a typo of years
        check_period(Period(2062, 5), issue_date=date(2026, 5, 1), today=date(2026, 5, 10))


def test_an_invoice_issued_in_the_future_cannot_be_booked_before_its_month() -> None:
    # issued (post-dated) in May, booked in April: before the issue month, refused even though not "too far"
    with pytest.raises(InvalidBooking) as caught:
        check_period(Period(2026, 4), issue_date=date(2026, 5, 3), today=date(2026, 4, 30))
    assert caught.value.problem is BookingProblem.PERIOD_BEFORE_ISSUE


def test_warsaw_dates_not_utc_dates() -> None:
    # numbered at 00:13 Warsaw time on 31 May (CEST, UTC+2) = 22:13 UTC on 30 May
    numbered = datetime(2026, 5, 30, 22, 13, tzinfo=UTC)
    assert numbered.date() == date(2026, 5, 30)
    assert warsaw_date(numbered) == date(2026, 5, 31)
    # a month end in winter (CET, UTC+1): 00:30 on 1 March in Warsaw is still February in UTC
    assert warsaw_date(datetime(2026, 2, 28, 23, 30, tzinfo=UTC)) == date(2026, 3, 1)
    # the same moment given in another offset is the same Warsaw day
    assert warsaw_date(numbered.astimezone(timezone(timedelta(hours=-7)))) == date(2026, 5, 31)
    with pytest.raises(ValueError, match="timezone-aware"):
        warsaw_date(datetime(2026, 5, 31, 0, 13))


def test_categories_and_deductions() -> None:
    assert VAT_DEDUCTIONS == (100, 50, 0)
    for category in CATEGORIES:
        check_category(category)
    with pytest.raises(InvalidBooking) as caught:
        check_category("towary")
    assert caught.value.problem is BookingProblem.CATEGORY
    assert caught.value.details["options"] == CATEGORIES
    check_category("towary", ["towary", "usługi"])  # the list is configurable
    for value in VAT_DEDUCTIONS:
        check_deduction(value)
    for wrong in (75, -50, 1000, "50", 50.0, True, None):
        with pytest.raises(InvalidBooking) as refused:
            check_deduction(wrong)
        assert refused.value.problem is BookingProblem.DEDUCTION


def test_a_booking_checks_its_own_shape() -> None:
    booking = Booking("goods", 50, "2026-03", "samochód", BOOKED_AT)
    assert booking.settlement_period == Period(2026, 3)
    assert Booking.from_doc(booking.to_doc()) == booking
    doc = booking.to_doc()
    del doc["note"]  # written before notes existed
    assert Booking.from_doc(doc) == dataclasses.replace(booking, note="")
    with pytest.raises(ValueError, match="vat_deduction"):
        dataclasses.replace(booking, vat_deduction=75)
    with pytest.raises(ValueError, match="YYYY-MM"):
        dataclasses.replace(booking, period="2026-13")
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(booking, booked_at=datetime(2026, 1, 1))
