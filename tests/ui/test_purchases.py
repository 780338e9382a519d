"""The purchase screen: the import against the simulator (in process), booking into the real store, search,
filters and sort changing the rows, and snapshots (Polish and English, Unicode and ASCII glyphs).

The snapshots use a company whose KSeF start date is still ahead (the import then asks KSeF nothing and says
so), over a store filled with fixed purchases: the same picture on every run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, RadioSet, Select

from ksef_tui.domain.booking import Booking
from ksef_tui.i18n import set_language
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.booking_dialog import BookingDialog, ExportDialog
from ksef_tui.ui.screens.purchases import PurchasesScreen
from ksef_tui.ui.widgets.purchase_table import PurchaseTable
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from ..factories import record
from .conftest import FIXED_NOW, add_token_profile, settle

SIZE = (120, 34)


async def open_screen(pilot: Pilot[Any]) -> PurchasesScreen:
    await settle(pilot)
    screen = PurchasesScreen()
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def top(app: KsefApp) -> object:
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
        assert f"({len(seeded) - len(corrections)}" in status.replace("basic: ", "(") or str(len(seeded)) in status
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
    sim: Sim | None = None, *, start: str = "2099-01-01", settings: Settings | None = None
) -> tuple[KsefApp, Workspace]:
    """An app whose company starts using KSeF on ``start`` (ahead: the import asks KSeF nothing), with the fixed
    purchases in its store."""
    vault = Vault(MemoryKeyring())
    transport = sim.transport if sim else None
    settings = settings or Settings(theme="ksef-dark")
    workspace = Workspace(settings, vault=vault, transport=lambda _p: transport)
    token = sim.tokens["full"] if sim else "20251130-EC-0123456789-ABCDEF0123-45|nip-5265877635|" + "ab" * 32
    nip = sim.nip if sim else "5265877635"
    url = sim.base_url if sim else "test"
    profile = workspace.add_profile("demo", nip, url, start, token)
    with workspace.open_store(profile) as store:
        PurchaseRepository(store).upsert_many(fixed_records())
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
