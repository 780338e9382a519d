"""The customer transactions table: one row per sales invoice or correction, the KSeF status glyph first.

Glyphs are single cells of East Asian width N (never emoji, never "ambiguous" width), with an ASCII set for PuTTY
and non-UTF-8 sessions; each goes with a word (the status column, the detail line, the legend): never colour
alone. An offline invoice waiting to be sent (issue 14) has ``⊘`` (U+2298, width N; ASCII ``off``) and its
deadline in the KSeF column, in the warning colour when it is due today and the error colour when overdue.
Rows are keyed by the invoice number; a reload that keeps the same rows only rewrites the cells that changed, so
the glyphs change in place while a send runs and the highlighted row stays where it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from ksef_tui.i18n import t
from ksef_tui.services.transactions import TxRow, TxStatus
from ksef_tui.ui.widgets.table_styles import component_styles

UNICODE_STATUS: dict[TxStatus, str] = {
    TxStatus.DRAFT: "✎",
    TxStatus.QUEUED: "◷",
    TxStatus.OFFLINE: "⊘",
    TxStatus.SENDING: "⟳",
    TxStatus.ACCEPTED: "✓",
    TxStatus.REJECTED: "✗",
    TxStatus.DUPLICATE: "⇉",
    TxStatus.BEFORE_START: "⇤",
    TxStatus.ATTENTION: "⚠",
}
ASCII_STATUS: dict[TxStatus, str] = {
    TxStatus.DRAFT: "ed",
    TxStatus.QUEUED: ">",
    TxStatus.OFFLINE: "off",
    TxStatus.SENDING: "...",
    TxStatus.ACCEPTED: "ok",
    TxStatus.REJECTED: "ERR",
    TxStatus.DUPLICATE: "dup",
    TxStatus.BEFORE_START: "<",
    TxStatus.ATTENTION: "!",
}
UNICODE_MAIL = {"none": "", "pending": "◷", "sent": "✉", "failed": "✗"}
ASCII_MAIL = {"none": "", "pending": ">", "sent": "@", "failed": "ERR"}

#: The tone (component class) of each status: the colour follows the theme.
TONE: dict[TxStatus, str] = {
    TxStatus.DRAFT: "muted",
    TxStatus.QUEUED: "plain",
    TxStatus.OFFLINE: "busy",
    TxStatus.SENDING: "busy",
    TxStatus.ACCEPTED: "ok",
    TxStatus.REJECTED: "fail",
    TxStatus.DUPLICATE: "warn",
    TxStatus.BEFORE_START: "muted",
    TxStatus.ATTENTION: "warn",
}
MAIL_TONE = {"none": "plain", "pending": "plain", "sent": "ok", "failed": "fail"}
TONES = ("ok", "fail", "busy", "warn", "muted", "plain")
COLUMNS = ("glyph", "number", "date", "ksef", "gross", "currency", "mail", "kind", "customer")


def status_glyph(status: TxStatus, ascii_only: bool) -> str:
    return (ASCII_STATUS if ascii_only else UNICODE_STATUS)[status]


def mail_glyph(mail: str, ascii_only: bool) -> str:
    return (ASCII_MAIL if ascii_only else UNICODE_MAIL).get(mail, "")


def status_word(status: TxStatus) -> str:
    return t(f"tx.status.{status.value}")


def mail_word(mail: str) -> str:
    return t(f"tx.mail.{mail}")


def deadline_cell(row: TxRow) -> str:
    """An offline invoice's deadline as the KSeF column shows it (short; the detail line has it in words)."""
    if row.deadline_date is not None:
        return t("tx.offline.until", date=f"{row.deadline_date:%d.%m.%Y}")
    return t("tx.offline.waiting")


class TransactionsTable(DataTable[Text]):
    """The invoices of the customer chosen (or of all), newest first."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"tx--{tone}" for tone in TONES}
    DEFAULT_CSS: ClassVar[str] = """
    TransactionsTable > .tx--ok { color: $success; }
    TransactionsTable > .tx--fail { color: $error; text-style: bold; }
    TransactionsTable > .tx--busy { color: $accent; text-style: bold; }
    TransactionsTable > .tx--warn { color: $warning; }
    TransactionsTable > .tx--muted { color: $foreground-muted; }
    TransactionsTable > .tx--plain { }
    """

    def __init__(self, *, ascii_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.ascii_only = ascii_only
        self.rows_shown: list[TxRow] = []
        self._styles: dict[str, Style] = {}

    def on_mount(self) -> None:
        widths = {"glyph": 3, "number": 16, "date": 10, "ksef": 35, "gross": 12, "currency": 4, "mail": 16, "kind": 11}
        for key in COLUMNS:
            label = "" if key == "glyph" else t(f"tx.col.{key}")
            self.add_column(label, key=key, width=widths.get(key))

    def _tones(self) -> dict[str, Style]:
        if not self._styles:
            self._styles = component_styles(self, "tx", TONES)
        return self._styles

    def cells(self, row: TxRow) -> dict[str, Text]:
        tones = self._tones()
        tone = tones[TONE[row.status]]
        ksef = row.ksef_number if row.ksef_number else status_word(row.status)
        ksef_style = tone if not row.ksef_number or row.status is not TxStatus.ACCEPTED else Style()
        if row.status is TxStatus.OFFLINE:  # the deadline instead: coloured when due today or overdue
            ksef = deadline_cell(row)
            ksef_style = tones[row.deadline_tone] if row.deadline_tone != "plain" else Style()
        kind = row.kind_label
        mail = row.mail
        mail_text = "" if mail == "none" else f"{mail_glyph(mail, self.ascii_only)} {mail_word(mail)}"
        return {
            "glyph": Text(status_glyph(row.status, self.ascii_only), style=tone, justify="center"),
            "number": Text(row.number, style=Style(bold=True) if row.is_correction else Style()),
            "kind": Text(kind, style=tones["warn"] if row.is_correction else Style()),
            "date": Text(f"{row.issue_date:%d.%m.%Y}"),
            "customer": Text(row.customer),
            "gross": Text(row.gross_text, justify="right"),
            "currency": Text(row.currency),
            "ksef": Text(ksef, style=ksef_style),
            "mail": Text(mail_text, style=tones[MAIL_TONE.get(mail, "plain")]),
        }

    def show(self, rows: Sequence[TxRow]) -> None:
        """Show ``rows``: the same invoices as now only get their changed cells rewritten (the highlight stays);
        others rebuild the table, the highlight kept on the same invoice where it still is."""
        old = {row.number: row for row in self.rows_shown}
        if [r.number for r in rows] == [r.number for r in self.rows_shown]:
            for row in rows:
                if old[row.number] != row:
                    for key, cell in self.cells(row).items():
                        self.update_cell(row.number, key, cell)
            self.rows_shown = list(rows)
            return
        current = self.current()
        self.clear()
        for row in rows:
            cells = self.cells(row)
            self.add_row(*(cells[key] for key in COLUMNS), key=row.number)
        self.rows_shown = list(rows)
        if current is not None:
            with contextlib.suppress(RowDoesNotExist):
                self.move_cursor(row=self.get_row_index(current.number), animate=False)

    def current(self) -> TxRow | None:
        """The highlighted invoice, if any."""
        if not self.rows_shown or self.cursor_row < 0 or self.cursor_row >= len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor_row]

    def row_of(self, number: str) -> TxRow | None:
        return next((row for row in self.rows_shown if row.number == number), None)
