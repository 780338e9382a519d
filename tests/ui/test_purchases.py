"""The purchase screen: the import against the simulator (in process), booking and unbooking into the real store
(also while the import holds the store: held at the simulator's door), search, filters and sort changing the
rows, and snapshots (Polish and English, Unicode and ASCII glyphs).

The snapshots use a company whose KSeF start date is still ahead (the import then asks KSeF nothing and says
so), over a store filled with fixed purchases: the same picture on every run."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, RadioSet, Select

from ksef_tui.domain.booking import Booking
from ksef_tui.i18n import set_language
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.db import lock_owner
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.booking_dialog import BookingDialog, ExportDialog, UnbookDialog
from ksef_tui.ui.screens.purchases import PurchasesScreen
from ksef_tui.ui.widgets.purchase_table import PurchaseTable
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from ..factories import record
from .conftest import FIXED_NOW, add_token_profile, eventually, settle

SIZE = (120, 34)


async def open_screen(pilot: Pilot[Any]) -> PurchasesScreen:
    await settle(pilot)
    screen = PurchasesScreen()
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def top(app: App[Any]) -> object:
    return app.screen_stack[-1]


def table_of(screen: PurchasesScreen) -> PurchaseTable:
    return screen.query_one(PurchaseTable)


def shown_numbers(screen: PurchasesScreen) -> list[str]:
    table = table_of(screen)
    assert screen.browser is not None
    return [screen.browser.ksef_number(row) for row in table.rows]


# ----------------------------------------------------------------------------------------------- the import


def note_taker(notes: list[str]) -> Callable[[str], None]:
    """A watcher of the header's note (a bound ``list.append`` has no signature Textual can read)."""

    def take(value: str) -> None:
        notes.append(value)

    return take


async def test_opening_imports_the_simulators_purchases_with_their_corrections(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim]
) -> None:
    sim = make_sim_in_process(seed_purchases=24, export_delay=0.05)
    seeded = [inv for inv in sim.state.invoices.values() if inv.facts.buyer_value == sim.nip]
    corrections = {inv.ksef_number for inv in seeded if b"<RodzajFaktury>KOR" in inv.xml}
    assert seeded and corrections
    app = app_factory(sim)
    add_token_profile(app.workspace, sim)
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        app.watch(app, "session_note", note_taker(notes), init=False)
        for _ in range(50):  # the import runs in a worker: the screen was usable meanwhile
            await settle(pilot)
            if not screen.syncing and len(table_of(screen).rows) == len(seeded):
                break
        assert screen.last_outcome is not None
        result = screen.last_outcome.result
        assert (result.new, result.corrections) == (len(seeded), len(corrections))
        assert sorted(shown_numbers(screen)) == sorted(inv.ksef_number for inv in seeded)
        assert screen.browser is not None
        marked = {screen.browser.ksef_number(r) for r in table_of(screen).rows if screen.browser.is_correction(r)}
        assert marked == corrections
        status = str(screen.query_one("#purchases-sync").render())
        assert f"({len(seeded) - len(corrections)}" in status.replace("standard: ", "(") or str(len(seeded)) in status
        # corrections only
        await pilot.press("k")
        await settle(pilot)
        assert set(shown_numbers(screen)) == corrections
        # asking again finds nothing new
        await pilot.press("k")
        first = screen.last_outcome
        await pilot.press("i")
        for _ in range(50):
            await settle(pilot)
            if screen.last_outcome is not first and not screen.syncing:
                break
        assert screen.last_outcome is not first
        assert screen.last_outcome.result.new == 0
        assert app.session_note == ""


async def test_a_new_session_is_announced_in_the_header(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim]
) -> None:
    sim = make_sim_in_process(seed_purchases=3, export_delay=0.05)
    app = app_factory(sim)
    add_token_profile(app.workspace, sim)
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.watch(app, "session_note", note_taker(notes), init=False)
        screen = PurchasesScreen()
        await app.push_screen(screen)
        for _ in range(20):
            await settle(pilot)
            if screen.last_outcome is not None:
                break
        assert "opening a KSeF session…" in notes  # no session was kept: a new authentication
        notes.clear()
        await pilot.press("i")
        await settle(pilot)
        assert "opening a KSeF session…" not in notes  # the session of the first import is reused
        assert notes and notes[-1] == ""


async def test_a_retry_after_wait_counts_down(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim]
) -> None:
    from ksef_tui.ksef.limits import Wait

    sim = make_sim_in_process(seed_purchases=2, export_delay=0.05)
    app = app_factory(sim)
    add_token_profile(app.workspace, sim)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        screen.syncing = True
        screen._start_ticker()
        screen._waiting(Wait("invoiceExport", 3.0, "retry-after"))
        first = str(screen.query_one("#purchases-sync").render())
        await pilot.pause(1.3)
        later = str(screen.query_one("#purchases-sync").render())
        assert "3 s" in first and "Waiting" in first
        assert "2 s" in later or "1 s" in later  # it moves on its own, second by second
        screen._stop_ticker()


# ------------------------------------------------------------------------------------------------- booking


def fixed_records() -> list[PurchaseRecord]:
    """Twelve purchases of March and April 2026 from three sellers, two corrections, one in EUR, one booked."""
    sellers = [
        ("5265877635", "Hurtownia Papieru Łódź sp. z o.o."),
        ("7740001454", "Orlen Paliwa S.A."),
        ("1111111111", "Biuro Rachunkowe Zenon Kowalski"),
    ]
    records = []
    for i in range(12):
        nip, name = sellers[i % 3]
        day = date(2026, 3 + i // 6, 2 + 2 * (i % 6))
        records.append(
            record(
                i,
                day,
                seller_nip=nip,
                seller_name=name,
                invoice_number=f"FV/{100 + i}/2026",
                net=Decimal(100 * ((i * 7) % 12 + 1)) + Decimal("0.50"),
                vat=(Decimal(100 * ((i * 7) % 12 + 1)) + Decimal("0.50")) * Decimal("0.23"),
                gross=(Decimal(100 * ((i * 7) % 12 + 1)) + Decimal("0.50")) * Decimal("1.23"),
            )
        )
    records[4] = dataclasses.replace(
        records[4], kind="KOR", corrected_ksef_number=records[1].ksef_number, invoice_number="KOR/1/2026"
    )
    records[9] = dataclasses.replace(
        records[9], kind="KOR", corrected_ksef_number=records[3].ksef_number, invoice_number="KOR/2/2026"
    )
    records[7] = dataclasses.replace(records[7], currency="EUR")
    records[2] = dataclasses.replace(
        records[2], booking=Booking("goods", 100, "2026-03", "", datetime(2026, 3, 20, tzinfo=UTC))
    )
    return records


def company(
    sim: Sim | None = None,
    *,
    start: str = "2099-01-01",
    settings: Settings | None = None,
    token: str = "full",
    transport: httpx.AsyncBaseTransport | None = None,
    records: list[PurchaseRecord] | None = None,
) -> tuple[KsefApp, Workspace]:
    """An app whose company starts using KSeF on ``start`` (ahead: the import asks KSeF nothing), with the fixed
    purchases (or ``records``) in its store; ``token``: which of the simulator's tokens it has, ``transport``:
    the way to the simulator (its own by default)."""
    vault = Vault(MemoryKeyring())
    transport = transport or (sim.transport if sim else None)
    settings = settings or Settings(theme="ksef-dark")
    workspace = Workspace(settings, vault=vault, transport=lambda _p: transport)
    token = sim.tokens[token] if sim else "20251130-EC-0123456789-ABCDEF0123-45|nip-5265877635|" + "ab" * 32
    nip = sim.nip if sim else "5265877635"
    url = sim.base_url if sim else "test"
    profile = workspace.add_profile("demo", nip, url, start, token)
    with workspace.open_store(profile) as store:
        PurchaseRepository(store).upsert_many(fixed_records() if records is None else records)
    return make_app(settings, workspace, clock=lambda: FIXED_NOW), workspace


async def test_booking_persists_in_the_store_and_errors_show_at_their_field() -> None:
    app, workspace = company()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        target = shown_numbers(screen)[0]  # issued 02.03.2026, not booked
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, BookingDialog)
        dialog.query_one("#booking-category", Select).value = "incidental"
        buttons = list(dialog.query_one("#booking-deduction", RadioSet).query(RadioButton))
        buttons[1].value = True  # 50 %
        period = dialog.query_one("#booking-period", Input)
        period.value = "2026-02"  # before the issue month: refused under the period
        await pilot.pause()
        dialog.action_save()
        await pilot.pause()
        error = str(dialog.query_one("#booking-period-error").render())
        assert "2026-02" in error and "2026-03" in error
        assert top(app) is dialog
        period.value = "2026-04"
        dialog.query_one("#booking-note", Input).value = "paliwo, auto firmowe"
        dialog.action_save()
        await settle(pilot)
        assert top(app) is screen
    profile = workspace.profile("demo")
    with workspace.open_store(profile, read_only=True) as store:
        booked = PurchaseRepository(store).get(target)
    assert booked is not None and booked.booking is not None
    assert (booked.booking.category, booked.booking.vat_deduction, booked.booking.period) == (
        "incidental",
        50,
        "2026-04",
    )
    assert booked.booking.note == "paliwo, auto firmowe"


async def test_marked_rows_are_booked_together() -> None:
    app, workspace = company()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        await pilot.press("n")  # unbooked only
        await settle(pilot)
        chosen = shown_numbers(screen)[:3]
        await pilot.press("space", "space", "space")
        assert len(table_of(screen).marked) == 3
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, BookingDialog)
        dialog.query_one("#booking-period", Input).value = "2026-04"
        dialog.action_save()
        await settle(pilot)
        assert not table_of(screen).marked
        assert not set(chosen) & set(shown_numbers(screen))  # booked: gone from "unbooked only"
    with workspace.open_store(workspace.profile("demo"), read_only=True) as store:
        repo = PurchaseRepository(store)
        assert all((r := repo.get(n)) is not None and r.booking is not None for n in chosen)


# ----------------------------------------------------------------------------------------------- unbooking


def told(app: KsefApp) -> list[tuple[str, str]]:
    """Every notification from now on, as (severity, message): kept, unlike the toasts, which expire."""
    said: list[tuple[str, str]] = []
    notify = app.notify

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        said.append((str(kwargs.get("severity", "information")), message))
        notify(message, *args, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    return said


def stored_period(workspace: Workspace, number: str) -> str | None:
    """The period ``number`` is booked in, as the files say (a read-only open, as another session would)."""
    with workspace.open_store(workspace.profile("demo"), read_only=True) as store:
        found = PurchaseRepository(store).get(number)
    assert found is not None
    return found.booking.period if found.booking else None


def go_to(screen: PurchasesScreen, number: str) -> None:
    table_of(screen).move_to(shown_numbers(screen).index(number))


def booked_cell(screen: PurchasesScreen, number: str) -> str:
    """The booked column of ``number``'s row as painted (the whole line, wider than the terminal)."""
    go_to(screen, number)
    table = table_of(screen)
    return "".join(segment.text for segment in table._line(table.cursor)).rstrip()[-17:]


async def test_unbooking_asks_first_naming_the_period_and_stays_unbooked() -> None:
    app, workspace = company()
    records = fixed_records()
    booked, idle = records[2].ksef_number, records[0].ksef_number
    said = told(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        # the key is in the palette, in the user's language (not in the footer: the Polish one had no room)
        unbook = screen.active_bindings["u"].binding
        assert (unbook.id, unbook.description, unbook.show) == ("purchases.unbook", "Unbook", False)
        commands = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert "Unbook" in commands and "[U]" in commands["Unbook"]
        # an invoice that is not booked: said so, nothing asked
        go_to(screen, idle)
        await pilot.press("u")
        await settle(pilot)
        assert top(app) is screen
        assert said[-1] == ("warning", f"Invoice {idle} is not booked: there is nothing to unbook")
        # the booked one: a confirmation with its number and period; Escape leaves it booked
        go_to(screen, booked)
        await pilot.press("u")
        await eventually(lambda: isinstance(app.screen, UnbookDialog), "the confirmation")
        dialog = app.screen
        assert str(dialog.query_one("#unbook-question").render()) == f"Unbook invoice {booked}?"
        assert str(dialog.query_one("#unbook-periods").render()) == "Booked in settlement period 2026-03"
        await pilot.press("escape")
        await settle(pilot)
        assert top(app) is screen and stored_period(workspace, booked) == "2026-03"
        # confirmed: unbooked in the files and on the screen
        await pilot.press("u")
        await eventually(lambda: isinstance(app.screen, UnbookDialog), "the confirmation")
        await pilot.press("y")
        await settle(pilot)
        assert top(app) is screen
        assert said[-1] == ("information", "Unbooked 1 invoice; settlement period 2026-03")
        assert stored_period(workspace, booked) is None
        assert "not booked" in booked_cell(screen, booked)
        # the screen opened again reads the store again: still unbooked
        await app.pop_screen()
        screen = await open_screen(pilot)
        assert screen.browser is not None
        row = screen.browser.row_of(booked)
        assert row is not None and not screen.browser.row(row).is_booked
        assert "not booked" in booked_cell(screen, booked)


async def test_marked_rows_are_unbooked_together_or_not_at_all() -> None:
    app, workspace = company()
    records = fixed_records()
    march, april, idle = records[2].ksef_number, records[6].ksef_number, records[0].ksef_number
    with workspace.open_store(workspace.profile("demo")) as store:
        PurchaseRepository(store).set_booking(
            april, Booking("other", 50, "2026-04", "", datetime(2026, 4, 20, tzinfo=UTC))
        )
    said = told(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        for number in (idle, march, april):
            go_to(screen, number)
            await pilot.press("space")
        await pilot.press("u")
        await eventually(lambda: isinstance(app.screen, UnbookDialog), "the confirmation")
        dialog = app.screen
        assert str(dialog.query_one("#unbook-question").render()) == "Unbook 2 marked invoices?"
        assert str(dialog.query_one("#unbook-periods").render()) == (
            "Booked in settlement periods: 2026-03 (1), 2026-04 (1)\n1 marked invoice is not booked and stays as it is"
        )
        # meanwhile another session unbooks one of them: the unbooking is refused whole, naming it
        with workspace.open_store(workspace.profile("demo")) as store:
            PurchaseRepository(store).set_booking(april, None)
        await pilot.press("y")
        await settle(pilot)
        assert said[-1] == ("error", f"Not unbooked: invoice {april} is not booked")
        assert stored_period(workspace, march) == "2026-03"  # all or nothing
        # booked again there, marked again: both unbooked in one go
        with workspace.open_store(workspace.profile("demo")) as store:
            PurchaseRepository(store).set_booking(
                april, Booking("other", 50, "2026-04", "", datetime(2026, 4, 20, tzinfo=UTC))
            )
        screen._reload(workspace.profile("demo"))
        await settle(pilot)
        table_of(screen).marked.clear()
        for number in (march, april):
            go_to(screen, number)
            await pilot.press("space")
        await pilot.press("u")
        await eventually(lambda: isinstance(app.screen, UnbookDialog), "the confirmation")
        await pilot.press("y")
        await settle(pilot)
        assert said[-1] == ("information", "Unbooked 2 invoices; settlement periods: 2026-03 (1), 2026-04 (1)")
        assert not table_of(screen).marked
    assert stored_period(workspace, march) is None and stored_period(workspace, april) is None


# ------------------------------------------------------------------------------- booking during the import


def imported_records() -> list[PurchaseRecord]:
    """The fixed purchases as an import leaves them: with their XML (else the import asks KSeF for it again,
    and the simulator has never heard of them)."""
    return [
        dataclasses.replace(r, xml_path=f"2026/{i:02}.xml", xml_sha256="0" * 64) for i, r in enumerate(fixed_records())
    ]


class HeldTransport(httpx.AsyncBaseTransport):
    """The simulator's own transport with a door: every request waits at it until the test opens it. The import
    opens the store (taking its single-writer lock) before its first call to KSeF, so once a request knocks, the
    import holds the store, and goes on holding it until the door opens."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None) -> None:
        assert inner is not None
        self.inner = inner
        self.door = asyncio.Event()
        self.knocked = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.knocked = True
        await self.door.wait()
        return await self.inner.handle_async_request(request)


async def book_at(pilot: Pilot[Any], screen: PurchasesScreen, number: str, period: str) -> None:
    """Book ``number`` into ``period`` through the dialog (it opens whatever the import is doing)."""
    app = pilot.app
    go_to(screen, number)
    await pilot.press("b")
    await eventually(lambda: isinstance(app.screen, BookingDialog), "the booking dialog")
    dialog = app.screen
    assert isinstance(dialog, BookingDialog)
    dialog.query_one("#booking-period", Input).value = period
    dialog.action_save()
    await eventually(lambda: top(app) is screen, "back on the list")


async def unbook_at(pilot: Pilot[Any], screen: PurchasesScreen, number: str) -> None:
    go_to(screen, number)
    await pilot.press("u")
    await eventually(lambda: isinstance(pilot.app.screen, UnbookDialog), "the confirmation")
    await pilot.press("y")
    await eventually(lambda: top(pilot.app) is screen, "back on the list")


async def import_held(screen: PurchasesScreen, door: HeldTransport, workspace: Workspace) -> None:
    """Wait until the import holds the store (it knocked at the simulator's door) and the list is shown."""
    await eventually(lambda: door.knocked, "the import calling KSeF")
    await eventually(lambda: len(table_of(screen).rows) == 12, "the stored purchases listed")
    owner = lock_owner(workspace.store_path(workspace.profile("demo")))
    assert screen.syncing and owner is not None and owner.pid == os.getpid()  # the import holds the store


async def test_bookings_made_during_the_import_wait_for_it_and_are_saved_when_it_ends(
    make_sim_in_process: Callable[..., Sim],
) -> None:
    sim = make_sim_in_process(seed_purchases=3, export_delay=0.05)
    door = HeldTransport(sim.transport)
    app, workspace = company(sim, start="2026-02-01", transport=door, records=imported_records())
    records = fixed_records()
    to_book, to_unbook = records[0].ksef_number, records[2].ksef_number
    said = told(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = PurchasesScreen()
        await app.push_screen(screen)
        await import_held(screen, door, workspace)
        await book_at(pilot, screen, to_book, "2026-04")
        await unbook_at(pilot, screen, to_unbook)
        # both wait, and say so: a note each, the rows, the count under the table
        await eventually(lambda: table_of(screen).waiting == {to_book, to_unbook}, "the rows waiting to be saved")
        assert (
            "information",
            "The import from KSeF is still running: the booking will be saved when it finishes",
        ) in said
        assert (
            "information",
            "The import from KSeF is still running: the unbooking will be saved when it finishes",
        ) in said
        assert booked_cell(screen, to_book).endswith("⟳ to be saved")
        assert "⟳ waiting to be saved: 2" in str(screen.query_one("#purchases-totals").render())
        assert stored_period(workspace, to_book) is None and stored_period(workspace, to_unbook) == "2026-03"
        # the import goes on and ends: both are written, in the order asked
        door.door.set()
        await eventually(lambda: not screen.syncing and screen.last_outcome is not None, "the import's end")
        await settle(pilot)
        assert screen.last_outcome is not None and screen.last_outcome.result.new == 3
        assert stored_period(workspace, to_book) == "2026-04" and stored_period(workspace, to_unbook) is None
        assert not table_of(screen).waiting
        assert booked_cell(screen, to_book).endswith("2026-04") and "not booked" in booked_cell(screen, to_unbook)
        assert len(table_of(screen).rows) == 15
        assert ("information", "Booked 1 invoice in period 2026-04") in said
        assert ("information", "Unbooked 1 invoice; settlement period 2026-03") in said
        assert not [message for severity, message in said if severity == "error"]


async def test_a_booking_waiting_for_an_import_that_fails_is_saved_all_the_same(
    make_sim_in_process: Callable[..., Sim],
) -> None:
    sim = make_sim_in_process(seed_purchases=3, export_delay=0.05)
    door = HeldTransport(sim.transport)
    app, workspace = company(
        sim, start="2026-02-01", token="revoked", transport=door, records=imported_records()
    )  # KSeF refuses the token
    target = fixed_records()[0].ksef_number
    said = told(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = PurchasesScreen()
        await app.push_screen(screen)
        await import_held(screen, door, workspace)
        await book_at(pilot, screen, target, "2026-04")
        await eventually(lambda: table_of(screen).waiting == {target}, "the row waiting to be saved")
        door.door.set()
        await eventually(lambda: not screen.syncing and not table_of(screen).waiting, "the import's end")
        await settle(pilot)
        assert screen.query_one("#purchases-sync").has_class("-error")  # the import failed
        assert stored_period(workspace, target) == "2026-04"
        assert ("information", "Booked 1 invoice in period 2026-04") in said
        errors = [message for severity, message in said if severity == "error"]
        assert len(errors) == 1 and "authentication failed" in errors[0]  # the import's failure, nothing else


async def test_a_booking_still_waiting_when_the_app_closes_is_saved(make_sim_in_process: Callable[..., Sim]) -> None:
    sim = make_sim_in_process(seed_purchases=3, export_delay=0.05)
    door = HeldTransport(sim.transport)
    app, workspace = company(sim, start="2026-02-01", transport=door, records=imported_records())
    target = fixed_records()[0].ksef_number
    async with app.run_test(size=SIZE) as pilot:
        screen = PurchasesScreen()
        await app.push_screen(screen)
        await import_held(screen, door, workspace)
        await book_at(pilot, screen, target, "2026-04")
        await eventually(lambda: table_of(screen).waiting == {target}, "the row waiting to be saved")
    # the app closed with the import still at the door: the import was stopped, the booking written
    assert stored_period(workspace, target) == "2026-04"
    assert lock_owner(workspace.store_path(workspace.profile("demo"))) is None


async def test_a_store_held_by_another_session_is_tried_again_until_it_is_free() -> None:
    app, workspace = company()
    target = fixed_records()[0].ksef_number
    said = told(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        other = workspace.store(workspace.profile("demo"))  # another session writing the company's data
        try:
            await book_at(pilot, screen, target, "2026-04")
            await eventually(
                lambda: any("Another ksef-tui session is writing" in message for _, message in said), "the note"
            )
            await eventually(lambda: table_of(screen).waiting == {target}, "the row waiting to be saved")
            detail = screen.query_one("#purchases-detail")
            await eventually(lambda: str(detail.render()).endswith("⟳ to be saved"), "the detail line saying so")
            assert stored_period(workspace, target) is None
        finally:
            other.close()
        await eventually(lambda: not table_of(screen).waiting, "the booking saved once the store is free")
        await settle(pilot)
        assert stored_period(workspace, target) == "2026-04"
        assert ("information", "Booked 1 invoice in period 2026-04") in said
        assert not [message for severity, message in said if severity == "error"]


# ------------------------------------------------------------------------------------ search, filter, sort


async def test_search_filters_and_sort_change_the_rows() -> None:
    app, _ = company()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        everything = shown_numbers(screen)
        assert len(everything) == 12
        await pilot.press("slash", *"orlen")
        await settle(pilot)
        assert len(shown_numbers(screen)) == 4
        await pilot.press(*" x")
        await settle(pilot)
        assert shown_numbers(screen) == []
        screen.query_one("#purchases-search", Input).value = ""
        screen.query_one("#purchases-period", Input).value = "2026-04"
        await settle(pilot)
        assert len(shown_numbers(screen)) == 6
        screen.query_one("#purchases-period", Input).value = ""
        screen.query_one("#purchases-seller", Input).value = "111-111-11-11"
        await settle(pilot)
        assert len(shown_numbers(screen)) == 4
        screen.query_one("#purchases-seller", Input).value = ""
        await settle(pilot)
        await pilot.press("escape")
        screen.sort_by("gross")
        await settle(pilot)
        assert screen.browser is not None
        grosses = [screen.browser.row(r).amounts[2] for r in table_of(screen).rows]
        assert grosses == sorted(grosses) and shown_numbers(screen) != everything
        await pilot.press("r")
        await settle(pilot)
        grosses = [screen.browser.row(r).amounts[2] for r in table_of(screen).rows]
        assert grosses == sorted(grosses, reverse=True)
        await pilot.click(PurchaseTable, offset=(20, 0))  # the KSeF number's header
        await settle(pilot)
        assert screen.query_state.sort == "ksef_number"
        assert shown_numbers(screen) == sorted(everything)


async def test_the_register_is_saved_as_csv_never_into_the_store(tmp_path: Path) -> None:
    app, workspace = company()
    out = tmp_path / "rejestr.csv"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_screen(pilot)
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#export-period", Input).value = "2026-03"
        dialog.query_one("#export-path", Input).value = str(out)
        await pilot.pause()
        dialog.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert out.read_bytes().startswith(b"\xef\xbb\xbfNr KSeF;")
        assert out.read_bytes().count(b"\r\n") == 2  # the header and the one booked invoice
        store_file = workspace.store_path(workspace.profile("demo"))
        before = store_file.read_bytes()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        dialog.query_one("#export-path", Input).value = str(store_file)
        dialog.query_one("#export-path", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert store_file.read_bytes() == before
        assert any("refused" in n.message or "not" in n.message for n in app._notifications)


# ----------------------------------------------------------------------------------------------- snapshots


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


@pytest.mark.parametrize("glyphs", ["unicode", "ascii"])
def test_snapshot_purchases(snap_compare: Any, lang: str, glyphs: str) -> None:
    app, _ = company(settings=Settings(theme="ksef-dark", ascii=glyphs == "ascii"))

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_screen(pilot)
        await pilot.press("down", "space", "down")
        await settle(pilot)
        assert screen.browser is not None

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_booking_dialog(snap_compare: Any, lang: str) -> None:
    app, _ = company()

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_screen(pilot)
        await pilot.press("b")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, BookingDialog)
        dialog.query_one("#booking-period", Input).value = "2025-12"
        dialog.action_save()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
