"""Customer transactions ("Transakcje klienta, korekty", issue 13 §2): the customers on the left, the sales
invoices and corrections of the one chosen (or of all) on the right with the KSeF status glyph column, the
highlighted invoice's status in words on the detail line (KSeF's reason for a refusal).

Actions: send the highlighted invoice or every unsent one (a confirmation with the count and the gross total per
currency, from the send's plan), read the statuses again, save the UPO to a new file, e-mail the KSeF number,
open the detail, make a correction of an accepted invoice, the legend on ``?``; for an offline invoice KSeF
rejected for a technical reason, its technical correction (``t``: the fixed FA(3) file, read through the open-file
dialog, corrected and sent at once by ``services.offline.correct_and_send``). An offline invoice waiting to be
sent shows its glyph and deadline (issue 14), the detail line its mode and deadline in words.

Work runs in workers: the register and the plan are read in threads (a read-only open of the store, so they are
read while a send holds its lock); the send is an async worker (group ``transactions-send``) over
``Workspace.send``. While it runs, each progress step and a short timer read the statuses again, so the glyphs
change live (queued → sending → accepted or rejected) as the send pipeline writes them. :meth:`send` is public:
the invoice form offers "Send to KSeF" after saving through it.

The store has one writer (its lock, ``store.db``), and a send holds it from start to end. What else here writes
(an e-mail goes through the outbox; a UPO not yet on this computer is downloaded and kept) takes its turn after
the send instead of failing on the lock: the status line names what waits, a notification says it goes when
the send finishes, and it goes then. A UPO already kept is read through a read-only open, so ``u`` saves it at
once even while a send runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.transactions import (
    ALL,
    Transactions,
    TxRow,
    TxStatus,
    default_upo_path,
    gross_text,
    load_transactions,
    mail_ksef_numbers,
    plan,
    save_file,
    saved_upo,
)
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog
from ksef_tui.ui.widgets.transaction_dialogs import ConfirmSendDialog, LegendDialog, OpenFileDialog
from ksef_tui.ui.widgets.transactions_table import TransactionsTable, mail_word, status_glyph, status_word

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.sending import SendOptions, SendProgress, SendReport, Skip
    from ksef_tui.ui.app import KsefApp

LOAD_GROUP = "transactions-load"
SEND_GROUP = "transactions-send"
ACTION_GROUP = "transactions-action"
#: How often the statuses are read again while a send runs (seconds).
LIVE_EVERY = 0.25


def skip_note(skip: Skip) -> str:
    """Why an invoice is left out of a send, in the screen's words (the CLI's name its options)."""
    if skip.key == "send.skip.before_start":
        start = skip.values.get("start", "")
        shown = f"{start[8:10]}.{start[5:7]}.{start[:4]}" if len(start) == 10 else start
        return t("tx.skip.before_start", number=skip.number, start=shown)
    return t(skip.key, number=skip.number, **skip.values)


class TransactionsScreen(Screen[None]):
    """The sales register by customer, with what KSeF made of each invoice."""

    CSS_PATH = "../styles/transactions.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "send_selected", "tx.bind.send", id="transactions.send", tooltip="tx.bind.send.help"),
        Binding("a", "send_all", "tx.bind.send_all", id="transactions.send-all", tooltip="tx.bind.send_all.help"),
        Binding("u", "upo", "tx.bind.upo", id="transactions.upo", tooltip="tx.bind.upo.help"),
        Binding("m", "mail", "tx.bind.mail", id="transactions.mail", tooltip="tx.bind.mail.help"),
        Binding("k", "correct", "tx.bind.correct", id="transactions.correct", tooltip="tx.bind.correct.help"),
        Binding("d", "detail", "tx.bind.detail", id="transactions.detail", show=False, tooltip="tx.bind.detail.help"),
        Binding(
            "t",
            "correct_technical",
            "tx.bind.correct_technical",
            id="transactions.correct-technical",
            show=False,
            tooltip="tx.bind.correct_technical.help",
        ),
        Binding("f5,r", "refresh", "tx.bind.refresh", id="transactions.refresh", tooltip="tx.bind.refresh.help"),
        Binding("question_mark", "legend", "tx.bind.legend", id="transactions.legend", tooltip="tx.bind.legend.help"),
    ]

    class Loaded(Message):
        """The register was read (``generation`` orders reads: an older one never overwrites a newer)."""

        def __init__(self, transactions: Transactions, generation: int) -> None:
            super().__init__()
            self.transactions = transactions
            self.generation = generation

    class SendFinished(Message):
        """A send ended (``report`` is ``None`` when the user declined or nothing was sent)."""

        def __init__(self, report: SendReport | None) -> None:
            super().__init__()
            self.report = report

    def __init__(self) -> None:
        super().__init__()
        localize(self)
        self.transactions = Transactions()
        self.customer = ALL
        self.progress_text = ""
        self._generation = 0
        self._shown_generation = -1
        self._live: Timer | None = None
        self._sending = False
        self._writer = asyncio.Lock()  # this screen's turn to write the store: a send, an e-mail, a UPO download
        self._waiting: list[str] = []  # what waits for that turn, as the status line names it
        self._status_text = ""
        self.send_options: SendOptions | None = None  # the workspace's defaults unless set (tests poll faster)

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    @property
    def ascii_only(self) -> bool:
        return self.ksef_app.glyphs.ok == "ok"

    @property
    def sending(self) -> bool:
        return self._sending

    def compose(self) -> ComposeResult:
        yield CompanyHeader()
        with Horizontal(id="tx-body"):
            with Vertical(id="tx-left"):
                yield Static(t("tx.customers"), classes="section-title")
                yield OptionList(id="tx-customers")
            with Vertical(id="tx-right"):
                yield Static(t("screen.transactions"), classes="screen-title", id="tx-title")
                yield TransactionsTable(ascii_only=self.ascii_only, id="tx-table")
                yield Static("", id="tx-detail", markup=False)
                yield Static(t("tx.loading"), id="tx-status", markup=False)
        yield KsefFooter()

    def on_mount(self) -> None:
        self.watch(self.ksef_app, "profile", self._company_changed, init=False)
        self.query_one(TransactionsTable).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        if self._shown_generation >= 0:
            self.action_refresh()

    def _company_changed(self, _value: object = None) -> None:
        self.customer = ALL
        self.action_refresh()

    # ------------------------------------------------------------------------------------------ reading

    def action_refresh(self) -> None:
        profile = self.ksef_app.profile
        if profile is None:
            self._status(t("tx.no_company"))
            return
        self._generation += 1
        self._load(profile, self._generation)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="transactions: read")
    def _load(self, profile: Profile, generation: int) -> None:
        from ksef_tui.domain.booking import warsaw_date

        try:
            found = load_transactions(self.ksef_app.workspace, profile, warsaw_date(self.ksef_app.clock()))
        except UserError as exc:
            self.app.call_from_thread(self._status, t("tx.load_failed", problem=exc.message()))
            return
        self.post_message(self.Loaded(found, generation))

    def on_transactions_screen_loaded(self, message: Loaded) -> None:
        if message.generation < self._shown_generation:
            return
        self._shown_generation = message.generation
        self.transactions = message.transactions
        self._show_customers()
        self._show_rows()
        if not self._sending:
            self._status(self._summary())

    def _show_customers(self) -> None:
        menu = self.query_one("#tx-customers", OptionList)
        found = self.transactions
        wanted = [Option(t("tx.all_customers", count=len(found.rows)), id="all")]
        for customer in found.customers:
            marker = f" ({customer.unsent})" if customer.unsent else ""
            wanted.append(Option(f"{customer.name}{marker}", id=customer.key))
        keys = [option.id for option in wanted]
        if [menu.get_option_at_index(i).id for i in range(menu.option_count)] == keys:
            for index, option in enumerate(wanted):
                menu.replace_option_prompt_at_index(index, option.prompt)
            return
        highlighted = self.customer or "all"
        menu.clear_options()
        menu.add_options(wanted)
        if highlighted not in keys:
            self.customer, highlighted = ALL, "all"
        menu.highlighted = keys.index(highlighted)

    def _show_rows(self) -> None:
        table = self.query_one(TransactionsTable)
        table.show(self.transactions.of(self.customer))
        self._show_detail()

    def _summary(self) -> str:
        rows = self.transactions.of(self.customer)
        if not rows:
            return t("tx.empty")
        counts: dict[TxStatus, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        glyphs = self.ascii_only
        shown = [s for s in TxStatus if s in counts]
        full = "  ".join(f"{status_glyph(s, glyphs)} {status_word(s)}: {counts[s]}" for s in shown)
        room = self.query_one("#tx-status", Static).content_region.width
        if room and cell_len(full) > room:  # every count rather than words cut off (the legend, ?, names them)
            return "  ".join(f"{status_glyph(s, glyphs)} {counts[s]}" for s in shown)
        return full

    def _status(self, text: str) -> None:
        self._status_text = text
        self._show_status()

    def _show_status(self) -> None:
        """The status line: the summary or the send's step, then what waits for its turn to write the store."""
        text = self._status_text
        if self._waiting:
            key = "tx.waits.after_send" if self._sending else "tx.waits.after_other"
            note = t(key, what=", ".join(self._waiting))
            text = f"{text} {self.ksef_app.glyphs.sep} {note}" if text else note
        self.query_one("#tx-status", Static).update(text)

    @contextlib.asynccontextmanager
    async def _writing(self, waiting: str, notice: str) -> AsyncIterator[None]:
        """This screen's turn to write the store (it has one writer; a send holds it until it ends). While another
        holds the turn, ``waiting`` is named on the status line, and ``notice`` is told when a send holds it."""
        waits = self._writer.locked()
        if waits:
            self._waiting.append(waiting)
            if self._sending:
                self.notify(notice, timeout=10)
            self._show_status()
        try:
            await self._writer.acquire()
        finally:
            if waits:
                self._waiting.remove(waiting)
                self._show_status()
        try:
            yield
        finally:
            self._writer.release()

    @on(OptionList.OptionHighlighted, "#tx-customers")
    def _customer_chosen(self, event: OptionList.OptionHighlighted) -> None:
        key = event.option.id or "all"
        chosen = ALL if key == "all" else key
        if chosen != self.customer:
            self.customer = chosen
            self._show_rows()
            if not self._sending:
                self._status(self._summary())

    @on(OptionList.OptionSelected, "#tx-customers")
    def _customer_selected(self, _event: OptionList.OptionSelected) -> None:
        self.query_one(TransactionsTable).focus()

    @on(DataTable.RowHighlighted, "#tx-table")
    def _row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(DataTable.RowSelected, "#tx-table")
    def _row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_detail()

    def current(self) -> TxRow | None:
        return self.query_one(TransactionsTable).current()

    def detail_text(self, row: TxRow | None) -> str:
        """The highlighted invoice in words: glyph and status, KSeF number or reason, the kind, the customer, mail."""
        if row is None:
            return ""
        glyph = status_glyph(row.status, self.ascii_only)
        head = f"{glyph} {status_word(row.status)}"
        if row.status is TxStatus.ACCEPTED:
            head += f": {t('tx.detail.ksef', ksef=row.ksef_number)}"
        elif row.status is TxStatus.DUPLICATE:
            head += f": {t('tx.detail.duplicate', ksef=row.ksef_number)}"
        elif row.status is TxStatus.BEFORE_START:
            profile = self.ksef_app.profile
            start = f"{profile.start_date:%d.%m.%Y}" if profile else "-"
            head += f": {t('tx.detail.before_start', start=start)}"
        if row.reason and row.status in (TxStatus.REJECTED, TxStatus.ATTENTION, TxStatus.DUPLICATE):
            head += f" {self.ksef_app.glyphs.sep} {t('tx.detail.reason', reason=row.reason)}"
        if row.deadline:
            mode = t(f"offline.mode.{row.offline_mode}")
            head += f" {self.ksef_app.glyphs.sep} {t('tx.detail.offline', mode=mode, deadline=row.deadline)}"
        kind = row.kind_label
        if row.corrected_number:
            kind += f" {t('tx.detail.corrects', number=row.corrected_number)}"
        parts = [f"{row.number} ({kind})", row.customer, f"{row.gross_text} {row.currency}"]
        if row.mail != "none":
            parts.append(f"{t('tx.detail.mail')}: {mail_word(row.mail)}")
        if row.upo:
            parts.append(t("tx.detail.upo"))
        return f"{head}\n{f' {self.ksef_app.glyphs.sep} '.join(parts)}"

    def _show_detail(self) -> None:
        """The detail line; an offline deadline due today in the warning colour, an overdue one in the error's."""
        row = self.current()
        text = Text(self.detail_text(row))
        if row is not None and row.deadline and row.deadline_tone != "plain":
            tones = self.query_one(TransactionsTable)._tones()
            start = text.plain.find(row.deadline)
            if start >= 0:
                text.stylize(tones[row.deadline_tone], start, start + len(row.deadline))
        self.query_one("#tx-detail", Static).update(text)

    # ------------------------------------------------------------------------------------------ sending

    def action_send_selected(self) -> None:
        row = self.current()
        if row is None:
            self.notify(t("tx.nothing_selected"), severity="warning")
            return
        if not row.sendable:
            self.notify(t("tx.not_sendable", number=row.number, status=status_word(row.status)), severity="warning")
            return
        self.send([row.number])

    def action_send_all(self) -> None:
        self.send(None)

    def send(self, numbers: list[str] | None) -> None:
        """Send ``numbers`` (``None``: every queued invoice) after the user confirms the count and gross total;
        the glyphs follow the send as it goes. Other screens call this (the invoice form after saving)."""
        if self._sending:
            self.notify(t("tx.send.busy"), severity="warning")
            return
        profile = self.ksef_app.profile
        if profile is None:
            self.notify(t("tx.no_company"), severity="warning")
            return
        self._sending = True
        self._send(profile, numbers)

    @work(exclusive=True, group=SEND_GROUP, exit_on_error=False, description="transactions: send")
    async def _send(self, profile: Profile, numbers: list[str] | None) -> None:
        app = self.ksef_app
        report: SendReport | None = None
        try:
            chosen = await asyncio.to_thread(plan, app.workspace, profile, numbers)
            notes = [skip_note(skip) for skip in chosen.skipped]
            if not chosen.count:
                self.notify("\n".join([t("tx.send.nothing"), *notes[:5]]), severity="warning", timeout=10)
                return
            dialog = ConfirmSendDialog(chosen.count, gross_text(chosen.gross()), notes[:6])
            if not await self.app.push_screen_wait(dialog):
                return
            wanted = [sale.record.number for sale in [*chosen.ready, *chosen.deferred]]
            if self._writer.locked():  # an e-mail or a UPO download of this screen is writing the store
                self._status(t("tx.send.waits"))
            async with self._writer:
                app.session_note = t("tx.send.note", count=len(wanted))
                self._status(t("tx.send.started", count=len(wanted)))
                self._live = self.set_interval(LIVE_EVERY, self.action_refresh)
                report = await app.workspace.send(
                    profile, wanted, options=self.send_options, on_progress=self._progress
                )
        except UserError as exc:
            hint = exc.hint()
            self.notify(exc.message() + (f"\n{hint}" if hint else ""), severity="error", timeout=15)
        finally:
            if self._live is not None:
                self._live.stop()
                self._live = None
            app.session_note = ""
            self._sending = False
            self.post_message(self.SendFinished(report))

    def _progress(self, progress: SendProgress) -> None:
        """A step of the send (on the event loop): say it and read the statuses again."""
        text = t(f"tx.phase.{progress.phase}")
        if progress.total:
            text += f" ({progress.done}/{progress.total})"
        self.progress_text = text
        self._status(f"{self.ksef_app.glyphs.busy} {text}")
        self.action_refresh()

    def on_transactions_screen_send_finished(self, message: SendFinished) -> None:
        self.progress_text = ""
        report = message.report
        self.action_refresh()
        if report is None:
            return
        self.ksef_app.refresh_company()
        parts = [t("tx.send.done", accepted=len(report.accepted), rejected=len(report.rejected))]
        if report.duplicates:
            parts.append(t("tx.send.duplicates", count=len(report.duplicates)))
        if report.pending:
            parts.append(t("tx.send.pending", count=len(report.pending)))
        if report.trouble:
            parts.append(report.trouble)
        if report.rejected or report.trouble:
            self.notify("\n".join(parts), severity="error", timeout=10)
        else:
            self.notify("\n".join(parts), timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly: said in a notification, never a crash nor silence."""
        if event.state is not WorkerState.ERROR or event.worker.group not in (LOAD_GROUP, SEND_GROUP, ACTION_GROUP):
            return
        error = event.worker.error
        problem = error.message() if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        self.notify(problem, severity="error", timeout=15)

    # ------------------------------------------------------------------------------------------ the rest

    def action_upo(self) -> None:
        row = self.current()
        if row is None or row.status not in (TxStatus.ACCEPTED, TxStatus.DUPLICATE) or not row.ksef_number:
            self.notify(t("tx.upo.not_accepted"), severity="warning")
            return
        profile = self.ksef_app.profile
        if profile is not None:
            self._upo(profile, row.number, row.ksef_number)

    @work(group=ACTION_GROUP, exit_on_error=False, description="transactions: UPO")
    async def _upo(self, profile: Profile, number: str, ksef_number: str) -> None:
        """The UPO to a new file: the copy kept on this computer (read-only, so even during a send), else
        downloaded from KSeF and kept (a write: after the send)."""
        workspace = self.ksef_app.workspace
        try:
            data = await asyncio.to_thread(saved_upo, workspace, profile, ksef_number)
            if data is None:
                async with self._writing(t("tx.waits.upo", number=number), t("tx.upo.waits", number=number)):
                    _number, data = await workspace.upo(profile, ksef_number)
            where = await self.app.push_screen_wait(
                SaveFileDialog(t("tx.upo.title", ksef=ksef_number), default_upo_path(ksef_number))
            )
            if where is None:
                return
            path = await asyncio.to_thread(save_file, data, str(where))
        except UserError as exc:
            self.notify(exc.message(), severity="error", timeout=10)
            return
        self.notify(t("tx.upo.saved", path=str(path)), timeout=8)

    def action_mail(self) -> None:
        row = self.current()
        if row is None or row.status is not TxStatus.ACCEPTED:
            self.notify(t("tx.mail.not_accepted"), severity="warning")
            return
        profile = self.ksef_app.profile
        if profile is None:
            return
        if t("tx.waits.mail", number=row.number) in self._waiting:  # pressed again: it is on its way already
            self.notify(t("tx.mail.waits", number=row.number), timeout=10)
            return
        self._mail(profile, row.number)

    @work(group=ACTION_GROUP, exit_on_error=False, description="transactions: mail")
    async def _mail(self, profile: Profile, number: str) -> None:
        """Queue the e-mail in the outbox and deliver it (the store is written: after a send under way)."""
        try:
            async with self._writing(t("tx.waits.mail", number=number), t("tx.mail.waits", number=number)):
                outcome = await asyncio.to_thread(mail_ksef_numbers, self.ksef_app.workspace, profile, [number])
        except UserError as exc:
            self.notify(exc.message(), severity="error", timeout=10)
            return
        for sent in outcome.sent:
            self.notify(t("tx.mailed.sent", number=sent), timeout=8)
        for done in outcome.already_sent:
            self.notify(t("tx.mailed.already", number=done), timeout=8)
        for failed, why in outcome.failed:
            self.notify(t("tx.mailed.failed", number=failed, why=why), severity="error")
        self.action_refresh()

    def action_detail(self) -> None:
        row = self.current()
        if row is None:
            return
        try:
            from ksef_tui.ui.screens.invoice_detail import InvoiceDetailScreen  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            self.notify(t("tx.detail.unavailable", number=row.number), severity="warning")
            return
        self.app.push_screen(InvoiceDetailScreen(source="sale", key=row.number))

    def action_correct(self) -> None:
        row = self.current()
        if row is None or not row.correctable:
            self.notify(t("tx.correct.not_accepted"), severity="warning")
            return
        try:
            from ksef_tui.ui.screens.invoice_form import InvoiceFormScreen  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            self.notify(t("tx.correct.unavailable", number=row.number), severity="warning")
            return
        self.app.push_screen(InvoiceFormScreen(correct=row.number))

    def action_correct_technical(self) -> None:
        """The technical correction of the highlighted offline invoice KSeF rejected for a technical reason: its
        fixed FA(3) file, corrected and sent at once (the glyphs follow it as a send's do)."""
        row = self.current()
        if row is None:
            self.notify(t("tx.nothing_selected"), severity="warning")
            return
        if not row.technical:
            self.notify(
                t("tx.technical.not_possible", number=row.number, status=status_word(row.status)), severity="warning"
            )
            return
        if self._sending:
            self.notify(t("tx.send.busy"), severity="warning")
            return
        profile = self.ksef_app.profile
        if profile is None:
            self.notify(t("tx.no_company"), severity="warning")
            return
        self._sending = True
        self._correct_technical(profile, row.number)

    @work(exclusive=True, group=SEND_GROUP, exit_on_error=False, description="transactions: technical correction")
    async def _correct_technical(self, profile: Profile, number: str) -> None:
        from ksef_tui.services.offline import correct_and_send

        app = self.ksef_app
        report: SendReport | None = None
        try:
            where = await self.app.push_screen_wait(OpenFileDialog(t("tx.technical.title", number=number), "~/"))
            if where is None:
                return
            if self._writer.locked():
                self._status(t("tx.send.waits"))
            async with self._writer:
                app.session_note = t("tx.send.note", count=1)
                self._status(t("tx.technical.started", number=number))
                self._live = self.set_interval(LIVE_EVERY, self.action_refresh)
                _sale, report = await correct_and_send(
                    app.workspace, profile, number, where, options=self.send_options, on_progress=self._progress
                )
        except UserError as exc:
            hint = exc.hint()
            self.notify(exc.message() + (f"\n{hint}" if hint else ""), severity="error", timeout=15)
        finally:
            if self._live is not None:
                self._live.stop()
                self._live = None
            app.session_note = ""
            self._sending = False
            self.post_message(self.SendFinished(report))

    def action_legend(self) -> None:
        self.app.push_screen(LegendDialog(self.ascii_only))
