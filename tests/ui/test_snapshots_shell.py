"""Snapshots (fixed size, clock and language) of the shell: the setup wizard empty, after a save (the token is
not on the screen) and after a refusal, and the home screen with its header; Polish and English.

The KSeF check itself is proven over HTTP in ``test_wizard.py``; here it is replaced by one that reports fixed
steps (times and server clocks would differ from run to run) and really saves the profile and its token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from ksef_tui.i18n import set_language
from ksef_tui.services import setup as setup_service
from ksef_tui.services.setup import SetupOutcome, SetupRequest
from ksef_tui.services.verify import Step, Verification
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from .conftest import FIXED_NOW, settle

SIZE = (110, 36)
NIP = "5265877635"
TOKEN = "20251130-EC-0123456789-ABCDEF0123-45|nip-5265877635|" + "ab" * 32


def steps(fail_at: str | None = None) -> list[Step]:
    names = ["token_shape", "ksef_reachable", "challenge", "token_accepted", "permissions"]
    done: list[Step] = []
    for index, name in enumerate(names):
        if name == fail_at:
            done.append(Step(name, False, 41, "missing: invoice issuing (InvoiceWrite)", hint="add it in KSeF"))
            break
        done.append(Step(name, True, 10 + index, f"{name} fine"))
    return done


@pytest.fixture
def fixed_check(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    def install(fail_at: str | None) -> None:
        async def check(workspace: Workspace, request: SetupRequest, **hooks: Any) -> SetupOutcome:
            verification = Verification(request.name, request.environment, "3f2a9c1d")
            for step in steps(fail_at):
                hooks["on_start"](step.name)
                verification.steps.append(step)
                hooks["on_step"](step)
            if fail_at:
                return SetupOutcome(verification, None)
            verification.permissions = ("InvoiceRead", "InvoiceWrite")
            saved = workspace.add_profile(request.name, request.nip, request.environment, request.start_date, TOKEN)
            return SetupOutcome(verification, saved)

        monkeypatch.setattr(setup_service, "check_and_save", check)

    return install


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


def build(sim: Sim | None = None, profile: bool = False) -> KsefApp:
    vault = Vault(MemoryKeyring())
    transport = sim.transport if sim else None
    workspace = Workspace(Settings(), vault=vault, transport=lambda _p: transport)
    if profile and sim is not None:
        workspace.add_profile("demo", sim.nip, sim.base_url, "2026-02-01", sim.tokens["full"])
    return make_app(Settings(theme="ksef-dark"), workspace, clock=lambda: FIXED_NOW)


def fill(pilot: Pilot[Any]) -> None:
    screen = pilot.app.screen
    screen.query_one("#environment", Select).value = "demo"
    screen.query_one("#nip", Input).value = NIP
    screen.query_one("#start-date", Input).value = "2026-02-01"
    screen.query_one("#name", Input).value = "firma"
    screen.query_one("#token", Input).value = TOKEN


def test_wizard_empty(snap_compare: Any, lang: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    assert snap_compare(build(), terminal_size=SIZE, run_before=run_before)


def test_wizard_saved_shows_no_token(snap_compare: Any, lang: str, fixed_check: Callable[[str | None], None]) -> None:
    fixed_check(None)
    app = build()

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        fill(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert TOKEN not in pilot.app.export_screenshot()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_wizard_refused(snap_compare: Any, fixed_check: Callable[[str | None], None]) -> None:
    fixed_check("permissions")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        fill(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)

    assert snap_compare(build(), terminal_size=SIZE, run_before=run_before)


def test_home_with_a_company(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    app = build(make_sim_in_process(), profile=True)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
