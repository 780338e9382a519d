"""The home screen's dashboard against the sandbox (the simulator in process, the demo company's history made by
the real services), with the sandbox's clocks held at the screens' FIXED_NOW so its dates, and so the snapshots,
stay the same whatever the day: this month's numbers, the traffic bars, the refresh after the company's overview
changes, a store that cannot be read, the menu's screens; snapshots in Polish, English and ASCII."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from ksef_tui import sandbox as sandbox_module
from ksef_tui.domain.booking import Period, warsaw_date
from ksef_tui.i18n import set_language
from ksef_tui.sandbox import Sandbox, create_sandbox
from ksef_tui.services import purchase_sync
from ksef_tui.services.booking import BookingRequest, book
from ksef_tui.services.dashboard import amount_text, dashboard
from ksef_tui.settings import Settings
from ksef_tui.sim.clock import OffsetClock
from ksef_tui.sim.seed import OTHER
from ksef_tui.store.purchases import PurchaseRepository
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.home import HomeScreen
from ksef_tui.ui.widgets.bars import DayBars, axis_rows, bar_rows, hbar
from ksef_tui.ui.widgets.month_summary import MonthSummary

from .conftest import FIXED_NOW, settle

SIZE = (100, 30)


@pytest.fixture
def held_clock(monkeypatch: pytest.MonkeyPatch) -> OffsetClock:
    """The simulator's clock and the purchase import's, started at FIXED_NOW (time flows from there)."""
    clock = OffsetClock()
    clock.advance((FIXED_NOW - datetime.now(UTC)).total_seconds())
    real_config = sandbox_module._sim_config
    monkeypatch.setattr(sandbox_module, "_sim_config", lambda seed: replace(real_config(seed), clock=clock))
    real_init = purchase_sync.PurchaseSync.__init__

    def init(self: purchase_sync.PurchaseSync, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("clock", clock.now)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(purchase_sync.PurchaseSync, "__init__", init)
    return clock


@pytest.fixture
def make_box(held_clock: OffsetClock) -> Iterator[Callable[..., Sandbox]]:
    """``make_box(ascii=…)``: a sandbox (not seeded yet: the app seeds it after its first frame, as
    ``ksef-tui sandbox`` does) dated FIXED_NOW; closed after the test."""
    opened: list[Sandbox] = []

    def factory(*, ascii_only: bool = False) -> Sandbox:
        box = create_sandbox(Settings(theme="ksef-dark", ascii=ascii_only), today=warsaw_date(FIXED_NOW))
        opened.append(box)
        return box

    yield factory
    for box in opened:
        box.close()


def sandbox_app(box: Sandbox, *, seeded: bool = False) -> KsefApp:
    return make_app(
        box.workspace.settings,
        box.workspace,
        clock=lambda: FIXED_NOW,
        sandbox=box.base_url,
        prepare=None if seeded else box.seed,
        profile_name=box.profile.name,
    )


def summary_text(app: KsefApp) -> str:
    return str(app.screen.query_one(MonthSummary).render().plain)


@pytest.fixture
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


# ------------------------------------------------------------------------------------------------- Pilot


async def test_the_dashboard_shows_the_stores_numbers_after_the_first_frame(make_box: Callable[..., Sandbox]) -> None:
    set_language("pl")
    try:
        box = make_box()
        app = sandbox_app(box)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert "…" in summary_text(app)  # the first frame: nothing read yet
            await settle(pilot)
            await settle(pilot)
            expected = await _read(box)
            shown = summary_text(app)
            assert expected.sales is not None and expected.purchases is not None and expected.vat_due is not None
            assert f"{expected.sales.count} faktur" in shown
            assert amount_text(expected.sales.gross.pln) in shown
            assert amount_text(expected.purchases.gross.pln) in shown
            assert amount_text(expected.vat_due.pln) in shown
            assert f"Faktury sprzedaży do wysłania: {expected.unsent}" in shown
            assert f"Odrzucone przez KSeF: {expected.rejected} ✗" in shown
            assert expected.traffic is not None
            assert app.screen.query_one("#dash-received", DayBars).values == expected.traffic.received
            assert app.screen.query_one("#dash-sent", DayBars).values == expected.traffic.sent
            assert box.demo is not None and expected.traffic.sent[-1] == len(box.demo.accepted)
            sent_label = app.screen.query_one("#dash-sent-label", Static).render()
            assert str(sent_label).endswith(f": {sum(expected.traffic.sent)}")
    finally:
        set_language(None)


async def test_a_booking_shows_when_the_screen_is_shown_again(make_box: Callable[..., Sandbox]) -> None:
    set_language("en")
    try:
        box = make_box()
        app = sandbox_app(box)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await settle(pilot)
            assert "Deductible VAT" in summary_text(app)
            before = await _read(box)
            assert before.vat_deductible == 0
            month = Period.of(warsaw_date(FIXED_NOW))
            store = box.workspace.store(box.profile)
            try:
                repo = PurchaseRepository(store)
                record = next(r for r in repo.all() if Period.of(r.issue_date) == month and r.vat > 0)
                book(repo, record.ksef_number, BookingRequest("goods", 100, str(month)), clock=lambda: FIXED_NOW)
            finally:
                store.close()
            await pilot.press("f12")  # away (where a booking is made) and back home
            await settle(pilot)
            await pilot.press("f2")
            await settle(pilot)
            assert amount_text(record.vat) in summary_text(app)
    finally:
        set_language(None)


async def test_a_store_that_cannot_be_read_shows_dashes_and_the_reason(make_box: Callable[..., Sandbox]) -> None:
    set_language("en")
    try:
        box = make_box()
        assert box.sim is not None
        other = box.workspace.add_profile(
            "other", OTHER.nip, box.base_url, "2026-02-01", box.sim.named_tokens["other_nip"]
        )
        app = make_app(box.workspace.settings, box.workspace, clock=lambda: FIXED_NOW, profile_name=other.name)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "Sales       -" in summary_text(app) or "-" in summary_text(app).splitlines()[0]
            problem = app.screen.query_one("#dash-problem", Static)
            assert problem.display and "no company data" in str(problem.render())
            path = box.workspace.store_path(other)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{not json", encoding="utf-8")
            app.refresh_company()
            await settle(pilot)
            assert problem.display and str(problem.render()) != ""
            assert "no company data" not in str(problem.render())
            assert summary_text(app).splitlines()[0].rstrip().endswith("-")
            assert str(app.screen.query_one("#dash-received-label", Static).render()).endswith(": -")
    finally:
        set_language(None)


async def test_the_menu_lists_the_screens_the_app_has(
    make_box: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    box = make_box()
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        menu = app.screen.query_one(OptionList)
        ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]
        assert ids[:2] == ["purchases", "transactions"], ids
        assert {"setup", "diagnostics", "api_log", "switch"} <= set(ids)
        menu.focus()
        menu.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "purchases"

    # a screen the app does not have (yet) is not listed
    monkeypatch.setattr(KsefApp, "MODES", {k: v for k, v in KsefApp.MODES.items() if k != "transactions"})
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        menu = app.screen.query_one(OptionList)
        ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]
        assert "transactions" not in ids and "purchases" in ids


async def test_a_narrow_terminal_gets_the_dashboard_under_the_card(make_box: Callable[..., Sandbox]) -> None:
    app = sandbox_app(make_box())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        body = app.screen.query_one("#dash-body")
        assert body.has_class("-narrow")
        month = app.screen.query_one("#dash-month")
        assert month.region.x < 10 and month.region.right <= 80  # under the card, not cut off at the right
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not body.has_class("-narrow")
        assert app.screen.query_one("#dash-month").region.x > 40  # beside the card
        await settle(pilot)  # the sandbox's demo data made before it closes


async def _read(box: Sandbox) -> Any:
    import asyncio

    return await asyncio.to_thread(dashboard, box.workspace, box.profile, FIXED_NOW)


# --------------------------------------------------------------------------------------------- snapshots


@pytest.mark.parametrize(
    ("lang", "ascii_only", "size"),
    [("pl", False, SIZE), ("en", False, SIZE), ("pl", True, (120, 34))],
    ids=["pl", "en", "pl-ascii-120"],
    indirect=["lang"],
)
def test_snapshot(
    snap_compare: Any, lang: str, ascii_only: bool, size: tuple[int, int], make_box: Callable[..., Sandbox]
) -> None:
    app = sandbox_app(make_box(ascii_only=ascii_only))

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_bars_scale_to_the_top_and_show_every_count_above_zero() -> None:
    # two rows = 16 eighths: 8 of 8 fills both, 4 of 8 the lower one, 1 of 8 two eighths; 0 stays blank
    assert bar_rows([0, 1, 4, 8], 8, 2) == ["   █", " ▂██"]
    assert bar_rows([0, 1, 4, 8], 8, 2, ascii_only=True) == ["   #", " .##"]
    assert bar_rows([1, 100], 100, 1) == ["▁█"]  # the smallest count still shows
    assert bar_rows([0, 3], 3, 1, width=2) == ["  █ "]  # a bar and a gap a day


def test_the_axis_ticks_every_seventh_day_back_from_today() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
    base, labels = axis_rows(days, 1, 4)
    assert [i - 4 for i, char in enumerate(base) if char == "┴"] == [1, 8, 15, 22, 29]
    assert labels.split() == ["02.11", "09.11", "16.11", "23.11", "30.11"]
    assert labels.endswith("30.11") and len(labels) == len(base)
    assert axis_rows(days, 1, 4, ascii_only=True)[0].strip().startswith("-+")


def test_vat_bars_share_one_scale() -> None:
    assert hbar(Decimal(100), Decimal(100), 10) == "█" * 10
    assert hbar(Decimal(25), Decimal(100), 10) == "██▌"
    assert hbar(Decimal(0), Decimal(100), 10) == ""
    assert hbar(Decimal("0.01"), Decimal(100), 10, ascii_only=True) == "#"
