"""The invoice detail, of a purchase (by its KSeF number) or a sale (by its invoice number): parties, dates,
KSeF number, payment, lines, the VAT summary per rate, the correction links, a sale's send state, and KOD I
drawn so a phone scans it from the screen, with its link and label. A sale issued offline (issue 14) also has
KOD II drawn beside KOD I (under the facts, the two side by side, or one under the other when the terminal is too
narrow for both) with ``CERTYFIKAT`` and its link, and its mode and deadline (coloured when due today or overdue)
among the facts.

The store is read and the XML parsed by ``services.invoice_view`` in a thread worker (lxml); the visualisation
(MF's stylesheet) is rendered in one too. Saving asks for a path in a small dialog and never overwrites a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.invoice_view import (
    InvoiceView,
    PartyView,
    What,
    content,
    default_path,
    load_invoice,
    open_in_browser,
    save_new,
    save_temporary,
)
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader
from ksef_tui.ui.widgets.qr import QrCode
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog

if TYPE_CHECKING:
    from pathlib import Path

    from ksef_tui.domain.profile import Profile
    from ksef_tui.ui.app import KsefApp

#: Cells between KOD I and KOD II when side by side.
CODES_GAP = 3
LOAD_GROUP = "detail-load"
FILE_GROUP = "detail-file"


def problem_text(error: BaseException | None) -> str:
    if isinstance(error, UserError):
        hint = error.hint()
        return error.message() + (f"\n{hint}" if hint else "")
    return f"{type(error).__name__}: {error}"


def _facts(view: InvoiceView, tones: dict[str, str] | None = None) -> Text:
    """Numbers, dates, payment, send state: a ``label: value`` line each (long values wrap)."""
    none = t("detail.none")
    rows: list[tuple[str, str, str]] = [
        (t("detail.number"), view.number, "bold"),
        (t("detail.kind"), view.kind_text, ""),
        (t("detail.ksef_number"), view.ksef_number or none, "bold" if view.ksef_number else "dim"),
        (t("detail.issue_date"), view.issue_date, ""),
    ]
    if view.sale_date:
        rows.append((t("detail.sale_date"), view.sale_date, ""))
    rows.append((t("detail.acquired"), view.acquired or none, "" if view.acquired else "dim"))
    if view.send_state:
        rows.append((t("detail.send_state"), view.send_state, "bold"))
    if view.offline_mode:
        rows.append((t("detail.offline.mode"), view.offline_mode, ""))
    if view.deadline:
        tone = {"overdue": "fail", "due_today": "warn"}.get(view.deadline_state, "")
        rows.append((t("detail.offline.deadline"), view.deadline, (tones or {}).get(tone, "bold" if tone else "")))
    if view.payment_form:
        rows.append((t("detail.payment_form"), view.payment_form, ""))
    if view.payment_due:
        rows.append((t("detail.payment_due"), view.payment_due, ""))
    rows.extend((t("detail.bank_account"), account, "") for account in view.bank_accounts)
    if view.correction_reason:
        rows.append((t("detail.correction_reason"), view.correction_reason, ""))
    text = Text()
    for index, (label, value, style) in enumerate(rows):
        if index:
            text.append("\n")
        text.append(f"{label}: ", style="dim")
        text.append(value, style=style)
    return text


def _party(title: str, party: PartyView) -> Text:
    text = Text(title + "\n", style="bold")
    text.append(party.name + "\n", style="")
    if party.id_label:
        text.append(party.id_label + "\n", style="")
    text.append(", ".join(party.address), style="dim")
    return text


def _parties(view: InvoiceView) -> Table:
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(_party(t("detail.seller"), view.seller), _party(t("detail.buyer"), view.buyer))
    return grid


def _lines(view: InvoiceView) -> Table:
    table = Table(title=t("detail.lines"), title_justify="left", expand=True, show_edge=False, pad_edge=False)
    table.add_column(t("detail.col.no"), justify="right", no_wrap=True)
    table.add_column(t("detail.col.name"), ratio=1)
    table.add_column(t("detail.col.unit"), no_wrap=True)
    table.add_column(t("detail.col.quantity"), justify="right", no_wrap=True)
    table.add_column(t("detail.col.unit_net"), justify="right", no_wrap=True)
    table.add_column(t("detail.col.rate"), justify="right", no_wrap=True)
    table.add_column(t("detail.col.net"), justify="right", no_wrap=True)
    for line in view.lines:
        table.add_row(line.number, Text(line.name), line.unit, line.quantity, line.unit_net, line.rate, line.net)
    return table


def _summary(view: InvoiceView) -> Table:
    table = Table(
        title=f"{t('detail.vat_summary')} ({view.currency})", title_justify="left", show_edge=False, pad_edge=False
    )
    table.add_column(t("detail.col.rate"), no_wrap=True)
    table.add_column(t("detail.col.net"), justify="right", no_wrap=True)
    table.add_column(t("detail.col.vat"), justify="right", no_wrap=True)
    table.add_column(t("detail.gross"), justify="right", no_wrap=True)
    for row in view.vat_rows:
        table.add_row(row.rate, row.net, row.vat, row.gross)
    table.add_section()
    table.add_row(Text(t("detail.total"), style="bold"), view.net, view.vat, Text(view.gross, style="bold"))
    return table


def _link_prompt(index: int, view: InvoiceView) -> Text:
    link = view.corrections[index]
    label = t("detail.corrected") if link.corrects else t("detail.corrected_by")
    text = Text(f"{label}: ", style="dim")
    text.append(f"{link.number}  {link.ksef_number or t('detail.none')}  {link.issue_date}")
    text.append("  ")
    text.append(t("detail.link.open") if link.target else t("detail.link.absent"), style="italic dim")
    return text


class InvoiceDetailScreen(Screen[None]):
    """One invoice as its parties and the tax office see it, with KOD I to scan."""

    CSS_PATH = "../styles/invoice_detail.tcss"
    DEFAULT_CSS: ClassVar[str] = """
    InvoiceDetailScreen #detail-kod2 { width: auto; height: auto; }
    InvoiceDetailScreen #detail-kod2-title, InvoiceDetailScreen #detail-kod2-link { color: $foreground-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "bind.detail.back", id="detail.back"),
        Binding("o", "open_html", "bind.detail.open_html", id="detail.open_html"),
        Binding("h", "save('html')", "bind.detail.save_html", id="detail.save_html"),
        Binding("x", "save('xml')", "bind.detail.save_xml", id="detail.save_xml"),
        Binding("u", "save('upo')", "bind.detail.save_upo", id="detail.save_upo"),
        Binding("f5,r", "refresh", "bind.detail.refresh", id="detail.refresh", show=False),
    ]

    class Loaded(Message):
        """The worker read and parsed the invoice."""

        def __init__(self, view: InvoiceView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, source: Literal["purchase", "sale"], key: str) -> None:
        super().__init__()
        localize(self)
        self.source: Literal["purchase", "sale"] = source
        self.key = key
        self.view: InvoiceView | None = None

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield CompanyHeader()
        with VerticalScroll(id="detail-body"):
            yield Static(t(f"detail.title.{self.source}", number=self.key), classes="screen-title", id="detail-title")
            yield Static(t("detail.loading"), id="detail-status")
            # ASCII mode draws the code twice as wide: below the facts, not beside them
            with Horizontal(id="detail-top", classes="-ascii" if self.ksef_app.settings.ascii else ""):
                with Vertical(id="detail-info"):
                    yield Static(id="detail-parties")
                    yield Static(id="detail-facts")
                with Horizontal(id="detail-codes"):
                    with Vertical(id="detail-qr"):
                        yield Static(t("detail.qr.title"), id="detail-qr-title")
                        yield QrCode(ascii_only=self.ksef_app.settings.ascii, id="detail-qr-code")
                        yield Static(id="detail-qr-label")
                        yield Static(id="detail-qr-link")
                    with Vertical(id="detail-kod2"):
                        yield Static(t("detail.kod2.title"), id="detail-kod2-title")
                        yield QrCode(ascii_only=self.ksef_app.settings.ascii, id="detail-kod2-code")
                        yield Static(id="detail-kod2-label")
                        yield Static(id="detail-kod2-link")
            yield OptionList(id="detail-links")
            yield Static(id="detail-lines")
            yield Static(id="detail-summary")
        yield KsefFooter()

    def on_mount(self) -> None:
        codes = self.query_one("#detail-codes")
        codes.styles.width = "auto"
        codes.styles.height = "auto"
        self.query_one("#detail-kod2").display = False
        self.query_one("#detail-top").display = False
        self.query_one("#detail-links").display = False
        self.query_one("#detail-body", VerticalScroll).focus()
        profile = self.ksef_app.profile
        if profile is None:
            self.query_one("#detail-status", Static).update(t("detail.not_found", ksef_number=self.key))
            return
        self._load(profile)

    def action_refresh(self) -> None:
        """Read the invoice again (a sale's state may have moved while it was open)."""
        profile = self.ksef_app.profile
        if profile is not None:
            self._load(profile)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="detail: load the invoice")
    def _load(self, profile: Profile) -> None:
        from ksef_tui.domain.booking import warsaw_date

        app = self.ksef_app
        view = load_invoice(app.workspace, profile, self.source, self.key, today=warsaw_date(app.clock()))
        self.post_message(self.Loaded(view))

    def on_invoice_detail_screen_loaded(self, message: Loaded) -> None:
        view = self.view = message.view
        self.query_one("#detail-title", Static).update(
            t(f"detail.title.{view.source}", number=view.number) + f"  ({view.kind_text})"
        )
        self.query_one("#detail-status", Static).display = False
        self.query_one("#detail-top").display = True
        self.query_one("#detail-parties", Static).update(_parties(view))
        theme = self.app.current_theme
        self.query_one("#detail-facts", Static).update(
            _facts(view, {"warn": f"bold {theme.warning}", "fail": f"bold {theme.error}"})
        )
        self.query_one("#detail-qr-code", QrCode).show(view.qr_modules)
        self.query_one("#detail-qr-label", Static).update(Text(view.qr_label, style="bold"))
        self.query_one("#detail-qr-link", Static).update(Text(view.qr_url, style="link " + view.qr_url))
        self._show_kod2(view)
        self.query_one("#detail-lines", Static).update(_lines(view))
        self.query_one("#detail-summary", Static).update(_summary(view))
        links = self.query_one("#detail-links", OptionList)
        links.clear_options()
        if view.corrections:
            links.border_title = t("detail.corrections")
            links.add_options([Option(_link_prompt(i, view), id=str(i)) for i in range(len(view.corrections))])
            links.display = True
            links.highlighted = 0
            links.focus(scroll_visible=False)  # the detail opens at its top: parties, facts and the QR first

    @on(OptionList.OptionSelected, "#detail-links")
    def _link_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.view is None or event.option.id is None:
            return
        link = self.view.corrections[int(event.option.id)]
        if link.target is None:
            self.notify(t("detail.link.absent"))
            return
        source, key = link.target
        self.app.push_screen(InvoiceDetailScreen(source, key))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        problem = problem_text(event.worker.error)
        if event.worker.group == LOAD_GROUP:
            status = self.query_one("#detail-status", Static)
            status.display = True
            status.update(t("detail.load_failed", problem=problem))
        self.notify(problem, severity="error", timeout=10)

    # ------------------------------------------------------------------------------------------ actions

    def _show_kod2(self, view: InvoiceView) -> None:
        """KOD II of an offline invoice beside KOD I, both under the facts (two codes need the width)."""
        self.query_one("#detail-kod2").display = view.offline
        if not view.offline:
            return
        self.query_one("#detail-top").styles.layout = "vertical"
        code = self.query_one("#detail-kod2-code", QrCode)
        code.show(view.kod2_modules)
        self.query_one("#detail-kod2-label", Static).update(Text(view.kod2_label, style="bold"))
        link = self.query_one("#detail-kod2-link", Static)
        link.update(Text(view.kod2_url, style="link " + view.kod2_url))
        link.styles.width = max(len(code.lines[0]) if code.lines else 0, 40)
        self._lay_codes()

    def _lay_codes(self) -> None:
        """Side by side when both codes fit the screen's width, else KOD II under KOD I."""
        view = self.view
        if view is None or not view.offline:
            return
        kod1 = self.query_one("#detail-qr-code", QrCode).lines
        kod2 = self.query_one("#detail-kod2-code", QrCode).lines
        need = (len(kod1[0]) if kod1 else 0) + (len(kod2[0]) if kod2 else 0) + CODES_GAP + 2
        side = need <= self.size.width
        self.query_one("#detail-codes").styles.layout = "horizontal" if side else "vertical"
        self.query_one("#detail-kod2").styles.margin = (0, 0, 0, CODES_GAP) if side else (1, 0, 0, 0)
        # a code wider than the terminal (KOD II drawn in ASCII: two cells a module) scrolls sideways, never cut
        widest = max((len(lines[0]) for lines in (kod1, kod2) if lines), default=0)
        wide = widest + 4 > self.size.width
        self.query_one("#detail-body", VerticalScroll).styles.overflow_x = "auto" if wide else "hidden"
        self.query_one("#detail-top").styles.min_width = widest if wide else None
        self.query_one("#detail-info").styles.max_width = max(self.size.width - 4, 20) if wide else None

    def on_resize(self, _event: Resize) -> None:
        self._lay_codes()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_open_html(self) -> None:
        if self.view is None:
            self.notify(t("detail.loading"))
            return
        self.notify(t("detail.working"), timeout=3)
        self._open_html(self.view)

    @work(thread=True, group=FILE_GROUP, exit_on_error=False, description="detail: open the visualisation")
    def _open_html(self, view: InvoiceView) -> None:
        path = save_temporary(view)
        key = "detail.opened" if open_in_browser(path) else "detail.written_temp"
        self.app.call_from_thread(self.notify, t(key, path=str(path)), timeout=15)

    def action_save(self, what: What) -> None:
        view = self.view
        if view is None:
            self.notify(t("detail.loading"))
            return
        if what == "upo" and not view.has_upo:
            error = UserError("detail.no_upo")
            self.notify(problem_text(error), severity="warning", timeout=8)
            return

        def chosen(where: Path | None) -> None:
            if where is not None:
                self._save(view, what, str(where))

        self.app.push_screen(SaveFileDialog(t(f"detail.save.title.{what}"), default_path(view, what)), chosen)

    @work(thread=True, group=FILE_GROUP, exit_on_error=False, description="detail: save a file")
    def _save(self, view: InvoiceView, what: What, where: str) -> None:
        app = self.ksef_app
        profile = app.profile
        try:
            if profile is None:
                raise UserError("detail.no_upo")
            path = save_new(content(app.workspace, profile, view, what), where)
        except UserError as exc:
            self.app.call_from_thread(self.notify, problem_text(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(self.notify, t("detail.saved", path=str(path)), timeout=8)
