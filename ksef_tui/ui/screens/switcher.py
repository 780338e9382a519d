"""The company switcher: an accounting office's many companies in one list, filtered as you type.

``CompanySwitcher(current="name")`` is pushed by the app (``company.switch``, Ctrl+O / Alt+C) and dismissed with
the chosen profile's name, or ``None`` on Escape. The filter keeps the focus: Up/Down (PageUp/PageDown) move
through the list, Enter chooses. Each row shows the company, its NIP, the KSeF environment, the credential and
the days it has left, the last purchase import and how many sales invoices wait to be sent (with the rejected
ones).

The names come at once and the rest fills in as each company's overview is read (vault and store: blocking,
so in a thread worker). The rows on screen are read first (after typing: the matches), and the worker posts
what it read in few batches: a screenful first, then every ``FLUSH_EVERY`` seconds. Only rows in view are
repainted as they arrive (the others when they scroll into view), so a long list keeps the UI thread (and the
GIL) free for the reader and for typing. A company whose store cannot be read (locked for a migration by
another session, damaged, unreadable) shows ``-`` and its reason in the line under the list; it never stops
the others.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from ksef_tui.domain.booking import WARSAW
from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.overview import overview
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import WARN_DAYS, credential_text, environment_label, pretty_nip
from ksef_tui.ui.widgets.table_styles import component_styles

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.overview import CompanyOverview
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.ui.app import KsefApp
    from ksef_tui.ui.glyphs import Glyphs

#: How often (seconds) the reading worker hands the overviews it has read to the list after the first screenful:
#: each hand-over repaints the list, and a repaint every 50 ms slowed the reader five-fold (bench/switcher.py).
FLUSH_EVERY = 0.25
#: Rows the first hand-over waits for: what a screen shows.
SCREENFUL = 20
#: The columns (keys) and their narrowest widths; a header word may widen one. 95 cells in all: the dialog fits
#: a 100-column terminal.
COLUMNS: dict[str, int] = {"name": 19, "nip": 13, "env": 10, "credential": 14, "sync": 16, "unsent": 10}
#: The columns that wait for the company's overview.
READ_COLUMNS = ("credential", "sync", "unsent")
#: Letters that Unicode decomposition leaves alone but a Polish (or other) user types without the diacritic.
_PLAIN = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss"})


def fold(text: str) -> str:
    """``text`` as the filter compares it: case-folded, without diacritics (``Łódź`` → ``lodz``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_PLAIN))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_text(profile: Profile) -> str:
    """What the filter searches in a company: its name, NIP (plain and 123-456-78-90), environment."""
    label, _ = environment_label(profile)
    return fold(" ".join((profile.name, profile.nip, pretty_nip(profile.nip), profile.environment, label)))


def matches(query: str, text: str) -> bool:
    """Every word typed is somewhere in ``text`` (a ``search_text``); dashes do not matter (a NIP)."""
    flat = text.replace("-", "")
    return all(word in text or word.replace("-", "") in flat for word in fold(query).split())


@dataclass(frozen=True, slots=True)
class CompanyRead:
    """One company's overview as the worker read it; ``overview`` is ``None`` when it could not be read at all.
    ``problems`` say what could not be read (the store, the vault), in the current language."""

    name: str
    overview: CompanyOverview | None
    problems: tuple[str, ...] = ()


def read_company(workspace: Workspace, profile: Profile) -> CompanyRead:
    """The company's overview (blocking: vault and store). Never raises: one company that cannot be read must not
    hide the others, so its reason travels with it."""
    try:
        data = overview(workspace, profile)
    except UserError as exc:
        return CompanyRead(profile.name, None, (exc.message(),))
    except Exception as exc:  # a damaged file of one company: say what, keep listing the rest
        return CompanyRead(profile.name, None, (f"{type(exc).__name__}: {exc}",))
    return CompanyRead(profile.name, data, data.problems)


@dataclass(slots=True)
class CompanyRow:
    """A row of the list: the profile (known at once) and, once read, its overview."""

    profile: Profile
    text: str  # search_text(profile)
    read: CompanyRead | None = None  # None: not read yet


class CompanyTable(DataTable[Text]):
    """The switcher's list: one row per company, the cursor always shown as active (the filter keeps the focus)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "company-table--current",
        "company-table--muted",
        "company-table--warn",
        "company-table--bad",
        "company-table--env-prod",
        "company-table--env-demo",
        "company-table--env-test",
        "company-table--env-url",
    }
    DEFAULT_CSS: ClassVar[str] = """
    CompanyTable { scrollbar-size-vertical: 1; }
    CompanyTable > .datatable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    CompanyTable > .company-table--current { text-style: bold; }
    CompanyTable > .company-table--muted { color: $foreground-muted; }
    CompanyTable > .company-table--warn { color: $warning; }
    CompanyTable > .company-table--bad { color: $error; text-style: bold; }
    CompanyTable > .company-table--env-prod { color: $error; text-style: bold; }
    CompanyTable > .company-table--env-demo { color: $warning; text-style: bold; }
    CompanyTable > .company-table--env-test { color: $secondary; }
    CompanyTable > .company-table--env-url { color: $secondary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.can_focus = False

    def styles_by_name(self) -> dict[str, Style]:
        """The component styles (theme colours resolved), by their short name: ``warn``, ``env-prod``…"""
        names = ("current", "muted", "warn", "bad", "env-prod", "env-demo", "env-test", "env-url")
        return component_styles(self, "company-table", names)


def _cell(text: str, style: Style | str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def row_cells(
    row: CompanyRow, *, current: bool, now: datetime, glyphs: Glyphs, styles: dict[str, Style]
) -> dict[str, Text]:
    """A row's cells by column key."""
    profile = row.profile
    mark = glyphs.arrow if current else " " * cell_len(glyphs.arrow)
    label, env_class = environment_label(profile)
    cells = {
        "name": _cell(f"{mark} {profile.name}", styles["current"] if current else ""),
        "nip": _cell(pretty_nip(profile.nip)),
        "env": _cell(label, styles.get(env_class.removeprefix("-"), "")),
    }
    cells.update(read_cells(row.read, now=now, glyphs=glyphs, styles=styles))
    return cells


def read_cells(read: CompanyRead | None, *, now: datetime, glyphs: Glyphs, styles: dict[str, Style]) -> dict[str, Text]:
    """The cells that come from the overview: still reading, unknown (``-``), or the credential, the last import
    (Europe/Warsaw) and the invoices to send (with the rejected ones)."""
    if read is None:
        busy = _cell(glyphs.busy, styles["muted"])
        return dict.fromkeys(READ_COLUMNS, busy)
    unknown = _cell("-", styles["muted"])
    data = read.overview
    if data is None:
        return {"credential": unknown, "sync": unknown, "unsent": _cell(f"{glyphs.warn} -", styles["warn"])}
    cells = {"credential": _credential_cell(data, now, styles)}
    if data.unsent is None and read.problems:  # the store is there but could not be read
        cells["sync"] = unknown
        cells["unsent"] = _cell(f"{glyphs.warn} -", styles["warn"])
        return cells
    if data.last_sync is None:
        cells["sync"] = _cell(t("switcher.never"), styles["muted"])
    else:
        cells["sync"] = _cell(f"{data.last_sync.astimezone(WARSAW):%d.%m.%Y %H:%M}")
    unsent = data.unsent or 0  # no store yet: nothing issued, nothing to send
    text = _cell(str(unsent), "" if unsent else styles["muted"])
    if data.rejected:
        text.append(" (")
        text.append(f"{glyphs.fail} {data.rejected}", styles["bad"])
        text.append(")")
    cells["unsent"] = text
    return cells


def _credential_cell(data: CompanyOverview, now: datetime, styles: dict[str, Style]) -> Text:
    kind = t("switcher.token") if data.is_token else t("switcher.certificate")
    days = data.days_left(now)
    if days is None:
        return _cell(kind)
    if days < 0:
        return _cell(t("switcher.expired", kind=kind), styles["bad"])
    return _cell(t("switcher.days", kind=kind, count=days), styles["warn"] if days <= WARN_DAYS else "")


def detail_text(row: CompanyRow, *, current: bool, now: datetime, glyphs: Glyphs) -> str:
    """The line under the list for the highlighted company: what the row abbreviates, and why a ``-``."""
    profile = row.profile
    label, _ = environment_label(profile)
    parts = [profile.name]
    if current:
        parts.append(t("switcher.current"))
    parts.append(profile.environment if label != profile.environment.upper() else label)
    read = row.read
    if read is None:
        parts.append(t("switcher.loading"))
    elif read.overview is not None:
        parts.append(credential_text(read.overview, now)[0])
        if read.overview.rejected:
            parts.append(t("switcher.rejected", count=read.overview.rejected))
    text = f" {glyphs.sep} ".join(parts)
    if read is not None and read.problems:
        text += "\n" + "\n".join(f"{glyphs.warn} {problem}" for problem in read.problems)
    return text


class CompanySwitcher(ModalScreen[str | None]):
    """Choose the company to work in: type to filter, Up/Down, Enter; Escape leaves the company as it was."""

    CSS_PATH = "../styles/switcher.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "bind.switcher.choose", id="switcher.choose", priority=True),
        Binding("escape", "cancel", "bind.switcher.cancel", id="switcher.cancel"),
        Binding("down", "move('down')", "bind.switcher.down", id="switcher.down", show=False),
        Binding("up", "move('up')", "bind.switcher.up", id="switcher.up", show=False),
        Binding("pagedown", "move('page-down')", "bind.switcher.page_down", id="switcher.page-down", show=False),
        Binding("pageup", "move('page-up')", "bind.switcher.page_up", id="switcher.page-up", show=False),
    ]

    class ProfilesListed(Message):
        """The worker listed the profiles (names first: the rows show at once)."""

        def __init__(self, profiles: list[Profile]) -> None:
            super().__init__()
            self.profiles = profiles

    class CompaniesRead(Message):
        """The worker read these companies' overviews (one batch of them)."""

        def __init__(self, reads: list[CompanyRead]) -> None:
            super().__init__()
            self.reads = reads

    def __init__(self, current: str = "") -> None:
        super().__init__()
        localize(self)
        self.current = current
        self.rows: dict[str, CompanyRow] = {}  # every company, in the profiles' order
        self.shown: list[str] = []  # the names in the list now (the filter's matches), top to bottom
        self.listed = False
        self.read_count = 0
        self._detail = ""
        self._stale: set[str] = set()  # read, but their rows in the table still show them as being read
        self._taken: set[str] = set()  # companies a reader has started on (readers only add; a set's add is atomic)

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Vertical(id="switcher-box") as box:
            box.border_title = t("switcher.title")
            yield Input(placeholder=t("switcher.filter"), id="switcher-filter")
            yield CompanyTable(id="switcher-table")
            yield Static(t("switcher.loading"), id="switcher-detail", markup=False)
        yield KsefFooter()

    def on_mount(self) -> None:
        table = self.query_one(CompanyTable)
        indent = " " * (cell_len(self.ksef_app.glyphs.arrow) + 1)
        for key, width in COLUMNS.items():
            label = (indent if key == "name" else "") + t(f"switcher.col.{key}")
            table.add_column(label, width=max(width, cell_len(label)), key=key)
        self.query_one(Input).focus()
        self.watch(self.app, "theme", self._refill, init=False)
        self.watch(table, "scroll_y", self._paint_stale, init=False)
        self._list()

    # -------------------------------------------------------------------------------------------- loading

    @work(
        thread=True,
        exclusive=True,
        group="switcher-list",
        exit_on_error=False,
        description="company switcher: list the profiles",
    )
    def _list(self) -> None:
        """The profiles (names first: the rows show before any overview). A ``UserError`` ends the worker and is
        shown as a notification."""
        self.post_message(self.ProfilesListed(self.ksef_app.workspace.list_profiles()))

    @work(
        thread=True,
        exclusive=True,
        group="switcher-load",
        exit_on_error=False,
        description="company switcher: read the companies' overviews",
    )
    def _read(self, profiles: list[Profile]) -> None:
        """Read each company's overview, in the order given; post them in batches (thread: never touches widgets).
        A newer order (the filter changed) cancels this one: what was read so far is still posted."""
        worker = get_current_worker()
        workspace = self.ksef_app.workspace
        batch: list[CompanyRead] = []
        flushed, first = time.monotonic(), True
        for profile in profiles:
            if worker.is_cancelled:
                break
            if profile.name in self._taken:  # read by the reader this one replaced
                continue
            self._taken.add(profile.name)
            batch.append(read_company(workspace, profile))
            if (first and len(batch) >= SCREENFUL) or time.monotonic() - flushed >= FLUSH_EVERY:
                self.post_message(self.CompaniesRead(batch))
                batch, flushed, first = [], time.monotonic(), False
        if batch:
            self.post_message(self.CompaniesRead(batch))

    def _read_unread(self) -> None:
        """(Re)start reading the companies not read yet, those in the list first from the highlighted row down
        (what is on screen: the current company when the switcher opens, the first match after typing), then
        the ones the filter hides."""
        unread = [name for name, row in self.rows.items() if row.read is None]
        if not unread:
            return
        start = max(self.query_one(CompanyTable).cursor_row, 0)
        waiting = set(unread)
        order = [name for name in self.shown[start:] + self.shown[:start] if name in waiting]
        listed = set(order)
        order += [name for name in unread if name not in listed]
        self._read([self.rows[name].profile for name in order])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group not in ("switcher-list", "switcher-load") or event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        detail = error.message() if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        self.notify(t("switcher.load_failed", detail=detail), severity="error", timeout=10)
        self._detail = t("switcher.load_failed", detail=detail)
        self.query_one("#switcher-detail", Static).update(self._detail, layout=False)

    def on_company_switcher_profiles_listed(self, message: ProfilesListed) -> None:
        self.rows = {profile.name: CompanyRow(profile, search_text(profile)) for profile in message.profiles}
        self.listed = True
        self._filter(initial=True)
        self._read_unread()

    def on_company_switcher_companies_read(self, message: CompaniesRead) -> None:
        for read in message.reads:
            row = self.rows.get(read.name)
            if row is None or row.read is not None:  # a cancelled reader's last batch may repeat one
                continue
            row.read = read
            self.read_count += 1
            self._stale.add(read.name)
        self._paint_stale()
        self._show_status()
        self._show_detail()

    def _paint_stale(self, _value: object = None) -> None:
        """Put the overviews read since the rows were built into the rows in view (and a few around them); the
        rest wait until they scroll into view or the list is rebuilt. Each cell changed repaints the table."""
        if not self._stale:
            return
        table = self.query_one(CompanyTable)
        top = int(table.scroll_y)
        height = table.size.height or 2 * SCREENFUL  # not laid out yet
        near = [name for name in self.shown[max(top - 5, 0) : top + height + 5] if name in self._stale]
        if not near:
            return
        now, glyphs, styles = self.ksef_app.clock(), self.ksef_app.glyphs, table.styles_by_name()
        for name in near:
            for key, cell in read_cells(self.rows[name].read, now=now, glyphs=glyphs, styles=styles).items():
                table.update_cell(name, key, cell)
        self._stale.difference_update(near)

    # --------------------------------------------------------------------------------------------- filter

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.listed:
            self._filter()

    def _filter(self, *, initial: bool = False) -> None:
        """Show the companies matching the filter: the current company highlighted while nothing is typed,
        else the first match (type, then Enter)."""
        query = self.query_one(Input).value
        shown = [name for name, row in self.rows.items() if matches(query, row.text)]
        changed = shown != self.shown
        if changed or initial:
            self.shown = shown
            self._fill()
        if shown:
            wanted = self.current if not query.strip() and self.current in shown else shown[0]
            self.query_one(CompanyTable).move_cursor(row=shown.index(wanted), animate=False)
        if changed and not initial and self.read_count < len(self.rows):
            self._read_unread()  # what the filter shows first
        self._show_status()
        self._show_detail()

    def _fill(self) -> None:
        table = self.query_one(CompanyTable)
        now, glyphs, styles = self.ksef_app.clock(), self.ksef_app.glyphs, table.styles_by_name()
        self._stale.clear()
        table.clear()
        for name in self.shown:
            row = self.rows[name]
            cells = row_cells(row, current=name == self.current, now=now, glyphs=glyphs, styles=styles)
            table.add_row(*(cells[key] for key in COLUMNS), key=name)

    def _refill(self, _value: object = None) -> None:
        """A new theme: the cells' colours come from it."""
        highlighted = self.highlighted
        self._fill()
        if highlighted in self.shown:
            self.query_one(CompanyTable).move_cursor(row=self.shown.index(highlighted), animate=False)

    def _show_status(self) -> None:
        box = self.query_one("#switcher-box", Vertical)
        total = len(self.rows)
        status = t("switcher.shown", shown=len(self.shown), total=total)
        if self.read_count < total:
            status += f" {self.ksef_app.glyphs.sep} " + t("switcher.progress", done=self.read_count, total=total)
        box.border_subtitle = status

    def _show_detail(self) -> None:
        """The line under the list, for the highlighted company (its height is fixed: no layout pass, which would
        repaint the whole screen on every Up/Down)."""
        name = self.highlighted
        if name is not None:
            app = self.ksef_app
            row = self.rows[name]
            text = detail_text(row, current=name == self.current, now=app.clock(), glyphs=app.glyphs)
        elif not self.listed:
            text = t("switcher.loading")
        elif not self.rows:
            text = t("switcher.none")
        else:
            text = t("switcher.no_match", query=self.query_one(Input).value.strip())
        detail = self.query_one("#switcher-detail", Static)
        if text != self._detail:
            self._detail = text
            detail.update(text, layout=False)

    @property
    def highlighted(self) -> str | None:
        """The company under the cursor (``None`` when the list is empty)."""
        row = self.query_one(CompanyTable).cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._paint_stale()
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """A click on the highlighted row chooses it."""
        event.stop()
        self.action_choose()

    # ------------------------------------------------------------------------------------------- actions

    def action_move(self, step: str) -> None:
        """Move the highlight (``up``, ``down``, ``page-up``, ``page-down``) while the filter keeps the focus."""
        table = self.query_one(CompanyTable)
        moves = {
            "up": table.action_cursor_up,
            "down": table.action_cursor_down,
            "page-up": table.action_page_up,
            "page-down": table.action_page_down,
        }
        moves[step]()

    def action_choose(self) -> None:
        name = self.highlighted
        if name is None:
            self.app.bell()
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
