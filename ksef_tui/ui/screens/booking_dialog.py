"""The dialogs of the purchase screen: booking one purchase or a selection (category, VAT deduction 100/50/0 %,
settlement period, note), the confirmation of an unbooking (how many and the periods they were booked in) and
saving the purchase register of a period as CSV.

Both check what they can before closing (``services.booking.check_for``: the same rules the booking itself
applies) and show a refusal under the field it is about; the writing happens in the screen's workers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from ksef_tui.domain.booking import VAT_DEDUCTIONS, Period, warsaw_date
from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.booking import (
    DEFAULT_CATEGORIES,
    BookingError,
    BookingRequest,
    category_label,
    check_for,
    field_of,
    parse_period,
)
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter

FIELDS = ("category", "deduction", "period", "note")


def default_period(issue_date: date | None, now: datetime) -> str:
    """The period a booking starts with: this month in Warsaw, or the issue month when that is later."""
    current = Period.of(warsaw_date(now))
    if issue_date is not None and Period.of(issue_date) > current:
        return str(Period.of(issue_date))
    return str(current)


class BookingDialog(ModalScreen[BookingRequest | None]):
    """Book ``count`` purchases (the highlighted one, or the marked ones) alike; dismissed with the request, or
    ``None`` on Escape. ``issue_date``: the latest issue date of them (the period may not be earlier)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "bind.dialog.cancel", id="purchases.book-cancel"),
        Binding("ctrl+s", "save", "bind.purchases.book_save", id="purchases.book-save"),
    ]

    def __init__(
        self,
        *,
        title: str,
        issue_date: date | None,
        now: datetime,
        initial: BookingRequest | None = None,
    ) -> None:
        super().__init__()
        localize(self)
        self.title_text = title
        self.issue_date = issue_date
        self.now = now
        self.initial = initial

    def compose(self) -> ComposeResult:
        initial = self.initial
        with Vertical(id="booking-box") as box:
            box.border_title = self.title_text
            yield Label(t("purchases.book.category"), classes="booking-label")
            yield Select(
                [(category_label(code), code) for code in DEFAULT_CATEGORIES],
                value=initial.category if initial else DEFAULT_CATEGORIES[0],
                allow_blank=False,
                compact=True,
                id="booking-category",
            )
            yield Static("", id="booking-category-error", classes="field-note -error")
            yield Label(t("purchases.book.deduction"), classes="booking-label")
            with RadioSet(id="booking-deduction", compact=True):
                chosen = initial.vat_deduction if initial else 100
                for value in VAT_DEDUCTIONS:
                    yield RadioButton(f"{value}%", value=value == chosen, name=str(value))
            yield Static("", id="booking-deduction-error", classes="field-note -error")
            yield Label(t("purchases.book.period"), classes="booking-label")
            yield Input(
                value=initial.period if initial else default_period(self.issue_date, self.now),
                placeholder=t("purchases.period.placeholder"),
                compact=True,
                id="booking-period",
            )
            yield Static("", id="booking-period-error", classes="field-note -error")
            yield Label(t("purchases.book.note"), classes="booking-label")
            yield Input(value=initial.note if initial else "", compact=True, id="booking-note")
            yield Static("", id="booking-note-error", classes="field-note -error")
            with Horizontal(id="booking-buttons"):
                yield Button(t("purchases.book.save"), variant="primary", compact=True, id="booking-save")
                yield Button(t("purchases.book.cancel"), compact=True, id="booking-cancel")
        yield KsefFooter()

    def on_mount(self) -> None:
        for name in FIELDS:
            self.query_one(f"#booking-{name}-error", Static).display = False
        self.query_one("#booking-category", Select).focus()

    def request(self) -> BookingRequest:
        category = self.query_one("#booking-category", Select).value
        pressed = self.query_one("#booking-deduction", RadioSet).pressed_button
        deduction = int(pressed.name) if pressed is not None and pressed.name else -1
        return BookingRequest(
            category=str(category),
            vat_deduction=deduction,
            period=self.query_one("#booking-period", Input).value.strip(),
            note=self.query_one("#booking-note", Input).value.strip(),
        )

    def show_error(self, error: BookingError) -> None:
        """``error`` under its field (or under the note when it is about the invoice)."""
        where = field_of(error) or "note"
        for name in FIELDS:
            note = self.query_one(f"#booking-{name}-error", Static)
            note.update(error.message() if name == where else "")
            note.display = name == where
        self.query_one("#booking-period", Input).set_class(where == "period", "-invalid")
        target = {"category": "#booking-category", "deduction": "#booking-deduction", "period": "#booking-period"}
        if where in target:
            self.query_one(target[where]).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#booking-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#booking-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_save(self) -> None:
        request = self.request()
        try:
            if self.issue_date is not None:
                check_for(request, issue_date=self.issue_date, now=self.now)
        except BookingError as exc:
            self.show_error(exc)
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)


def periods_text(periods: Sequence[str]) -> str:
    """The periods of a selection in order, each with its count when there are several invoices:
    ``2026-03 (2), 2026-04 (1)``; one invoice: ``2026-03``."""
    counts = Counter(periods)
    if len(periods) == 1:
        return periods[0]
    return ", ".join(f"{period} ({counts[period]})" for period in sorted(counts))


class UnbookDialog(ModalScreen[bool]):
    """ "Unbook N invoices? Booked in periods …": Enter or ``y``/``t`` unbooks, Escape or ``n`` does not.

    ``periods``: the period each invoice to unbook is booked in; ``number``: the KSeF number when it is one
    invoice; ``skipped``: marked invoices that are not booked (left as they are)."""

    DEFAULT_CSS: ClassVar[str] = """
    UnbookDialog { align: center middle; }
    UnbookDialog > #unbook-box {
        width: 72; height: auto; max-height: 90%; border: round $warning; background: $surface; padding: 1 2;
    }
    UnbookDialog #unbook-buttons { height: auto; padding: 1 0 0 0; }
    UnbookDialog #unbook-buttons Button { margin: 0 1 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "bind.dialog.cancel", id="purchases.unbook-no"),
        Binding("y,t", "answer(True)", "bind.purchases.unbook", id="purchases.unbook-yes"),
    ]

    def __init__(self, *, periods: Sequence[str], number: str | None = None, skipped: int = 0) -> None:
        super().__init__()
        localize(self)
        self.periods = list(periods)
        self.number = number
        self.skipped = skipped

    def compose(self) -> ComposeResult:
        count = len(self.periods)
        if self.number is not None and count == 1:
            question = t("purchases.unbook.question_one", number=self.number)
        else:
            question = t("purchases.unbook.question_many", count=count)
        lines = [t("purchases.unbook.periods", count=len(set(self.periods)), periods=periods_text(self.periods))]
        if self.skipped:
            lines.append(t("purchases.unbook.skipped", count=self.skipped))
        with Vertical(id="unbook-box") as box:
            box.border_title = t("purchases.unbook.title")
            yield Label(question, id="unbook-question")
            yield Static("\n".join(lines), id="unbook-periods", markup=False)
            with Horizontal(id="unbook-buttons"):
                yield Button(t("purchases.unbook.yes"), variant="warning", compact=True, id="unbook-yes")
                yield Button(t("purchases.unbook.no"), compact=True, id="unbook-no")
        yield KsefFooter()

    def on_mount(self) -> None:
        self.query_one("#unbook-yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "unbook-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def default_register_path(period: str) -> str:
    return str(Path("~") / t("purchases.export.file", period=period))


class ExportDialog(ModalScreen[tuple[str, str] | None]):
    """The register's period and the CSV file to write; dismissed with ``(period, path)`` or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "bind.dialog.cancel", id="purchases.export-cancel"),
    ]

    def __init__(self, period: str) -> None:
        super().__init__()
        localize(self)
        self.period = period

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box") as box:
            box.border_title = t("purchases.export.title")
            yield Label(t("purchases.export.period"), classes="booking-label")
            yield Input(
                value=self.period, placeholder=t("purchases.period.placeholder"), compact=True, id="export-period"
            )
            yield Static("", id="export-period-error", classes="field-note -error")
            yield Label(t("purchases.export.path"), classes="booking-label")
            yield Input(value=default_register_path(self.period), compact=True, id="export-path")
            yield Static(t("purchases.export.note"), classes="field-note")
        yield KsefFooter()

    def on_mount(self) -> None:
        self.query_one("#export-period", Input).focus()

    @on(Input.Changed, "#export-period")
    def _period_changed(self, event: Input.Changed) -> None:
        """The file name follows the period while the user has not typed one of their own."""
        path = self.query_one("#export-path", Input)
        if path.value == default_register_path(self.period):
            self.period = event.value.strip()
            path.value = default_register_path(self.period)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        period = self.query_one("#export-period", Input).value.strip()
        try:
            parse_period(period)
        except UserError as exc:
            self.query_one("#export-period-error", Static).update(exc.message())
            self.query_one("#export-period", Input).add_class("-invalid").focus()
            return
        if event.input.id == "export-period":
            self.query_one("#export-path", Input).focus()
            return
        path = self.query_one("#export-path", Input).value.strip()
        if path:
            self.dismiss((period, path))

    def action_cancel(self) -> None:
        self.dismiss(None)
