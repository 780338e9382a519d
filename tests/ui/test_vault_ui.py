"""Secret storage in the app: a box with no OS keyring (headless SSH) is offered the encrypted-file vault with
a master password typed in the wizard, and a later start asks for that password before touching KSeF."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import Input, Select, Static

from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.ui.app import make_app
from ksef_tui.vault import BackendChoice

from ..conftest import Sim
from .conftest import settle

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MASTER = "correct horse battery staple"


async def test_without_a_keyring_the_wizard_offers_an_encrypted_file(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    app = make_app(Settings(), Workspace(Settings()), clock=lambda: NOW)
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#storage").display
        assert "no usable system keyring" in str(screen.query_one("#storage-why", Static).render())
        screen.query_one("#master", Input).value = MASTER
        screen.query_one("#master-again", Input).value = MASTER
        screen.query_one("#use-encrypted-file").press()  # type: ignore[attr-defined]
        await settle(pilot)
        assert not screen.query_one("#storage").display
        screen.query_one("#environment", Select).value = "url"
        screen.query_one("#url", Input).value = sim.base_url
        screen.query_one("#nip", Input).value = sim.nip
        screen.query_one("#start-date", Input).value = "2026-02-01"
        screen.query_one("#name", Input).value = "firma"
        screen.query_one("#token", Input).value = sim.tokens["full"]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert str(screen.query_one("#wizard-steps", Static).render()).count("✓") == 5
    [profile] = Workspace(Settings()).list_profiles()
    assert profile.secrets is not None and profile.secrets.backend == BackendChoice.ENCRYPTED_FILE.value


async def test_a_locked_vault_asks_for_the_master_password_at_start(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    first = Workspace(Settings())
    first.use_backend(BackendChoice.ENCRYPTED_FILE, password=MASTER)
    first.add_profile("firma", sim.nip, sim.base_url, "2026-02-01", sim.tokens["full"])

    app = make_app(Settings(), Workspace(Settings()), clock=lambda: NOW)
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "UnlockDialog"
        await pilot.press(*"wrong password", "enter")
        await settle(pilot)
        assert "Wrong master password" in str(app.screen.query_one("#unlock-problem", Static).render())
        await pilot.press(*MASTER, "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        assert app.overview is not None and app.overview.credential.fingerprint
