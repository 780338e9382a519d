"""The sales invoice form and the correction form.

``InvoiceFormScreen()`` issues a new invoice; ``InvoiceFormScreen(correct="FV/1/10/2026")`` a correction of
that accepted invoice (its lines before, read-only; after, editable; the reason and the type of correction).
The screen dismisses with :class:`FormResult` (the saved number, and whether the person chose to send it to
KSeF now: the caller sends) or ``None`` when left without saving.

The VAT summary under the lines is :func:`ksef_tui.services.invoice_form.totals_view`, computed by the same
function the XML builder writes ``P_13_x``/``P_14_x``/``P_15`` from. Loading, the schema check and the save run in
thread workers (the store and its lock, lxml); problems are shown at their fields.

A new invoice may be issued offline (issue 14): the "Issue" choice under the payment offers ``offline24`` always,
and ``offline``/``emergency`` while the app's ``availability`` says KSeF announced an unavailability/failure (that
mode then comes pre-selected, as ``offline24`` does when KSeF is unreachable unannounced). The line beside it says
what it means: the deadline to send it (computed), KOD II signed with the company's Offline certificate, or, with
none, how to get one. An offline invoice is saved through ``services.offline.issue_offline_invoice`` and queued;
the form then says so instead of offering to send it now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import CorrectionType, PaymentForm
from ksef_tui.domain.offline import OfflineMode, Outage
from ksef_tui.errors import UserError
from ksef_tui.i18n import t
from ksef_tui.services.invoice_form import (
    FormContext,
    InvoiceDraft,
    LineDraft,
    Reading,
    TotalsView,
    add_customer,
    check_schema,
    draft_from,
    format_date,
    issue_outages,
    load_form,
    nip_message,
    offline_choices,
    offline_note,
    parse_date,
    parse_number,
    read_draft,
    save,
    totals_view,
)
from ksef_tui.services.purchases import money
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader
from ksef_tui.ui.widgets.invoice_lines import InvoiceLines, before_lines

if TYPE_CHECKING:
    from ksef_tui.domain.invoice import Address, SalesInvoice, Seller
    from ksef_tui.store.sales import Sale
    from ksef_tui.ui.app import KsefApp

#: The issue choice's value for an invoice sent to KSeF as usual (the others are ``OfflineMode`` values).
ONLINE = "online"
LOAD_GROUP = "invoice-form-load"
SAVE_GROUP = "invoice-form-save"
CUSTOMER_GROUP = "invoice-form-customer"
#: The plain fields: id -> (label key); each is an Input with id ``f-<id>`` and an error line ``e-<id>``.
_INPUTS = (
    "seller_name",
    "seller_address",
    "seller_address2",
    "issue_date",
    "sale_date",
    "currency",
    "exchange_rate",
    "due_date",
    "bank_account",
    "reason",
)


@dataclass(frozen=True, slots=True)
class FormResult:
    """The saved document's number; ``send``: the person chose to send it to KSeF now."""

    number: str
    send: bool


def field(name: str, widget: Widget, *, label: str | None = None) -> Vertical:
    """A labelled field with its error line under it (``e-<name>``)."""
    return Vertical(
        Label(label or t(f"form.{name}"), classes="field-label"),
        widget,
        Static("", id=f"e-{name}", classes="field-error -empty", markup=False),
        classes=f"field field-{name}",
    )


class ChoiceDialog(ModalScreen[bool]):
    """A question with two buttons: yes (first, focused) or no; Escape is no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", "bind.form.cancel", id="form.dialog-cancel"),
        Binding("left,right", "app.focus_next", show=False, id="form.dialog-switch"),
    ]

    def __init__(self, question: str, yes: str, no: str, *, title: str = "") -> None:
        super().__init__()
        localize(self)
        self.question, self.yes, self.no, self.title_text = question, yes, no, title

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box") as box:
            box.border_title = self.title_text
            yield Static(self.question, id="choice-question", markup=False)
            with Horizontal(id="choice-buttons"):
                yield Button(self.yes, id="choice-yes", variant="primary", compact=True)
                yield Button(self.no, id="choice-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#choice-yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "choice-yes")

    def action_no(self) -> None:
        self.dismiss(False)


class NewCustomerDialog(ModalScreen[tuple[str, str, str] | None]):
    """Name, NIP (checked as typed) and e-mail of a new customer; Enter on the last field or the button adds."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "bind.form.cancel", id="form.customer-cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        localize(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="customer-box") as box:
            box.border_title = t("form.customer.title")
            yield field("customer-name", Input(id="c-name", compact=True), label=t("form.customer.name"))
            yield field("customer-nip", Input(id="c-nip", compact=True), label=t("form.customer.nip"))
            yield field("customer-email", Input(id="c-email", compact=True), label=t("form.customer.email"))
            with Horizontal(id="choice-buttons"):
                yield Button(t("form.customer.save"), id="c-save", variant="primary", compact=True)
                yield Button(t("form.customer.cancel"), id="c-cancel", compact=True)

    @on(Input.Changed, "#c-nip")
    def _nip_typed(self, event: Input.Changed) -> None:
        """The checksum checked at every keystroke once ten digits may be there."""
        message = nip_message(event.value) if event.value.strip() else ""
        error = self.query_one("#e-customer-nip", Static)
        ok = bool(event.value.strip()) and not message
        error.update(t("form.nip.ok") if ok else message)
        error.set_class(not (message or ok), "-empty")
        error.set_class(ok, "-ok")
        event.input.set_class(bool(message), "-error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "c-email":
            self._add()
        else:
            self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "c-save":
            self._add()
        else:
            self.dismiss(None)

    def _add(self) -> None:
        name = self.query_one("#c-name", Input).value.strip()
        nip = self.query_one("#c-nip", Input).value.strip()
        email = self.query_one("#c-email", Input).value.strip()
        problems = {"customer-name": t("form.err.required") if not name else "", "customer-nip": nip_message(nip)}
        for key, message in problems.items():
            error = self.query_one(f"#e-{key}", Static)
            error.update(message)
            error.set_class(not message, "-empty")
            error.remove_class("-ok")
        if any(problems.values()):
            return
        self.dismiss((name, nip, email))

    def action_cancel(self) -> None:
        self.dismiss(None)


class InvoiceFormScreen(Screen["FormResult | None"]):
    """The form of a new sales invoice, or of a correction of an accepted one (``correct``: its number)."""

    CSS_PATH = "../styles/invoice_form.tcss"
    DEFAULT_CSS: ClassVar[str] = """
    InvoiceFormScreen #form-offline-note { width: 1fr; height: auto; margin-top: 1; color: $text-warning; }
    InvoiceFormScreen #form-offline-note.-online { display: none; }
    InvoiceFormScreen #form-offline-note.-error { color: $text-error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "bind.form.save", id="form.save", tooltip="bind.form.save.help", priority=True),
        Binding("ctrl+n", "add_line", "bind.form.add_line", id="form.add-line", tooltip="bind.form.add_line.help"),
        Binding(
            "ctrl+r",
            "remove_line",
            "bind.form.remove_line",
            id="form.remove-line",
            tooltip="bind.form.remove_line.help",
        ),
        Binding("ctrl+t", "new_customer", "bind.form.customer", id="form.customer", tooltip="bind.form.customer.help"),
        Binding("escape", "cancel", "bind.form.cancel", id="form.cancel", tooltip="bind.form.cancel.help"),
    ]

    def __init__(self, correct: str | None = None) -> None:
        super().__init__()
        localize(self)
        self.correct = correct
        self.context: FormContext | None = None
        self.edited = False
        self.checked = False  # after the first save attempt every problem shows, not only those of edited fields
        self.touched: set[str] = set()
        self.saving = False
        self._filling = False
        self.schema_errors: dict[str, str] = {}  # the last save's schema findings, until their field is edited
        self.shown_totals: TotalsView | None = None  # what the totals say now (the XML's P_13_x/P_14_x/P_15)

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield CompanyHeader()
        with VerticalScroll(id="form-body", can_focus=False):
            title = t("form.title.correction", number=self.correct) if self.correct else t("form.title.new")
            yield Static(title, id="form-title", classes="screen-title", markup=False)
            yield Static("", id="form-number", markup=False)
            yield Static("", id="form-status", markup=False)
        yield KsefFooter()

    def on_mount(self) -> None:
        self.watch(self.ksef_app, "availability", self._availability_changed, init=False)
        self._load()

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="invoice form: load")
    def _load(self) -> None:
        app = self.ksef_app
        profile = app.profile
        if profile is None:
            app.call_from_thread(self.dismiss, None)
            return
        today = self._today()
        try:
            context = load_form(app.workspace, profile, today, self.correct, now=app.clock())
        except UserError as exc:
            app.call_from_thread(self.notify, exc.message(), severity="error")
            app.call_from_thread(self.dismiss, None)
            return
        except OSError as exc:
            app.call_from_thread(self.notify, str(exc), severity="error")
            app.call_from_thread(self.dismiss, None)
            return
        draft = draft_from(context, today)
        app.call_from_thread(lambda: self.run_worker(self._build(context, draft), group=LOAD_GROUP + "-build"))

    def _today(self) -> date:
        from zoneinfo import ZoneInfo

        return self.ksef_app.clock().astimezone(ZoneInfo("Europe/Warsaw")).date()

    async def _build(self, context: FormContext, draft: InvoiceDraft) -> None:
        self.context = context
        self._filling = True
        body = self.query_one("#form-body", VerticalScroll)
        self.query_one("#form-number", Static).update(t("form.number", number=context.next_number))
        original = context.original
        widgets: list[Widget] = []
        if original is not None:
            invoice = original.invoice
            widgets.append(
                Static(
                    t(
                        "form.corrects",
                        number=invoice.number,
                        ksef=original.ksef_number,
                        date=format_date(invoice.issue_date),
                    ),
                    id="form-corrects",
                    markup=False,
                )
            )
            buyer = Static(f"{invoice.buyer.name}\n{invoice.buyer.tax_id or ''}", id="f-buyer", markup=False)
            customer_field = field("customer", buyer)
        else:
            options = [(self._customer_label(c), c.key) for c in context.customers]
            customer_field = field(
                "customer",
                Select(options, prompt=t("form.customer.pick"), id="f-customer", compact=True),
            )
        seller = draft.seller
        widgets.append(
            Horizontal(
                field("seller_name", self._input("seller_name", seller.name)),
                field("seller_address", self._input("seller_address", seller.address.line1)),
                field("seller_address2", self._input("seller_address2", seller.address.line2 or "")),
                classes="form-row",
            )
        )
        widgets.append(
            Horizontal(
                customer_field,
                field("issue_date", self._input("issue_date", draft.issue_date)),
                field("sale_date", self._input("sale_date", draft.sale_date)),
                classes="form-row",
            )
        )
        if original is not None:
            widgets.append(Static(t("form.section.lines_before"), classes="section-title"))
            widgets.append(before_lines(original.invoice.lines))
            widgets.append(Static(t("form.section.lines_after"), classes="section-title"))
        else:
            widgets.append(Static(t("form.section.lines"), classes="section-title"))
        widgets.append(InvoiceLines(draft.lines, id="lines"))
        widgets.append(Static("", id="e-lines", classes="field-error -empty", markup=False))
        payment_options = [(t(f"form.payment.{form.value}"), form) for form in PaymentForm]
        widgets.append(
            Horizontal(
                field("currency", self._input("currency", draft.currency, disabled=original is not None)),
                field(
                    "exchange_rate",
                    self._input("exchange_rate", draft.exchange_rate, disabled=draft.currency.upper() == "PLN"),
                ),
                field(
                    "payment_form",
                    Select(
                        payment_options,
                        value=draft.payment_form if draft.payment_form is not None else Select.NULL,
                        prompt=t("form.payment.none"),
                        id="f-payment_form",
                        compact=True,
                    ),
                ),
                field("due_date", self._input("due_date", draft.due_date)),
                field("bank_account", self._input("bank_account", draft.bank_account)),
                classes="form-row",
            )
        )
        if original is None:
            widgets.append(self._issue_row())
        if original is not None:
            types = [(t(f"form.correction_type.{kind.value}"), kind) for kind in CorrectionType]
            widgets.append(
                Horizontal(
                    field("reason", self._input("reason", draft.reason)),
                    field(
                        "correction_type",
                        Select(
                            types,
                            value=draft.correction_type or Select.NULL,
                            allow_blank=False,
                            id="f-correction_type",
                            compact=True,
                        ),
                    ),
                    classes="form-row",
                )
            )
        widgets.append(Static(t("form.section.totals"), classes="section-title"))
        widgets.append(Static("", id="totals", markup=False))
        widgets.append(Static("", id="grand-total", markup=False))
        await body.mount_all(widgets, before=self.query_one("#form-status"))
        self._refresh_form()
        first = self.query_one("#f-customer") if original is None else self.query_one("#f-reason")
        first.focus()
        self.call_after_refresh(self._filled)

    def _filled(self) -> None:
        self._filling = False

    def _issue_options(self) -> tuple[list[tuple[str, str]], str]:
        """The issue choices KSeF's state allows now, and the one to pre-select."""
        choices = offline_choices(self.ksef_app.availability)
        options: list[tuple[str, str]] = [(t("form.issue_mode.online"), ONLINE)]
        options += [(t(f"form.issue_mode.{mode.value}"), mode.value) for mode in choices.modes]
        return options, choices.chosen.value if choices.chosen is not None else ONLINE

    def _issue_row(self) -> Horizontal:
        """Online, or offline in a mode KSeF's state allows (the one it suggests pre-selected), and what it means."""
        options, chosen = self._issue_options()
        select: Select[str] = Select(options, value=chosen, allow_blank=False, id="f-issue_mode", compact=True)
        note = Static("", id="form-offline-note", classes="-online", markup=False)
        choice = field("issue_mode", select)
        choice.styles.width = 36  # inline: the stylesheet's .field (1fr) outranks a screen's DEFAULT_CSS
        return Horizontal(choice, note, classes="form-row")

    def _availability_changed(self, _value: object = None) -> None:
        """KSeF's state changed while the form is open: the issue choices follow it, unless the person chose one."""
        found = self.query("#f-issue_mode")
        if not found or "issue_mode" in self.touched:
            return
        select: Select[str] = found.first(Select)
        options, chosen = self._issue_options()
        self._filling = True
        select.set_options(options)
        select.value = chosen
        self.call_after_refresh(self._filled)
        self._show_offline()

    def offline_mode(self) -> OfflineMode | None:
        """The offline mode chosen, ``None`` for an invoice sent to KSeF as usual (and in a correction)."""
        found = self.query("#f-issue_mode")
        value = found.first(Select).value if found else ONLINE
        return OfflineMode(value) if isinstance(value, str) and value != ONLINE else None

    def _show_offline(self) -> bool:
        """The line beside the issue choice; ``False`` when the chosen offline issue cannot be done as it stands."""
        found = self.query("#form-offline-note")
        if not found or self.context is None:
            return True
        note = found.first(Static)
        mode = self.offline_mode()
        issued = parse_date(self._value("issue_date"))
        availability = self.ksef_app.availability
        outages = issue_outages(mode, issued, self.context.outages, availability) if mode and issued else ()
        lines, blocked = offline_note(mode, issued, outages, self.context.offline_certificate)
        note.update("\n".join(lines))
        note.set_class(mode is None, "-online")
        note.set_class(blocked, "-error")
        return not blocked

    def _input(self, name: str, value: str, *, disabled: bool = False) -> Input:
        return Input(value, id=f"f-{name}", compact=True, disabled=disabled)

    @staticmethod
    def _customer_label(customer: Customer) -> str:
        tax = customer.tax_id or ""
        if customer.eu_code:
            tax = f"{customer.eu_code}{tax}"
        return f"{customer.name} ({tax})" if tax else customer.name

    # ------------------------------------------------------------------------------------------- reading

    def _value(self, name: str) -> str:
        found = self.query(f"#f-{name}")
        return found.first(Input).value if found else ""

    def draft(self) -> InvoiceDraft:
        assert self.context is not None
        context = self.context
        seller: Seller = context.seller
        address: Address = type(seller.address)(
            self._value("seller_address").strip(),
            self._value("seller_address2").strip() or None,
            seller.address.country,
        )
        seller = type(seller)(
            seller.nip, " ".join(self._value("seller_name").split()), address, seller.email, seller.phone
        )
        customer: Customer | None = None
        select = self.query("#f-customer")
        if select:
            key = select.first(Select).value
            customer = next((c for c in context.customers if c.key == key), None)
        form = self.query_one("#f-payment_form", Select).value
        kind = self.query("#f-correction_type")
        correction_type = kind.first(Select).value if kind else None
        return InvoiceDraft(
            seller=seller,
            customer=customer,
            issue_date=self._value("issue_date"),
            sale_date=self._value("sale_date"),
            lines=self.query_one(InvoiceLines).drafts(),
            currency=self._value("currency"),
            exchange_rate=self._value("exchange_rate"),
            payment_form=form if isinstance(form, PaymentForm) else None,
            due_date=self._value("due_date"),
            bank_account=self._value("bank_account"),
            original=context.original,
            reason=self._value("reason"),
            correction_type=correction_type if isinstance(correction_type, CorrectionType) else None,
        )

    def _refresh_form(self, extra: dict[str, str] | None = None) -> Reading:
        """Totals, line amounts and the errors (of edited fields, or all after a save attempt) from the form."""
        draft = self.draft()
        reading = read_draft(draft)
        if extra is not None:
            self.schema_errors = dict(extra)
        errors = {**self.schema_errors, **reading.errors}
        shown = {
            name: message
            for name, message in errors.items()
            if self.checked or name in self.touched or name.rsplit("-", 1)[0] in self.touched
        }
        self._show_errors(shown)
        self.query_one(InvoiceLines).show([self._line_amount(line) for line in draft.lines], shown)
        self._show_totals(reading.invoice)
        self._show_offline()
        return reading

    @staticmethod
    def _line_amount(line: LineDraft) -> str:
        quantity, price = parse_number(line.quantity), parse_number(line.price)
        if quantity is None or price is None:
            return ""
        from ksef_tui.domain.money import q2

        return money(q2(quantity * price))

    def _show_errors(self, errors: dict[str, str]) -> None:
        for error in self.query(".field-error"):
            name = (error.id or "")[2:]
            if not name:
                continue
            message = errors.get(name, "")
            if isinstance(error, Static):
                error.update(message)
            error.set_class(not message, "-empty")
            for widget in self.query(f"#f-{name}"):
                widget.set_class(bool(message), "-error")
        status = self.query_one("#form-status", Static)
        count = len(errors)
        status.update(t("form.err.summary", count=count) if count and self.checked else "")
        status.set_class(bool(count and self.checked), "-error")
        if "form" in errors:
            status.update(errors["form"])
            status.add_class("-error")

    def _show_totals(self, invoice: SalesInvoice | None) -> None:
        from rich.table import Table

        view = self.shown_totals = totals_view(invoice)
        table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2), header_style="bold")
        table.add_column(t("form.col.rates"), min_width=24)
        for key in ("net", "vat", "gross"):
            table.add_column(t(f"form.col.{key}"), justify="right", min_width=14)
        for row in view.rows:
            table.add_row(row.label, row.net, row.vat, row.gross)
        table.add_row(t("form.totals.sum", currency=view.currency), view.net, view.vat, view.gross, style="bold")
        self.query_one("#totals", Static).update(table)
        self.query_one("#grand-total", Static).update(t("form.totals.gross", amount=view.gross, currency=view.currency))

    # ------------------------------------------------------------------------------------------- events

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        if self.context is None or self._filling:
            return
        self.edited = True
        widget = event.control
        row = self.query_one(InvoiceLines).row_of(widget)
        name = ""
        if row is not None:
            index = self.query_one(InvoiceLines).rows.index(row)
            column = next((c for c in widget.classes if c.startswith("line-")), "line-")[5:]
            name = f"line-{index}-{column}"
        elif widget.id and widget.id.startswith("f-"):
            name = widget.id[2:].replace("seller_address2", "seller_address")
        if name:
            self.touched.add(name)
            self.schema_errors.pop(name, None)
            self.schema_errors.pop("form", None)
        if widget.id == "f-currency" and isinstance(event, Input.Changed) and self.context.original is None:
            self.query_one("#f-exchange_rate", Input).disabled = event.value.strip().upper() in ("", "PLN")
        self._refresh_form()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter moves on, as Tab does (ctrl+s saves)."""
        event.stop()
        self.focus_next()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No new customer in a correction (its buyer is the original's)."""
        return not (action == "new_customer" and self.correct is not None)

    async def action_add_line(self) -> None:
        if self.context is None:
            return
        lines = self.query_one(InvoiceLines)
        await lines.add_line(lines.row_of(self.focused))
        self.edited = True
        self._refresh_form()

    async def action_remove_line(self) -> None:
        if self.context is None:
            return
        lines = self.query_one(InvoiceLines)
        row = lines.row_of(self.focused)
        if row is None:
            return
        await lines.remove_line(row)
        self.touched = {name for name in self.touched if not name.startswith("line-")}
        self.schema_errors = {k: v for k, v in self.schema_errors.items() if not k.startswith("line-")}
        self.edited = True
        self._refresh_form()

    def action_new_customer(self) -> None:
        if self.context is None or self.context.original is not None:
            return

        def added(values: tuple[str, str, str] | None) -> None:
            if values is not None:
                self._add_customer(*values)

        self.app.push_screen(NewCustomerDialog(), added)

    @work(thread=True, exclusive=True, group=CUSTOMER_GROUP, exit_on_error=False, description="invoice form: customer")
    def _add_customer(self, name: str, nip: str, email: str) -> None:
        app = self.ksef_app
        if app.profile is None:
            return
        try:
            customer = add_customer(app.workspace, app.profile, name, nip, email)
        except UserError as exc:
            app.call_from_thread(self.notify, exc.message(), severity="error")
            return
        app.call_from_thread(self._customer_added, customer)

    def _customer_added(self, customer: Customer) -> None:
        assert self.context is not None
        others = tuple(c for c in self.context.customers if c.key != customer.key)
        customers = tuple(sorted((*others, customer), key=lambda c: c.name.casefold()))
        from dataclasses import replace

        self.context = replace(self.context, customers=customers)
        select = self.query_one("#f-customer", Select)
        select.set_options([(self._customer_label(c), c.key) for c in customers])
        select.value = customer.key
        select.focus()
        self.notify(t("form.customer.added", name=customer.name))

    def action_save(self) -> None:
        if self.context is None or self.saving:
            return
        self.checked = True
        reading = self._refresh_form()
        if not reading.ok or reading.invoice is None:
            self._focus_first_error()
            return
        mode = self.offline_mode()
        if mode is not None and not self._show_offline():  # no Offline certificate: the note says how to get one
            self.query_one("#f-issue_mode", Select).focus()
            return
        self.saving = True
        self.query_one("#form-status", Static).update(t("form.saving"))
        self._save(reading.invoice, mode)

    def _focus_first_error(self) -> None:
        for widget in self.query(".-error"):
            if widget.focusable:
                widget.focus()
                self.query_one("#form-body", VerticalScroll).scroll_to_widget(widget)
                return

    @work(thread=True, exclusive=True, group=SAVE_GROUP, exit_on_error=False, description="invoice form: save")
    def _save(self, invoice: SalesInvoice, mode: OfflineMode | None = None) -> None:
        app = self.ksef_app
        profile = app.profile
        try:
            problems = check_schema(invoice, created_at=app.clock())
            if problems or profile is None:
                app.call_from_thread(self._refused, problems)
                return
            outages: tuple[Outage, ...] = ()
            if mode is not None and self.context is not None:
                outages = issue_outages(mode, invoice.issue_date, self.context.outages, app.availability)
            sale = save(app.workspace, profile, invoice, clock=app.clock, offline=mode, outages=outages)
        except UserError as exc:
            hint = exc.hint()
            app.call_from_thread(self._refused, {"form": exc.message() + (f" ({hint})" if hint else "")})
            return
        except OSError as exc:
            app.call_from_thread(self._refused, {"form": str(exc)})
            return
        app.call_from_thread(self._saved, sale)

    def _refused(self, problems: dict[str, str]) -> None:
        self.saving = False
        self._refresh_form(problems)
        self._focus_first_error()

    def _saved(self, sale: Sale) -> None:
        number = sale.record.number
        self.edited = False
        self.ksef_app.refresh_company()
        offline = sale.record.offline
        if offline is not None:  # KSeF is down or the seller chose offline24: sent when KSeF answers, not now
            from ksef_tui.services.offline import deadline_of, deadline_text

            status = deadline_of(sale, self._today())
            words = deadline_text(status) if status is not None else ""
            mode = t(f"offline.mode.{offline.mode.value}")
            self.notify(t("form.offline.saved", number=number, mode=mode, deadline=words), timeout=12)
            self.dismiss(FormResult(number, False))
            return

        def chosen(send: bool | None) -> None:
            self.dismiss(FormResult(number, bool(send)))

        self.app.push_screen(
            ChoiceDialog(
                t("form.send.question", number=number),
                t("form.send.now"),
                t("form.send.later"),
                title=t("form.saved.title", number=number),
            ),
            chosen,
        )

    def action_cancel(self) -> None:
        if not self.edited or self.context is None:
            self.dismiss(None)
            return

        def chosen(leave: bool | None) -> None:
            if leave:
                self.dismiss(None)

        self.app.push_screen(
            ChoiceDialog(t("form.leave.question"), t("form.leave.yes"), t("form.leave.no")),
            chosen,
        )
