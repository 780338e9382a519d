"""The Diagnostics screen, for support staff: versions and platform, where the secrets and the company's data
live (and who holds its lock), the KSeF environment, the credential (fingerprint, days left), the last check's
steps, the session and the KSeF communication log; the whole as a plain-text report to copy (OSC 52, works over
SSH) or save.

Everything is read by ``services.diagnostics.collect`` in a thread worker (vault, store and files block); the
screen reads again when the company or its last check changes, or on ``diagnostics.refresh``. No value shown
is a secret: see the service's docstring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.diagnostics import (
    DiagnosticsReport,
    Section,
    Tone,
    collect,
    default_report_path,
    report_text,
    save_report,
    sections,
)
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog

if TYPE_CHECKING:
    from pathlib import Path

    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.verify import Verification
    from ksef_tui.ui.app import KsefApp

#: The label column's widest (longer labels wrap).
MAX_LABEL = 28
LOAD_GROUP = "diagnostics-load"
SAVE_GROUP = "diagnostics-save"


def label_width(parts: list[Section]) -> int:
    """The label column's width: the longest label of all sections (at most :data:`MAX_LABEL`) and a gap."""
    return min(MAX_LABEL, max((cell_len(row.label) for part in parts for row in part.rows), default=0)) + 2


def section_widgets(section: Section, width: int) -> list[Widget]:
    """A section as widgets: its title, then a row per line (label column, value wrapping beside it)."""
    widgets: list[Widget] = [Static(section.title, classes="section-title", markup=False)]
    for row in section.rows:
        label = Static(row.label, classes="diag-label", markup=False)
        label.styles.width = width
        value = Static(row.value, classes="diag-value", markup=False)
        if row.tone is not Tone.PLAIN:
            value.add_class(f"-{row.tone.value}")
        widgets.append(Horizontal(label, value, classes="diag-row"))
    return widgets


class DiagnosticsScreen(Screen[None]):
    """What support asks for, on one screen and in one report."""

    CSS_PATH = "../styles/diagnostics.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_report", "bind.diag.copy", id="diagnostics.copy"),
        Binding("s", "save_report", "bind.diag.save", id="diagnostics.save"),
        Binding("l", "api_log", "bind.diag.api_log", id="diagnostics.api_log"),
        Binding("f5,r", "refresh", "bind.diag.refresh", id="diagnostics.refresh", show=False),
    ]

    class Collected(Message):
        """The worker collected the report."""

        def __init__(self, report: DiagnosticsReport) -> None:
            super().__init__()
            self.report = report

    def __init__(self) -> None:
        super().__init__()
        localize(self)
        self.report: DiagnosticsReport | None = None

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield CompanyHeader()
        with VerticalScroll(id="diag-body"):
            yield Static(t("diag.title"), classes="screen-title")
            yield Static(t("diag.loading"), id="diag-status")
            yield Vertical(id="diag-sections")
        yield KsefFooter()

    def on_mount(self) -> None:
        app = self.ksef_app
        self.watch(app, "profile", self._changed, init=False)
        self.watch(app, "last_verification", self._changed, init=False)
        self.query_one("#diag-body", VerticalScroll).focus()

    def on_screen_resume(self) -> None:
        """Shown (the first time, back from the log, back in this mode): read again, things may have moved."""
        self.action_refresh()

    def _changed(self, _value: object = None) -> None:
        if self.is_current:
            self.action_refresh()

    # ------------------------------------------------------------------------------------------ loading

    def action_refresh(self) -> None:
        app = self.ksef_app
        self.query_one("#diag-status", Static).update(t("diag.loading"))
        self._collect(app.profile, app.last_verification)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="diagnostics: collect")
    def _collect(self, profile: Profile | None, verification: Verification | None) -> None:
        """Read everything the screen shows (vault, store, files: blocking); never touches widgets."""
        app = self.ksef_app
        report = collect(app.workspace, profile, verification=verification, clock=app.clock)
        self.post_message(self.Collected(report))

    async def on_diagnostics_screen_collected(self, message: Collected) -> None:
        self.report = message.report
        glyphs = self.ksef_app.glyphs
        container = self.query_one("#diag-sections", Vertical)
        parts = sections(message.report, ok=glyphs.ok, fail=glyphs.fail, warn=glyphs.warn)
        width = label_width(parts)
        widgets = [widget for part in parts for widget in section_widgets(part, width)]
        async with container.batch():
            await container.remove_children()
            await container.mount_all(widgets)
        self.query_one("#diag-status", Static).update("")
        self.query_one("#diag-status", Static).display = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        problem = error.message() if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        if event.worker.group == LOAD_GROUP:
            status = self.query_one("#diag-status", Static)
            status.display = True
            status.update(t("diag.load_failed", problem=problem))
            self.notify(t("diag.load_failed", problem=problem), severity="error", timeout=10)
        elif event.worker.group == SAVE_GROUP:
            self.notify(problem, severity="error", timeout=10)

    # ------------------------------------------------------------------------------------------ actions

    def text(self) -> str | None:
        """The report as text (``None`` while it is being collected)."""
        if self.report is None:
            return None
        glyphs = self.ksef_app.glyphs
        return report_text(self.report, ok=glyphs.ok, fail=glyphs.fail, warn=glyphs.warn)

    def action_copy_report(self) -> None:
        text = self.text()
        if text is None:
            self.notify(t("diag.loading"))
            return
        self.app.copy_to_clipboard(text)
        self.notify(t("diag.copied"), timeout=6)

    def action_save_report(self) -> None:
        text = self.text()
        if text is None:
            self.notify(t("diag.loading"))
            return

        def chosen(where: Path | None) -> None:
            if where is not None:
                self._save(text, str(where))

        self.app.push_screen(SaveFileDialog(t("diag.save.title"), default_report_path(self.ksef_app.clock())), chosen)

    @work(thread=True, group=SAVE_GROUP, exit_on_error=False, description="diagnostics: save the report")
    def _save(self, text: str, where: str) -> None:
        try:
            path = save_report(text, where)
        except UserError as exc:
            hint = exc.hint()
            self.app.call_from_thread(
                self.notify, exc.message() + (f"\n{hint}" if hint else ""), severity="error", timeout=10
            )
            return
        self.app.call_from_thread(self.notify, t("diag.saved", path=str(path)), timeout=8)

    def action_api_log(self) -> None:
        from ksef_tui.ui.screens.api_log import ApiLogScreen

        self.app.push_screen(ApiLogScreen())
