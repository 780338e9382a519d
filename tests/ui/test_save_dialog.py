"""The one save-to-a-file dialog (``ui.widgets.save_dialog``) on its own: the suggestion prefilled, the rule that
an existing file is never overwritten said in the dialog and checked before it returns, every refusal shown in
the dialog (which stays open for another path), ``~`` expanded, Escape returning ``None``; Polish and English.
The screens that use it (diagnostics, invoice detail, customer transactions) have their own tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from ksef_tui.errors import UserError
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog, check_new_file

from .conftest import eventually, settle

SIZE = (100, 24)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


class Host(App[None]):
    """A screen under the dialog; what the dialog returned is kept in ``results``."""

    def __init__(self, title: str = "Save the invoice XML", suggested: str = "~/FV-1.xml") -> None:
        super().__init__()
        self.title_text = title
        self.suggested = suggested
        self.results: list[Path | None] = []

    def compose(self) -> ComposeResult:
        yield Static("under the dialog", id="under")

    def on_mount(self) -> None:
        self.push_screen(SaveFileDialog(self.title_text, self.suggested), self.results.append)


async def open_dialog(pilot: Any) -> SaveFileDialog:
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, SaveFileDialog)
    return dialog


def texts(dialog: SaveFileDialog) -> str:
    """Every text of the dialog (its labels are Statics too)."""
    return "\n".join(str(widget.render()) for widget in dialog.query(Static))


async def submit(pilot: Any, dialog: SaveFileDialog, typed: str) -> None:
    dialog.query_one("#save-path", Input).value = typed
    await pilot.press("enter")


async def test_the_suggestion_is_prefilled_the_rule_said_and_enter_returns_the_new_file(home: Path) -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#save-path", Input).value == "~/FV-1.xml"
        shown = texts(dialog)
        assert "~ is your home folder" in shown
        assert "An existing file is never overwritten" in shown
        assert dialog.query_one(Vertical).border_title == "Save the invoice XML"
        await pilot.press("enter")
        await eventually(lambda: app.results == [home / "FV-1.xml"], "the path returned, ~ expanded")
        assert app.screen.query_one("#under", Static)  # back on the screen below, nothing written by the dialog
        assert not (home / "FV-1.xml").exists()


async def test_an_existing_file_is_refused_in_the_dialog_until_another_name_is_given(home: Path) -> None:
    (home / "FV-1.xml").write_bytes(b"kept")
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        await pilot.press("enter")
        await eventually(lambda: "exists already" in dialog.problem, "the refusal shown")
        assert str(home / "FV-1.xml") in dialog.problem
        assert app.screen is dialog and app.results == []
        await pilot.press("end", "2")  # typing clears the refusal
        await eventually(lambda: dialog.problem == "", "the refusal cleared")
        assert dialog.query_one("#save-path", Input).value == "~/FV-1.xml2"
        await pilot.press("enter")
        await eventually(lambda: app.results == [home / "FV-1.xml2"], "the other name returned")
    assert (home / "FV-1.xml").read_bytes() == b"kept"


async def test_no_path_a_missing_folder_and_a_folder_are_refused_escape_returns_none(home: Path) -> None:
    (home / "reports").mkdir()
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        await submit(pilot, dialog, "   ")
        await eventually(lambda: dialog.problem == "Enter a file path.", "no path")
        await submit(pilot, dialog, "~/nowhere/FV-1.xml")
        await eventually(lambda: dialog.problem == f"The folder {home / 'nowhere'} does not exist.", "no folder")
        await submit(pilot, dialog, "~/reports")
        await eventually(lambda: "exists already" in dialog.problem, "a folder is not a new file")
        assert app.screen is dialog and app.results == []
        await pilot.press("escape")
        await eventually(lambda: app.results == [None], "escape returns None")
        assert not isinstance(app.screen, SaveFileDialog)


async def test_polish(home: Path, polish: None) -> None:
    (home / "FV-1.xml").write_bytes(b"kept")
    app = Host("Zapisz XML faktury")
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        shown = texts(dialog)
        assert "~ to katalog domowy" in shown
        assert "Istniejący plik nigdy nie zostanie nadpisany" in shown
        await pilot.press("enter")
        await eventually(lambda: "już istnieje i nie zostanie nadpisany" in dialog.problem, "the refusal in Polish")


def test_a_broken_link_counts_as_existing_and_the_check_needs_a_writable_folder(home: Path) -> None:
    (home / "link.xml").symlink_to(home / "gone.xml")
    with pytest.raises(UserError) as refused:
        check_new_file("~/link.xml")
    assert refused.value.key == "savedlg.exists"
    assert check_new_file("  ~/new.xml  ") == home / "new.xml"
    if os.geteuid() == 0:
        return  # root may write anywhere: the permission check cannot be seen
    locked = home / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(UserError) as refused:
        check_new_file(str(locked / "FV-1.xml"))
    assert refused.value.key == "savedlg.read_only"
