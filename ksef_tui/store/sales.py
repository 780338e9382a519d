"""Sales invoices in the store: the register's header of each invoice and its send status.

Blocking by design (file I/O and fsync): call from thread workers.

Where things are: each invoice's header in its issue month's file (``store.sales/YYYY-MM.json``, keyed by the
invoice number), its send status in that month's ``YYYY-MM.state.json`` and its row in the index. A status change
(the send pipeline writes one before and after every network step) rewrites only the month's state file: at
50,000 invoices about as fast as a booking (``bench/store.py``).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from ksef_tui.domain.booking import Period
from ksef_tui.domain.offline import OfflineMode, Outage, OutageKind
from ksef_tui.store.db import Store, StoreCorrupt
from ksef_tui.store.index import Column, Value
from ksef_tui.store.partitions import Doc, Month
from ksef_tui.store.table import PartitionedTable, TableSpec, issued_in

SALES = "sales"
STATE = "state"
KEY = "number"


class SendState(Enum):
    """Where a sales invoice stands on its way to KSeF."""

    DRAFT = "draft"  # in the register, not to be sent yet
    QUEUED = "queued"  # to be sent
    SENDING = "sending"  # a network step is under way (the journal says which): reconcile before sending again
    ACCEPTED = "accepted"  # KSeF gave it a number
    REJECTED = "rejected"  # KSeF refused it (the code and details say why)
    NEEDS_ATTENTION = "needs-attention"  # neither: a person must look (e.g. reconciliation found no answer)


class MailState(Enum):
    NONE = "none"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _day_or_moment(value: Any) -> date | datetime:
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class OfflineIssue:
    """How an invoice was issued outside KSeF (CERTS_OFFLINE.md §5): its mode, when, its two codes and its deadline.

    ``kod1``/``kod2`` are the links over the exact bytes of the record's XML (KOD II signed with the company's
    Offline KSeF certificate ``certificate_serial``); ``deadline`` is the last day to send it, from the mode, the
    issue date and the ``outages`` known so far (``None`` while an outage it depends on has not ended), recomputed
    when they change. A technical correction (the fixed XML of a rejected offline invoice) keeps the mode, the
    issue time and the deadline; ``corrected_hash`` is then the rejected original's ``invoiceHash`` (what KSeF
    links it to) and ``corrected_xml_path`` where the original's bytes stay."""

    mode: OfflineMode
    issued_at: datetime
    kod1: str
    kod2: str
    certificate_serial: str
    deadline: date | None
    outages: tuple[Outage, ...] = ()
    corrected_hash: str | None = None
    corrected_xml_path: str | None = None

    def __post_init__(self) -> None:
        _aware("issued_at", self.issued_at)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "mode": self.mode.value,
            "issued_at": self.issued_at.isoformat(),
            "kod1": self.kod1,
            "kod2": self.kod2,
            "certificate_serial": self.certificate_serial,
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
        }
        if self.outages:
            doc["outages"] = [
                {
                    "kind": o.kind.value,
                    "start": o.start.isoformat(),
                    "end": None if o.end is None else o.end.isoformat(),
                }
                for o in self.outages
            ]
        if self.corrected_hash is not None:
            doc["corrected_hash"] = self.corrected_hash
            doc["corrected_xml_path"] = self.corrected_xml_path
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> OfflineIssue:
        deadline = doc.get("deadline")
        outages = tuple(
            Outage(
                OutageKind(o["kind"]),
                _day_or_moment(o["start"]),
                None if o.get("end") is None else _day_or_moment(o["end"]),
            )
            for o in doc.get("outages", ())
        )
        corrected = doc.get("corrected_hash")
        corrected_path = doc.get("corrected_xml_path")
        return cls(
            mode=OfflineMode(doc["mode"]),
            issued_at=datetime.fromisoformat(str(doc["issued_at"])),
            kod1=str(doc["kod1"]),
            kod2=str(doc["kod2"]),
            certificate_serial=str(doc["certificate_serial"]),
            deadline=None if deadline is None else date.fromisoformat(str(deadline)),
            outages=outages,
            corrected_hash=None if corrected is None else str(corrected),
            corrected_xml_path=None if corrected_path is None else str(corrected_path),
        )


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """A sales invoice or correction as the register keeps it (the FA(3) XML it is sent as lives in a file)."""

    number: str
    issue_date: date
    customer_id: str  # NIP, EU VAT number or another id; "" when the customer has none
    customer_id_type: str  # "nip" | "eu" | "other" | "none"
    customer_name: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str
    kind: str  # VAT, KOR, ZAL, ...
    corrected_number: str | None  # the invoice number a correction corrects
    xml_path: str
    xml_sha256: str  # hex, of the file
    invoice_hash: str  # base64 SHA-256, as KSeF states it (duplicates and reconciliation are by this)
    source: str  # "built" (entered in the app) | "imported" (FA(3) XML made elsewhere)
    created_at: datetime
    offline: OfflineIssue | None = None  # issued outside KSeF (records from before issue 14 have no such field)

    def __post_init__(self) -> None:
        _aware("created_at", self.created_at)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "customer_id": self.customer_id,
            "customer_id_type": self.customer_id_type,
            "customer_name": self.customer_name,
            "net": str(self.net),
            "vat": str(self.vat),
            "gross": str(self.gross),
            "currency": self.currency,
            "kind": self.kind,
            "corrected_number": self.corrected_number,
            "xml_path": self.xml_path,
            "xml_sha256": self.xml_sha256,
            "invoice_hash": self.invoice_hash,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
        }
        if self.offline is not None:  # left out otherwise: an online invoice's header is as it always was
            doc["offline"] = self.offline.to_doc()
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SaleRecord:
        corrected = doc.get("corrected_number")
        offline = doc.get("offline")
        return cls(
            number=str(doc["number"]),
            issue_date=date.fromisoformat(str(doc["issue_date"])),
            customer_id=str(doc["customer_id"]),
            customer_id_type=str(doc["customer_id_type"]),
            customer_name=str(doc["customer_name"]),
            net=Decimal(str(doc["net"])),
            vat=Decimal(str(doc["vat"])),
            gross=Decimal(str(doc["gross"])),
            currency=str(doc["currency"]),
            kind=str(doc["kind"]),
            corrected_number=None if corrected is None else str(corrected),
            xml_path=str(doc["xml_path"]),
            xml_sha256=str(doc["xml_sha256"]),
            invoice_hash=str(doc["invoice_hash"]),
            source=str(doc["source"]),
            created_at=datetime.fromisoformat(str(doc["created_at"])),
            offline=None if offline is None else OfflineIssue.from_doc(offline),
        )


@dataclass(frozen=True, slots=True)
class SendStatus:
    """The send status of one invoice: its state and what KSeF said. The send pipeline writes it before and
    after each network step (intent, session and invoice references), so a crash can be reconciled with KSeF."""

    state: SendState
    updated_at: datetime
    intent: str | None = None  # "online" | "batch": how it is being sent
    session_ref: str | None = None
    invoice_ref: str | None = None
    ksef_number: str | None = None
    acquisition_date: datetime | None = None
    error_code: int | None = None
    error_description: str | None = None
    error_details: tuple[str, ...] = ()
    duplicate: bool = False  # KSeF already had it (440): ksef_number is the original's
    upo_path: str | None = None
    attempts: int = 0
    mail: MailState = MailState.NONE
    extra: Mapping[str, Any] = field(default_factory=dict)  # room for the pipeline's own notes

    def __post_init__(self) -> None:
        _aware("updated_at", self.updated_at)
        _aware("acquisition_date", self.acquisition_date)

    def to_doc(self) -> dict[str, Any]:
        """The stored form: what is not at its default is left out (a queued invoice's status is ~60 bytes, so
        a month's state file stays small and reads fast)."""
        doc: dict[str, Any] = {"state": self.state.value, "updated_at": self.updated_at.isoformat()}
        optional: dict[str, Any] = {
            "intent": self.intent,
            "session_ref": self.session_ref,
            "invoice_ref": self.invoice_ref,
            "ksef_number": self.ksef_number,
            "acquisition_date": None if self.acquisition_date is None else self.acquisition_date.isoformat(),
            "error_code": self.error_code,
            "error_description": self.error_description,
            "error_details": list(self.error_details) or None,
            "duplicate": self.duplicate or None,
            "upo_path": self.upo_path,
            "attempts": self.attempts or None,
            "mail": None if self.mail is MailState.NONE else self.mail.value,
            "extra": dict(self.extra) or None,
        }
        doc.update((name, value) for name, value in optional.items() if value is not None)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SendStatus:
        code = doc.get("error_code")
        updated = _moment(doc["updated_at"])
        if updated is None:
            raise ValueError("a status without updated_at")
        return cls(
            state=SendState(doc["state"]),
            updated_at=updated,
            intent=doc.get("intent"),
            session_ref=doc.get("session_ref"),
            invoice_ref=doc.get("invoice_ref"),
            ksef_number=doc.get("ksef_number"),
            acquisition_date=_moment(doc.get("acquisition_date")),
            error_code=None if code is None else int(code),
            error_description=doc.get("error_description"),
            error_details=tuple(str(d) for d in doc.get("error_details", ())),
            duplicate=bool(doc.get("duplicate", False)),
            upo_path=doc.get("upo_path"),
            attempts=int(doc.get("attempts", 0)),
            mail=MailState(doc.get("mail", "none")),
            extra=dict(doc.get("extra", {})),
        )


@dataclass(frozen=True, slots=True)
class Sale:
    record: SaleRecord
    status: SendStatus


class SaleExists(KeyError):
    """An invoice number already in the register."""


class SaleNotFound(KeyError):
    """No invoice with this number in the register."""


SALE_COLUMNS: tuple[Column, ...] = (
    Column("number", "text"),
    Column("issue_date", "int"),  # date.toordinal()
    Column("customer_id", "coded"),
    Column("customer_name", "coded"),
    Column("gross", "text"),
    Column("currency", "coded"),
    Column("kind", "coded"),
    Column("corrected_number", "text"),  # "" for none
    Column("state", "coded"),
    Column("ksef_number", "text"),  # "" until accepted
    Column("mail", "coded"),
)
"""What the customer transactions screen and ``sales list`` show and filter on, for every invoice."""


def _index_rows(month: Month, keys: Iterable[str] | None = None) -> Iterator[dict[str, Value]]:
    states = month.sides.get(STATE, {})
    state_file = month.path.with_name(f"{month.month}.{STATE}.json")
    for key in month.docs if keys is None else keys:
        doc, status = month.docs[key], states.get(key)
        try:
            from_status = _status_values(STATE, status)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise StoreCorrupt(state_file, f"{key}: {type(exc).__name__}: {exc}") from None
        try:
            yield {
                "number": doc["number"],
                "issue_date": date.fromisoformat(doc["issue_date"]).toordinal(),
                "customer_id": doc["customer_id"],
                "customer_name": doc["customer_name"],
                "gross": doc["gross"],
                "currency": doc["currency"],
                "kind": doc["kind"],
                "corrected_number": doc.get("corrected_number") or "",
                **from_status,
            }
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreCorrupt(month.path, f"{key}: {type(exc).__name__}: {exc}") from None


def _status_values(side: str, status: Mapping[str, Any] | None) -> dict[str, Value]:
    state = SendState.DRAFT if status is None else SendState(status["state"])
    mail = MailState.NONE if status is None else MailState(status.get("mail", MailState.NONE.value))
    ksef_number = "" if status is None else str(status.get("ksef_number") or "")
    return {"state": state.value, "ksef_number": ksef_number, "mail": mail.value}


SALE_TABLE = TableSpec(SALES, KEY, (STATE,), SALE_COLUMNS, _index_rows, _status_values)


class SaleTable(PartitionedTable):
    """The sales register of one store (one per open store, :meth:`of`); an invoice's month is its issue month."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, SALE_TABLE)

    @classmethod
    def of(cls, store: Store) -> SaleTable:
        return store.attachment(SALES, cls)

    def sales(self, rows: Iterable[int]) -> list[Sale]:
        found: list[Sale] = []
        for loaded, keys in self.by_month(rows):
            states = loaded.sides.get(STATE, {})
            for key in keys:
                found.append(_sale(loaded.docs[key], states.get(key), loaded.path))
        found.sort(key=lambda s: (s.record.issue_date, s.record.number))
        return found


def _sale(doc: Doc, status: Doc | None, path: Path) -> Sale:
    try:
        record = SaleRecord.from_doc(doc)
        if status is None:
            return Sale(record, SendStatus(SendState.DRAFT, record.created_at))
        return Sale(record, SendStatus.from_doc(status))
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreCorrupt(path, f"{doc.get(KEY)}: {type(exc).__name__}: {exc}") from None


def _rows_of(table: SaleTable, numbers: Iterable[str]) -> list[int]:
    """The index rows of ``numbers`` (each once, in order); :class:`SaleNotFound` naming the unknown ones."""
    wanted = list(dict.fromkeys(numbers))
    rows = [table.index.row_of(number) for number in wanted]
    missing = [number for number, row in zip(wanted, rows, strict=True) if row is None]
    if missing:
        raise SaleNotFound(missing[0] if len(missing) == 1 else missing)
    return [row for row in rows if row is not None]


class SalesRepository:
    """The sales register: reads answered by the index and the months it names; a status change rewrites one
    month's state file."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the table loads on first use

    @property
    def table(self) -> SaleTable:
        return SaleTable.of(self._store)

    @property
    def lock(self) -> threading.RLock:
        """The store's lock: held around a read and the write that depends on it (taking the next number)."""
        return self._store.mutex

    def add_many(self, records: Iterable[tuple[SaleRecord, SendStatus]]) -> None:
        """Put new invoices in the register with their first status: one write per month (headers, then
        states). Nothing is written when a number is already there (:class:`SaleExists`) or repeated."""
        incoming: dict[str, tuple[SaleRecord, SendStatus]] = {}
        with self._store.mutex:
            table = self.table
            table.refresh()
            for record, status in records:
                if record.number in incoming or table.index.row_of(record.number) is not None:
                    raise SaleExists(record.number)
                incoming[record.number] = (record, status)
            changes: dict[str, tuple[dict[str, Doc], dict[str, dict[str, Doc | None]]]] = {}
            for number, (record, status) in incoming.items():
                docs, sides = changes.setdefault(record.issue_date.isoformat()[:7], ({}, {STATE: {}}))
                docs[number] = record.to_doc()
                sides[STATE][number] = status.to_doc()
            table.write(changes)
            if changes:
                table.save_index()

    def get(self, number: str) -> Sale | None:
        with self._store.mutex:
            table = self.table
            table.refresh()
            row = table.index.row_of(number)
            return None if row is None else table.sales([row])[0]

    def list(self, period: Period | None = None, state: SendState | None = None) -> list[Sale]:
        """Invoices issued in ``period`` and in ``state``, by issue date then number."""
        with self._store.mutex:
            table = self.table
            table.refresh()
            index = table.index
            rows: Iterable[int] = range(len(index))
            if period is not None:
                rows = issued_in(index, period, rows)
            if state is not None:
                codes, values = index.coded("state")
                wanted = values.index(state.value) if state.value in values else -1
                rows = [i for i in rows if codes[i] == wanted]
            return table.sales(rows)

    def numbers(self) -> builtins.list[str]:
        """Every invoice number in the register (from the index: no month is read)."""
        with self._store.mutex:
            table = self.table
            table.refresh()
            return list(table.index.text("number"))

    def by_ksef_number(self, ksef_number: str) -> Sale | None:
        """The invoice KSeF numbered so (a duplicate carries its original's number)."""
        with self._store.mutex:
            table = self.table
            table.refresh()
            numbers = table.index.text("ksef_number")
            rows = [row for row, value in enumerate(numbers) if value == ksef_number]
            return table.sales(rows[:1])[0] if rows else None

    def count(self) -> int:
        with self._store.mutex:
            table = self.table
            table.refresh()
            return len(table.index)

    def update_records(
        self, numbers: Iterable[str], change: Callable[[Sale], tuple[SaleRecord, SendStatus | None] | None]
    ) -> dict[str, Sale]:
        """Read-modify-write of headers (and, when given, statuses) under the store's mutex: ``change`` gets each
        invoice as stored now and returns its new header and status (``None`` status: the status stays; ``None``:
        leave the invoice). The number and the issue month of a header never change. One write per month
        touched; the changed invoices by number. Raises :class:`SaleNotFound`, ``ValueError`` for a header that
        would move."""
        with self._store.mutex:
            table = self.table
            table.refresh()
            rows = _rows_of(table, numbers)
            changed: dict[str, Sale] = {}
            changes: dict[str, tuple[dict[str, Doc], dict[str, dict[str, Doc | None]]]] = {}
            for sale in table.sales(rows):
                outcome = change(sale)
                if outcome is None:
                    continue
                record, status = outcome
                number = sale.record.number
                month = table.month_of(number)
                if month is None or record.number != number or record.issue_date.isoformat()[:7] != month:
                    raise ValueError(f"{number}: a header keeps its number and issue month")
                docs, sides = changes.setdefault(month, ({}, {}))
                docs[number] = record.to_doc()
                if status is not None:
                    sides.setdefault(STATE, {})[number] = status.to_doc()
                changed[number] = Sale(record, status or sale.status)
            if changes:
                table.write(changes)
                table.save_index()
            return changed

    def set_status(self, number: str, status: SendStatus) -> None:
        """One invoice's new status: one write of its month's state file. Raises :class:`SaleNotFound`."""
        self.set_statuses({number: status})

    def set_statuses(self, statuses: Mapping[str, SendStatus]) -> None:
        """New statuses: one write per month touched; nothing when a number is unknown."""
        if not statuses:
            return
        with self._store.mutex:
            table = self.table
            table.refresh()
            months = {number: table.month_of(number) for number in statuses}
            missing = [number for number, month in months.items() if month is None]
            if missing:
                raise SaleNotFound(missing[0] if len(missing) == 1 else missing)
            changes: dict[str, tuple[dict[str, Doc], dict[str, dict[str, Doc | None]]]] = {}
            for number, status in statuses.items():
                month = months[number]
                assert month is not None
                changes.setdefault(month, ({}, {STATE: {}}))[1][STATE][number] = status.to_doc()
            table.write(changes)

    def update_statuses(
        self, numbers: Iterable[str], change: Callable[[Sale], SendStatus | None]
    ) -> dict[str, SendStatus]:
        """Read-modify-write under the store's mutex: ``change`` gets each invoice as stored now and returns its
        new status (``None``: leave it). Two writers (the send pipeline and the mail outbox) never undo each
        other's fields. One write per month touched; the new statuses by number. Raises :class:`SaleNotFound`."""
        with self._store.mutex:
            table = self.table
            table.refresh()
            rows = _rows_of(table, numbers)
            changed: dict[str, SendStatus] = {}
            for sale in table.sales(rows):
                status = change(sale)
                if status is not None:
                    changed[sale.record.number] = status
            self.set_statuses(changed)
            return changed
