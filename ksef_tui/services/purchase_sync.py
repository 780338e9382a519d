"""Purchase import ("Importuj faktury KSeF"): incremental, economical, crash-safe.

The MF's recommended way (PROTOCOL.md §6.2): invoices where we are the buyer (``Subject2``), by
``PermanentStorage`` date, windows of at most three months clamped to the High Water Mark
(``restrictToPermanentStorageHwmDate``); the cursor is the HWM KSeF returns, or the last record's date when a
result was truncated at 10,000. Long gaps (the first import, a long break) go through exports, which bring up
to 10,000 invoices with their XML in one call; small deltas go through one metadata page and single downloads,
unless that page shows more than a handful of new invoices, when one export is cheaper than the downloads.

The cursor moves only after everything its window brought is saved, so a crash or a rejected window never
skips invoices: the next run repeats the window and deduplicates by KSeF number.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from ksef_tui.domain.booking import WARSAW
from ksef_tui.domain.profile import Profile
from ksef_tui.fa.parse import InvoiceParseError, parse_invoice
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.crypto import SymmetricKey, sha256_b64
from ksef_tui.ksef.errors import ApiError
from ksef_tui.ksef.receive import (
    ExportFailed,
    InvoiceMetadata,
    date_range,
    download_invoice,
    download_package,
    package_metadata,
    query_metadata,
    start_export,
    wait_for_export,
)
from ksef_tui.store.cursors import Cursor, CursorRepository
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository, XmlStore

SUBJECT = "Subject2"
CURSOR_KEY = "purchases:Subject2"
#: Gaps longer than this are imported through an export rather than metadata pages and single downloads.
BULK_GAP = timedelta(days=2)
#: A small delta needing more single downloads than this (the download budget is 64/h) switches to an export
#: (20/h, but up to 10,000 invoices each).
MAX_SINGLE_DOWNLOADS = 10
_TYPES = {
    "Vat": "VAT",
    "Kor": "KOR",
    "Zal": "ZAL",
    "Roz": "ROZ",
    "Upr": "UPR",
    "KorZal": "KOR_ZAL",
    "KorRoz": "KOR_ROZ",
}


def record_from(
    meta: InvoiceMetadata, kind: str, corrected: str | None, xml: tuple[str, str] | None, now: datetime
) -> PurchaseRecord:
    """A store record from KSeF metadata (the booking and first-seen date are kept by the repository)."""
    return PurchaseRecord(
        ksef_number=meta.ksef_number,
        invoice_number=meta.invoice_number,
        issue_date=meta.issue_date,
        seller_nip=meta.seller_nip,
        seller_name=meta.seller_name,
        buyer_id=meta.buyer_id or "",
        net=meta.net,
        vat=meta.vat,
        gross=meta.gross,
        currency=meta.currency,
        kind=kind,
        corrected_ksef_number=corrected,
        invoicing_date=meta.invoicing_date,
        acquisition_date=meta.acquisition_date,
        permanent_storage_date=meta.permanent_storage_date,
        invoice_hash=meta.invoice_hash,
        xml_path=xml[0] if xml else None,
        xml_sha256=xml[1] if xml else None,
        booking=None,
        first_seen=now,
    )


@dataclass(frozen=True, slots=True)
class SyncProgress:
    phase: str  # window | export | download | save
    window_from: datetime
    window_to: datetime
    done: int = 0
    total: int | None = None


@dataclass(slots=True)
class SyncResult:
    new: int = 0
    updated: int = 0
    corrections: int = 0
    windows: int = 0
    pending_xml: int = 0
    hwm: datetime | None = None
    calls: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "new": self.new,
            "updated": self.updated,
            "corrections": self.corrections,
            "calls": dict(sorted(self.calls.items())),
            "hwm": self.hwm.isoformat() if self.hwm else None,
            "windows": self.windows,
            "pending_xml": self.pending_xml,
        }


def add_months(moment: datetime, months: int) -> datetime:
    local = moment.astimezone(WARSAW)
    years, month0 = divmod(local.month - 1 + months, 12)
    year, month = local.year + years, month0 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def start_of(profile: Profile) -> datetime:
    return datetime.combine(profile.start_date, time(0), tzinfo=WARSAW).astimezone(UTC)


@dataclass(slots=True)
class _Window:
    start: datetime
    end: datetime
    next_start: datetime
    hwm: datetime | None
    finished: bool  # nothing more to fetch after this window


class PurchaseSync:
    def __init__(
        self,
        profile: Profile,
        api: KsefApi,
        store: Store,
        xml_store: XmlStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> None:
        self.profile = profile
        self.api = api
        self.repo = PurchaseRepository(store)
        self.cursors = CursorRepository(store)
        self.xml_store = xml_store
        self.clock = clock
        self.progress = progress or (lambda _p: None)
        self.result = SyncResult()

    async def run(self) -> SyncResult:
        floor = start_of(self.profile)
        await asyncio.to_thread(self.xml_store.clean_stale)
        cursor = await asyncio.to_thread(self.cursors.get, CURSOR_KEY)
        start = max(cursor.position, floor) if cursor else floor
        self.result.hwm = cursor.hwm if cursor else None
        calls_before = self.api.calls()
        await self._retry_pending()
        now = self.clock()
        while start < now:
            end = min(add_months(start, 3) - timedelta(seconds=1), now)
            self.progress(SyncProgress("window", start, end))
            if now - start > BULK_GAP:
                window = await self._export_window(start, end, last=end == now)
            else:
                window = await self._metadata_window(start, end, last=end == now)
            self.result.windows += 1
            if window.hwm is not None:
                self.result.hwm = window.hwm
            position = window.next_start
            if position > start:
                await asyncio.to_thread(self.cursors.set, Cursor(CURSOR_KEY, position, window.hwm, self.clock()))
            if window.finished or position <= start:
                break
            start = position
        after = self.api.calls()
        self.result.calls = {g: n - calls_before.get(g, 0) for g, n in after.items() if n - calls_before.get(g, 0)}
        return self.result

    # ------------------------------------------------------------------------------------------- windows

    def _filters(self, start: datetime, end: datetime) -> dict[str, object]:
        return {"subjectType": SUBJECT, "dateRange": date_range("PermanentStorage", start, end, restrict_to_hwm=True)}

    async def _export_window(self, start: datetime, end: datetime, *, last: bool) -> _Window:
        key = SymmetricKey.generate()
        try:
            reference = await start_export(self.api, self._filters(start, end), key)
            self.progress(SyncProgress("export", start, end))
            package = await wait_for_export(self.api, reference)
        except ApiError as exc:
            if exc.has_code(21183):  # nothing stored beyond the HWM yet
                return _Window(start, end, start, None, finished=True)
            raise
        except ExportFailed as exc:
            if exc.status.code == 420:
                return _Window(start, end, start, None, finished=True)
            raise
        files = await download_package(self.api, package, key)
        metas = package_metadata(files)
        xml = {m.ksef_number: files[f"{m.ksef_number}.xml"] for m in metas if f"{m.ksef_number}.xml" in files}
        self.progress(SyncProgress("save", start, end, 0, len(metas)))
        await asyncio.to_thread(self._save, metas, xml)
        if package.is_truncated and package.last_permanent_storage_date is not None:
            return _Window(start, end, package.last_permanent_storage_date, package.hwm, finished=False)
        return self._after(start, end, package.hwm, last=last)

    async def _metadata_window(self, start: datetime, end: datetime, *, last: bool) -> _Window:
        collected: dict[str, InvoiceMetadata] = {}
        page, page_from, hwm = 0, start, None
        while True:
            try:
                result = await query_metadata(self.api, self._filters(page_from, end), page=page)
            except ApiError as exc:
                if exc.has_code(21183):
                    return _Window(start, end, start, None, finished=True)
                raise
            hwm = result.hwm or hwm
            for meta in result.invoices:
                collected[meta.ksef_number] = meta
            if result.has_more and len(collected) > MAX_SINGLE_DOWNLOADS:
                return await self._export_window(start, end, last=last)  # more than a page: one export is cheaper
            if not result.has_more:
                break
            if result.is_truncated and result.invoices:
                page_from, page = result.invoices[-1].permanent_storage_date, 0
            else:
                page += 1
        known = await asyncio.to_thread(self.repo.with_xml)
        wanted = [m for m in collected.values() if m.ksef_number not in known]
        if len(wanted) > MAX_SINGLE_DOWNLOADS:
            return await self._export_window(start, end, last=last)
        xml = await self._download(wanted, start, end)
        await asyncio.to_thread(self._save, list(collected.values()), xml)
        return self._after(start, end, hwm, last=last)

    @staticmethod
    def _after(start: datetime, end: datetime, hwm: datetime | None, *, last: bool) -> _Window:
        """A complete window: the next starts at its end, or at the HWM when that is earlier (nothing is final
        beyond the HWM yet, so the next run starts there)."""
        if hwm is not None and hwm < end:
            return _Window(start, end, max(hwm, start), hwm, finished=True)
        return _Window(start, end, end, hwm, finished=last)

    async def _download(self, metas: list[InvoiceMetadata], start: datetime, end: datetime) -> dict[str, bytes]:
        xml: dict[str, bytes] = {}
        for index, meta in enumerate(metas):
            self.progress(SyncProgress("download", start, end, index, len(metas)))
            try:
                xml[meta.ksef_number] = await download_invoice(self.api, meta.ksef_number)
            except ApiError as exc:
                if not exc.has_code(21165):  # "not yet available": the header is kept, the XML comes next time
                    raise
        return xml

    async def _retry_pending(self) -> None:
        """Headers whose XML was "not yet available" (21165) last time: fetch the XML now."""
        pending = await asyncio.to_thread(self.repo.without_xml)
        if not pending:
            return
        xml: dict[str, bytes] = {}
        for record in pending:
            try:
                data = await download_invoice(self.api, record.ksef_number)
            except ApiError as exc:
                if not exc.has_code(21165):
                    raise
                continue
            if sha256_b64(data) == record.invoice_hash:
                xml[record.ksef_number] = data
        if xml:
            await asyncio.to_thread(self._attach_xml, [r for r in pending if r.ksef_number in xml], xml)

    def _attach_xml(self, records: list[PurchaseRecord], xml: dict[str, bytes]) -> None:
        stored = self.xml_store.put_many(xml)
        updated = []
        for record in records:
            path, digest = stored[record.ksef_number]
            kind, corrected = record.kind, record.corrected_ksef_number
            if _needs_xml(kind):
                kind, corrected = _read_kind(xml[record.ksef_number], kind)
            updated.append(
                replace(record, xml_path=path, xml_sha256=digest, kind=kind, corrected_ksef_number=corrected)
            )
        self.repo.upsert_many(updated)
        self.result.pending_xml = self.repo.count_without_xml()

    # ---------------------------------------------------------------------------------------------- store

    def _save(self, metas: list[InvoiceMetadata], xml: dict[str, bytes]) -> None:
        """Blocking: XML files first, then the headers, one store write per month touched (a crash between
        leaves files only). What is known already comes from the index, not from reading every purchase."""
        known = self.repo.ksef_numbers()
        complete = self.repo.with_xml()  # stored with its XML: nothing to do (dedupe across windows and runs)
        metas = [m for m in metas if m.ksef_number not in complete]
        declared = {m.ksef_number: m.invoice_hash for m in metas}
        good_xml = {k: v for k, v in xml.items() if k in declared and declared[k] in (None, sha256_b64(v))}
        stored = self.xml_store.put_many(good_xml) if good_xml else {}
        now = self.clock()
        records: list[PurchaseRecord] = []
        for meta in metas:
            old = meta.ksef_number in known
            kind = _TYPES.get(meta.invoice_type, meta.invoice_type.upper())
            corrected = None
            data = good_xml.get(meta.ksef_number)
            if data is not None and _needs_xml(kind):
                kind, corrected = _read_kind(data, kind)
            records.append(record_from(meta, kind, corrected, stored.get(meta.ksef_number), now))
            if not old:
                self.result.new += 1
                if kind.startswith("KOR"):
                    self.result.corrections += 1
            else:
                self.result.updated += 1
        if records:
            self.repo.upsert_many(records)
        self.result.pending_xml = self.repo.count_without_xml()


def _needs_xml(kind: str) -> bool:
    """Whether the XML must be read for what the metadata does not say: the invoice a correction corrects (or
    the kind, when KSeF named a type this client does not know). Parsing every invoice was a third of a sync."""
    return kind.startswith("KOR") or kind not in _TYPES.values()


def _read_kind(data: bytes, fallback: str) -> tuple[str, str | None]:
    """The invoice kind and the corrected invoice's KSeF number, read from the XML."""
    try:
        parsed = parse_invoice(data)
    except InvoiceParseError:
        return fallback, None
    return parsed.kind, next((c.ksef_number for c in parsed.corrected if c.ksef_number), None)
