"""The company at a glance, as the home screen draws it: this month's sales and purchases (counts and gross
totals), VAT due against VAT deductible, what waits to be sent or was rejected, and a per-day count of the KSeF
traffic of the last 30 days.

What counts where (every day a Warsaw day):

* this month's sales: the register's invoices issued this month, drafts left out (not issued yet); their gross
  and VAT per currency (a sales invoice's VAT is in its own currency);
* this month's purchases: purchase invoices issued this month, gross per currency;
* VAT deductible: the purchases booked into this month's settlement period, each its
  :func:`services.booking.deductible_vat` (KSeF's VAT in PLN times the booking's deduction);
* to send and rejected: the whole register, counted as :mod:`services.overview` counts them;
* traffic: invoices received = purchases by their receipt day (KSeF number assigned); invoices sent = sales
  KSeF accepted, by the day it assigned their number (a duplicate, whose number is the original's, is not a
  send of ours);
* offline invoices waiting to be sent (issue 14): the register's offline invoices KSeF has not accepted yet, how
  many are due today or overdue, and the most urgent one with its deadline (:class:`OfflineWaiting`);
  :func:`offline_waiting` is the same for the app when KSeF comes back (it first puts the outages KSeF announced
  on their records, so their deadlines are up to date).

Blocking (the store): the UI runs it in a thread worker, after its first frame. The store is opened read-only
and closed again; one that cannot be read gives a :class:`Dashboard` with no numbers and the reason in
``problem``, never an exception. The heavy store modules load when it runs, not when it is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ksef_tui.domain.booking import WARSAW, Period, warsaw_date
from ksef_tui.domain.money import ZERO, q2
from ksef_tui.domain.offline import DeadlineState, DeadlineStatus
from ksef_tui.errors import UserError, report
from ksef_tui.i18n import language, t

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.store.db import Store
    from ksef_tui.store.sales import Sale, SaleTable

#: How many days the traffic chart covers, today included.
DAYS = 30
PLN = "PLN"


@dataclass(frozen=True, slots=True)
class Amounts:
    """Sums per currency: PLN first, then the others by name."""

    sums: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Decimal]]) -> Amounts:
        totals: dict[str, Decimal] = {}
        for currency, value in pairs:
            totals[currency] = totals.get(currency, ZERO) + value
        ordered = sorted(totals.items(), key=lambda item: (item[0] != PLN, item[0]))
        return cls(tuple((currency, q2(value)) for currency, value in ordered))

    @property
    def pln(self) -> Decimal:
        return next((value for currency, value in self.sums if currency == PLN), ZERO)

    @property
    def others(self) -> tuple[tuple[str, Decimal], ...]:
        return tuple((currency, value) for currency, value in self.sums if currency != PLN)


@dataclass(frozen=True, slots=True)
class MonthSide:
    """One side of the month: how many invoices and their gross total per currency."""

    count: int
    gross: Amounts


@dataclass(frozen=True, slots=True)
class Traffic:
    """Invoices received and sent through KSeF per day, oldest day first (``first_day`` … today)."""

    first_day: date
    received: tuple[int, ...]
    sent: tuple[int, ...]

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=offset) for offset in range(len(self.received))]


@dataclass(frozen=True, slots=True)
class OfflineWaiting:
    """Offline invoices KSeF has not accepted yet: how many, the numbers, how many are due today or overdue, and
    the most urgent one (``nearest``) with its deadline as the UI shows it (``status``)."""

    count: int = 0
    numbers: tuple[str, ...] = ()
    urgent: int = 0
    nearest: str = ""
    status: DeadlineStatus | None = None

    @property
    def due(self) -> bool:
        """Whether one is due today or overdue (the screen says so in the error colour)."""
        return self.urgent > 0


#: The order of urgency: the earliest deadline first; no date yet (an outage still going on) after every date.
_URGENCY = {
    DeadlineState.OVERDUE: 0,
    DeadlineState.DUE_TODAY: 0,
    DeadlineState.OPEN: 0,
    DeadlineState.WAITING: 1,
    DeadlineState.NOT_REQUIRED: 2,
}


def offline_of(sales: Iterable[Sale], today: date) -> OfflineWaiting:
    """The offline invoices among ``sales`` waiting to be sent, seen from ``today``."""
    from ksef_tui.services.offline import deadline_of

    waiting = [(sale, status) for sale in sales if (status := deadline_of(sale, today)) is not None]
    if not waiting:
        return OfflineWaiting()
    waiting.sort(key=lambda item: (_URGENCY[item[1].state], item[1].deadline or today, item[0].record.number))
    urgent = sum(1 for _, status in waiting if status.state in (DeadlineState.OVERDUE, DeadlineState.DUE_TODAY))
    first, status = waiting[0]
    numbers = tuple(sale.record.number for sale, _ in waiting)
    return OfflineWaiting(len(waiting), numbers, urgent, first.record.number, status)


def offline_waiting(workspace: Workspace, profile: Profile, now: datetime | None = None) -> OfflineWaiting:
    """The offline invoices waiting to be sent (blocking), after the outages KSeF announced are put on their
    records (:func:`services.offline.record_outages`: an end learnt, a failure that moves deadlines); a store
    that cannot be written now (a send holds it) keeps the deadlines it has. Nothing when there is no store."""
    from ksef_tui.services.availability import outages
    from ksef_tui.services.offline import record_outages
    from ksef_tui.store.sales import SalesRepository

    today = warsaw_date(now or datetime.now(UTC))
    if not workspace.store_path(profile).exists():
        return OfflineWaiting()
    announced = outages(workspace, profile)
    if announced:
        try:
            with workspace.open_store(profile) as store:
                record_outages(SalesRepository(store), announced)
        except (UserError, OSError):
            pass  # read below as they are; the next look records them
    try:
        with workspace.open_store(profile, read_only=True) as store:
            sales = SalesRepository(store)
            with sales.lock:
                sales.table.refresh()
                codes, values = sales.table.index.coded("state")
                return offline_of(_unsent_sales(sales.table, [values[code] for code in codes]), today)
    except (UserError, OSError):
        return OfflineWaiting()


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the home screen draws; ``None`` numbers (and ``problem``) when the store could not be read."""

    today: date
    sales: MonthSide | None = None
    purchases: MonthSide | None = None
    vat_due: Amounts | None = None
    vat_deductible: Decimal | None = None
    unsent: int | None = None
    rejected: int | None = None
    traffic: Traffic | None = None
    offline: OfflineWaiting | None = None
    problem: str = field(default="")

    @property
    def month(self) -> Period:
        return Period.of(self.today)


def amount_text(value: Decimal, currency: str = PLN) -> str:
    """An amount with its currency as the screen shows it: ``1 234,56 zł`` in Polish, ``1,234.56 PLN`` in
    English (the purchases screen's format)."""
    from ksef_tui.services.purchases import money

    unit = "zł" if currency == PLN and language() == "pl" else currency
    return f"{money(value)}\u00a0{unit}"


def month_name(period: Period) -> str:
    """``listopad 2026`` / ``November 2026``."""
    return f"{t(f'dash.month.{period.month}')} {period.year}"


def window(today: date, days: int = DAYS) -> date:
    """The first day of the traffic window that ends ``today``."""
    return today - timedelta(days=days - 1)


def dashboard(workspace: Workspace, profile: Profile, now: datetime | None = None) -> Dashboard:
    """The company's dashboard as of ``now`` (blocking)."""
    today = warsaw_date(now or datetime.now(UTC))
    if not workspace.store_path(profile).exists():
        return Dashboard(today, problem=t("dash.no_data"))
    try:
        store = workspace.store(profile, read_only=True)
        try:
            return read_dashboard(store, today)
        finally:
            store.close()
    except (UserError, OSError) as exc:
        return Dashboard(today, problem=report(exc).message)


def read_dashboard(store: Store, today: date) -> Dashboard:
    """The dashboard from an open store (blocking; the caller closes it)."""
    from ksef_tui.services.booking import deductible_vat
    from ksef_tui.services.overview import UNSENT_STATES
    from ksef_tui.store.purchases import PurchaseRepository
    from ksef_tui.store.sales import SalesRepository, SendState

    month = Period.of(today)
    first = window(today)
    purchases = PurchaseRepository(store)
    bought = purchases.list(month)
    booked = purchases.list(month, by="booking")
    with purchases.lock:
        purchases.table.refresh()
        received_at = list(purchases.index.ints("received"))
    start = datetime.combine(first, time(), WARSAW).timestamp()
    end = datetime.combine(today + timedelta(days=1), time(), WARSAW).timestamp()
    received = _per_day(
        (warsaw_date(datetime.fromtimestamp(stamp, UTC)) for stamp in received_at if start <= stamp < end), first, today
    )

    sales = SalesRepository(store)
    issued = [sale for sale in sales.list(month) if sale.status.state is not SendState.DRAFT]
    with sales.lock:
        sales.table.refresh()
        codes, values = sales.table.index.coded("state")
        states = [values[code] for code in codes]
        sent = _per_day(_accepted_days(sales.table, states), first, today)
        offline = offline_of(_unsent_sales(sales.table, states), today)
    return Dashboard(
        today,
        sales=MonthSide(len(issued), Amounts.of((s.record.currency, s.record.gross) for s in issued)),
        purchases=MonthSide(len(bought), Amounts.of((p.currency, p.gross) for p in bought)),
        vat_due=Amounts.of((s.record.currency, s.record.vat) for s in issued),
        vat_deductible=q2(sum((deductible_vat(p) for p in booked), ZERO)),
        unsent=sum(1 for state in states if state in UNSENT_STATES),
        rejected=sum(1 for state in states if state == SendState.REJECTED.value),
        traffic=Traffic(first, received, sent),
        offline=offline,
    )


def _unsent_sales(table: SaleTable, states: list[str]) -> list[Sale]:
    """The register's invoices not accepted yet (from the state index: only their months are read), offline ones
    only (the others are no deadline's)."""
    from ksef_tui.store.sales import SendState

    waiting = {s.value for s in (SendState.QUEUED, SendState.SENDING, SendState.REJECTED, SendState.NEEDS_ATTENTION)}
    rows = [row for row, state in enumerate(states) if state in waiting]
    return [sale for sale in table.sales(rows) if sale.record.offline is not None] if rows else []


def _accepted_days(table: SaleTable, states: list[str]) -> Iterator[date]:
    """The Warsaw days KSeF accepted the register's invoices (duplicates left out), from the months' status
    files alone: the invoices' own documents are not read (at 20,000 accepted invoices about a third of the
    time of reading whole sales)."""
    from ksef_tui.store.db import StoreCorrupt
    from ksef_tui.store.sales import STATE, SendState

    accepted = SendState.ACCEPTED.value
    index = table.index
    months = sorted({index.month_of(row) for row, state in enumerate(states) if state == accepted})
    for month in months:
        loaded = table.partitions.get(month)
        for number, status in loaded.sides.get(STATE, {}).items():
            if status.get("state") != accepted or status.get("duplicate") or not status.get("acquisition_date"):
                continue
            try:
                yield warsaw_date(datetime.fromisoformat(str(status["acquisition_date"])))
            except (TypeError, ValueError) as exc:
                path = loaded.path.with_name(f"{month}.{STATE}.json")
                raise StoreCorrupt(path, f"{number}: {type(exc).__name__}: {exc}") from None


def _per_day(days: Iterable[date], first: date, last: date) -> tuple[int, ...]:
    counts: dict[date, int] = {}
    for day in days:
        if first <= day <= last:
            counts[day] = counts.get(day, 0) + 1
    return tuple(counts.get(first + timedelta(days=offset), 0) for offset in range((last - first).days + 1))
