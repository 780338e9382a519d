"""Booking a purchase invoice: the booking itself and the accounting rules it must follow (stdlib only).

A booking says how the accountant books a purchase: a cost category (after the KPiR columns), the share of its
VAT that is deducted (100, 50 or 0 %) and the settlement period (``YYYY-MM``, the VAT month). The rules:

* a period is written ``YYYY-MM`` (years 2000-2099, months 01-12): one parser, :meth:`Period.parse`, used for
  booking, listing and the register alike;
* a purchase is never settled in a month before its issue month;
* nor more than one month after the current month in Poland (Europe/Warsaw): a typo such as ``2062-05`` is
  refused, a booking into next month (done in the last days of this one) is not.

Every refusal is an :class:`InvalidBooking` naming its :class:`BookingProblem`; services turn it into a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Self
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")

VAT_DEDUCTIONS: tuple[int, ...] = (100, 50, 0)
"""The VAT deductions a booking may take, in percent (50 %: a car used also privately, art. 86a VAT)."""

CATEGORIES: tuple[str, ...] = (
    "goods",  # zakup towarów handlowych i materiałów (KPiR kol. 10)
    "incidental",  # koszty uboczne zakupu (kol. 11)
    "other",  # pozostałe wydatki (kol. 13)
    "fixed-asset",  # środek trwały / wartość niematerialna i prawna
    "not-cost",  # nie stanowi kosztu (NKUP)
)
"""The default cost categories (codes; their words are in the message catalogs as ``category.<code>``)."""

MAX_MONTHS_AHEAD = 1
"""How far after the current month a purchase may be settled: next month, not later."""

_PERIOD_RE = re.compile(r"(20[0-9][0-9])-(0[1-9]|1[0-2])")  # ASCII digits only, whole string (fullmatch)


class BookingProblem(Enum):
    """Why a booking is refused (each has its own message in the catalogs)."""

    PERIOD_FORMAT = "period-format"
    CATEGORY = "category"
    DEDUCTION = "deduction"
    PERIOD_BEFORE_ISSUE = "period-before-issue"
    PERIOD_TOO_FAR = "period-too-far"


class InvalidBooking(ValueError):
    """A booking breaks a rule; ``details`` hold what a message needs (the value, the limit it broke)."""

    def __init__(self, problem: BookingProblem, value: object, **details: object) -> None:
        super().__init__(_SUMMARIES[problem].format(value=value, **details))
        self.problem = problem
        self.value = value
        self.details = details


_SUMMARIES = {
    BookingProblem.PERIOD_FORMAT: "period must be YYYY-MM (years 2000-2099), got {value!r}",
    BookingProblem.CATEGORY: "unknown category {value!r}; choose one of {options}",
    BookingProblem.DEDUCTION: "vat_deduction must be one of (100, 50, 0), got {value!r}",
    BookingProblem.PERIOD_BEFORE_ISSUE: "period {value} is before the issue month {earliest} (issued {issue_date})",
    BookingProblem.PERIOD_TOO_FAR: "period {value} is after {latest}, the latest allowed on {today}",
}


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A settlement period: one calendar month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (2000 <= self.year <= 2099 and 1 <= self.month <= 12):
            raise InvalidBooking(BookingProblem.PERIOD_FORMAT, f"{self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Self:
        """``YYYY-MM`` exactly (``2026-05``); anything else raises :class:`InvalidBooking` (PERIOD_FORMAT)."""
        match = _PERIOD_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidBooking(BookingProblem.PERIOD_FORMAT, text)
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Self:
        """The month ``day`` falls in."""
        return cls(day.year, day.month)

    def shifted(self, months: int) -> Period:
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def warsaw_date(moment: datetime) -> date:
    """The calendar day of an aware moment in Poland: every date an accountant sees is a Warsaw date."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"moment must be timezone-aware, got {moment!r}")
    return moment.astimezone(WARSAW).date()


def check_category(category: str, categories: Iterable[str] = CATEGORIES) -> None:
    allowed = tuple(categories)
    if category not in allowed:
        raise InvalidBooking(BookingProblem.CATEGORY, category, options=allowed)


def check_deduction(vat_deduction: object) -> None:
    if type(vat_deduction) is not int or vat_deduction not in VAT_DEDUCTIONS:  # not True, not 50.0
        raise InvalidBooking(BookingProblem.DEDUCTION, vat_deduction)


def latest_period(today: date) -> Period:
    """The last period a purchase may be settled in on ``today`` (a Warsaw date)."""
    return Period.of(today).shifted(MAX_MONTHS_AHEAD)


def check_period(period: Period, *, issue_date: date, today: date) -> None:
    """The guard rails: not before the invoice's issue month, not after next month (``today`` in Warsaw)."""
    issued = Period.of(issue_date)
    if period < issued:
        raise InvalidBooking(BookingProblem.PERIOD_BEFORE_ISSUE, str(period), issue_date=issue_date, earliest=issued)
    latest = latest_period(today)
    if period > latest:
        raise InvalidBooking(BookingProblem.PERIOD_TOO_FAR, str(period), latest=latest, today=today)


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, slots=True)
class Booking:
    """How the accountant booked a purchase: cost category, VAT deduction (100/50/0 %) and the VAT period.

    The category is not checked here (the list of categories is configurable); the deduction, the period's
    form and an aware ``booked_at`` are. The period rules that need the invoice and the date
    (:func:`check_period`) apply when booking, not when reading a booking back.
    """

    category: str
    vat_deduction: int
    period: str
    note: str
    booked_at: datetime

    def __post_init__(self) -> None:
        check_deduction(self.vat_deduction)
        Period.parse(self.period)
        _aware("booked_at", self.booked_at)

    @property
    def settlement_period(self) -> Period:
        return Period.parse(self.period)

    def to_doc(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "vat_deduction": self.vat_deduction,
            "period": self.period,
            "note": self.note,
            "booked_at": self.booked_at.isoformat(),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Booking:
        return cls(
            category=str(doc["category"]),
            vat_deduction=int(doc["vat_deduction"]),
            period=str(doc["period"]),
            note=str(doc.get("note", "")),
            booked_at=datetime.fromisoformat(str(doc["booked_at"])),
        )
