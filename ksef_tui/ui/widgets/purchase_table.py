"""The purchase table: a virtual table (Textual's Line API, as toolong's log view) over ``PurchaseBrowser``.

Only the lines on screen are built: each paint asks the browser for the display-ready rows in view (a few
dozen), so 100,000 purchases cost no more to show, scroll or filter than a hundred. The built-in ``DataTable``
measures every cell of every row on the UI thread and freezes at that size (STYLE.md §3.4).

Line 0 is the header (it stays while the rows scroll, and scrolls sideways with them); a click on a header cell
asks for a sort by that column. The highlighted row is the cursor; Space marks rows for a bulk booking or
unbooking. Corrections are told apart by a glyph, a colour and a word in the type column; a purchase whose
booking (or unbooking) waits to be saved (the import holds the store) says so in the booked column.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ksef_tui.domain.booking import WARSAW
from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.ui.widgets.table_styles import component_styles

if TYPE_CHECKING:
    from ksef_tui.services.purchases import PurchaseBrowser, PurchaseRow
    from ksef_tui.ui.glyphs import Glyphs


@dataclass(frozen=True, slots=True)
class TableColumn:
    key: str  # a sort column of the browser (services.purchases.SORT_COLUMNS), or "mark"
    label_key: str
    width: int
    right: bool = False


#: The columns, left to right (the type comes early: corrections stay visible in a narrow terminal).
COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("mark", "", 1),
    TableColumn("received", "purchases.col.received", 16),
    TableColumn("ksef_number", "col.ksef_number", 35),
    TableColumn("kind", "col.kind", 13),
    TableColumn("invoice_number", "col.invoice_number", 16),
    TableColumn("issue_date", "col.issue_date", 10),
    TableColumn("seller_nip", "col.seller_nip", 10),
    TableColumn("seller_name", "col.seller", 24),
    TableColumn("net", "col.net", 13, right=True),
    TableColumn("vat", "col.vat", 12, right=True),
    TableColumn("gross", "col.gross", 13, right=True),
    TableColumn("currency", "col.currency", 3),
    TableColumn("booked", "col.booked", 17),
)
GAP = 1
#: Display-ready rows kept between paints (a few screens' worth).
CACHE_ROWS = 512


@dataclass(frozen=True, slots=True)
class TableGlyphs:
    """The table's own marks, Unicode (single-cell, East Asian width N) or ASCII."""

    correction: str
    marked: str
    sort_up: str
    sort_down: str


UNICODE_MARKS = TableGlyphs(correction="↺", marked="✚", sort_up="▲", sort_down="▼")
ASCII_MARKS = TableGlyphs(correction="K", marked="+", sort_up="^", sort_down="v")


def table_glyphs(glyphs: Glyphs) -> TableGlyphs:
    return ASCII_MARKS if glyphs.ok == "ok" else UNICODE_MARKS


def _fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis, padded on the left for amounts."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad


def _pl_date(iso: str) -> str:
    return f"{date.fromisoformat(iso):%d.%m.%Y}"


class PurchaseTable(ScrollView, can_focus=True):
    """Purchases as a table, painted line by line from a ``PurchaseBrowser``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "purchase-table--header",
        "purchase-table--sorted",
        "purchase-table--cursor",
        "purchase-table--odd",
        "purchase-table--correction",
        "purchase-table--booked",
        "purchase-table--unbooked",
        "purchase-table--marked",
        "purchase-table--muted",
        "purchase-table--waiting",
    }
    DEFAULT_CSS: ClassVar[str] = """
    PurchaseTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
        background: $surface;
    }
    PurchaseTable > .purchase-table--header { text-style: bold; color: $primary; background: $panel; }
    PurchaseTable > .purchase-table--sorted { text-style: bold underline; color: $accent; background: $panel; }
    PurchaseTable > .purchase-table--cursor { background: $block-cursor-blurred-background; }
    PurchaseTable:focus > .purchase-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    PurchaseTable > .purchase-table--odd { background: $surface-lighten-1; }
    PurchaseTable > .purchase-table--correction { color: $warning; text-style: bold; }
    PurchaseTable > .purchase-table--booked { color: $success; }
    PurchaseTable > .purchase-table--unbooked { color: $foreground-muted; }
    PurchaseTable > .purchase-table--marked { color: $accent; text-style: bold; }
    PurchaseTable > .purchase-table--muted { color: $foreground-muted; }
    PurchaseTable > .purchase-table--waiting { color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "bind.purchases.up", id="purchases.up", show=False),
        Binding("down", "move(1)", "bind.purchases.down", id="purchases.down", show=False),
        Binding("pageup", "page(-1)", "bind.purchases.page_up", id="purchases.page-up", show=False),
        Binding("pagedown", "page(1)", "bind.purchases.page_down", id="purchases.page-down", show=False),
        Binding("home", "edge(0)", "bind.purchases.first", id="purchases.first", show=False),
        Binding("end", "edge(1)", "bind.purchases.last", id="purchases.last", show=False),
        Binding("enter", "open", "bind.purchases.open", id="purchases.open"),
    ]

    cursor: reactive[int] = reactive(0, always_update=False, repaint=True)

    class Highlighted(Message):
        """The cursor moved to ``row`` (an index row), or the list became empty (``None``)."""

        def __init__(self, table: PurchaseTable, row: int | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class Opened(Message):
        """Enter (or a click on the highlighted row) on ``row``."""

        def __init__(self, table: PurchaseTable, row: int) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class SortRequested(Message):
        """A click on the header of ``column``."""

        def __init__(self, table: PurchaseTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

    def __init__(self, glyphs: Glyphs, *, id: str | None = None) -> None:
        super().__init__(id=id)
        from ksef_tui.ui.bindings import localize

        localize(self)
        self.glyphs = glyphs
        self.marks = table_glyphs(glyphs)
        self.browser: PurchaseBrowser | None = None
        self.rows: list[int] = []
        self.marked: set[int] = set()
        self.waiting: set[str] = set()
        """KSeF numbers whose booking or unbooking waits to be saved (shown so instead of their booked state)."""
        self.sort: tuple[str, bool] = ("issue_date", False)
        self._cache: OrderedDict[int, PurchaseRow] = OrderedDict()
        self._corrections: dict[int, bool] = {}
        self._labels = [t(column.label_key) if column.label_key else "" for column in COLUMNS]
        self._width = sum(column.width for column in COLUMNS) + GAP * (len(COLUMNS) - 1)
        self._styles: dict[str, Style] = {}

    # -------------------------------------------------------------------------------------------- data

    def show(self, browser: PurchaseBrowser | None, rows: list[int], *, keep: int | None = None) -> None:
        """List ``rows`` (index rows of ``browser``, in order); the cursor goes to ``keep`` when it is listed,
        else to the first row."""
        self.browser = browser
        self.rows = rows
        self.virtual_size = Size(self._width, len(rows) + 1)
        position = 0
        if keep is not None:
            try:
                position = rows.index(keep) if len(rows) < 200_000 else 0
            except ValueError:
                position = 0
        self.set_reactive(PurchaseTable.cursor, min(position, max(len(rows) - 1, 0)))
        self._follow()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row))

    def forget(self) -> None:
        """Drop the rows built so far (the store changed: bookings, a sync, the language)."""
        self._cache.clear()
        self._corrections.clear()
        self.refresh()

    @property
    def current_row(self) -> int | None:
        """The index row under the cursor (``None``: nothing listed)."""
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def _row(self, row: int) -> PurchaseRow:
        cached = self._cache.get(row)
        if cached is not None:
            self._cache.move_to_end(row)
            return cached
        assert self.browser is not None
        built = self.browser.row(row)
        self._cache[row] = built
        self._corrections[row] = self.browser.is_correction(row)
        if len(self._cache) > CACHE_ROWS:
            old, _ = self._cache.popitem(last=False)
            self._corrections.pop(old, None)
        return built

    # ----------------------------------------------------------------------------------------- painting

    def on_mount(self) -> None:
        self._read_styles()
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _value: object = None) -> None:
        self._read_styles()
        self.refresh()

    def _read_styles(self) -> None:
        names = ("header", "sorted", "cursor", "odd", "correction", "booked", "unbooked", "marked", "muted", "waiting")
        self._styles = component_styles(self, "purchase-table", names)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:
            self._read_styles()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            strip = self._header()
        else:
            position = scroll_y + y - 1
            if position >= len(self.rows):
                return Strip.blank(width, base)
            try:
                strip = self._line(position)
            except UserError:  # the store closed under a last paint (the screen is going away)
                return Strip.blank(width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    def _header(self) -> Strip:
        styles = self._styles
        column, descending = self.sort
        segments: list[Segment] = []
        for index, (spec, label) in enumerate(zip(COLUMNS, self._labels, strict=True)):
            if index:
                segments.append(Segment(" " * GAP, styles["header"]))
            text = label
            style = styles["header"]
            if spec.key == column:
                text = f"{label} {self.marks.sort_down if descending else self.marks.sort_up}"
                style = styles["sorted"]
            segments.append(Segment(_fit(text, spec.width, spec.right), style))
        return Strip(segments, self._width)

    def _line(self, position: int) -> Strip:
        row = self.rows[position]
        data = self._row(row)
        styles = self._styles
        is_cursor = position == self.cursor
        line_style = styles["cursor"] if is_cursor else (styles["odd"] if position % 2 else Style())
        correction = self._corrections.get(row, False)
        marked = row in self.marked
        received = self.browser.received_at(row).astimezone(WARSAW) if self.browser else None
        cells: dict[str, tuple[str, Style]] = {
            "mark": (self.marks.marked if marked else " ", styles["marked"]),
            "received": (f"{received:%d.%m.%Y %H:%M}" if received else "", Style()),
            "ksef_number": (data.ksef_number, styles["correction"] if correction else Style()),
            "kind": (
                f"{self.marks.correction if correction else ' '} {data.kind}",
                styles["correction"] if correction else Style(),
            ),
            "invoice_number": (data.invoice_number, Style()),
            "issue_date": (_pl_date(data.issue_date), Style()),
            "seller_nip": (data.seller_nip, Style()),
            "seller_name": (data.seller_name, Style()),
            "net": (data.net, Style()),
            "vat": (data.vat, Style()),
            "gross": (data.gross, Style()),
            "currency": (data.currency, Style()),
            "booked": self._booked(data),
        }
        segments: list[Segment] = []
        for index, spec in enumerate(COLUMNS):
            if index:
                segments.append(Segment(" " * GAP, line_style))
            text, style = cells[spec.key]
            segments.append(Segment(_fit(text, spec.width, spec.right), line_style + style))
        return Strip(segments, self._width)

    def _booked(self, data: PurchaseRow) -> tuple[str, Style]:
        styles = self._styles
        if data.ksef_number in self.waiting:
            text = f"{self.glyphs.busy} {t('purchases.state.waiting')}"
            style = styles["waiting"]
        elif data.is_booked:
            period = data.booked.rsplit(" ", 1)[-1]
            text = f"{self.glyphs.ok} {period}"
            style = styles["booked"]
        else:
            text = f"{self.glyphs.waiting} {t('purchase.state.unbooked')}"
            style = styles["unbooked"]
        if data.is_corrected:
            text = f"{self.glyphs.warn} {text}"
        return text, style

    # ----------------------------------------------------------------------------------------- movement

    @property
    def page_rows(self) -> int:
        return max(self.size.height - 1 - (1 if self.show_horizontal_scrollbar else 0), 1)

    def watch_cursor(self, old: int, new: int) -> None:
        self._follow()
        self.post_message(self.Highlighted(self, self.current_row))

    def _follow(self) -> None:
        """Scroll so the cursor's line is in view under the header."""
        top = int(self.scroll_y)
        visible = self.page_rows
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def move_to(self, position: int) -> None:
        if self.rows:
            self.cursor = max(0, min(position, len(self.rows) - 1))

    def action_move(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self.page_rows)

    def action_edge(self, end: int) -> None:
        self.move_to(len(self.rows) - 1 if end else 0)

    def action_open(self) -> None:
        row = self.current_row
        if row is not None:
            self.post_message(self.Opened(self, row))

    def toggle_mark(self) -> None:
        """Mark the highlighted row (or unmark it), then go to the next one."""
        row = self.current_row
        if row is None:
            return
        if row in self.marked:
            self.marked.discard(row)
        else:
            self.marked.add(row)
        self.refresh()
        self.action_move(1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x = offset.x + int(self.scroll_x)
        if offset.y == 0:
            left = 0
            for spec in COLUMNS:
                if left <= x < left + spec.width + GAP and spec.key != "mark":
                    self.post_message(self.SortRequested(self, spec.key))
                    return
                left += spec.width + GAP
            return
        position = int(self.scroll_y) + offset.y - 1
        if 0 <= position < len(self.rows):
            if position == self.cursor:
                self.action_open()
            else:
                self.cursor = position
