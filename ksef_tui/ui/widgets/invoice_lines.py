"""The lines of the invoice form: a row per line (name, unit, quantity, unit net price, VAT rate from the FA(3)
set, and the line's net amount), each with its error under it; rows added below the current one and removed
with keys (the screen's ``form.add-line`` and ``form.remove-line``). Also the read-only lines of a corrected
invoice (before the correction)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from ksef_tui.domain.invoice import InvoiceLine
from ksef_tui.i18n import t
from ksef_tui.services.invoice_form import FORM_RATES, LINE_COLUMNS, LineDraft, line_field, plain_number, rate_label
from ksef_tui.services.purchases import money

if TYPE_CHECKING:
    from ksef_tui.domain.vat import VatRate


def _rate_options() -> list[tuple[str, VatRate]]:
    return [(rate_label(rate), rate) for rate in FORM_RATES]


def lines_header() -> Horizontal:
    """The column titles, aligned with :class:`LineRow`'s cells."""
    cells = [
        Label(t("form.col.no"), classes="col-no"),
        *(Label(t(f"form.col.{column}"), classes=f"col-{column}") for column in LINE_COLUMNS),
        Label(t("form.col.net"), classes="col-net"),
    ]
    return Horizontal(*cells, classes="lines-header")


class LineRow(Vertical):
    """One editable line and its error line."""

    DEFAULT_CSS: ClassVar[str] = """
    LineRow { height: auto; }
    LineRow > Horizontal { height: 1; }
    LineRow .line-error { color: $text-error; height: auto; padding-left: 5; }
    LineRow .line-error.-empty { display: none; }
    """

    def __init__(self, draft: LineDraft) -> None:
        super().__init__()
        self.draft = draft

    def compose(self) -> ComposeResult:
        draft = self.draft
        with Horizontal():
            yield Label("", classes="col-no")
            yield Input(draft.name, classes="col-name line-name", compact=True, select_on_focus=False)
            yield Input(draft.unit, classes="col-unit line-unit", compact=True)
            yield Input(draft.quantity, classes="col-quantity line-quantity", compact=True)
            yield Input(draft.price, classes="col-price line-price", compact=True)
            yield Select(
                _rate_options(), value=draft.rate, allow_blank=False, compact=True, classes="col-rate line-rate"
            )
            yield Label("", classes="col-net line-net")
        yield Static("", classes="line-error -empty", markup=False)

    def read(self) -> LineDraft:
        rate = self.query_one(".line-rate", Select).value
        return LineDraft(
            name=self.query_one(".line-name", Input).value,
            unit=self.query_one(".line-unit", Input).value,
            quantity=self.query_one(".line-quantity", Input).value,
            price=self.query_one(".line-price", Input).value,
            rate=rate if not isinstance(rate, type(Select.NULL)) else self.draft.rate,  # type: ignore[arg-type]
        )

    def show(self, number: int, amount: str, errors: dict[str, str]) -> None:
        """Its number, net amount and the errors of its cells (``column -> message``)."""
        self.query_one(".col-no", Label).update(f"{number}.")
        self.query_one(".line-net", Label).update(amount)
        for column in LINE_COLUMNS:
            self.query_one(f".line-{column}").set_class(column in errors, "-error")
        error = self.query_one(".line-error", Static)
        text = "; ".join(f"{t(f'form.col.{column}')}: {message}" for column, message in errors.items())
        error.update(text)
        error.set_class(not text, "-empty")


class InvoiceLines(Vertical):
    """The editable lines."""

    DEFAULT_CSS: ClassVar[str] = """
    InvoiceLines { height: auto; }
    """

    def __init__(self, lines: list[LineDraft], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._initial = lines

    def compose(self) -> ComposeResult:
        yield lines_header()
        for draft in self._initial:
            yield LineRow(draft)

    @property
    def rows(self) -> list[LineRow]:
        return list(self.query_children(LineRow))

    def drafts(self) -> list[LineDraft]:
        return [row.read() for row in self.rows]

    def row_of(self, widget: Widget | None) -> LineRow | None:
        node = widget
        while node is not None and node is not self:
            if isinstance(node, LineRow):
                return node
            node = node.parent if isinstance(node.parent, Widget) else None
        return None

    async def add_line(self, after: LineRow | None, rate: VatRate | None = None) -> LineRow:
        """A new line below ``after`` (or at the end), the rate of the line above; its name focused."""
        rows = self.rows
        above = after or (rows[-1] if rows else None)
        draft = LineDraft(rate=rate or (above.read().rate if above is not None else LineDraft().rate))
        row = LineRow(draft)
        if above is not None:
            await self.mount(row, after=above)
        else:
            await self.mount(row)
        row.query_one(".line-name", Input).focus()
        return row

    async def remove_line(self, row: LineRow) -> None:
        """Remove ``row``; the focus goes to the line that takes its place (or the one above)."""
        rows = self.rows
        index = rows.index(row)
        await row.remove()
        rest = self.rows
        if rest:
            rest[min(index, len(rest) - 1)].query_one(".line-name", Input).focus()

    def show(self, amounts: list[str], errors: dict[str, str]) -> None:
        for index, row in enumerate(self.rows):
            mine = {
                column: errors[line_field(index, column)]
                for column in LINE_COLUMNS
                if line_field(index, column) in errors
            }
            row.show(index + 1, amounts[index] if index < len(amounts) else "", mine)


def before_lines(lines: tuple[InvoiceLine, ...]) -> Vertical:
    """The corrected invoice's lines as they were (read-only), in the same columns."""
    rows: list[Widget] = [lines_header()]
    for number, line in enumerate(lines, start=1):
        cells = [
            Label(f"{number}.", classes="col-no"),
            Label(line.name, classes="col-name", markup=False),
            Label(line.unit, classes="col-unit", markup=False),
            Label(plain_number(line.quantity), classes="col-quantity"),
            Label(plain_number(line.unit_price), classes="col-price"),
            Label(rate_label(line.rate), classes="col-rate"),
            Label(money(line.amount), classes="col-net"),
        ]
        rows.append(Horizontal(*cells, classes="before-row"))
    return Vertical(*rows, id="lines-before")
