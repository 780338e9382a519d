"""The customer transactions screen's dialogs: the send's confirmation (how many invoices and their gross total
per currency), the legend of the status glyphs, and which file to read (the fixed FA(3) of a technical correction:
:class:`OpenFileDialog`, made as the app's one save dialog ``ui.widgets.save_dialog`` is: a title, the path
prefilled, the rule said, what is wrong shown in the dialog, Escape cancels). Where to save a UPO is that save
dialog."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t
from ksef_tui.services.transactions import TxStatus
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.save_dialog import PathDialog
from ksef_tui.ui.widgets.transactions_table import mail_glyph, mail_word, status_glyph, status_word

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; height: auto; max-height: 90%; border: round $primary; background: $surface; padding: 1 2;
}}
{name} .tx-dialog-buttons {{ height: auto; margin-top: 1; }}
{name} Button {{ margin-right: 2; }}
"""


class ConfirmSendDialog(ModalScreen[bool]):
    """ "Send N invoices to KSeF, gross …?": Enter or ``y`` sends, Escape or ``n`` does not."""

    DEFAULT_CSS: ClassVar[str] = DIALOG_CSS.format(name="ConfirmSendDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "bind.dialog.cancel", id="transactions.confirm-no"),
        Binding("y,t", "answer(True)", "tx.bind.confirm", id="transactions.confirm-yes"),
    ]

    def __init__(self, count: int, gross: str, notes: list[str]) -> None:
        super().__init__()
        localize(self)
        self.count = count
        self.gross = gross
        self.notes = notes

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = t("tx.confirm.title")
            yield Label(t("tx.confirm.question", count=self.count), id="tx-confirm-question")
            yield Label(t("tx.confirm.gross", gross=self.gross), id="tx-confirm-gross")
            if self.notes:
                yield Static("\n".join(self.notes), id="tx-confirm-notes", markup=False)
            with Horizontal(classes="tx-dialog-buttons"):
                yield Button(t("tx.confirm.send"), variant="primary", id="tx-confirm-send")
                yield Button(t("tx.confirm.cancel"), id="tx-confirm-cancel")

    def on_mount(self) -> None:
        self.query_one("#tx-confirm-send", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "tx-confirm-send")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class LegendDialog(ModalScreen[None]):
    """Every status glyph with its word and what it means; any of Escape, ``?`` or Enter closes it."""

    DEFAULT_CSS: ClassVar[str] = DIALOG_CSS.format(name="LegendDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,enter,q", "close", "tx.bind.close", id="transactions.legend-close"),
    ]

    def __init__(self, ascii_only: bool) -> None:
        super().__init__()
        localize(self)
        self.ascii_only = ascii_only

    def compose(self) -> ComposeResult:
        lines = []
        for status in TxStatus:
            glyph = status_glyph(status, self.ascii_only)
            lines.append(f"{glyph:>3}  {status_word(status)}: {t(f'tx.legend.{status.value}')}")
        lines.append("")
        lines.append(t("tx.legend.technical"))
        lines.append("")
        lines.append(t("tx.legend.mail"))
        for mail in ("pending", "sent", "failed"):
            lines.append(f"{mail_glyph(mail, self.ascii_only):>3}  {mail_word(mail)}")
        with Vertical() as box:
            box.border_title = t("tx.legend.title")
            yield Static("\n".join(lines), id="tx-legend-text", markup=False)
            yield Label(t("tx.legend.close"))

    def action_close(self) -> None:
        self.dismiss(None)


def check_existing_file(typed: str) -> Path:
    """The path a user typed (``~`` expanded) if it is a file that can be read; else a :class:`UserError` saying
    why. Blocking (it looks at the file system): call it from a thread."""
    where = typed.strip()
    if not where:
        raise UserError("opendlg.no_path", category=Category.INPUT)
    path = Path(where).expanduser()
    if not path.exists():
        raise UserError("opendlg.missing", category=Category.INPUT, path=path)
    if not path.is_file():
        raise UserError("opendlg.not_file", category=Category.INPUT, path=path)
    if not os.access(path, os.R_OK):
        raise UserError("opendlg.unreadable", category=Category.INPUT, path=path)
    return path


class OpenFileDialog(PathDialog):
    """Which file to read: dismissed with the path of an existing readable file (``~`` expanded), or ``None`` on
    Escape; what is wrong with a path is shown in the dialog, which stays open for another."""

    PREFIX = "open"
    KEYS = "opendlg"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "bind.cancel", id="open-dialog.cancel"),
    ]

    @staticmethod
    def check(typed: str) -> Path:
        return check_existing_file(typed)
