"""The offline deadline calendar: Polish public holidays, business days, the deadline of each mode (CERTS_OFFLINE.md
§5.1) and the status the UI shows, with real dates around holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksef_tui.domain.offline import (
    DeadlineState,
    DeadlineStatus,
    OfflineMode,
    Outage,
    OutageKind,
    add_business_days,
    business_days_between,
    deadline,
    deadline_status,
    easter_sunday,
    holiday,
    is_business_day,
    is_holiday,
    marked_offline_by_ksef,
    next_business_day,
    polish_holidays,
)

WARSAW = ZoneInfo("Europe/Warsaw")
FAILURE = OutageKind.FAILURE
UNAVAILABILITY = OutageKind.UNAVAILABILITY


# ------------------------------------------------------------------------------------------------- holidays


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2000, date(2000, 4, 23)),
        (2008, date(2008, 3, 23)),  # early
        (2011, date(2011, 4, 24)),  # late
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),  # the latest possible date
        (2285, date(2285, 3, 22)),  # the earliest possible date
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter
    assert easter.weekday() == 6


def test_the_holidays_of_2026() -> None:
    assert polish_holidays(2026) == {
        date(2026, 1, 1): "new_year",
        date(2026, 1, 6): "epiphany",
        date(2026, 4, 5): "easter",
        date(2026, 4, 6): "easter_monday",
        date(2026, 5, 1): "labour_day",
        date(2026, 5, 3): "constitution_day",
        date(2026, 5, 24): "pentecost",
        date(2026, 6, 4): "corpus_christi",
        date(2026, 8, 15): "assumption",
        date(2026, 11, 1): "all_saints",
        date(2026, 11, 11): "independence_day",
        date(2026, 12, 24): "christmas_eve",
        date(2026, 12, 25): "christmas",
        date(2026, 12, 26): "boxing_day",
    }


def test_christmas_eve_is_a_holiday_from_2025() -> None:
    assert holiday(date(2024, 12, 24)) is None
    assert is_business_day(date(2024, 12, 24))  # a Tuesday, still a working day in 2024
    assert holiday(date(2025, 12, 24)) == "christmas_eve"
    assert not is_business_day(date(2025, 12, 24))  # a Wednesday


def test_corpus_christi_is_easter_plus_sixty() -> None:
    for year in range(2020, 2040):
        corpus = easter_sunday(year) + timedelta(days=60)
        assert holiday(corpus) == "corpus_christi"
        assert corpus.weekday() == 3  # always a Thursday
    assert holiday(date(2026, 6, 4)) == "corpus_christi"


def test_business_days() -> None:
    assert is_business_day(date(2026, 4, 3))  # Good Friday is a working day
    assert not is_business_day(date(2026, 4, 4))  # Saturday
    assert not is_business_day(date(2026, 4, 5))  # Easter Sunday
    assert not is_business_day(date(2026, 4, 6))  # Easter Monday
    assert is_business_day(date(2026, 4, 7))
    assert not is_business_day(date(2026, 11, 11))  # a Wednesday
    assert date(2026, 11, 11).weekday() == 2
    assert is_holiday(date(2026, 8, 15)) and date(2026, 8, 15).weekday() == 5  # on a Saturday: no extra day off here
    assert is_business_day(date(2026, 8, 14)) and is_business_day(date(2026, 8, 17))


# ------------------------------------------------------------------------------------------------- counting


@pytest.mark.parametrize(
    ("day", "following"),
    [
        (date(2026, 4, 2), date(2026, 4, 3)),  # Thu → Good Friday
        (date(2026, 4, 3), date(2026, 4, 7)),  # Good Friday → over Easter to Tuesday
        (date(2026, 6, 3), date(2026, 6, 5)),  # Wed → over Corpus Christi to Friday
        (date(2026, 11, 10), date(2026, 11, 12)),  # Tue → over Independence Day (Wed) to Thursday
        (date(2026, 12, 23), date(2026, 12, 28)),  # Wed → over 24, 25, 26 Dec and Sunday to Monday
        (date(2026, 12, 31), date(2027, 1, 4)),  # Thu → over New Year and the weekend
        (date(2027, 1, 5), date(2027, 1, 7)),  # Tue → over Epiphany (Wed)
        (date(2026, 4, 30), date(2026, 5, 4)),  # Thu → over 1 May (Fri), the weekend (3 May a Sunday)
        (date(2026, 5, 22), date(2026, 5, 25)),  # Fri → Pentecost is a Sunday anyway
        (date(2026, 7, 11), date(2026, 7, 13)),  # a Saturday → Monday
    ],
)
def test_next_business_day(day: date, following: date) -> None:
    assert next_business_day(day) == following


def test_add_and_count_business_days() -> None:
    assert add_business_days(date(2026, 12, 22), 0) == date(2026, 12, 22)
    assert add_business_days(date(2026, 12, 22), 1) == date(2026, 12, 23)
    assert add_business_days(date(2026, 12, 22), 2) == date(2026, 12, 28)
    assert add_business_days(date(2026, 12, 22), 7) == date(2027, 1, 5)  # 23, 28, 29, 30, 31 Dec, 4, 5 Jan
    assert business_days_between(date(2026, 12, 22), date(2027, 1, 5)) == 7
    assert business_days_between(date(2027, 1, 5), date(2026, 12, 22)) == -7
    assert business_days_between(date(2026, 12, 24), date(2026, 12, 27)) == 0
    assert business_days_between(date(2026, 12, 24), date(2026, 12, 24)) == 0
    with pytest.raises(ValueError, match="negative"):
        add_business_days(date(2026, 1, 1), -1)


def test_moments_are_read_as_warsaw_dates() -> None:
    # 23:30 UTC on Thursday 10 Dec is already Friday 11 Dec in Warsaw: the next business day is Monday.
    moment = datetime(2026, 12, 10, 23, 30, tzinfo=UTC)
    assert next_business_day(moment) == date(2026, 12, 14)
    assert next_business_day(datetime(2026, 12, 10, 22, 30, tzinfo=UTC)) == date(2026, 12, 11)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_business_day(datetime(2026, 12, 10, 12, 0))  # a naive moment


# ------------------------------------------------------------------------------------------------- deadlines


def test_offline24_is_due_the_next_business_day() -> None:
    assert deadline(OfflineMode.OFFLINE24, date(2026, 4, 2)) == date(2026, 4, 3)
    assert deadline(OfflineMode.OFFLINE24, date(2026, 4, 3)) == date(2026, 4, 7)  # Easter
    assert deadline(OfflineMode.OFFLINE24, date(2026, 6, 3)) == date(2026, 6, 5)  # Corpus Christi
    assert deadline(OfflineMode.OFFLINE24, date(2026, 11, 10)) == date(2026, 11, 12)
    assert deadline(OfflineMode.OFFLINE24, date(2026, 12, 23)) == date(2026, 12, 28)
    assert deadline(OfflineMode.OFFLINE24, date(2026, 12, 31)) == date(2027, 1, 4)
    assert deadline(OfflineMode.OFFLINE24, date(2026, 12, 27)) == date(2026, 12, 28)  # issued on a Sunday


def test_the_documents_example_failure_moves_an_offline24_deadline() -> None:
    """CERTS_OFFLINE.md §5.1: issued Tue 2025-07-08, failure Wed 07-09 … Sat 07-12 → deadline Tue 07-22."""
    assert date(2025, 7, 8).weekday() == 1 and date(2025, 7, 12).weekday() == 5
    failure = Outage(FAILURE, date(2025, 7, 9), date(2025, 7, 12))
    assert deadline(OfflineMode.OFFLINE24, date(2025, 7, 8)) == date(2025, 7, 9)
    due = deadline(OfflineMode.OFFLINE24, date(2025, 7, 8), [failure])
    assert due == date(2025, 7, 22)
    assert due.weekday() == 1


def test_offline_is_due_the_business_day_after_the_unavailability() -> None:
    maintenance = Outage(UNAVAILABILITY, date(2026, 12, 22), date(2026, 12, 23))
    assert deadline(OfflineMode.OFFLINE, date(2026, 12, 22), [maintenance]) == date(2026, 12, 28)
    # announced with times: only the Warsaw days count (ends 23:00 UTC on 4 June = 01:00 on Fri 5 June)
    night = Outage(
        UNAVAILABILITY,
        datetime(2026, 6, 3, 18, 0, tzinfo=UTC),
        datetime(2026, 6, 4, 23, 0, tzinfo=UTC),
    )
    assert night.end_day == date(2026, 6, 5)
    assert deadline(OfflineMode.OFFLINE, date(2026, 6, 3), [night]) == date(2026, 6, 8)
    ongoing = Outage(UNAVAILABILITY, date(2026, 12, 22))
    assert deadline(OfflineMode.OFFLINE, date(2026, 12, 22), [ongoing]) is None


def test_emergency_is_due_seven_business_days_after_the_failure() -> None:
    failure = Outage(FAILURE, date(2026, 3, 30), date(2026, 4, 1))
    # Thu 2, Fri 3, (Easter Sun 5, Mon 6 off) Tue 7, Wed 8, Thu 9, Fri 10, Mon 13
    assert deadline(OfflineMode.EMERGENCY, date(2026, 3, 31), [failure]) == date(2026, 4, 13)
    assert deadline(OfflineMode.EMERGENCY, date(2026, 3, 31), [Outage(FAILURE, date(2026, 3, 30))]) is None


def test_a_new_failure_in_the_window_restarts_the_count() -> None:
    first = Outage(FAILURE, date(2026, 11, 2), date(2026, 11, 3))
    # Wed 4, Thu 5, Fri 6, Mon 9, Tue 10, (Wed 11 Nov off) Thu 12, Fri 13
    assert deadline(OfflineMode.EMERGENCY, date(2026, 11, 2), [first]) == date(2026, 11, 13)
    second = Outage(FAILURE, date(2026, 11, 13), date(2026, 11, 16))  # announced on the last day of the window
    # Tue 17, Wed 18, Thu 19, Fri 20, Mon 23, Tue 24, Wed 25
    assert deadline(OfflineMode.EMERGENCY, date(2026, 11, 2), [second, first]) == date(2026, 11, 25)
    later = Outage(FAILURE, date(2026, 11, 16), date(2026, 11, 17))  # after the first window: its own count
    assert deadline(OfflineMode.EMERGENCY, date(2026, 11, 2), [first, later]) == date(2026, 11, 13)
    # chains: the third failure falls in the window the second one opened
    third = Outage(FAILURE, date(2026, 11, 24), date(2026, 11, 24))
    assert deadline(OfflineMode.EMERGENCY, date(2026, 11, 2), [third, first, second]) == date(2026, 12, 3)
    # a failure announced within the window and still going on: no date yet
    assert deadline(OfflineMode.EMERGENCY, date(2026, 11, 2), [first, Outage(FAILURE, date(2026, 11, 10))]) is None


def test_what_does_not_move_a_deadline() -> None:
    issued = date(2026, 12, 22)  # offline24: due Wed 23 Dec
    before = Outage(FAILURE, date(2026, 12, 14), date(2026, 12, 21))  # over before the invoice existed
    after = Outage(FAILURE, date(2026, 12, 28), date(2026, 12, 29))  # after the deadline
    maintenance = Outage(UNAVAILABILITY, date(2026, 12, 23), date(2026, 12, 30))  # only failures move deadlines
    total = Outage(OutageKind.TOTAL_FAILURE, date(2026, 12, 23), date(2026, 12, 30))
    assert deadline(OfflineMode.OFFLINE24, issued, [before, after, maintenance, total]) == date(2026, 12, 23)
    moving = Outage(FAILURE, date(2026, 12, 23), date(2026, 12, 23))  # announced on the deadline day: moves it
    # 28, 29, 30, 31 Dec, (1 Jan) 4, 5, (6 Jan) 7 Jan
    assert deadline(OfflineMode.OFFLINE24, issued, [moving]) == date(2027, 1, 7)


def test_a_failure_moves_an_offline_deadline_too() -> None:
    maintenance = Outage(UNAVAILABILITY, date(2026, 5, 28), date(2026, 5, 28))
    failure = Outage(FAILURE, date(2026, 5, 29), date(2026, 6, 1))
    assert deadline(OfflineMode.OFFLINE, date(2026, 5, 28), [maintenance]) == date(2026, 5, 29)
    # Tue 2, Wed 3, (Thu 4 Corpus Christi) Fri 5, Mon 8, Tue 9, Wed 10, Thu 11
    assert deadline(OfflineMode.OFFLINE, date(2026, 5, 28), [maintenance, failure]) == date(2026, 6, 11)


def test_total_failure_has_no_deadline() -> None:
    assert deadline(OfflineMode.TOTAL_FAILURE, date(2026, 4, 2)) is None
    assert not OfflineMode.TOTAL_FAILURE.must_send
    assert all(mode.must_send for mode in OfflineMode if mode is not OfflineMode.TOTAL_FAILURE)


def test_a_mode_needs_its_outage() -> None:
    with pytest.raises(ValueError, match="no failure covers"):
        deadline(OfflineMode.EMERGENCY, date(2026, 4, 2), [Outage(UNAVAILABILITY, date(2026, 4, 1), date(2026, 4, 2))])
    with pytest.raises(ValueError, match="no unavailability covers"):
        deadline(OfflineMode.OFFLINE, date(2026, 4, 3), [Outage(UNAVAILABILITY, date(2026, 4, 1), date(2026, 4, 2))])
    with pytest.raises(ValueError, match="before it starts"):
        Outage(FAILURE, date(2026, 4, 2), date(2026, 4, 1))


def test_mode_values_are_the_contract() -> None:
    assert [mode.value for mode in OfflineMode] == ["offline24", "offline", "emergency", "total_failure"]
    assert OfflineMode("offline24") is OfflineMode.OFFLINE24


def test_ksef_marks_an_invoice_offline_by_its_warsaw_day() -> None:
    sent = datetime(2026, 3, 2, 8, 0, tzinfo=WARSAW)
    assert marked_offline_by_ksef(date(2026, 3, 1), sent)
    assert not marked_offline_by_ksef(date(2026, 3, 2), sent)
    # 23:30 UTC on 1 March is 00:30 on 2 March in Warsaw: an invoice of 1 March sent then is offline
    assert marked_offline_by_ksef(date(2026, 3, 1), datetime(2026, 3, 1, 23, 30, tzinfo=UTC))


# ------------------------------------------------------------------------------------------------- status


def test_status_before_on_and_after_the_deadline() -> None:
    due = date(2026, 12, 28)  # Monday after Christmas
    status = deadline_status(OfflineMode.OFFLINE24, due, date(2026, 12, 23))
    assert status == DeadlineStatus(DeadlineState.OPEN, due, business_days=1, days=5)
    assert status.warning
    far = deadline_status(OfflineMode.EMERGENCY, date(2027, 1, 5), date(2026, 12, 23))
    assert far.state is DeadlineState.OPEN and far.business_days == 6 and not far.warning
    today = deadline_status(OfflineMode.OFFLINE24, due, datetime(2026, 12, 28, 9, 0, tzinfo=WARSAW))
    assert today == DeadlineStatus(DeadlineState.DUE_TODAY, due) and today.warning
    late = deadline_status(OfflineMode.OFFLINE24, due, date(2027, 1, 4))
    assert late == DeadlineStatus(DeadlineState.OVERDUE, due, business_days=4, days=-7)  # 29, 30, 31 Dec, 4 Jan
    weekend = deadline_status(OfflineMode.OFFLINE24, date(2027, 1, 8), date(2027, 1, 9))
    assert weekend == DeadlineStatus(DeadlineState.OVERDUE, date(2027, 1, 8), business_days=0, days=-1)
    assert weekend.warning


def test_status_without_a_date() -> None:
    assert deadline_status(OfflineMode.EMERGENCY, None, date(2026, 1, 2)) == DeadlineStatus(DeadlineState.WAITING, None)
    total = deadline_status(OfflineMode.TOTAL_FAILURE, None, date(2026, 1, 2))
    assert total == DeadlineStatus(DeadlineState.NOT_REQUIRED, None)
    assert not total.warning


# ------------------------------------------------------------------------------------------------- properties

DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2035, 12, 31))


@given(issued=DAYS)
def test_offline24_is_the_first_business_day_after_the_issue(issued: date) -> None:
    due = deadline(OfflineMode.OFFLINE24, issued)
    assert due is not None and due > issued and is_business_day(due)
    day = issued + timedelta(days=1)
    while day < due:
        assert not is_business_day(day)
        day += timedelta(days=1)
    assert business_days_between(issued, due) == 1


@given(
    mode=st.sampled_from([OfflineMode.OFFLINE24, OfflineMode.OFFLINE, OfflineMode.EMERGENCY]),
    issued=DAYS,
    spans=st.lists(st.tuples(st.integers(-10, 20), st.integers(0, 10), st.booleans()), max_size=4),
)
def test_a_deadline_is_always_a_business_day_after_the_issue(
    mode: OfflineMode, issued: date, spans: list[tuple[int, int, bool]]
) -> None:
    outages = [
        Outage(
            FAILURE if failure else UNAVAILABILITY, issued + timedelta(days=start), issued + timedelta(start + length)
        )
        for start, length, failure in spans
    ]
    # the mode's own outage, covering the issue day
    own = OutageKind.FAILURE if mode is OfflineMode.EMERGENCY else OutageKind.UNAVAILABILITY
    outages.append(Outage(own, issued - timedelta(days=1), issued + timedelta(days=2)))
    due = deadline(mode, issued, outages)
    assert due is not None
    assert due > issued and is_business_day(due)
    assert due >= next_business_day(issued)
    assert deadline_status(mode, due, issued).state is DeadlineState.OPEN
