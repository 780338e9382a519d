"""The customer transactions screen's use cases (issue 13 §2): the sales register grouped by customer, each
invoice's KSeF status as one word of a fixed set, the plan of a send, a UPO saved to a file, the KSeF number
e-mailed.

Blocking by design (the store, files, SMTP): call from thread workers. The register is read through a read-only
open of the store, so the screen sees a send's progress while the send holds the store's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui.domain.profile import Profile
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.services.booking import kind_label, plain_text
from ksef_tui.services.purchases import money

if TYPE_CHECKING:
    from ksef_tui.services.sending import Plan
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.store.sales import Sale

#: The key of "every customer" in :class:`Transactions.customers` filters.
ALL = ""


class TxStatus(StrEnum):
    """What the screen says of an invoice's way to KSeF (one glyph and one word each)."""

    DRAFT = "draft"
    QUEUED = "queued"
    OFFLINE = "offline"  # issued offline, waiting to be sent to KSeF by its deadline (issue 14)
    SENDING = "sending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    BEFORE_START = "before-start"
    ATTENTION = "needs-attention"


#: Statuses a send takes (named by the user, or every queued one).
UNSENT = (
    TxStatus.DRAFT,
    TxStatus.QUEUED,
    TxStatus.OFFLINE,
    TxStatus.REJECTED,
    TxStatus.ATTENTION,
    TxStatus.BEFORE_START,
)


@dataclass(frozen=True, slots=True)
class TxRow:
    """One sales invoice or correction, display-ready (amounts in the current language)."""

    number: str
    customer_key: str
    customer: str
    issue_date: date
    kind: str  # VAT, KOR, ...
    kind_label: str
    corrected_number: str  # "" unless a correction
    gross: Decimal
    gross_text: str
    currency: str
    status: TxStatus
    ksef_number: str
    mail: str  # none | pending | sent | failed
    reason: str  # KSeF's reason (rejected, duplicate, needs attention), "" otherwise
    upo: bool
    offline_mode: str = ""  # OfflineMode value of an invoice issued offline, "" otherwise
    deadline: str = ""  # an unsent offline invoice's deadline in words, "" when none
    deadline_date: date | None = None  # that deadline's day (None: none, or not known until an outage ends)
    deadline_state: str = ""  # DeadlineState value ("open", "due_today", "overdue", "waiting"...), "" when none
    technical: bool = False  # an offline invoice KSeF rejected for a technical reason: a technical correction fixes it

    @property
    def is_correction(self) -> bool:
        return self.kind.startswith("KOR")

    @property
    def sendable(self) -> bool:
        return self.status in UNSENT

    @property
    def correctable(self) -> bool:
        return self.status is TxStatus.ACCEPTED

    @property
    def deadline_tone(self) -> str:
        """How the deadline is shown: ``fail`` (overdue), ``warn`` (due today), ``plain`` otherwise."""
        return {"overdue": "fail", "due_today": "warn"}.get(self.deadline_state, "plain")


@dataclass(frozen=True, slots=True)
class TxCustomer:
    key: str
    name: str
    tax_id: str
    invoices: int
    unsent: int


@dataclass(frozen=True, slots=True)
class Transactions:
    customers: list[TxCustomer] = field(default_factory=list)
    rows: list[TxRow] = field(default_factory=list)

    def of(self, customer: str) -> list[TxRow]:
        """The rows of one customer (by key), or all of them (:data:`ALL`)."""
        return self.rows if customer == ALL else [r for r in self.rows if r.customer_key == customer]


def customer_key(id_value: str, name: str) -> str:
    return f"id:{id_value}" if id_value else f"name:{name.casefold()}"


def tx_status(sale: Sale, start: date) -> TxStatus:
    from ksef_tui.store.sales import SendState

    status = sale.status
    state = status.state
    if state is SendState.ACCEPTED:
        return TxStatus.DUPLICATE if status.duplicate else TxStatus.ACCEPTED
    if state is SendState.QUEUED and sale.record.offline is not None:
        return TxStatus.OFFLINE
    if state is SendState.QUEUED and sale.record.issue_date < start:
        return TxStatus.BEFORE_START
    return {
        SendState.DRAFT: TxStatus.DRAFT,
        SendState.QUEUED: TxStatus.QUEUED,
        SendState.SENDING: TxStatus.SENDING,
        SendState.REJECTED: TxStatus.REJECTED,
        SendState.NEEDS_ATTENTION: TxStatus.ATTENTION,
    }[state]


def _reason(sale: Sale) -> str:
    """KSeF's code and reason, each thing said once (the screen's detail line has room for two lines)."""
    from ksef_tui.services.sending import ksef_reason

    status = sale.status
    words = ksef_reason(status)
    if not words and status.error_code is None:
        return ""
    code = f"{status.error_code} " if status.error_code is not None else ""
    return plain_text(f"{code}{words}")


def tx_row(sale: Sale, start: date, today: date | None = None) -> TxRow:
    """The row of ``sale``; an offline invoice's deadline as seen from ``today`` (default: today in Warsaw)."""
    from ksef_tui.services.offline import TECHNICAL_CODES, deadline_of, deadline_text
    from ksef_tui.store.sales import SendState

    record, status = sale.record, sale.status
    offline = record.offline
    due = deadline_of(sale, today)
    return TxRow(
        number=plain_text(record.number),
        customer_key=customer_key(record.customer_id, record.customer_name),
        customer=plain_text(record.customer_name),
        issue_date=record.issue_date,
        kind=record.kind,
        kind_label=kind_label(record.kind),
        corrected_number=plain_text(record.corrected_number or ""),
        gross=record.gross,
        gross_text=money(record.gross),
        currency=plain_text(record.currency),
        status=tx_status(sale, start),
        ksef_number=status.ksef_number or "",
        mail=status.mail.value,
        reason=_reason(sale),
        upo=status.upo_path is not None,
        offline_mode=offline.mode.value if offline is not None else "",
        deadline=deadline_text(due) if due is not None else "",
        deadline_date=due.deadline if due is not None else None,
        deadline_state=due.state.value if due is not None else "",
        technical=offline is not None and status.state is SendState.REJECTED and status.error_code in TECHNICAL_CODES,
    )


def load_transactions(workspace: Workspace, profile: Profile, today: date | None = None) -> Transactions:
    """The register's invoices (newest first) and its customers (by name; the customer book's too), read through
    a read-only open: a send holding the store's lock is seen as it goes; offline invoices' deadlines as seen
    from ``today`` (default: today in Warsaw). An empty register when the company has no store yet."""
    from ksef_tui.store.customers import CustomerBook
    from ksef_tui.store.sales import SalesRepository

    if not workspace.store_path(profile).exists():
        return Transactions()
    store = workspace.store(profile, read_only=True)
    try:
        sales = SalesRepository(store).list()
        book = CustomerBook.of(store).all()
    finally:
        store.close()
    pairs = [(tx_row(sale, profile.start_date, today), plain_text(sale.record.customer_id)) for sale in sales]
    rows = sorted((row for row, _ in pairs), key=lambda r: (r.issue_date, r.number), reverse=True)
    found: dict[str, TxCustomer] = {}
    for row, tax_id in reversed(pairs):  # newest first: a customer's name as its newest invoice has it
        known = found.get(row.customer_key)
        found[row.customer_key] = TxCustomer(
            row.customer_key,
            known.name if known else row.customer,
            tax_id,
            (known.invoices if known else 0) + 1,
            (known.unsent if known else 0) + (1 if row.sendable else 0),
        )
    for customer in book:
        tax_id = f"{customer.eu_code or ''}{customer.tax_id or ''}"
        key = customer_key(tax_id, customer.name)
        if key not in found and customer_key(customer.tax_id or "", customer.name) not in found:
            found[key] = TxCustomer(key, plain_text(customer.name), tax_id, 0, 0)
    customers = sorted(found.values(), key=lambda c: (c.name.casefold(), c.key))
    return Transactions(customers, rows)


def plan(workspace: Workspace, profile: Profile, numbers: Sequence[str] | None) -> Plan:
    """What a send of ``numbers`` (``None``: every queued invoice) would do, for the confirmation."""
    from ksef_tui.services.sending import plan_send
    from ksef_tui.store.sales import SalesRepository

    store = workspace.store(profile, read_only=True)
    try:
        return plan_send(SalesRepository(store), profile, numbers)
    finally:
        store.close()


def gross_text(totals: dict[str, str]) -> str:
    """``{"EUR": "10.00", "PLN": "1234.50"}`` as ``1 234,50 PLN, 10,00 EUR`` (PLN first)."""
    ordered = sorted(totals.items(), key=lambda item: (item[0] != "PLN", item[0]))
    return ", ".join(f"{money(Decimal(value))} {currency}" for currency, value in ordered) or "-"


def default_upo_path(ksef_number: str) -> str:
    return f"~/UPO-{ksef_number}.xml"


def save_file(data: bytes, where: str) -> Path:
    """Write ``data`` to the new file ``where`` (``~`` expanded); an existing file is never overwritten."""
    if not where.strip():
        raise UserError("tx.save.no_path", category=Category.INPUT)
    path = Path(where.strip()).expanduser()
    try:
        with path.open("xb") as handle:
            handle.write(data)
    except FileExistsError:
        raise UserError("tx.save.exists", path=path, category=Category.INPUT) from None
    except OSError as exc:
        raise PathError(path, exc) from None
    return path


def saved_upo(workspace: Workspace, profile: Profile, ksef_number: str) -> bytes | None:
    """The UPO of the sale with this KSeF number as kept on this computer, or ``None`` when none is kept yet
    (``Workspace.upo`` downloads it, a write). Read through a read-only open of the store, so it works while a
    send holds the store's lock."""
    from ksef_tui.services.sending import local_upo

    with workspace.open_store(profile, read_only=True) as store:
        _sale, path = local_upo(store, ksef_number)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PathError(path, exc, category=Category.CONFIG) from None


@dataclass(frozen=True, slots=True)
class MailOutcome:
    sent: list[str] = field(default_factory=list)  # invoice numbers
    failed: list[tuple[str, str]] = field(default_factory=list)  # number, why
    already_sent: list[str] = field(default_factory=list)


def mail_ksef_numbers(workspace: Workspace, profile: Profile, numbers: Sequence[str]) -> MailOutcome:
    """E-mail the customers of ``numbers`` their KSeF numbers now (``ksef-tui mail --invoice``): queued in the
    outbox and delivered; a refusal (not accepted, no address, mail not set up) is told per invoice."""
    from ksef_tui.services.mail import deliver, password_needed, pending_count, queue_invoices, stored_password

    with workspace.open_store(profile) as store:
        queued = queue_invoices(store, profile, numbers)
        password = None
        if pending_count(store, queued.to_send) and password_needed(profile.mail):
            password = stored_password(workspace.vault(profile), profile)
        result = deliver(store, profile, password, numbers=queued.to_send) if queued.to_send else None
    failed = [(number, error.message()) for number, error in queued.refused]
    sent: list[str] = []
    if result is not None:
        sent = [m.invoice_number for m in result.sent]
        failed += [(m.invoice_number, m.last_error or "") for m in result.failed]
        failed += [(m.invoice_number, m.last_error or "") for m in result.held]
    return MailOutcome(sent, failed, [m.invoice_number for m in queued.already_sent])
