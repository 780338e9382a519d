"""The shell: every screen by its key and by its name in the command palette (PL and EN), bindings with ids
that the config file remaps, screen bindings in the palette too, ctrl+q with exit code 0, the ASCII glyphs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Input

from ksef_tui.settings import Settings
from ksef_tui.ui.app import KsefApp
from ksef_tui.ui.screens.home import HomeScreen
from ksef_tui.ui.screens.unlock import UnlockDialog
from ksef_tui.ui.screens.wizard import SetupWizardScreen

from ..conftest import Sim
from .conftest import add_token_profile, eventually

SIZE = (110, 36)


async def palette(app: KsefApp, pilot: object, text: str) -> None:
    await pilot.press("ctrl+p")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, CommandPalette)
    app.screen.query_one(Input).value = text
    await pilot.pause(0.3)  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("lang", "name"), [("en", "KSeF settings"), ("pl", "Ustawienia KSeF")])
async def test_a_screen_opens_by_its_name_in_the_palette(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim], lang: str, name: str
) -> None:
    from ksef_tui.i18n import set_language

    set_language(lang)
    try:
        sim = make_sim_in_process()
        app = app_factory(sim)
        add_token_profile(app.workspace, sim)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            assert app.current_mode == "home"
            await palette(app, pilot, name)
            assert app.current_mode == "setup"
    finally:
        set_language(None)


async def test_keys_lead_to_every_screen_and_the_keymap_remaps_them(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim]
) -> None:
    sim = make_sim_in_process()
    app = app_factory(sim, settings=Settings(keys={"goto.setup": "f5"}))
    add_token_profile(app.workspace, sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f3")  # the default key of goto.setup, remapped away
        await pilot.pause()
        assert app.current_mode == "home"
        await pilot.press("f5")
        await pilot.pause()
        assert app.current_mode == "setup"
        await pilot.press("alt+h")
        await pilot.pause()
        assert app.current_mode == "home"
        for key, mode in (("f4", "purchases"), ("f6", "transactions"), ("f12", "diagnostics"), ("alt+j", "api_log")):
            await pilot.press(key)
            await eventually(lambda mode=mode: app.current_mode == mode, f"{key} opens {mode}")  # type: ignore[misc]
        await pilot.press("alt+n")
        await eventually(lambda: type(app.screen).__name__ == "InvoiceFormScreen", "alt+n opens the invoice form")


async def test_screen_bindings_are_in_the_palette(app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.current_mode == "setup"
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Update" in titles and "KSeF settings" in titles and "Diagnostics" in titles


def test_every_binding_has_an_id() -> None:
    for owner in (KsefApp, HomeScreen, SetupWizardScreen, UnlockDialog):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding) and binding.id, (owner, binding)


async def test_ctrl_q_quits_with_exit_code_0(app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_ascii_glyphs_replace_the_unicode_ones(app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory(None, settings=Settings(ascii=True))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#nip", Input).value = "5265877636"
        await pilot.pause()
        note = str(app.screen.query_one("#nip-problem").render())
        assert note.startswith("ERR ") and "✗" not in note
