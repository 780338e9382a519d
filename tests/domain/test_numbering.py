"""Numbering series: patterns, the period a number restarts in, and the next number without gaps or reuse."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksef_tui.domain.numbering import DEFAULT_PATTERN, BadPattern, NumberPattern, next_number


def test_the_default_series_restarts_every_month() -> None:
    pattern = NumberPattern.parse(DEFAULT_PATTERN)
    march = date(2026, 3, 5)
    assert next_number(pattern, march, []) == "FV/1/03/2026"
    register = ["FV/1/03/2026", "FV/2/03/2026", "FV/7/02/2026", "FV/3/03/2025", "KOR/9/03/2026", "FV/x/03/2026"]
    assert next_number(pattern, march, register) == "FV/3/03/2026"
    assert next_number(pattern, date(2026, 2, 28), register) == "FV/8/02/2026"
    assert next_number(pattern, date(2026, 4, 1), register) == "FV/1/04/2026"
    assert pattern.read("FV/12/03/2026") == (12, (2026, 3))
    assert pattern.read("FV/012/03/2026") is None  # not a number this series writes


def test_padding_years_and_no_restart() -> None:
    yearly = NumberPattern.parse("{YY}-S{n:4}")
    assert next_number(yearly, date(2026, 12, 31), ["26-S0041", "25-S0100"]) == "26-S0042"
    assert next_number(yearly, date(2027, 1, 1), ["26-S0041"]) == "27-S0001"
    forever = NumberPattern.parse("R{n}")
    assert next_number(forever, date(2030, 1, 1), ["R9", "R10", "R2"]) == "R11"
    assert forever.scope(date(2030, 1, 1)) == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "FV/{MM}",
        "FV/{n}/{n}",
        "FV/{n}/{MM}",
        "FV/{n}/{DD}/{MM}",
        "FV/{x}/{n}",
        "FV {n}",
        "FV/{n}/{YYYY}/{YYYY}",
        "FV/{n",
    ],
)
def test_bad_patterns_are_refused(text: str) -> None:
    with pytest.raises(BadPattern):
        NumberPattern.parse(text)


PATTERNS = ["FV/{n}/{MM}/{YYYY}", "{YYYY}/{n:3}", "A-{n}-{YY}{MM}{DD}", "R{n}"]


@given(
    pattern=st.sampled_from(PATTERNS),
    days=st.lists(st.dates(date(2000, 1, 1), date(2099, 12, 31)), min_size=1, max_size=40),
)
def test_numbers_taken_one_after_another_never_repeat_and_leave_no_gap(pattern: str, days: list[date]) -> None:
    series = NumberPattern.parse(pattern)
    register: list[str] = []
    for day in days:
        number = next_number(series, day, register)
        assert number not in register
        assert series.read(number) is not None
        register.append(number)
    by_scope: dict[tuple[int, ...], list[int]] = {}
    for number in register:
        found = series.read(number)
        assert found is not None
        by_scope.setdefault(found[1], []).append(found[0])
    for runs in by_scope.values():
        assert sorted(runs) == list(range(1, len(runs) + 1))  # 1, 2, 3, ... in each period: no gap
