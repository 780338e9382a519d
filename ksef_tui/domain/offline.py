"""Offline invoicing: the modes and the deadline calendar (CERTS_OFFLINE.md §5.1, PROTOCOL.md §10; stdlib only).

An invoice issued outside KSeF must be sent to KSeF later, by a deadline counted in **business days**: Monday to
Friday, except Polish public holidays (Saturday is not a business day). Every date here is a Warsaw date: an aware
``datetime`` passed in is first turned into its calendar day in Europe/Warsaw (:func:`warsaw_date`); a naive one
is refused with ``ValueError``.

The modes and their deadlines:

* ``offline24`` (the seller's choice, any time): the next business day after the issue date (``P_1``);
* ``offline`` (KSeF unavailability announced in BIP MF and the interface software): the next business day after
  the unavailability ends;
* ``emergency`` (tryb awaryjny: a KSeF failure announced the same way): 7 business days after the failure ends;
  a new failure announced within that window restarts the count from its own end;
* total failure (awaria całkowita, announced in the mass media): no obligation to send at all.

And a failure announced while an ``offline24``/``offline`` invoice is still pending moves its deadline to 7
business days after the end of the last failure (the docs' example: issued Tue 2025-07-08, failure Wed 07-09 …
Sat 07-12 → deadline Tue 07-22). Only *failures* move deadlines: the documents say nothing of an unavailability
or a total failure announced while an invoice is pending, so those leave its deadline where it was (the earlier,
safe date).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from ksef_tui.domain.booking import warsaw_date

__all__ = [
    "EMERGENCY_BUSINESS_DAYS",
    "DeadlineState",
    "DeadlineStatus",
    "OfflineMode",
    "Outage",
    "OutageKind",
    "add_business_days",
    "business_days_between",
    "deadline",
    "deadline_status",
    "easter_sunday",
    "holiday",
    "is_business_day",
    "is_holiday",
    "marked_offline_by_ksef",
    "next_business_day",
    "polish_holidays",
]

EMERGENCY_BUSINESS_DAYS = 7
"""Business days after the end of a failure to send the invoices issued in (or pending during) it."""


class OfflineMode(StrEnum):
    """How an invoice was issued outside KSeF. The values are what the store and ``sales list --json`` carry."""

    OFFLINE24 = "offline24"  # the seller's choice
    OFFLINE = "offline"  # announced KSeF unavailability (planned maintenance)
    EMERGENCY = "emergency"  # tryb awaryjny: an announced KSeF failure
    TOTAL_FAILURE = "total_failure"  # awaria całkowita: no KSeF, no QR codes, no obligation to send

    @property
    def must_send(self) -> bool:
        """Whether the invoice must be sent to KSeF by a deadline (every mode but a total failure)."""
        return self is not OfflineMode.TOTAL_FAILURE


class OutageKind(StrEnum):
    """What KSeF announced (the Latarnia statuses MAINTENANCE, FAILURE, TOTAL_FAILURE; CERTS_OFFLINE.md §6)."""

    UNAVAILABILITY = "unavailability"  # planned: invoices issued in it are ``offline``
    FAILURE = "failure"  # invoices issued in it are ``emergency``; it moves pending deadlines
    TOTAL_FAILURE = "total_failure"


Day = date | datetime
"""A calendar date, or an aware moment (read as its Warsaw date)."""


def _day(value: Day) -> date:
    # datetime is a subclass of date: look at it first, so a moment becomes its Warsaw day, never its UTC day.
    if isinstance(value, datetime):
        return warsaw_date(value)
    return value


@dataclass(frozen=True, slots=True)
class Outage:
    """One announced KSeF outage: its kind, its first day and its last day (``end`` is ``None`` while it lasts).

    ``start`` and ``end`` may be dates or aware moments; only their Warsaw days count. ``ValueError`` if the end
    is before the start or a moment is naive.
    """

    kind: OutageKind
    start: Day
    end: Day | None = None

    def __post_init__(self) -> None:
        end = self.end_day
        if end is not None and end < self.start_day:
            raise ValueError(f"outage ends ({end}) before it starts ({self.start_day})")

    @property
    def start_day(self) -> date:
        return _day(self.start)

    @property
    def end_day(self) -> date | None:
        return None if self.end is None else _day(self.end)

    def covers(self, day: date) -> bool:
        """Whether ``day`` is within the outage (from its first day to its last, or on, while it lasts)."""
        end = self.end_day
        return self.start_day <= day and (end is None or day <= end)


# ------------------------------------------------------------------------------------------------- holidays


def easter_sunday(year: int) -> date:
    """Easter Sunday of a Gregorian ``year`` (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def polish_holidays(year: int) -> dict[date, str]:
    """The statutory public holidays (dni ustawowo wolne od pracy) of ``year``: date → code.

    The codes (``new_year``, ``epiphany``, ``easter``, ``easter_monday``, ``labour_day``, ``constitution_day``,
    ``pentecost``, ``corpus_christi``, ``assumption``, ``all_saints``, ``independence_day``, ``christmas_eve``,
    ``christmas``, ``boxing_day``) have their names in the message catalogs as ``holiday.<code>``. Epiphany is a
    holiday from 2011, Christmas Eve from 2025.
    """
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "new_year",
        easter: "easter",
        easter + timedelta(days=1): "easter_monday",
        date(year, 5, 1): "labour_day",
        date(year, 5, 3): "constitution_day",
        easter + timedelta(days=49): "pentecost",
        easter + timedelta(days=60): "corpus_christi",
        date(year, 8, 15): "assumption",
        date(year, 11, 1): "all_saints",
        date(year, 11, 11): "independence_day",
        date(year, 12, 25): "christmas",
        date(year, 12, 26): "boxing_day",
    }
    if year >= 2011:
        days[date(year, 1, 6)] = "epiphany"
    if year >= 2025:
        days[date(year, 12, 24)] = "christmas_eve"
    return dict(sorted(days.items()))


_HOLIDAYS: dict[int, dict[date, str]] = {}


def holiday(day: date) -> str | None:
    """The code of the public holiday on ``day`` (see :func:`polish_holidays`), or ``None``."""
    year = _HOLIDAYS.get(day.year)
    if year is None:
        year = _HOLIDAYS[day.year] = polish_holidays(day.year)
    return year.get(day)


def is_holiday(day: date) -> bool:
    """Whether ``day`` is a Polish public holiday (whatever the day of the week)."""
    return holiday(day) is not None


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_business_day(day: Day) -> date:
    """The first business day strictly after ``day``."""
    return add_business_days(day, 1)


def add_business_days(day: Day, count: int) -> date:
    """The ``count``-th business day strictly after ``day`` (``count`` ≥ 1); ``count`` 0 gives ``day`` itself.

    ``day`` need not be a business day: counting starts on the day after it.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    current = _day(day)
    while count:
        current += timedelta(days=1)
        if is_business_day(current):
            count -= 1
    return current


def business_days_between(start: Day, end: Day) -> int:
    """The business days in ``(start, end]``: after ``start``, up to and including ``end``; negative (the same
    count, with a minus) when ``end`` is before ``start``, 0 when they are the same day."""
    first, last = _day(start), _day(end)
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = 0
    current = first
    while current < last:
        current += timedelta(days=1)
        if is_business_day(current):
            count += 1
    return sign * count


# ------------------------------------------------------------------------------------------------- deadlines


def deadline(mode: OfflineMode, issued: Day, outages: Iterable[Outage] = ()) -> date | None:
    """The last day to send an offline invoice to KSeF (a business day, always after the issue day), or ``None``.

    ``issued`` is the issue date (``P_1``); ``outages`` are the outages KSeF announced (any order; those that do
    not touch the invoice are ignored). The deadline is:

    * ``offline24``: the next business day after ``issued``;
    * ``offline``: the next business day after the end of the unavailability that covers ``issued``;
    * ``emergency``: 7 business days after the end of the failure that covers ``issued``;
    * then, for every mode, each failure announced while the invoice is pending (its first day from the issue
      day to the deadline reached so far) moves the deadline to 7 business days after that failure's end (when
      that is later), until no failure does (so a new failure within the emergency window restarts the count).

    A failure that was already under way on the issue day moves nothing but an ``emergency`` deadline (it is the
    failure that mode names): where the documents leave a case open, the earlier date is the one given.

    ``None`` when there is no date (yet): a total failure (no obligation to send), or an outage the deadline waits
    for that has not ended. ``ValueError`` when ``offline``/``emergency`` is claimed but no unavailability or
    failure in ``outages`` covers the issue day: the caller must record the outage (with ``end=None`` while it
    lasts) before it issues in its mode.
    """
    issue_day = _day(issued)
    known = tuple(outages)
    due: date
    if mode is OfflineMode.TOTAL_FAILURE:
        return None
    if mode is OfflineMode.OFFLINE24:
        due = next_business_day(issue_day)
    else:
        kind = OutageKind.UNAVAILABILITY if mode is OfflineMode.OFFLINE else OutageKind.FAILURE
        covering = [outage for outage in known if outage.kind is kind and outage.covers(issue_day)]
        if not covering:
            raise ValueError(f"no {kind.value} covers the issue day {issue_day} of a {mode.value} invoice")
        ends = [outage.end_day for outage in covering]
        if None in ends:
            return None
        last = max(end for end in ends if end is not None)
        due = next_business_day(last) if mode is OfflineMode.OFFLINE else add_business_days(last, 7)
    return _moved_by_failures(issue_day, due, [o for o in known if o.kind is OutageKind.FAILURE])


def _moved_by_failures(issue_day: date, due: date, failures: list[Outage]) -> date | None:
    """``due`` moved by every failure announced while the invoice is pending (see :func:`deadline`)."""
    pending = list(failures)
    moved = True
    while moved:
        moved = False
        for failure in list(pending):
            end = failure.end_day
            if not issue_day <= failure.start_day <= due:
                continue  # announced before the invoice existed, or after its deadline
            if end is None:
                return None  # the invoice waits for a failure that has not ended: no date yet
            pending.remove(failure)
            due = max(due, add_business_days(end, EMERGENCY_BUSINESS_DAYS))
            moved = True
    return due


def marked_offline_by_ksef(issued: Day, invoicing: datetime) -> bool:
    """Whether KSeF itself marks an invoice ``Offline`` (PROTOCOL.md §10): its ``P_1`` day is earlier than the day
    of ``invoicingDate`` (the send time online, the session's opening in a batch), both read in Warsaw."""
    return _day(issued) < warsaw_date(invoicing)


# ------------------------------------------------------------------------------------------------- status


class DeadlineState(StrEnum):
    """Where an unsent offline invoice stands against its deadline, as the UI shows it."""

    NOT_REQUIRED = "not_required"  # total failure: nothing to send
    WAITING = "waiting"  # the outage the deadline depends on has not ended: no date yet
    OPEN = "open"  # the deadline is after today
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class DeadlineStatus:
    """An unsent offline invoice's deadline seen from ``today``.

    ``business_days``: for ``OPEN`` the business days left, today excluded and the deadline included (1: the
    deadline is the next business day); for ``OVERDUE`` the business days since the deadline, today included (0
    on the weekend or holiday right after it: late, but no business day lost yet); otherwise 0. ``days`` is the
    same in calendar days (the deadline minus today: negative when overdue, 0 when due today or with no date).
    """

    state: DeadlineState
    deadline: date | None
    business_days: int = 0
    days: int = 0

    @property
    def warning(self) -> bool:
        """Whether to warn: overdue, due today, or due on the next business day."""
        if self.state in (DeadlineState.OVERDUE, DeadlineState.DUE_TODAY):
            return True
        return self.state is DeadlineState.OPEN and self.business_days <= 1


def deadline_status(mode: OfflineMode, due: date | None, today: Day) -> DeadlineStatus:
    """The status of an unsent ``mode`` invoice whose deadline is ``due`` (from :func:`deadline`) on ``today``
    (a date, or an aware moment read in Warsaw). ``due`` ``None`` is ``WAITING`` (or ``NOT_REQUIRED`` for a total
    failure, whatever ``due`` says)."""
    if not mode.must_send:
        return DeadlineStatus(DeadlineState.NOT_REQUIRED, None)
    if due is None:
        return DeadlineStatus(DeadlineState.WAITING, None)
    day = _day(today)
    days = (due - day).days
    if days == 0:
        return DeadlineStatus(DeadlineState.DUE_TODAY, due)
    if days > 0:
        return DeadlineStatus(DeadlineState.OPEN, due, business_days_between(day, due), days)
    return DeadlineStatus(DeadlineState.OVERDUE, due, business_days_between(due, day), days)
