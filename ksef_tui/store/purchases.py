"""Purchase invoices in the store: the header record, its booking, the repository and the XML file store.

Blocking by design (file I/O and fsync): call from thread workers. Write order for a sync: first
``XmlStore.put_many`` (the files are durable when it returns), then ``PurchaseRepository.upsert_many`` with the
returned paths, so a record never points at a file that is not on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ksef_tui.domain.booking import Booking, Period
from ksef_tui.store.atomic import atomic_write, clean_stale_temp_files, fsync_dir
from ksef_tui.store.db import PURCHASES, Store, StoreCorrupt, StoreReadOnly


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
    def from_doc(cls, doc: Mapping[str, Any]) -> PurchaseRecord:
        booking = doc.get("booking")
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


_LEDGER_FILE = re.compile(r"^(\d{4}-(0[1-9]|1[0-2]))\.json$")

Signature = tuple[int, int, int]


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class BookingLedger:
    """Bookings kept apart from the purchases: one small JSON file per booking period beside the store.

    Booking one invoice rewrites only its period's file (a few thousand entries at most), not the purchases file,
    which at 50,000 invoices is 38 MB and takes ~450 ms to rewrite (ARCHITECTURE P5: one update <= 20 ms).
    Moving a booking to another period writes the new period first; if a crash leaves it in both files, the
    newer ``booked_at`` wins when the ledger is read. Writes are protected by the store's single-writer lock.

    An explicit object: whoever opens the store opens its ledger (:meth:`beside`) and hands it to the
    repositories. It keeps what it read in memory and, before each use (:meth:`refresh`), re-reads only the period
    files whose identity (inode, size, mtime) changed since it last read or wrote them: a read-only ledger sees
    the writer's bookings, and a second ledger over the same directory never writes from a stale view.
    """

    def __init__(self, root: Path, *, read_only: bool) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self._files: dict[str, tuple[Signature, dict[str, Booking]]] = {}
        self._bookings: dict[str, Booking] = {}
        self._periods: dict[str, set[str]] = {}
        self._encoded: dict[str, tuple[Booking, str]] = {}  # number -> (booking, its JSON member), for rewrites
        if not read_only and self.root.is_dir():
            for path in self.root.iterdir():
                if _LEDGER_FILE.match(path.name):
                    clean_stale_temp_files(path)
        self.refresh()

    @classmethod
    def beside(cls, store: Store) -> BookingLedger:
        """The ledger of ``store`` (``<store file>.bookings/``), read-only when the store is."""
        return cls(store.path.with_name(store.path.name + ".bookings"), read_only=store.read_only)

    def _file(self, period: str) -> Path:
        return self.root / f"{period}.json"

    def _on_disk(self) -> dict[str, Signature]:
        found: dict[str, Signature] = {}
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return found
        for entry in entries:
            match = _LEDGER_FILE.match(entry.name)
            if match is not None:
                with contextlib.suppress(FileNotFoundError):
                    found[match[1]] = _signature(entry.stat())
        return found

    def _read(self, period: str) -> tuple[Signature, dict[str, Booking]]:
        path = self._file(period)
        try:
            with path.open("rb") as handle:
                signature = _signature(os.fstat(handle.fileno()))
                docs = json.loads(handle.read())["bookings"]
            return signature, {str(number): Booking.from_doc(doc) for number, doc in docs.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreCorrupt(path, f"{type(exc).__name__}: {exc}") from None

    def refresh(self) -> bool:
        """Re-read the period files changed on disk since this ledger last saw them; one directory scan when
        nothing changed. Returns whether anything was re-read."""
        on_disk = self._on_disk()
        known = {period: signature for period, (signature, _) in self._files.items()}
        if on_disk == known:
            return False
        files = {period: self._files[period] for period in on_disk if known.get(period) == on_disk[period]}
        for period in on_disk:
            if period not in files:
                with contextlib.suppress(FileNotFoundError):  # replaced or removed since the scan: next time
                    files[period] = self._read(period)
        self._files = files
        self._bookings, self._periods = {}, {}
        for period in sorted(files):
            for number, booking in files[period][1].items():
                self._place(number, booking)
        return True

    def _place(self, number: str, booking: Booking) -> None:
        known = self._bookings.get(number)
        if known is not None and known.booked_at >= booking.booked_at:
            return
        if known is not None:
            self._periods[known.period].discard(number)
        self._bookings[number] = booking
        self._periods.setdefault(booking.period, set()).add(number)

    def get(self, ksef_number: str) -> Booking | None:
        """The booking of one purchase as of the last :meth:`refresh` (or this ledger's own last write)."""
        return self._bookings.get(ksef_number)

    def set_many(self, changes: Mapping[str, Booking | None]) -> None:
        """Book or un-book (``None``) purchases: one file write per period touched, new homes first."""
        if self.read_only:
            raise StoreReadOnly(self.root)
        self.refresh()
        gained: set[str] = set()
        lost: set[str] = set()
        for number, booking in changes.items():
            old = self._bookings.pop(number, None)
            if old is not None:
                self._periods[old.period].discard(number)
                lost.add(old.period)
            if booking is not None:
                self._bookings[number] = booking
                self._periods.setdefault(booking.period, set()).add(number)
                gained.add(booking.period)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for period in sorted(gained) + sorted(lost - gained):  # new homes first: a crash never loses a booking
            bookings = {n: self._bookings[n] for n in sorted(self._periods.get(period, ()))}
            members = ",".join(self._member(n, b) for n, b in bookings.items())
            payload = f'{{"version":1,"period":{json.dumps(period)},"bookings":{{{members}}}}}'
            path = self._file(period)
            atomic_write(path, payload.encode())
            self._files[period] = (_signature(path.stat()), bookings)

    def _member(self, number: str, booking: Booking) -> str:
        """``"<number>":{booking}`` as JSON, kept between writes: rewriting a period of 5,000 bookings re-encodes
        only the one that changed (encoding them all took ~60 ms, three times the P5 budget)."""
        cached = self._encoded.get(number)
        if cached is not None and cached[0] is booking:
            return cached[1]
        doc = json.dumps(booking.to_doc(), ensure_ascii=False, separators=(",", ":"))
        member = f"{json.dumps(number, ensure_ascii=False)}:{doc}"
        self._encoded[number] = (booking, member)
        return member


class PurchaseRepository:
    """The ``purchases`` table. Every method is one read of the (cached) data and at most the writes it names.

    Bookings come from ``ledger``, the store's :class:`BookingLedger`; pass the one the store's opener holds
    (without it, the repository opens its own, which costs one read of every period file).
    """

    def __init__(self, store: Store, ledger: BookingLedger | None = None) -> None:
        self._store = store
        self._ledger = BookingLedger.beside(store) if ledger is None else ledger
        self._known: set[str] | None = None  # every stored KSeF number, filled on first use

    def _record(self, doc: Mapping[str, Any]) -> PurchaseRecord:
        record = PurchaseRecord.from_doc(doc)
        return replace(record, booking=self._ledger.get(record.ksef_number))

    def _numbers(self) -> set[str]:
        """Every stored number. Purchases are never deleted and numbers are unique, so the cache is current
        exactly when it is as long as the table (another repository over this store may have added some)."""
        table = self._table
        if self._known is None or len(self._known) != len(table):
            self._known = {str(doc["ksef_number"]) for doc in table}
        return self._known

    @property
    def _table(self) -> Any:
        return self._store.table(PURCHASES)

    def _find(self, ksef_number: str) -> Any:
        """The stored document (a tinydb Document) or None. A plain callable: no Query overhead, one copy."""
        return self._table.get(cond=lambda doc: doc.get("ksef_number") == ksef_number)

    def upsert_many(self, records: Iterable[PurchaseRecord]) -> UpsertResult:
        """Insert new invoices (one write) and update known ones (at most one more write).

        An update keeps the stored booking, XML path/hash and ``first_seen`` unless the new record carries its
        own booking or XML path. Duplicate numbers in ``records``: the last one wins.
        """
        records = list(records)
        incoming = {record.ksef_number: {**record.to_doc(), "booking": None} for record in records}
        bookings = {record.ksef_number: record.booking for record in records if record.booking is not None}
        with self._store.mutex:
            table = self._table
            known = self._known if self._known is not None and len(self._known) == len(table) else None
            existing: dict[str, tuple[int, dict[str, Any]]] = {}
            for doc in table.search(lambda doc: doc.get("ksef_number") in incoming):
                existing[doc["ksef_number"]] = (int(doc.doc_id), dict(doc))
            fresh = [doc for number, doc in incoming.items() if number not in existing]
            changed: dict[int, dict[str, Any]] = {}
            for number, (doc_id, old) in existing.items():
                merged = _merge(old, incoming[number])
                if merged != old:
                    changed[doc_id] = merged
            if fresh:
                table.insert_multiple(fresh)
            if changed:
                replacements = {doc["ksef_number"]: doc for doc in changed.values()}

                def overwrite(doc: dict[str, Any]) -> None:
                    # ``doc`` is the stored document; tinydb passes it without its id, so find it by number.
                    target = replacements[doc["ksef_number"]]
                    doc.clear()
                    doc.update(target)

                table.update(overwrite, doc_ids=list(changed))
            if known is not None:
                known.update(incoming)  # still current: the table grew by exactly the fresh numbers
            if bookings:
                self._ledger.set_many(bookings)
            return UpsertResult(new=len(fresh), updated=len(changed), unchanged=len(existing) - len(changed))

    def get(self, ksef_number: str) -> PurchaseRecord | None:
        with self._store.mutex:
            self._ledger.refresh()
            doc = self._find(ksef_number)
            return None if doc is None else self._record(doc)

    def _select(self, keep: Callable[[Mapping[str, Any]], bool]) -> Records:
        with self._store.mutex:
            self._ledger.refresh()
            found = [self._record(doc) for doc in self._table.search(keep)]
        found.sort(key=lambda r: (r.issue_date, r.ksef_number))
        return found

    def all(self) -> Records:
        """Every purchase, by issue date then KSeF number."""
        return self._select(lambda doc: True)

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
        if period is not None:
            period = str(Period.parse(period) if isinstance(period, str) else period)

        def keep(doc: Mapping[str, Any]) -> bool:
            booking = self._ledger.get(str(doc.get("ksef_number")))
            if booked is not None and (booking is not None) != booked:
                return False
            if period is None:
                return True
            if by == "booking":
                return booking is not None and booking.period == period
            return str(doc.get("issue_date", ""))[:7] == period

        return self._select(keep)

    def count(self) -> int:
        with self._store.mutex:
            return len(self._table)

    def ksef_numbers(self) -> set[str]:
        with self._store.mutex:
            return set(self._numbers())

    def set_booking(self, ksef_number: str, booking: Booking | None) -> None:
        """Book (or un-book, with ``None``) one purchase: one small ledger write. Raises :class:`PurchaseNotFound`."""
        self.set_bookings({ksef_number: booking})

    def set_bookings(self, bookings: Mapping[str, Booking | None]) -> None:
        """Book (or un-book) several purchases: one write per booking period touched (the ledger), nothing if any
        number is unknown."""
        if not bookings:
            return
        with self._store.mutex:
            known = self._numbers()
            missing = [number for number in bookings if number not in known]
            if missing:
                raise PurchaseNotFound(missing[0] if len(missing) == 1 else missing)
            self._ledger.set_many(bookings)

    def corrected_numbers(self) -> set[str]:
        """The KSeF numbers some stored purchase corrects (one scan; for "corrected" marks in a list)."""
        with self._store.mutex:
            return {str(n) for doc in self._table if (n := doc.get("corrected_ksef_number")) is not None}

    def without_xml(self) -> Records:
        """Headers whose XML is not stored yet (``xml_path`` is None): the next sync retries their download."""
        return self._select(lambda doc: doc.get("xml_path") is None)

    def corrections_of(self, ksef_number: str) -> Records:
        """The purchases that correct ``ksef_number`` (their ``corrected_ksef_number``), oldest first."""
        return self._select(lambda doc: doc.get("corrected_ksef_number") == ksef_number)


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
        """Write each XML atomically (temp file + fsync + rename; each directory fsynced once at the end).

        Returns ``{ksef_number: (relative_path, sha256_hex)}``. A file already holding the same bytes is not
        rewritten.
        """
        result: dict[str, tuple[str, str]] = {}
        touched: set[Path] = set()
        for number, content in items.items():
            relative = self.relative_path(number)
            digest = hashlib.sha256(content).hexdigest()
            target = self.root / relative
            result[number] = (relative, digest)
            with contextlib.suppress(OSError):
                if hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                    continue
            atomic_write(target, content, sync_dir=False)
            touched.add(target.parent)
        for directory in touched:
            fsync_dir(directory)
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
