"""Purchase invoices in the store: the header record, its booking, the month partitions, the index and the XML.

Blocking by design (file I/O and fsync): call from thread workers. Write order for a sync: first
``XmlStore.put_many`` (the files are durable when it returns), then ``PurchaseRepository.upsert_many`` with the
returned paths, so a record never points at a file that is not on disk.

Where things are: each purchase's header in its issue month's partition (``store.purchases/YYYY-MM.json``), its
booking in that month's ``YYYY-MM.bookings.json``, its row in the columnar index (``index.bin``): a booking
rewrites one small file, a sync one file per month it touches, and a screen reads the index, never every header.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ksef_tui.domain.booking import Booking, Period
from ksef_tui.store.atomic import atomic_write, fsync_dir, sync_files
from ksef_tui.store.db import META, PURCHASES, Store, StoreCorrupt
from ksef_tui.store.index import Column, ColumnIndex, Row, Value
from ksef_tui.store.partitions import Doc, Month, PartitionSet
from ksef_tui.store.table import PartitionedTable, TableSpec, issued_in, table_root


class PurchaseNotFound(KeyError):
    """No purchase with this KSeF number in the store."""


class XmlDamaged(Exception):
    """A stored XML file is missing or its SHA-256 does not match the one recorded when it was saved."""

    def __init__(self, relative_path: str, reason: str) -> None:
        super().__init__(f"{relative_path}: {reason}")
        self.relative_path = relative_path
        self.reason = reason


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    """One purchase invoice header as stored (document keyed by ``ksef_number``)."""

    ksef_number: str
    invoice_number: str
    issue_date: date
    seller_nip: str
    seller_name: str
    buyer_id: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str
    kind: str
    corrected_ksef_number: str | None
    invoicing_date: datetime
    acquisition_date: datetime
    permanent_storage_date: datetime
    invoice_hash: str
    xml_path: str | None
    xml_sha256: str | None
    booking: Booking | None
    first_seen: datetime

    def __post_init__(self) -> None:
        for name in ("invoicing_date", "acquisition_date", "permanent_storage_date", "first_seen"):
            _aware(name, getattr(self, name))

    def to_doc(self) -> dict[str, Any]:
        return {
            "ksef_number": self.ksef_number,
            "invoice_number": self.invoice_number,
            "issue_date": self.issue_date.isoformat(),
            "seller_nip": self.seller_nip,
            "seller_name": self.seller_name,
            "buyer_id": self.buyer_id,
            "net": str(self.net),
            "vat": str(self.vat),
            "gross": str(self.gross),
            "currency": self.currency,
            "kind": self.kind,
            "corrected_ksef_number": self.corrected_ksef_number,
            "invoicing_date": self.invoicing_date.isoformat(),
            "acquisition_date": self.acquisition_date.isoformat(),
            "permanent_storage_date": self.permanent_storage_date.isoformat(),
            "invoice_hash": self.invoice_hash,
            "xml_path": self.xml_path,
            "xml_sha256": self.xml_sha256,
            "booking": None if self.booking is None else self.booking.to_doc(),
            "first_seen": self.first_seen.isoformat(),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], booking: Mapping[str, Any] | None = None) -> PurchaseRecord:
        """The record of a stored document; ``booking`` (a booking's document) when it is kept elsewhere."""
        booking = doc.get("booking") if booking is None else booking
        corrected = doc.get("corrected_ksef_number")
        xml_path = doc.get("xml_path")
        xml_sha256 = doc.get("xml_sha256")
        return cls(
            ksef_number=str(doc["ksef_number"]),
            invoice_number=str(doc["invoice_number"]),
            issue_date=date.fromisoformat(str(doc["issue_date"])),
            seller_nip=str(doc["seller_nip"]),
            seller_name=str(doc["seller_name"]),
            buyer_id=str(doc["buyer_id"]),
            net=Decimal(str(doc["net"])),
            vat=Decimal(str(doc["vat"])),
            gross=Decimal(str(doc["gross"])),
            currency=str(doc["currency"]),
            kind=str(doc["kind"]),
            corrected_ksef_number=None if corrected is None else str(corrected),
            invoicing_date=_dt(doc["invoicing_date"]),
            acquisition_date=_dt(doc["acquisition_date"]),
            permanent_storage_date=_dt(doc["permanent_storage_date"]),
            invoice_hash=str(doc["invoice_hash"]),
            xml_path=None if xml_path is None else str(xml_path),
            xml_sha256=None if xml_sha256 is None else str(xml_sha256),
            booking=None if booking is None else Booking.from_doc(booking),
            first_seen=_dt(doc["first_seen"]),
        )


@dataclass(frozen=True, slots=True)
class UpsertResult:
    new: int
    updated: int
    unchanged: int = 0


Records = list[PurchaseRecord]


def _merge(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The stored document after an upsert: the new header, but the old booking, XML and first_seen are kept."""
    merged = dict(new)
    if merged["xml_path"] is None:
        merged["xml_path"] = old.get("xml_path")
        merged["xml_sha256"] = old.get("xml_sha256")
    if old.get("first_seen") is not None:
        merged["first_seen"] = old["first_seen"]
    return merged


PURCHASE_COLUMNS: tuple[Column, ...] = (
    Column("ksef_number", "text"),
    Column("invoice_number", "text"),
    Column("issue_date", "int"),  # date.toordinal()
    Column("received", "int"),  # acquisition date, seconds since the epoch
    Column("seller_nip", "coded"),
    Column("seller_name", "coded"),
    Column("net", "text"),  # Decimal as text: exact, whatever precision KSeF sent
    Column("vat", "text"),
    Column("gross", "text"),
    Column("currency", "coded"),
    Column("kind", "coded"),
    Column("corrected", "text"),  # the KSeF number this one corrects, "" for none
    Column("xml", "int"),  # 1 when the XML is stored
    Column("period", "coded"),  # the booking's VAT period, "" when not booked
    Column("category", "coded"),  # the booking's category, "" when not booked
    Column("deduction", "int"),  # the booking's VAT deduction in percent, -1 when not booked
)
"""What the purchase screens show and filter on, for every purchase (:class:`ksef_tui.store.index.ColumnIndex`)."""

BOOKINGS = "bookings"
KEY = "ksef_number"
UNREADABLE = "purchases-unreadable"
"""Where the partition migration keeps documents of the old file it cannot place (no KSeF number or issue date)."""
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _index_row(doc: Mapping[str, Any], booking: Mapping[str, Any] | None) -> dict[str, Value]:
    return {
        "ksef_number": doc["ksef_number"],
        "invoice_number": doc["invoice_number"],
        "issue_date": date.fromisoformat(doc["issue_date"]).toordinal(),
        "received": int(datetime.fromisoformat(doc["acquisition_date"]).timestamp()),
        "seller_nip": doc["seller_nip"],
        "seller_name": doc["seller_name"],
        "net": doc["net"],
        "vat": doc["vat"],
        "gross": doc["gross"],
        "currency": doc["currency"],
        "kind": doc["kind"],
        "corrected": doc.get("corrected_ksef_number") or "",
        "xml": 1 if doc.get("xml_path") else 0,
        **_booking_values(BOOKINGS, booking),
    }


def _index_rows(month: Month, keys: Iterable[str] | None = None) -> Iterator[Row]:
    bookings = month.sides.get(BOOKINGS, {})
    for key in month.docs if keys is None else keys:
        try:
            yield _index_row(month.docs[key], bookings.get(key))
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreCorrupt(month.path, f"{key}: {type(exc).__name__}: {exc}") from None


def _header_doc(record: PurchaseRecord) -> dict[str, Any]:
    doc = record.to_doc()
    del doc["booking"]  # bookings live in the month's sidecar
    return doc


class PurchaseTable(PartitionedTable):
    """The purchases of one store: month partitions (headers, and a bookings sidecar per month) and their index.

    One per open store (:meth:`of`): every repository over the store shares it. The month of an invoice is its
    issue month when first stored, and never changes.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store, PURCHASE_TABLE)

    @classmethod
    def of(cls, store: Store) -> PurchaseTable:
        return store.attachment(PURCHASES, cls)

    def records(self, rows: Iterable[int]) -> Records:
        """Full records of index rows (each month read once), by issue date then KSeF number."""
        found: Records = []
        for loaded, keys in self.by_month(rows):
            bookings = loaded.sides.get(BOOKINGS, {})
            for key in keys:
                found.append(_record(loaded.docs[key], bookings.get(key), loaded.path))
        found.sort(key=lambda r: (r.issue_date, r.ksef_number))
        return found


def _booking_values(side: str, booking: Mapping[str, Any] | None) -> dict[str, Value]:
    return {
        "period": "" if booking is None else booking["period"],
        "category": "" if booking is None else booking["category"],
        "deduction": -1 if booking is None else booking["vat_deduction"],
    }


PURCHASE_TABLE = TableSpec(PURCHASES, KEY, (BOOKINGS,), PURCHASE_COLUMNS, _index_rows, _booking_values)


def partitions_root(store_path: Path) -> Path:
    """Where a store's purchase partitions live: ``store.purchases/`` beside ``store.json``."""
    return table_root(store_path, PURCHASES)


def _record(doc: Mapping[str, Any], booking: Mapping[str, Any] | None, path: Path) -> PurchaseRecord:
    try:
        return PurchaseRecord.from_doc(doc, booking)
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreCorrupt(path, f"{doc.get(KEY)}: {type(exc).__name__}: {exc}") from None


def select(
    index: ColumnIndex,
    period: Period | None = None,
    booked: bool | None = None,
    *,
    by: Literal["issue", "booking"] = "issue",
    where: Callable[[int], bool] | None = None,
    rows: Iterable[int] | None = None,
) -> list[int]:
    """Index rows of ``period`` (the issue month, or the booking's VAT period with ``by="booking"``), booked or
    not, kept by ``where``; out of ``rows`` (all, by default) in their order."""
    rows = range(len(index)) if rows is None else rows
    codes, values = index.coded("period")
    unbooked = values.index("") if "" in values else -1
    if period is not None and by == "issue":
        rows = issued_in(index, period, rows)
    elif period is not None:
        wanted = values.index(str(period)) if str(period) in values else -2
        rows = [i for i in rows if codes[i] == wanted]
    if booked is True:
        rows = [i for i in rows if codes[i] != unbooked]
    elif booked is False:
        rows = [i for i in rows if codes[i] == unbooked]
    if where is not None:
        rows = [i for i in rows if where(i)]
    return list(rows)


def migrate_to_partitions(store: Store) -> None:
    """Schema 1 -> 2: the single file's purchases (and the booking ledger beside it) into month partitions.

    Crash-safe and repeatable: the partitions are written whole from the old file first; the old file keeps its
    purchases until one write of ``store.json`` drops them and marks schema 2 (the commit). Before that write the
    old file and ledger are kept in ``store.v1-backup/`` (a hard link: no copy), never deleted.
    """
    path = store.path
    data = store.db.storage.read() or {}
    old = data.get(PURCHASES, {})
    ledger = _read_old_ledger(path.with_name(path.name + ".bookings"))
    changes: dict[str, tuple[dict[str, Doc], dict[str, dict[str, Doc | None]]]] = {}
    unreadable: dict[str, Doc] = {}
    for doc_id, raw in old.items():
        doc = dict(raw)
        embedded = doc.pop("booking", None)
        number, month = doc.get(KEY), str(doc.get("issue_date"))[:7]
        if not isinstance(number, str) or not _MONTH.fullmatch(month):
            unreadable[doc_id] = raw  # kept as it was, in store.json: nothing is dropped
            continue
        docs, sides = changes.setdefault(month, ({}, {BOOKINGS: {}}))
        docs[number] = doc
        booking = ledger.get(number, embedded)
        if booking is not None:
            sides[BOOKINGS][number] = booking
    root = partitions_root(path)
    partitions = PartitionSet(root, PURCHASES, KEY, sidecars=(BOOKINGS,), read_only=False)
    partitions.clean_stale()
    for month in changes:  # an interrupted earlier attempt: start these months afresh from the old file
        for stale in (partitions.path(month), partitions.side_path(month, BOOKINGS)):
            stale.unlink(missing_ok=True)
    (root / "index.bin").unlink(missing_ok=True)
    partitions.write(changes)
    backup = path.with_name(path.stem + ".v1-backup")
    backup.mkdir(mode=0o700, exist_ok=True)
    kept = backup / path.name
    kept.unlink(missing_ok=True)
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    fsync_dir(backup)
    rest = {name: table for name, table in data.items() if name != PURCHASES}
    rest[META] = {"1": {"schema": 2}}
    if unreadable:
        rest[UNREADABLE] = {**rest.get(UNREADABLE, {}), **unreadable}
    store.db.storage.write(rest)  # the commit
    old_ledger = path.with_name(path.name + ".bookings")
    if old_ledger.is_dir():
        target = backup / "bookings"
        if target.exists():
            shutil.rmtree(target)
        old_ledger.rename(target)
        fsync_dir(path.parent)


def _read_old_ledger(root: Path) -> dict[str, Doc]:
    """Schema 1's bookings: ``<store>.bookings/YYYY-MM.json`` by booking period; the newest ``booked_at`` wins."""
    found: dict[str, Doc] = {}
    if not root.is_dir():
        return found
    for path in sorted(root.glob("*.json")):
        try:
            entries = json.loads(path.read_bytes())["bookings"]
            items = [(str(n), Booking.from_doc(doc), doc) for n, doc in entries.items()]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreCorrupt(path, f"{type(exc).__name__}: {exc}") from None
        for number, booking, doc in items:
            known = found.get(number)
            if known is None or Booking.from_doc(known).booked_at < booking.booked_at:
                found[number] = dict(doc)
    return found


class PurchaseRepository:
    """Purchases of a store: reads answered by the index and the months it names, writes of the months touched."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the table (and its index) is loaded on first use: building a repository reads nothing

    @property
    def _table(self) -> PurchaseTable:
        return PurchaseTable.of(self._store)

    @property
    def table(self) -> PurchaseTable:
        return self._table

    @property
    def lock(self) -> threading.RLock:
        """The store's lock: hold it to read :attr:`index` from one thread while another may write."""
        return self._store.mutex

    @property
    def index(self) -> ColumnIndex:
        """The columnar index (current as of the last call; read-only views refresh on each repository call)."""
        return self._table.index

    def upsert_many(self, records: Iterable[PurchaseRecord]) -> UpsertResult:
        """Store invoices: new ones into their issue month, known ones back into theirs; one write per month
        touched (headers, then bookings the records carry). An update keeps the stored booking, XML path/hash and
        ``first_seen`` unless the new record carries its own booking or XML path. Duplicate numbers in
        ``records``: the last one wins."""
        incoming = {record.ksef_number: record for record in records}
        new = updated = unchanged = 0
        with self._store.mutex:
            table = self._table
            table.refresh()
            changes: dict[str, tuple[dict[str, Doc], dict[str, dict[str, Doc | None]]]] = {}
            stored: dict[str, dict[str, Doc]] = {}
            for number, record in incoming.items():
                month = table.month_of(number) or record.issue_date.isoformat()[:7]
                docs, sides = changes.setdefault(month, ({}, {BOOKINGS: {}}))
                if month not in stored:
                    stored[month] = table.partitions.get(month).docs
                old = stored[month].get(number)
                doc = _header_doc(record)
                if old is None:
                    docs[number] = doc
                    new += 1
                elif (merged := _merge(old, doc)) != old:
                    docs[number] = merged
                    updated += 1
                else:
                    unchanged += 1
                if record.booking is not None:
                    sides[BOOKINGS][number] = record.booking.to_doc()
            table.write({m: c for m, c in changes.items() if c[0] or c[1][BOOKINGS]})
            if new:
                table.save_index()
        return UpsertResult(new=new, updated=updated, unchanged=unchanged)

    def get(self, ksef_number: str) -> PurchaseRecord | None:
        with self._store.mutex:
            self._table.refresh()
            row = self.index.row_of(ksef_number)
            return None if row is None else self._table.records([row])[0]

    def all(self) -> Records:
        """Every purchase, by issue date then KSeF number (reads every month: for exports, not for screens)."""
        with self._store.mutex:
            self._table.refresh()
            return self._table.records(range(len(self.index)))

    def list(
        self,
        period: Period | str | None = None,
        booked: bool | None = None,
        *,
        by: Literal["issue", "booking"] = "issue",
    ) -> Records:
        """Purchases of ``period`` (the issue month, or the booking's VAT period with ``by="booking"``),
        optionally only booked (``True``) or unbooked (``False``) ones. A text period goes through the one parser,
        :meth:`Period.parse` (``InvalidBooking``, a ``ValueError``, when malformed)."""
        if isinstance(period, str):
            period = Period.parse(period)
        with self._store.mutex:
            self._table.refresh()
            return self._table.records(select(self.index, period, booked, by=by))

    def count(self) -> int:
        with self._store.mutex:
            self._table.refresh()
            return len(self.index)

    def ksef_numbers(self) -> set[str]:
        with self._store.mutex:
            self._table.refresh()
            return set(self.index.text(KEY))

    def with_xml(self) -> set[str]:
        """The numbers whose XML is stored (a sync downloads only the others)."""
        with self._store.mutex:
            self._table.refresh()
            numbers, xml = self.index.text(KEY), self.index.ints("xml")
            return {numbers[i] for i in range(len(numbers)) if xml[i]}

    def set_booking(self, ksef_number: str, booking: Booking | None) -> None:
        """Book (or un-book, with ``None``) one purchase: one write of its month's bookings.
        Raises :class:`PurchaseNotFound`."""
        self.set_bookings({ksef_number: booking})

    def set_bookings(self, bookings: Mapping[str, Booking | None]) -> None:
        """Book (or un-book) several purchases: one write per month touched, nothing if any number is unknown."""
        if not bookings:
            return
        with self._store.mutex:
            table = self._table
            table.refresh()
            months = {number: table.month_of(number) for number in bookings}
            missing = [number for number, month in months.items() if month is None]
            if missing:
                raise PurchaseNotFound(missing[0] if len(missing) == 1 else missing)
            changes: dict[str, tuple[dict[str, Doc], dict[str, dict[str, Doc | None]]]] = {}
            for number, booking in bookings.items():
                month = months[number]
                assert month is not None
                entries = changes.setdefault(month, ({}, {BOOKINGS: {}}))[1][BOOKINGS]
                entries[number] = None if booking is None else booking.to_doc()
            table.write(changes)

    def corrected_numbers(self) -> set[str]:
        """The KSeF numbers some stored purchase corrects (for "corrected" marks in a list)."""
        with self._store.mutex:
            self._table.refresh()
            return set(self.index.text("corrected")) - {""}

    def without_xml(self) -> Records:
        """Headers whose XML is not stored yet: the next sync retries their download."""
        with self._store.mutex:
            self._table.refresh()
            xml = self.index.ints("xml")
            return self._table.records(i for i in range(len(xml)) if not xml[i])

    def count_without_xml(self) -> int:
        with self._store.mutex:
            self._table.refresh()
            return self.index.ints("xml").count(0)

    def corrections_of(self, ksef_number: str) -> Records:
        """The purchases that correct ``ksef_number`` (their ``corrected_ksef_number``), oldest first."""
        with self._store.mutex:
            self._table.refresh()
            corrected = self.index.text("corrected")
            return self._table.records(i for i, n in enumerate(corrected) if n == ksef_number)


_SAFE_NUMBER = re.compile(r"^[0-9A-Za-z-]{20,64}$")


class XmlStore:
    """Invoice XML files under ``root/YYYY/MM/<ksef_number>.xml`` (month of the number's date part), 0600."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def clean_stale(self) -> int:
        """Remove temp files left by writes a crash interrupted (``YYYY/MM/.<name>.*.tmp``); call it with the
        store's writer lock held. Returns how many were removed."""
        removed = 0
        for stale in self.root.glob("*/*/.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
        return removed

    @staticmethod
    def relative_path(ksef_number: str) -> str:
        if not _SAFE_NUMBER.match(ksef_number):
            raise ValueError(f"not a KSeF number: {ksef_number!r}")
        day = datetime.strptime(ksef_number[11:19], "%Y%m%d")  # ValueError if the date part is not a date
        return f"{day:%Y}/{day:%m}/{ksef_number}.xml"

    def put_many(self, items: Mapping[str, bytes]) -> dict[str, tuple[str, str]]:
        """Write each XML atomically (temp file + rename), then flush the batch at once (``sync_files``: one
        ``syncfs`` on Linux) and each directory once. A power cut before that leaves files no record points at
        (records are written after this returns), which the next sync writes again.

        Returns ``{ksef_number: (relative_path, sha256_hex)}``, once every file is durable. A file already holding
        the same bytes is not rewritten.
        """
        result: dict[str, tuple[str, str]] = {}
        written: list[Path] = []
        for number, content in items.items():
            relative = self.relative_path(number)
            digest = hashlib.sha256(content).hexdigest()
            target = self.root / relative
            result[number] = (relative, digest)
            with contextlib.suppress(OSError):
                if hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                    continue
            atomic_write(target, content, sync_dir=False, sync_file=False)
            written.append(target)
        sync_files(written)  # the whole batch flushed at once, before any record points at these files
        touched = {path.parent for path in written}
        for directory in {d.parent for d in touched} | {d.parent.parent for d in touched}:
            fsync_dir(directory)  # new YYYY/ and MM/ entries
        return result

    def get(self, relative_path: str, sha256: str) -> bytes:
        """The stored bytes, checked against ``sha256`` (hex, as returned by :meth:`put_many`)."""
        parts = PurePosixPath(relative_path)
        if parts.is_absolute() or ".." in parts.parts:
            raise ValueError(f"not a path inside the XML store: {relative_path!r}")
        try:
            content = (self.root / parts).read_bytes()
        except FileNotFoundError:
            raise XmlDamaged(relative_path, "the file is missing") from None
        actual = hashlib.sha256(content).hexdigest()
        if actual != sha256.lower():
            raise XmlDamaged(relative_path, f"SHA-256 mismatch (expected {sha256}, found {actual})")
        return content
