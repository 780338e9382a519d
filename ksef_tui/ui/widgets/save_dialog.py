"""The one "save to a file" dialog of the app (the diagnostics report, an invoice's visualisation, XML or UPO, a
UPO from the customer transactions): a title, the path of a new file prefilled with a suggestion (``~`` is the
home folder), and the rule that an existing file is never overwritten, said in the dialog and checked before it
returns. What is wrong with a path (none typed, a file or folder already there, no such folder, a folder that
cannot be written to) is shown in the dialog, which stays open for another path; Escape cancels (``None``).

The dialog returns the chosen path (``~`` expanded); the caller writes the file. The services' writers open the
file with ``O_EXCL`` (``open(..., "x")``), so a file that appears between the check and the write is still never
overwritten: that rare failure is the caller's to tell.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter


def check_new_file(typed: str) -> Path:
    """The path a user typed (``~`` expanded) if a new file can be made there; else a :class:`UserError` saying
    why. Blocking (it looks at the file system): call it from a thread."""
    where = typed.strip()
    if not where:
        raise UserError("savedlg.no_path", category=Category.INPUT)
    path = Path(where).expanduser()
    if os.path.lexists(path):  # a file, a folder, or a link (even a broken one): never written over
        raise UserError("savedlg.exists", category=Category.INPUT, path=path)
    folder = path.parent
    if not folder.is_dir():
        raise UserError("savedlg.no_folder", category=Category.INPUT, path=folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError("savedlg.read_only", category=Category.INPUT, path=folder)
    return path


class PathDialog(ModalScreen[Path | None]):
    """A path asked for in a box: a title, a prefilled suggestion, the rule under it; dismissed with the path
    :meth:`check` accepted (``~`` expanded) or ``None`` on Escape. What is wrong with a path is shown in the box,
    which stays open for another. Subclasses name their i18n keys and ids (``PREFIX``) and the check."""

    PREFIX: ClassVar[str] = "path"
    KEYS: ClassVar[str] = "savedlg"  # {KEYS}.prompt and {KEYS}.rule
    DEFAULT_CSS: ClassVar[str] = """
    PathDialog { align: center middle; }
    PathDialog > Vertical {
        width: 80; max-width: 100%; height: auto;
        border: round $primary; border-title-color: $primary; background: $surface; padding: 1 2;
    }
    PathDialog .path-rule { color: $foreground-muted; }
    PathDialog .path-problem { color: $error; height: auto; }
    """

    def __init__(self, title: str, suggested: str) -> None:
        """``title`` says what the path is for (the box's title); ``suggested`` is prefilled (``~`` allowed)."""
        super().__init__()
        localize(self)
        self.title_text = title
        self.suggested = suggested
        self._answered = False  # dismissed: a second Enter or Escape queued meanwhile must not pop the screen below

    @staticmethod
    def check(typed: str) -> Path:
        """The path if it will do, else a :class:`UserError` saying why (blocking: run in a thread)."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        prefix = self.PREFIX
        with Vertical() as box:
            box.border_title = self.title_text
            yield Label(t(f"{self.KEYS}.prompt"))
            yield Input(value=self.suggested, id=f"{prefix}-path")
            yield Static(t(f"{self.KEYS}.rule"), id=f"{prefix}-rule", classes="path-rule", markup=False)
            yield Static("", id=f"{prefix}-problem", classes="path-problem", markup=False)
        yield KsefFooter()

    @property
    def problem(self) -> str:
        """What is wrong with the path last typed ("" when nothing is)."""
        return str(self.query_one(".path-problem", Static).render())

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._answered:
            return
        try:
            path = await asyncio.to_thread(self.check, event.value)
        except UserError as exc:
            self.query_one(".path-problem", Static).update(exc.message())
            event.input.focus()
            return
        self._close(path)

    @on(Input.Changed)
    def _typed(self, _event: Input.Changed) -> None:
        self.query_one(".path-problem", Static).update("")

    def action_cancel(self) -> None:
        self._close(None)

    def _close(self, result: Path | None) -> None:
        if not self._answered and self.is_active:
            self._answered = True
            self.dismiss(result)


class SaveFileDialog(PathDialog):
    """Where to save: dismissed with the path of a new file (``~`` expanded), or ``None`` on Escape."""

    PREFIX = "save"
    KEYS = "savedlg"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "bind.cancel", id="save-dialog.cancel"),
    ]

    @staticmethod
    def check(typed: str) -> Path:
        return check_new_file(typed)
