"""The KSeF communication log ("Dziennik komunikacji z KSeF"): the company's recent KSeF calls, newest first,
with their time (Europe/Warsaw), method, path, status, duration and KSeF error codes; a failed call is marked
with a glyph and the error colour. Enter opens the call's request and response as the log kept them: headers
without credentials, bodies with every secret replaced by its size (``ksef.redaction``).

The log file is read in a thread worker; ``api_log.refresh`` reads it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from ksef_tui.domain.booking import WARSAW
from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.diagnostics import ApiCall, HttpMessage, api_calls
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader
from ksef_tui.ui.widgets.table_styles import component_styles

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.ui.app import KsefApp
    from ksef_tui.ui.glyphs import Glyphs

LOAD_GROUP = "api-log-load"
#: The columns (keys) and their widths; ``path`` takes what is left of a 100-column terminal.
COLUMNS: dict[str, int] = {"mark": 3, "time": 19, "method": 6, "path": 31, "status": 6, "ms": 6, "codes": 11}
#: Columns of numbers, right-aligned.
RIGHT = ("status", "ms")


def status_text(call: ApiCall) -> str:
    return str(call.status) if call.status is not None else "---"


class ApiLogTable(DataTable[Text]):
    """The calls, one row each (row key: the call's index in the log, oldest 0)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "api-log-table--ok",
        "api-log-table--fail",
        "api-log-table--muted",
    }
    DEFAULT_CSS: ClassVar[str] = """
    ApiLogTable > .api-log-table--ok { color: $success; }
    ApiLogTable > .api-log-table--fail { color: $error; text-style: bold; }
    ApiLogTable > .api-log-table--muted { color: $foreground-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)

    def styles_by_name(self) -> dict[str, Style]:
        """The component styles (theme colours resolved): ``ok``, ``fail``, ``muted``."""
        return component_styles(self, "api-log-table", ("ok", "fail", "muted"))


def _cell(text: str, style: Style | str = "", justify: str = "left") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="", justify=justify)  # type: ignore[arg-type]


def row_cells(call: ApiCall, glyphs: Glyphs, styles: dict[str, Style]) -> list[Text]:
    """A call's cells in the order of :data:`COLUMNS`."""
    bad = styles["fail"] if call.failed else ""
    return [
        _cell(glyphs.fail if call.failed else glyphs.ok, styles["fail"] if call.failed else styles["ok"]),
        _cell(f"{call.at.astimezone(WARSAW):%Y-%m-%d %H:%M:%S}"),
        _cell(call.method),
        _cell(call.path),
        _cell(status_text(call), bad, "right"),
        _cell(str(call.ms), "", "right"),
        _cell(
            ",".join(map(str, call.codes)) if call.codes else (call.note or ""), bad if call.codes else styles["muted"]
        ),
    ]


def message_text(message: HttpMessage) -> tuple[str, str]:
    """(headers, body) of one side of a call as the dialog shows them."""
    headers = "\n".join(f"{name}: {value}" for name, value in message.headers) or "-"
    return headers, message.body or t("diag.call.no_body")


class ApiCallDialog(ModalScreen[None]):
    """One call: what was sent and what came back, redacted; Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "bind.dialog.close", id="api_log.close"),
    ]

    def __init__(self, call: ApiCall) -> None:
        super().__init__()
        localize(self)
        self.call = call

    def compose(self) -> ComposeResult:
        call = self.call
        with VerticalScroll(id="call-box") as box:
            box.border_title = f"{call.method} {call.path}"
            when = f"{call.at.astimezone(WARSAW):%Y-%m-%d %H:%M:%S}"
            summary = t("diag.call.summary", when=when, status=status_text(call), ms=call.ms)
            if call.codes:
                summary += f", {t('diag.log.codes')} {', '.join(map(str, call.codes))}"
            yield Static(summary, classes="call-text" + (" -fail" if call.failed else ""), markup=False)
            if call.request is None and call.response is None:
                yield Static(t("diag.call.legacy"), classes="call-muted", markup=False)
                if call.status is None and call.note:
                    yield Static(t("diag.call.no_response", note=call.note), classes="call-text -fail", markup=False)
            else:
                yield from self._side(t("diag.call.request"), call.request)
                if call.response is None:
                    yield Static(t("diag.call.response"), classes="call-heading")
                    yield Static(t("diag.call.no_response", note=call.note or "-"), classes="call-text -fail")
                else:
                    yield from self._side(t("diag.call.response"), call.response)
        yield KsefFooter()

    def _side(self, title: str, message: HttpMessage | None) -> ComposeResult:
        yield Static(title, classes="call-heading", markup=False)
        if message is None:
            yield Static("-", classes="call-muted")
            return
        headers, body = message_text(message)
        yield Static(t("diag.call.headers"), classes="call-muted")
        yield Static(headers, classes="call-text", markup=False)
        yield Static(t("diag.call.body"), classes="call-muted")
        yield Static(body, classes="call-text", markup=False)

    def on_mount(self) -> None:
        self.query_one("#call-box", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ApiLogScreen(Screen[None]):
    """The company's KSeF calls, newest first."""

    CSS_PATH = "../styles/diagnostics.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "bind.api_log.open", id="api_log.open", priority=True),
        Binding("f5,r", "refresh", "bind.api_log.refresh", id="api_log.refresh", show=False),
        Binding("escape", "back", "bind.api_log.back", id="api_log.back"),
    ]

    class Loaded(Message):
        """The worker read the log (oldest first)."""

        def __init__(self, profile: Profile | None, calls: list[ApiCall]) -> None:
            super().__init__()
            self.profile = profile
            self.calls = calls

    def __init__(self) -> None:
        super().__init__()
        localize(self)
        self.calls: list[ApiCall] = []

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield CompanyHeader()
        with Vertical(id="api-log-body"):
            yield Static(t("screen.api_log"), classes="screen-title")
            yield Static(t("diag.loading"), id="api-log-summary", markup=False)
            yield ApiLogTable(id="api-log-table")
        yield KsefFooter()

    def on_mount(self) -> None:
        table = self.query_one(ApiLogTable)
        for key, width in COLUMNS.items():
            label = t(f"diag.col.{key}") if key != "mark" else ""
            header = Text(label, justify="right" if key in RIGHT else "left", end="")
            table.add_column(header, width=max(width, cell_len(label)), key=key)
        table.focus()
        self.watch(self.ksef_app, "profile", self._changed, init=False)
        self.watch(self.app, "theme", self._fill, init=False)
        self.action_refresh()

    def _changed(self, _value: object = None) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self._load(self.ksef_app.profile)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="KSeF log: read")
    def _load(self, profile: Profile | None) -> None:
        calls = api_calls(profile) if profile is not None else []
        self.post_message(self.Loaded(profile, calls))

    def on_api_log_screen_loaded(self, message: Loaded) -> None:
        self.calls = message.calls
        self._fill()
        summary = self.query_one("#api-log-summary", Static)
        if message.profile is None:
            summary.update(t("diag.log.no_company"))
        elif not self.calls:
            summary.update(t("diag.log.empty"))
        else:
            failed = sum(1 for call in self.calls if call.failed)
            summary.update(
                t("diag.log.summary", count=len(self.calls), failed=failed)
                + f" {self.ksef_app.glyphs.sep} "
                + t("diag.log.hint")
            )

    def _fill(self, _value: object = None) -> None:
        table = self.query_one(ApiLogTable)
        glyphs, styles = self.ksef_app.glyphs, table.styles_by_name()
        table.clear()
        for index in range(len(self.calls) - 1, -1, -1):
            table.add_row(*row_cells(self.calls[index], glyphs, styles), key=str(index))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != LOAD_GROUP or event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        problem = error.message() if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        self.query_one("#api-log-summary", Static).update(t("diag.load_failed", problem=problem))
        self.notify(t("diag.load_failed", problem=problem), severity="error", timeout=10)

    @property
    def highlighted(self) -> ApiCall | None:
        """The call under the cursor (``None`` when the log is empty)."""
        row = self.query_one(ApiLogTable).cursor_row
        index = len(self.calls) - 1 - row
        return self.calls[index] if 0 <= row < len(self.calls) else None

    def action_open(self) -> None:
        call = self.highlighted
        if call is not None:
            self.app.push_screen(ApiCallDialog(call))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a click on the highlighted row
        self.action_open()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.ksef_app.action_goto("diagnostics")
