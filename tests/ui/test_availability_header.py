"""KSeF's availability in the header (every screen carries it): nothing while KSeF is available, maintenance until
HH:MM in the warning colour, a failure since HH:MM in the error colour, unreachable when KSeF's calls fail without
an announcement; the app's ``availability`` reactive for the screens that will offer offline issue. Against the
simulator over real HTTP (Pilot) and in process (snapshots, Polish and English, a small terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from ksef_tui.errors import UserError
from ksef_tui.i18n import set_language
from ksef_tui.services import availability as availability_service
from ksef_tui.services.availability import KsefState, Source
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from ..harness import fixed_clock
from .conftest import FIXED_NOW, add_token_profile, eventually, settle

SIZE = (100, 8)


@pytest.fixture(autouse=True)
def _latarnia_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSEF_TUI_LATARNIA", raising=False)


def header_ksef(app: KsefApp) -> Static:
    return app.screen.query_one("#header-ksef", Static)


def shown(app: KsefApp) -> str:
    cell = header_ksef(app)
    return str(cell.render()) if cell.display else ""


async def test_the_header_follows_ksefs_state(
    make_sim: Callable[..., Sim], app_factory: Callable[..., KsefApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(seed_purchases=0, clock=fixed_clock(FIXED_NOW))
    app = app_factory(sim)
    add_token_profile(app.workspace, sim)
    monkeypatch.setattr(availability_service, "CHECK_EVERY", 0.0)  # every look asks Latarnia
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await eventually(lambda: app.availability is not None, "the first look at KSeF")
        assert app.availability is not None and app.availability.available
        assert shown(app) == ""

        start, end = FIXED_NOW - timedelta(minutes=30), FIXED_NOW + timedelta(hours=2)
        sim.state.availability.announce_maintenance(start, end)
        app.check_availability()
        await eventually(lambda: shown(app) == "KSeF: maintenance until 12:00", "maintenance in the header")
        assert header_ksef(app).has_class("-ksef-warn")
        assert app.availability is not None and app.availability.state is KsefState.MAINTENANCE

        sim.state.availability.available()
        sim.state.availability.start_failure()
        app.check_availability()
        await eventually(lambda: shown(app) == "KSeF: failure since 10:00", "the failure in the header")
        assert header_ksef(app).has_class("-ksef-bad") and not header_ksef(app).has_class("-ksef-warn")
        assert app.availability is not None and app.availability.source is Source.LATARNIA

        # on another screen too: the header is every screen's
        await pilot.press("f12")
        await settle(pilot)
        assert shown(app) == "KSeF: failure since 10:00"

        sim.state.availability.end_failure()
        app.check_availability()
        await eventually(lambda: shown(app) == "", "the header quiet again")
        assert app.availability is not None and app.availability.available


async def test_unreachable_without_an_announcement(
    make_sim: Callable[..., Sim], app_factory: Callable[..., KsefApp]
) -> None:
    """Latarnia itself is gone and the last KSeF call failed (503, Retry-After): the app's first look reads it
    from the API log and the header says KSeF is unreachable."""
    sim = make_sim(seed_purchases=0, clock=fixed_clock(FIXED_NOW))
    app = app_factory(sim)
    profile = add_token_profile(app.workspace, sim)
    sim.state.availability.set_latarnia(False)
    sim.state.availability.go_down(retry_after=600)
    with pytest.raises(UserError):
        await app.workspace.sync(profile)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await eventually(lambda: shown(app).startswith("KSeF unreachable since "), "unreachable in the header")
        assert header_ksef(app).has_class("-ksef-warn")
        assert app.availability is not None and app.availability.latarnia_problem
        assert app.availability.state is KsefState.UNREACHABLE


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


def build(sim: Sim) -> KsefApp:
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()), transport=lambda _p: sim.transport)
    workspace.add_profile("demo", sim.nip, sim.base_url, "2026-02-01", sim.tokens["full"])
    return make_app(Settings(theme="ksef-dark"), workspace, clock=lambda: FIXED_NOW)


def test_snapshot_maintenance(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    sim = make_sim_in_process(seed_purchases=0, clock=fixed_clock(FIXED_NOW))
    sim.state.availability.announce_maintenance(FIXED_NOW - timedelta(minutes=5), FIXED_NOW + timedelta(hours=3))
    app = build(sim)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await eventually(lambda: shown(app) != "", "maintenance in the header")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_failure(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    sim = make_sim_in_process(seed_purchases=0, clock=fixed_clock(FIXED_NOW - timedelta(days=1)))
    sim.state.availability.start_failure()
    sim.advance(24 * 3600)
    app = build(sim)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await eventually(lambda: shown(app) != "", "the failure in the header")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
