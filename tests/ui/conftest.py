"""Fixtures of the screen tests: an isolated home (XDG dirs in tmp), an in-memory vault, a fixed clock, the
cursor blink off, and the app built by ``make_app`` against an in-process simulator (``httpx.ASGITransport``)
or a real one over HTTP (``sim``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from ksef_tui.domain.profile import Profile
from ksef_tui.i18n import set_language
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim

#: The screens' "now": 2026-11-30 10:00 in Warsaw (tokens have 32 days left).
FIXED_NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("KSEF_TUI_SECRET_BACKEND", raising=False)
    # The app looks at KSeF's availability (Latarnia) after its first frame: a test/prod profile would reach for
    # MF's real host, an in-process simulator's Latarnia would take a place in a test's own transport. The tests
    # of availability turn it back on.
    monkeypatch.setenv("KSEF_TUI_LATARNIA", "off")
    return tmp_path


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs never blink (snapshots and screenshots stay the same from run to run)."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
def polish() -> Iterator[None]:
    set_language("pl")
    yield
    set_language(None)


@pytest.fixture
def vault() -> Vault:
    return Vault(MemoryKeyring())


def workspace_for(sim: Sim | None, vault: Vault, settings: Settings | None = None) -> Workspace:
    transport = sim.transport if sim is not None else None
    return Workspace(settings or Settings(), vault=vault, transport=lambda _profile: transport)


@pytest.fixture
def app_factory(vault: Vault) -> Callable[..., KsefApp]:
    def factory(sim: Sim | None = None, *, settings: Settings | None = None, **options: Any) -> KsefApp:
        settings = settings or Settings(theme="ksef-dark")
        return make_app(settings, workspace_for(sim, vault, settings), clock=lambda: FIXED_NOW, **options)

    return factory


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker done and what they posted handled (twice: a worker's result may start another)."""
    for _ in range(2):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def eventually(check: Callable[[], bool], what: str, *, seconds: float = 10.0) -> None:
    """Wait (letting the app run) until ``check()`` holds; a loaded machine handles keys late, not never."""
    import asyncio

    for _ in range(int(seconds / 0.025)):
        if check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


def add_token_profile(workspace: Workspace, sim: Sim, token_name: str = "full", name: str = "demo") -> Profile:
    return workspace.add_profile(name, sim.nip, sim.base_url, "2026-02-01", sim.tokens[token_name])
