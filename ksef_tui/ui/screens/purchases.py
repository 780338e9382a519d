"""Purchases ("Zakupy: importuj faktury KSeF"): every purchase invoice and correction of the company in one
virtual table, searched as you type, filtered (issue month, unbooked only, corrections only, a seller) and
sorted by any column; Enter opens the detail, ``b`` books the highlighted purchase (or the marked ones: Space),
``u`` unbooks it (or the marked ones) after a confirmation naming how many and the periods they were booked in,
``e`` saves the purchase register of a period as CSV.

Opening the screen lists what the store holds at once (the store's index, read in a thread worker) and checks
KSeF for new purchases in an async worker meanwhile: the header says "opening a KSeF session…" when a new
authentication is needed, a KSeF limit (Retry-After) is a live countdown, and the table reloads when the import
is done. The store is held read-only, so the table is usable while the import runs.

Bookings and unbookings are written one at a time, in the order asked, each opening the store for writing
briefly. The import holds the store's single-writer lock from start to end, so what is asked meanwhile waits in
a queue (the screen says it will be saved when the import finishes; the rows say "to be saved") and is written
as soon as the import ends, whether it succeeded or failed; an import asked for while a write runs starts after
it. A store held by another session is tried again every :data:`RETRY_SECONDS`. Leaving the screen writes what
still waits before the store closes.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, ProgressBar, Static
from textual.worker import Worker, WorkerState

from ksef_tui.domain.booking import Period, warsaw_date
from ksef_tui.errors import UserError
from ksef_tui.i18n import has_key, t
from ksef_tui.services.booking import BookingChange, BookingRequest, StoreHeld, apply_change
from ksef_tui.services.purchases import CurrencyTotal, PurchaseBrowser, PurchaseQuery, PurchaseRow
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.screens.booking_dialog import BookingDialog, ExportDialog, UnbookDialog, periods_text
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader
from ksef_tui.ui.widgets.purchase_table import COLUMNS, PurchaseTable

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.ksef.limits import Wait
    from ksef_tui.services.purchase_sync import SyncProgress
    from ksef_tui.services.workspace import SyncOutcome
    from ksef_tui.store.db import Store
    from ksef_tui.ui.app import KsefApp

LOAD_GROUP = "purchases-load"
QUERY_GROUP = "purchases-query"
SYNC_GROUP = "purchases-sync"
BOOK_GROUP = "purchases-book"
EXPORT_GROUP = "purchases-export"
#: Seconds the totals wait after the rows were handed to the table (a keystroke within them cancels the sum).
TOTALS_DELAY = 0.15
#: The sort columns in the order ``s`` steps through them (the table's columns, left to right).
SORTS = tuple(column.key for column in COLUMNS if column.key != "mark")
#: Seconds between tries of a write that found the store held by another session.
RETRY_SECONDS = 1.0
#: Seconds a write still waiting when the screen closes may wait for the store (the import lets go of it).
LEAVING_WAIT = 10.0


def _problem(error: BaseException | None) -> str:
    if isinstance(error, UserError):
        hint = error.hint()
        return error.message() + (f" ({hint})" if hint else "")
    return f"{type(error).__name__}: {error}"


def group_words(group: str) -> str:
    """A KSeF rate-limit group in words (``invoiceExport`` → "eksporty faktur")."""
    base = group.split(":", 1)[0]
    return t(f"limit.group.{base}") if has_key(f"limit.group.{base}") else group


@dataclass(frozen=True, slots=True)
class BookingWrite:
    """A booking change the screen writes for the company of ``profile`` (queued while the import runs)."""

    profile: Profile
    change: BookingChange

    @property
    def numbers(self) -> tuple[str, ...]:
        return self.change.numbers

    @property
    def request(self) -> BookingRequest | None:
        """The booking; ``None``: an unbooking."""
        return self.change.request


def booked_period(row: PurchaseRow) -> str | None:
    """The period a listed purchase is booked in (the last word of its booked state), or ``None``."""
    return row.booked.rsplit(" ", 1)[-1] if row.is_booked else None


@dataclass(slots=True)
class Countdown:
    """A wait KSeF imposed (Retry-After) or our own limiter's: until when, for which group."""

    group: str
    until: float  # time.monotonic()
    reason: str

    def left(self) -> int:
        return max(int(self.until - time.monotonic() + 0.999), 0)


class PurchasesScreen(Screen[None]):
    """The company's purchase invoices: import, search, book, register."""

    CSS_PATH = "../styles/purchases.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "book", "bind.purchases.book", id="purchases.book", tooltip="bind.purchases.book.help"),
        Binding(  # off the footer (the Polish one overflowed at 120 columns); in the palette with its keys
            "u",
            "unbook",
            "bind.purchases.unbook",
            id="purchases.unbook",
            show=False,
            tooltip="bind.purchases.unbook.help",
        ),
        Binding("space", "mark", "bind.purchases.mark", id="purchases.mark", tooltip="bind.purchases.mark.help"),
        Binding("e", "export", "bind.purchases.export", id="purchases.export", tooltip="bind.purchases.export.help"),
        Binding(
            "slash",
            "search",
            "bind.purchases.search",
            id="purchases.search",
            show=False,
            tooltip="bind.purchases.search.help",
        ),
        Binding(
            "n",
            "toggle_unbooked",
            "bind.purchases.unbooked",
            id="purchases.unbooked",
            show=False,
            tooltip="bind.purchases.unbooked.help",
        ),
        Binding(
            "k",
            "toggle_corrections",
            "bind.purchases.corrections",
            id="purchases.corrections",
            show=False,
            tooltip="bind.purchases.corrections.help",
        ),
        Binding(
            "s", "sort", "bind.purchases.sort", id="purchases.sort", show=False, tooltip="bind.purchases.sort.help"
        ),
        Binding(
            "r",
            "reverse",
            "bind.purchases.reverse",
            id="purchases.reverse",
            show=False,
            tooltip="bind.purchases.reverse.help",
        ),
        Binding(
            "a",
            "mark_all",
            "bind.purchases.mark_all",
            id="purchases.mark-all",
            show=False,
            tooltip="bind.purchases.mark_all.help",
        ),
        Binding(
            "f5,i",
            "import",
            "bind.purchases.import",
            id="purchases.import",
            show=False,
            tooltip="bind.purchases.import.help",
        ),
        Binding("escape", "leave_filter", "bind.purchases.table", id="purchases.table", show=False),
    ]

    class Loaded(Message):
        """The store's purchases are readable (``browser``), or there is no store yet (``None``)."""

        def __init__(self, profile: Profile, store: Store | None, browser: PurchaseBrowser | None) -> None:
            super().__init__()
            self.profile = profile
            self.store = store
            self.browser = browser

    class Queried(Message):
        """The rows a query found (``serial``: newer queries win), and their totals."""

        def __init__(self, serial: int, rows: list[int], totals: list[CurrencyTotal] | None) -> None:
            super().__init__()
            self.serial = serial
            self.rows = rows
            self.totals = totals

    class Saved(Message):
        """A booking or unbooking was written; ``periods``: the period of each invoice (booked into, or unbooked
        from)."""

        def __init__(self, write: BookingWrite, periods: list[str]) -> None:
            super().__init__()
            self.write = write
            self.periods = periods

    class Held(Message):
        """A write found the store held by another session (``locked`` names it): it waits and is tried again."""

        def __init__(self, write: BookingWrite, locked: StoreHeld) -> None:
            super().__init__()
            self.write = write
            self.locked = locked

    class ExportProgressed(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, PurchasesScreen.ExportProgressed)

    def __init__(self) -> None:
        super().__init__()
        localize(self)
        self.store: Store | None = None
        self.browser: PurchaseBrowser | None = None
        self.query_state = PurchaseQuery()
        self.serial = 0
        self.shown_serial = 0
        self.syncing = False
        self.countdown: Countdown | None = None
        self._progress_text = ""
        self._ticker: Timer | None = None
        self._profile_key: str | None = None
        self.last_outcome: SyncOutcome | None = None
        self._totals: list[CurrencyTotal] = []
        self._totals_of: list[int] | None = None
        self._queue: deque[BookingWrite] = deque()  # writes waiting, in the order asked
        self._writing: BookingWrite | None = None  # the write in flight (it holds the store's lock)
        self._settling: set[str] = set()  # written, not yet read back into the table
        self._sync_waits: Profile | None = None  # an import asked for while a write held the store
        self._retry: Timer | None = None
        self._told_busy = False
        self._leaving = False
        self._loading = False  # a read of the store is under way (its Loaded not handled yet)

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        profile = self.ksef_app.profile
        if profile is not None:  # the store read from now, in a thread, while the screen is built and styled
            self._profile_key = profile.company_key
            self._start_load(profile, sync_after=True)
        yield CompanyHeader()
        with Vertical(id="purchases-body"):
            yield Static(t("screen.purchases"), classes="screen-title")
            with Horizontal(id="purchases-filters"):
                yield Input(placeholder=t("purchases.search.placeholder"), id="purchases-search")
                yield Input(placeholder=t("purchases.period.filter"), id="purchases-period", max_length=7)
                yield Input(placeholder=t("purchases.seller.placeholder"), id="purchases-seller")
            yield Static("", id="purchases-flags", markup=False)
            yield Static(t("purchases.loading"), id="purchases-sync")
            yield PurchaseTable(self.ksef_app.glyphs, id="purchases-table")
            yield Static("", id="purchases-detail", markup=False)
            yield Static("", id="purchases-totals", markup=False)
            yield ProgressBar(id="purchases-export", show_eta=False)
        yield KsefFooter()

    def on_mount(self) -> None:
        self.query_one("#purchases-export", ProgressBar).display = False
        self.query_one(PurchaseTable).focus()
        self._show_flags()
        self.watch(self.ksef_app, "profile", self._profile_changed, init=True)

    async def on_unmount(self) -> None:
        """Writes still waiting are written before the screen goes (the import, cancelled, lets go of the store;
        another session gets :data:`LEAVING_WAIT` seconds)."""
        import asyncio

        self._leaving = True
        if self._retry is not None:
            self._retry.stop()
        waiting = list(self._queue)
        self._queue.clear()
        if waiting:
            self.workers.cancel_group(self, SYNC_GROUP)
            await asyncio.to_thread(self._write_before_leaving, waiting)
        self._close_store()

    def _write_before_leaving(self, waiting: list[BookingWrite]) -> None:
        """Blocking (a thread): each waiting write, the store tried until :data:`LEAVING_WAIT` runs out."""
        from ksef_tui.errors import report

        app = self.ksef_app
        deadline = time.monotonic() + LEAVING_WAIT
        for write in waiting:
            while True:
                try:
                    done = apply_change(app.workspace, write.profile, write.change, clock=app.clock)
                except UserError as exc:
                    app.log.error(f"purchases: a booking was refused while closing: {report(exc).message}")
                    break
                if isinstance(done, StoreHeld) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                if isinstance(done, StoreHeld):
                    app.log.error("purchases: a booking could not be saved before closing (the store is held)")
                break

    def _close_store(self) -> None:
        store, self.store, self.browser = self.store, None, None
        if store is not None:
            store.close()  # read-only: no lock, no write

    def _profile_changed(self, profile: Profile | None = None) -> None:
        profile = self.ksef_app.profile
        if profile is None or profile.company_key == self._profile_key:
            return
        self._profile_key = profile.company_key
        self._close_store()
        self.query_one(PurchaseTable).marked.clear()
        self.query_one(PurchaseTable).show(None, [])
        self._start_load(profile, sync_after=True)

    # ------------------------------------------------------------------------------------------ loading

    def _start_load(self, profile: Profile, *, sync_after: bool = False) -> None:
        self._loading = True  # until its Loaded is handled: an import done meanwhile need not read the store again
        self._load(profile, sync_after)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="purchases: open the store")
    def _load(self, profile: Profile, sync_after: bool = False) -> None:
        """Open the company's store read-only and read its index (blocking); a company with no store yet lists
        nothing until the import made one."""
        from ksef_tui.services.workspace import StoreUnavailable

        workspace = self.ksef_app.workspace
        store: Store | None = None
        browser: PurchaseBrowser | None = None
        try:
            if workspace.store_path(profile).exists():
                store = workspace.store(profile, read_only=True)
                browser = PurchaseBrowser.of_store(store)
                browser.order()  # the index read and sorted here, not on the UI thread
        except StoreUnavailable:
            store, browser = None, None
        finally:
            if sync_after:  # the import runs whatever the store said (it may be what makes the store)
                self.app.call_from_thread(self._start_sync, profile)
        self.post_message(self.Loaded(profile, store, browser))

    def on_purchases_screen_loaded(self, message: Loaded) -> None:
        current = self.ksef_app.profile
        if current is None or current.company_key != message.profile.company_key:
            if message.store is not None:
                message.store.close()
            return
        if self.store is not None and self.store is not message.store:
            self.store.close()
        self.store, self.browser = message.store, message.browser
        self._loading = False
        self._settling.clear()  # what was written is in the store read now
        self.query_one(PurchaseTable).waiting = self._waiting_numbers()
        self.query_one(PurchaseTable).forget()
        self._run_query()

    def _run_query(self) -> None:
        self.serial += 1
        if self.browser is None:
            self.query_one(PurchaseTable).show(None, [])
            self._show_totals([], None)
            return
        self._query(self.browser, self.query_state, self.serial)

    @work(thread=True, exclusive=True, group=QUERY_GROUP, exit_on_error=False, description="purchases: search")
    def _query(self, browser: PurchaseBrowser, query: PurchaseQuery, serial: int) -> None:
        """The rows first (the table repaints at once), then their totals (a sum over every row found)."""
        try:
            rows = browser.query(query)
            self.post_message(self.Queried(serial, rows, None))
            time.sleep(TOTALS_DELAY)  # the rows painted first; typing on within it skips the sum
            totals = browser.totals_until(
                rows, lambda: serial != self.serial or self.browser is not browser, between=lambda: time.sleep(0.002)
            )
            if totals is not None:
                self.post_message(self.Queried(serial, rows, totals))
        except UserError:
            if self.browser is browser:
                raise
            # the screen closed (or changed company) meanwhile and closed this store: nothing to show

    def on_purchases_screen_queried(self, message: Queried) -> None:
        if message.serial != self.serial:
            return  # typed on since: a newer answer is coming
        table = self.query_one(PurchaseTable)
        if message.totals is None:
            table.sort = (self.query_state.sort, self.query_state.descending)
            table.show(self.browser, message.rows, keep=table.current_row)
            self.shown_serial = message.serial
        self._show_totals(message.rows, message.totals)

    def _show_totals(self, rows: list[int], totals: list[CurrencyTotal] | None) -> None:
        """The count of rows listed (and marked) and, once summed, their totals per currency."""
        table = self.query_one(PurchaseTable)
        if totals is not None:
            self._totals = totals
        elif rows is not self._totals_of:
            self._totals = []
        self._totals_of = rows
        totals = self._totals
        total = len(self.browser) if self.browser is not None else 0
        parts = [t("purchases.shown", shown=len(rows), total=total)]
        if table.marked:
            parts.append(t("purchases.marked", count=len(table.marked)))
        waiting = sum(len(write.numbers) for write in self._pending())
        if waiting:
            parts.append(f"{self.ksef_app.glyphs.busy} " + t("purchases.waiting", count=waiting))
        text = f" {self.ksef_app.glyphs.sep} ".join(parts)
        if totals:
            text += "\n" + "\n".join(item.text() for item in totals[:3])
        self.query_one("#purchases-totals", Static).update(text)

    def on_purchase_table_highlighted(self, message: PurchaseTable.Highlighted) -> None:
        self._show_detail(message.row)

    def _show_detail(self, index_row: int | None) -> None:
        """The line under the table: the highlighted purchase's number, kind, what it corrects, its state."""
        detail = self.query_one("#purchases-detail", Static)
        if index_row is None or self.browser is None:
            empty = t("purchases.empty") if self.browser is None else t("purchases.no_match")
            detail.update(empty)
            return
        try:
            row = self.browser.row(index_row)
        except UserError:  # the store closed meanwhile (the screen is going away)
            return
        glyphs = self.ksef_app.glyphs
        parts = [row.ksef_number, f"{row.kind}"]
        if row.corrects:
            parts.append(t("purchases.corrects", number=row.corrects))
        parts.append(row.booked)
        if row.ksef_number in self.query_one(PurchaseTable).waiting:
            parts.append(f"{glyphs.busy} {t('purchases.state.waiting')}")
        detail.update(f" {glyphs.sep} ".join(parts))

    # ------------------------------------------------------------------------------------- the import

    def _start_sync(self, profile: Profile) -> None:
        if not self.syncing:
            self._begin_sync(profile)

    def _begin_sync(self, profile: Profile) -> None:
        """The import, at once or (a booking being written holds the store) as soon as that write is done."""
        if self._writing is not None:
            self._sync_waits = profile
            self._set_sync_text(t("purchases.sync.checking"))
            return
        self.syncing = True  # before the worker starts: no write may take the store from now on
        self._sync(profile)

    @work(exclusive=True, group=SYNC_GROUP, exit_on_error=False, description="purchases: import from KSeF")
    async def _sync(self, profile: Profile) -> None:
        """Ask KSeF for new purchases; the table stays usable (the store is read again when it is done)."""
        import asyncio

        from ksef_tui.services.overview import session_state

        app = self.ksef_app
        self.syncing = True
        self._set_sync_text(t("purchases.sync.checking"))
        try:
            try:
                session = await asyncio.to_thread(session_state, app.workspace, profile)
                fresh = not session.active(app.clock())
            except UserError:
                fresh = True
            app.session_note = t("purchases.session.opening") if fresh else t("purchases.session.importing")
            self._start_ticker()
            outcome = await app.workspace.sync(profile, on_wait=self._waiting, on_progress=self._progressed)
        except UserError as exc:
            self._set_sync_text(t("purchases.sync.failed", problem=exc.message()), error=True)
            self.notify(_problem(exc), severity="error", timeout=12)
            return
        finally:
            app.session_note = ""
            self.syncing = False
            self.countdown = None
            self._stop_ticker()
            self._pump()  # the store is free again (whatever became of the import): waiting bookings go now
        self.last_outcome = outcome
        self._set_sync_text(self._outcome_text(outcome))
        for warning in outcome.warnings:
            self.notify(warning, severity="warning", timeout=10)
        app.refresh_company()
        if outcome.result.new or outcome.result.updated or (self.browser is None and not self._loading):
            self._reload(profile)

    def _outcome_text(self, outcome: SyncOutcome) -> str:
        glyphs = self.ksef_app.glyphs
        if outcome.not_started_until is not None:
            return t("purchases.sync.not_started", date=f"{outcome.not_started_until:%d.%m.%Y}")
        result = outcome.result
        if not result.new and not result.updated:
            return f"{glyphs.ok} " + t("purchases.sync.nothing")
        return f"{glyphs.ok} " + t(
            "purchases.sync.done",
            count=result.new,
            invoices=result.new - result.corrections,
            corrections=result.corrections,
            updated=result.updated,
        )

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="purchases: read again")
    def _reload(self, profile: Profile) -> None:
        """After an import or a booking: the read-only store takes in what the writer saved."""
        browser = self.browser
        if browser is None:
            self.app.call_from_thread(self._start_load, profile)
            return
        try:
            browser.refresh()
            browser.order()
        except UserError:
            if self.browser is browser:
                raise
            return  # closed meanwhile
        self.post_message(self.Loaded(profile, self.store, browser))

    def _waiting(self, wait: Wait) -> None:
        """KSeF (or our own limiter) makes the import wait: a countdown, repainted every quarter second."""
        self.countdown = Countdown(wait.group, time.monotonic() + wait.seconds, wait.reason)
        self._tick()

    def _progressed(self, progress: SyncProgress) -> None:
        start, end = f"{warsaw_date(progress.window_from):%d.%m.%Y}", f"{warsaw_date(progress.window_to):%d.%m.%Y}"
        text = t(f"sync.phase.{progress.phase}", start=start, end=end)
        if progress.total:
            text += f" ({progress.done}/{progress.total})"
        self._progress_text = text
        if self.countdown is None or not self.countdown.left():
            self._set_sync_text(f"{self.ksef_app.glyphs.busy} {text}")

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = self.set_interval(0.25, self._tick)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def _tick(self) -> None:
        countdown = self.countdown
        if countdown is None:
            return
        left = countdown.left()
        if not left:
            self.countdown = None
            self._set_sync_text(f"{self.ksef_app.glyphs.busy} {self._progress_text or t('purchases.sync.checking')}")
            return
        key = "purchases.sync.retry_after" if countdown.reason == "retry-after" else "purchases.sync.limit"
        self._set_sync_text(f"{self.ksef_app.glyphs.warn} " + t(key, seconds=left, group=group_words(countdown.group)))

    def _set_sync_text(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#purchases-sync", Static)
        status.update(text)
        status.set_class(error, "-error")

    def action_import(self) -> None:
        profile = self.ksef_app.profile
        if profile is None:
            return
        if self.syncing or self._sync_waits is not None:
            self.notify(t("purchases.sync.running"))
            return
        self._begin_sync(profile)

    # ----------------------------------------------------------------------------------------- filters

    @on(Input.Changed, "#purchases-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_state = replace(self.query_state, text=event.value)
        self._run_query()

    @on(Input.Changed, "#purchases-seller")
    def _seller_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_state = replace(self.query_state, seller=event.value)
        self._run_query()

    @on(Input.Changed, "#purchases-period")
    def _period_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        period: Period | None = None
        valid = True
        if text:
            try:
                period = Period.parse(text)
            except ValueError:
                valid = False
        event.input.set_class(not valid and len(text) >= 7, "-invalid")
        if not valid:
            return  # half typed: the list stays as it was
        if period != self.query_state.period:
            self.query_state = replace(self.query_state, period=period)
            self._run_query()

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(PurchaseTable).focus()

    def on_key(self, event: object) -> None:
        from textual.events import Key

        if isinstance(event, Key) and event.key == "down" and isinstance(self.focused, Input):
            event.stop()
            self.query_one(PurchaseTable).focus()

    def action_leave_filter(self) -> None:
        self.query_one(PurchaseTable).focus()

    def action_search(self) -> None:
        self.query_one("#purchases-search", Input).focus()

    def action_toggle_unbooked(self) -> None:
        booked = None if self.query_state.booked is False else False
        self.query_state = replace(self.query_state, booked=booked)
        self._show_flags()
        self._run_query()

    def action_toggle_corrections(self) -> None:
        self.query_state = replace(self.query_state, corrections=not self.query_state.corrections)
        self._show_flags()
        self._run_query()

    def action_sort(self) -> None:
        current = SORTS.index(self.query_state.sort) if self.query_state.sort in SORTS else -1
        self.sort_by(SORTS[(current + 1) % len(SORTS)])

    def action_reverse(self) -> None:
        self.query_state = replace(self.query_state, descending=not self.query_state.descending)
        self._show_flags()
        self._run_query()

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        state = self.query_state
        descending = not state.descending if state.sort == column else False
        self.query_state = replace(state, sort=column, descending=descending)
        self._show_flags()
        self._run_query()

    def on_purchase_table_sort_requested(self, message: PurchaseTable.SortRequested) -> None:
        self.sort_by(message.column)

    def _show_flags(self) -> None:
        glyphs = self.ksef_app.glyphs
        state = self.query_state

        def flag(on: bool, key: str, label: str) -> str:
            return f"[{key}] {glyphs.ok if on else '-'} {t(label)}"

        column = next((c for c in COLUMNS if c.key == state.sort), None)
        sort_name = t(column.label_key) if column is not None else state.sort
        order = t("purchases.sort.descending") if state.descending else t("purchases.sort.ascending")
        parts = [
            flag(state.booked is False, "n", "purchases.flag.unbooked"),
            flag(state.corrections, "k", "purchases.flag.corrections"),
            f"[s/r] {t('purchases.sort.by', column=sort_name, order=order)}",
        ]
        self.query_one("#purchases-flags", Static).update(f"  {glyphs.sep}  ".join(parts), layout=False)

    # ----------------------------------------------------------------------------------------- actions

    def on_purchase_table_opened(self, message: PurchaseTable.Opened) -> None:
        if self.browser is None:
            return
        number = self.browser.ksef_number(message.row)
        import importlib

        try:  # written beside this screen (issue 13 §4); until it is there, a note instead
            detail = importlib.import_module("ksef_tui.ui.screens.invoice_detail").InvoiceDetailScreen
        except (ImportError, AttributeError):
            self.notify(t("purchases.detail.missing", number=number), timeout=6)
            return
        self.app.push_screen(detail(source="purchase", key=number))

    def action_mark(self) -> None:
        table = self.query_one(PurchaseTable)
        if isinstance(self.focused, Input):
            return
        table.toggle_mark()
        self._show_totals(table.rows, None)

    def action_mark_all(self) -> None:
        table = self.query_one(PurchaseTable)
        shown = set(table.rows)
        if shown and shown <= table.marked:
            table.marked.difference_update(shown)
        else:
            table.marked.update(shown)
        table.refresh()
        self._show_totals(table.rows, None)

    def action_book(self) -> None:
        """The booking dialog for the highlighted purchase (or the marked ones); it opens during an import too
        (the booking then waits for the store)."""
        table = self.query_one(PurchaseTable)
        browser, profile = self.browser, self.ksef_app.profile
        if browser is None or profile is None or table.current_row is None:
            self.notify(t("purchases.nothing_to_book"))
            return
        rows = sorted(table.marked) if table.marked else [table.current_row]
        numbers = tuple(browser.ksef_number(row) for row in rows)
        if len(numbers) == 1:
            title = t("purchases.book.title_one", number=numbers[0])
        else:
            title = t("purchases.book.title_many", count=len(numbers))

        def chosen(request: BookingRequest | None) -> None:
            if request is not None:
                table.marked.difference_update(rows)
                self._save(BookingWrite(profile, BookingChange(numbers, request)))

        dialog = BookingDialog(title=title, issue_date=browser.latest_issue(rows), now=self.ksef_app.clock())
        self.app.push_screen(dialog, chosen)

    def action_unbook(self) -> None:
        """Unbook the highlighted purchase (or the booked ones of those marked) after a confirmation naming how
        many and the periods they were booked in; an unbooked one is said to be so."""
        table = self.query_one(PurchaseTable)
        browser, profile = self.browser, self.ksef_app.profile
        if browser is None or profile is None or table.current_row is None:
            self.notify(t("purchases.nothing_to_unbook"))
            return
        rows = sorted(table.marked) if table.marked else [table.current_row]
        try:
            periods = {browser.ksef_number(row): booked_period(browser.row(row)) for row in rows}
        except UserError:  # the store closed meanwhile (the screen is going away)
            return
        for write in self._pending():  # what waits to be saved counts as done
            for number in write.numbers:
                if number in periods:
                    periods[number] = None if write.request is None else write.request.period
        booked = tuple(number for number, period in periods.items() if period is not None)
        if not booked:
            if len(periods) == 1:
                self.notify(t("purchases.unbook.not_booked", number=next(iter(periods))), severity="warning")
            else:
                self.notify(t("purchases.unbook.none_booked"), severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                table.marked.difference_update(rows)
                self._save(BookingWrite(profile, BookingChange(booked)))

        dialog = UnbookDialog(
            periods=[periods[number] or "" for number in booked],
            number=booked[0] if len(periods) == 1 else None,
            skipped=len(periods) - len(booked),
        )
        self.app.push_screen(dialog, answered)

    # ------------------------------------------------------------------------------- writing bookings

    def _pending(self) -> list[BookingWrite]:
        """The writes not done yet: the one in flight, then the queue."""
        return ([self._writing] if self._writing is not None else []) + list(self._queue)

    def _waiting_numbers(self) -> set[str]:
        """The KSeF numbers whose booking change is not written yet, or written and not yet read back."""
        return {number for write in self._pending() for number in write.numbers} | self._settling

    def _show_waiting(self) -> None:
        """The rows waiting to be saved (and those saved, until the table reads them back) say so."""
        table = self.query_one(PurchaseTable)
        table.waiting = self._waiting_numbers()
        table.refresh()
        self._show_totals(table.rows, None)
        self._show_detail(table.current_row)

    def _save(self, write: BookingWrite) -> None:
        """Queue a booking or unbooking: written at once, or after the import (it holds the store), in order."""
        self._queue.append(write)
        if self.syncing:
            key = "book" if write.request is not None else "unbook"
            self.notify(t(f"purchases.write.after_import.{key}"), timeout=8)
        self._pump()
        self._show_waiting()

    def _pump(self) -> None:
        """Start the next write when nothing of ours holds the store (the import, a write in flight)."""
        if self._leaving or self.syncing or self._writing is not None or not self._queue:
            return
        if self._retry is not None:
            self._retry.stop()
            self._retry = None
        self._writing = self._queue.popleft()
        self._write(self._writing)

    def _write_done(self) -> None:
        """The write in flight ended (saved or refused): an import asked for meanwhile starts, else the next write."""
        self._writing = None
        self._told_busy = False
        if self._sync_waits is not None and not self._leaving:
            profile, self._sync_waits = self._sync_waits, None
            self._begin_sync(profile)
        self._pump()
        self._show_waiting()

    @work(thread=True, group=BOOK_GROUP, exit_on_error=False, description="purchases: save a booking")
    def _write(self, write: BookingWrite) -> None:
        """One write (all or nothing); a store held by another session sends it back to wait."""
        app = self.ksef_app
        done = apply_change(app.workspace, write.profile, write.change, clock=app.clock)
        if isinstance(done, StoreHeld):
            self.post_message(self.Held(write, done))
        else:
            self.post_message(self.Saved(write, done))

    def on_purchases_screen_saved(self, message: Saved) -> None:
        write = message.write
        self._settling.update(write.numbers)
        count = len(write.numbers)
        if write.request is None:
            periods = message.periods
            self.notify(
                t(
                    "purchases.unbooked",
                    count=count,
                    periods=t(
                        "purchases.unbooked.periods",
                        count=len(set(periods)),
                        periods=periods_text(periods),
                    ),
                ),
                timeout=6,
            )
        else:
            self.notify(t("purchases.booked", count=count, period=write.request.period), timeout=6)
        profile = self.ksef_app.profile
        if profile is not None and profile.company_key == write.profile.company_key:
            self._reload(profile)
        self._write_done()

    def on_purchases_screen_held(self, message: Held) -> None:
        """Another session holds the store: the write goes back to the head of the queue and is tried again."""
        self._queue.appendleft(message.write)
        self._writing = None
        if not self._told_busy:
            self._told_busy = True
            locked = message.locked
            pid = locked.pid if locked.pid is not None else "?"
            self.notify(t("purchases.write.store_busy", pid=pid, host=locked.host or "?"), timeout=8)
        if self._retry is not None:
            self._retry.stop()
        self._retry = self.set_timer(RETRY_SECONDS, self._retry_now)
        if self._sync_waits is not None:
            profile, self._sync_waits = self._sync_waits, None
            self._begin_sync(profile)
        self._show_waiting()

    def _retry_now(self) -> None:
        self._retry = None
        self._pump()

    def action_export(self) -> None:
        profile = self.ksef_app.profile
        if profile is None or self.browser is None:
            self.notify(t("purchases.empty"))
            return
        period = self.query_state.period or Period.of(warsaw_date(self.ksef_app.clock()))

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                bar = self.query_one("#purchases-export", ProgressBar)
                bar.update(total=None, progress=0)
                bar.display = True
                self._export(answer[0], answer[1])

        self.app.push_screen(ExportDialog(str(period)), chosen)

    @work(thread=True, exclusive=True, group=EXPORT_GROUP, exit_on_error=False, description="purchases: register")
    def _export(self, period: str, where: str) -> None:
        """The register of ``period`` (purchases booked into it) through the CLI's export service: never over an
        input, the store or the app's own files; written atomically."""
        from pathlib import Path

        from ksef_tui.services.booking import export_register
        from ksef_tui.services.files import app_directories, check_output, write_output

        out = Path(where).expanduser()
        check_output(out, protected=app_directories())
        browser = self.browser
        if browser is None:
            raise UserError("purchases.export.no_store")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - last[0] > 0.05:
                last[0] = now
                self.post_message(self.ExportProgressed(done, total))

        def write(path: Path, data: bytes) -> None:
            write_output(path, data, protected=app_directories())

        count = export_register(browser.repository, period, out, write=write, progress=progress)
        self.app.call_from_thread(self._exported, count, str(out))

    def on_purchases_screen_export_progressed(self, message: ExportProgressed) -> None:
        bar = self.query_one("#purchases-export", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)

    def _exported(self, count: int, path: str) -> None:
        bar = self.query_one("#purchases-export", ProgressBar)
        bar.update(total=max(count, 1), progress=max(count, 1))
        self.set_timer(1.5, lambda: setattr(bar, "display", False))
        self.notify(t("booking.exported", count=count, path=path), timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        group = event.worker.group
        problem = _problem(event.worker.error)
        if group == LOAD_GROUP:
            self._loading = False
        if group == EXPORT_GROUP:
            self.query_one("#purchases-export", ProgressBar).display = False
        if group == BOOK_GROUP:
            write = self._writing
            key = "purchases.unbook.failed" if write is not None and write.request is None else "purchases.book.failed"
            problem = t(key, problem=problem)
            self._write_done()
        elif group == LOAD_GROUP:
            self._set_sync_text(t("purchases.load_failed", problem=problem), error=True)
        self.notify(problem, severity="error", timeout=12)
