"""Purchase import against the simulator over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.domain.profile import Profile
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.client import parse_time
from ksef_tui.ksef.receive import InvoiceMetadata
from ksef_tui.services.purchase_sync import CURSOR_KEY, PurchaseSync, SyncProgress, SyncResult
from ksef_tui.store.cursors import Cursor, CursorRepository
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository, UpsertResult, XmlStore

from ..conftest import Sim, make_api

#: The simulator prepares an export in this many seconds, and the sync looks at it after as long (production: 1 s
#: first, as a real export is never instant); the import's logic is the same, the suite is several times faster.
QUICK = 0.05


@pytest.fixture(autouse=True)
def _quick_export_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    from ksef_tui.ksef.receive import wait_for_export

    async def quick(api: KsefApi, reference: str, **kwargs: Any) -> Any:
        return await wait_for_export(api, reference, **{"first_wait": QUICK, **kwargs})

    monkeypatch.setattr("ksef_tui.services.purchase_sync.wait_for_export", quick)


async def sync(sim: Sim, tmp_path: Path, api: KsefApi | None = None, **kwargs: Any) -> SyncResult:
    profile = Profile("demo", sim.nip, sim.base_url, date(2026, 2, 1))
    own = api is None
    api = api or make_api(sim.base_url, sim.tokens["full"], sim.nip)
    with Store.open(tmp_path / "store.json") as store:
        result = await PurchaseSync(profile, api, store, XmlStore(tmp_path / "xml"), **kwargs).run()
    if own:
        await api.http.aclose()
    return result


def records(tmp_path: Path) -> PurchaseRepository:
    store = Store.open(tmp_path / "store.json", read_only=True)
    return PurchaseRepository(store)


async def test_first_sync_imports_everything_then_nothing(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim(export_delay=QUICK, seed_purchases=60)
    seeded = sim.stats()["purchases_seeded"]
    assert seeded >= 60
    events: list[SyncProgress] = []
    first = await sync(sim, tmp_path, progress=events.append)
    assert first.new == seeded
    assert first.corrections > 0
    assert first.pending_xml == 0
    assert first.windows == len([e for e in events if e.phase == "window"]) >= 2
    repo = records(tmp_path)
    assert repo.count() == seeded
    assert first.corrections == len([r for r in repo.all() if r.kind.startswith("KOR")])
    assert all(is_valid_nip(r.seller_nip) and r.seller_name for r in repo.all())
    assert {r.buyer_id for r in repo.all()} == {sim.nip}  # our purchases: we are the buyer
    xml = XmlStore(tmp_path / "xml")
    for record in repo.all():
        assert record.xml_path is not None
        assert record.xml_sha256 is not None
        data = xml.get(record.xml_path, record.xml_sha256)
        assert b"<Faktura" in data
    corrections = [r for r in repo.all() if r.kind.startswith("KOR")]
    assert corrections
    assert all(r.corrected_ksef_number for r in corrections)
    linked = [c for c in corrections if repo.get(c.corrected_ksef_number or "") is not None]
    assert linked, "at least one correction refers to an original we imported"
    assert first.calls.get("invoiceDownload", 0) == 0  # bulk goes through exports, not single downloads

    before = sim.stats()["calls"]
    second = await sync(sim, tmp_path)
    after = sim.stats()["calls"]
    limited = ("invoiceMetadata", "invoiceDownload", "invoiceExport", "invoiceExportStatus")
    spent = sum(after.get(g, 0) - before.get(g, 0) for g in limited)
    assert (second.new, second.updated) == (0, 0)
    assert spent <= 2
    assert sim.stats()["rate_limited"] == 0


def supplier_invoice(sim: Sim, number: str, *, amount: str = "100.00") -> bytes:
    from decimal import Decimal

    from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
    from ksef_tui.domain.vat import VatRate
    from ksef_tui.fa.build import build_xml

    invoice = SalesInvoice(
        number,
        date(2026, 2, 2),  # fixed: any issue date before the acquisition will do, the calendar plays no part
        Seller("7740001454", "Nowy Dostawca sp. z o.o.", Address("ul. Boczna 3", "00-950 Warszawa")),
        Buyer("Demo", tax_id=sim.nip),
        (InvoiceLine("usługa", Decimal(1), Decimal(amount), VatRate.R23),),
    )
    return build_xml(invoice)


def add_supplier_invoices(sim: Sim, count: int, prefix: str) -> list[str]:
    """Invoices stored now (permanent storage at once), returned when a sync started now can see them."""
    import httpx

    numbers = []
    stored: list[datetime] = []
    for index in range(count):
        response = httpx.post(
            f"{sim.admin_url}/invoices",
            content=supplier_invoice(sim, f"{prefix}/{index}"),
            headers={"content-type": "application/xml"},
            timeout=10,
        )
        response.raise_for_status()
        numbers.append(response.json()["ksefNumber"])
        stored.append(parse_time(response.json()["permanentStorageDate"]))
    wait_until_past(max(stored))
    return numbers


def wait_until_past(moment: datetime) -> None:
    """A sync's window ends at its clock's now, sent to the millisecond: wait (a condition, not a fixed
    pause) until that clock is past ``moment``, so the window includes what was stored at ``moment``."""
    deadline = time.monotonic() + 5
    while datetime.now(UTC) <= moment + timedelta(milliseconds=1):
        assert time.monotonic() < deadline, "the clock does not move"
        time.sleep(0.001)


async def test_new_invoices_appear_on_the_next_sync(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim(export_delay=QUICK, seed_purchases=10, hwm_lag=0.0)
    first = await sync(sim, tmp_path)
    added = add_supplier_invoices(sim, 3, "NEW")
    second = await sync(sim, tmp_path)
    assert second.new == 3
    repo = records(tmp_path)
    assert repo.count() == first.new + 3
    assert all(repo.get(n) is not None for n in added)
    assert second.calls.get("invoiceDownload") == 3  # a small delta: one metadata page and single downloads
    assert second.calls.get("invoiceExport", 0) == 0


@pytest.mark.parametrize("cap", [7, 10])
async def test_truncated_results_continue_from_the_last_record(
    make_sim: Callable[..., Sim], tmp_path: Path, cap: int
) -> None:
    sim = make_sim(export_delay=QUICK, seed_purchases=40, export_row_cap=cap, metadata_row_cap=cap)
    seeded = sim.stats()["purchases_seeded"]
    result = await sync(sim, tmp_path)
    assert result.new == seeded
    assert records(tmp_path).count() == seeded
    assert result.calls["invoiceExport"] > 4  # several packages per three-month window


async def test_a_rejected_window_leaves_the_cursor_where_it_was(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    from ksef_tui.ksef.errors import ServerError
    from ksef_tui.store.cursors import CursorRepository

    sim = make_sim(export_delay=QUICK, seed_purchases=10, hwm_lag=0.0)
    await sync(sim, tmp_path)
    with Store.open(tmp_path / "store.json") as store:
        cursor = CursorRepository(store).get("purchases:Subject2")
    assert cursor is not None
    add_supplier_invoices(sim, 2, "LATE")
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip)
    await api.auth.tokens()
    sim.admin("POST", "/faults", {"spec": "error500=1"})
    with pytest.raises(ServerError):
        await sync(sim, tmp_path, api=api)
    with Store.open(tmp_path / "store.json") as store:
        assert CursorRepository(store).get("purchases:Subject2") == cursor
        count = PurchaseRepository(store).count()
    sim.admin("POST", "/faults", {})
    result = await sync(sim, tmp_path, api=api)
    await api.http.aclose()
    assert result.new == 2
    assert records(tmp_path).count() == count + 2


async def test_a_busy_short_gap_goes_through_one_export(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    from ksef_tui.services.purchase_sync import MAX_SINGLE_DOWNLOADS

    sim = make_sim(export_delay=QUICK, seed_purchases=10, hwm_lag=0.0)
    await sync(sim, tmp_path)
    add_supplier_invoices(sim, MAX_SINGLE_DOWNLOADS + 5, "BUSY")
    result = await sync(sim, tmp_path)
    assert result.new == MAX_SINGLE_DOWNLOADS + 5
    assert result.calls.get("invoiceDownload", 0) == 0
    assert result.calls["invoiceExport"] == 1
    assert result.calls["invoiceMetadata"] == 1


class Recorder:
    """Wraps a sync's repositories: each cursor move is recorded with what the store held at that moment, and
    the ``fail_at``-th save fails the way a full disk does (``where``: the XML files or the headers)."""

    def __init__(
        self, sync: PurchaseSync, monkeypatch: pytest.MonkeyPatch, *, fail_at: int = 0, where: str = ""
    ) -> None:
        self.sync = sync
        self.moves: list[tuple[Cursor, set[str]]] = []
        self.events: list[str] = []
        self.saves = 0
        self.failed_batch: list[InvoiceMetadata] = []
        self.fail_at, self.where = fail_at, where
        save, upsert, put_many, set_cursor = (
            sync._save,
            sync.repo.upsert_many,
            sync.xml_store.put_many,
            sync.cursors.set,
        )

        def recording_save(metas: list[InvoiceMetadata], xml: dict[str, bytes]) -> None:
            self.saves += 1
            if self.saves == self.fail_at:
                self.failed_batch = list(metas)
            save(metas, xml)
            self.events.append("save")

        def failing_upsert(records: Iterable[PurchaseRecord]) -> UpsertResult:
            self._maybe_fail("headers")
            return upsert(records)

        def failing_put_many(items: Mapping[str, bytes]) -> dict[str, tuple[str, str]]:
            self._maybe_fail("xml")
            return put_many(items)

        def recording_set(cursor: Cursor) -> None:
            self.moves.append((cursor, sync.repo.ksef_numbers()))
            self.events.append("cursor")
            set_cursor(cursor)

        monkeypatch.setattr(sync, "_save", recording_save)
        monkeypatch.setattr(sync.repo, "upsert_many", failing_upsert)
        monkeypatch.setattr(sync.xml_store, "put_many", failing_put_many)
        monkeypatch.setattr(sync.cursors, "set", recording_set)

    def _maybe_fail(self, where: str) -> None:
        if where == self.where and self.saves == self.fail_at:
            raise OSError(28, "No space left on device")


def demo_sync(sim: Sim, tmp_path: Path, store: Store) -> PurchaseSync:
    profile = Profile("demo", sim.nip, sim.base_url, date(2026, 2, 1))
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip)
    return PurchaseSync(profile, api, store, XmlStore(tmp_path / "xml"))


async def test_the_cursor_moves_only_after_its_window_is_saved(
    make_sim: Callable[..., Sim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim(export_delay=QUICK, seed_purchases=40, export_row_cap=7, metadata_row_cap=7)
    seeded = sim.stats()["purchases_seeded"]
    with Store.open(tmp_path / "store.json") as store:
        importer = demo_sync(sim, tmp_path, store)
        recorder = Recorder(importer, monkeypatch)
        await importer.run()
        await importer.api.aclose()
        final = importer.repo.all()
    assert len(final) == seeded
    assert len(recorder.moves) >= 5  # several packages: the cursor moved within and between windows
    for cursor, saved in recorder.moves:
        behind = {r.ksef_number for r in final if r.permanent_storage_date < cursor.position}
        # A run starting from here never asks for these again: each must be in the store already.
        assert behind <= saved, f"{len(behind - saved)} invoices before {cursor.position} were not saved yet"
    assert recorder.events[0] == "save"
    assert "cursor" not in {b for a, b in zip(recorder.events, recorder.events[1:], strict=False) if a == "cursor"}


@pytest.mark.parametrize("where", ["xml", "headers"])
@pytest.mark.parametrize("fail_at", [1, 3])
async def test_a_failed_save_leaves_the_cursor_where_it_was(
    make_sim: Callable[..., Sim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int, where: str
) -> None:
    sim = make_sim(export_delay=QUICK, seed_purchases=40, export_row_cap=7, metadata_row_cap=7)
    seeded = sim.stats()["purchases_seeded"]
    with Store.open(tmp_path / "store.json") as store:
        importer = demo_sync(sim, tmp_path, store)
        recorder = Recorder(importer, monkeypatch, fail_at=fail_at, where=where)
        with pytest.raises(OSError, match="No space left"):
            await importer.run()
        await importer.api.aclose()
        cursor = CursorRepository(store).get(CURSOR_KEY)
        stored = importer.repo.ksef_numbers()
    assert recorder.failed_batch, "the failing save was reached"
    if fail_at == 1:
        assert cursor is None  # nothing was saved: a first run starts again from the profile's start
    else:
        assert cursor is not None
        assert cursor == recorder.moves[-1][0]  # the last move before the failure, none after it
        assert cursor.position <= min(m.permanent_storage_date for m in recorder.failed_batch)
    result = await sync(sim, tmp_path)  # the next run repeats the failed window
    assert records(tmp_path).count() == seeded
    assert result.new == seeded - len(stored)


async def test_a_lagging_hwm_holds_the_cursor_back_until_ksef_is_final(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    """KSeF's HWM trails now: what is stored beyond it may still change, so the cursor stops at the HWM, and an
    invoice stored past it comes on a later run (moving the cursor to the window's end would skip it)."""
    sim = make_sim(export_delay=QUICK, seed_purchases=10, hwm_lag=3600.0)
    await sync(sim, tmp_path)
    with Store.open(tmp_path / "store.json") as store:
        first = CursorRepository(store).get(CURSOR_KEY)
    assert first is not None
    assert first.hwm is not None
    assert first.position == first.hwm  # the export window stopped at the HWM, an hour before now
    [late] = add_supplier_invoices(sim, 1, "LAG")
    second = await sync(sim, tmp_path)  # a small delta: the metadata path
    assert (second.new, second.calls.get("invoiceExport", 0)) == (0, 0)  # beyond the HWM: not yet visible
    with Store.open(tmp_path / "store.json") as store:
        cursor = CursorRepository(store).get(CURSOR_KEY)
        assert cursor is not None
        assert cursor.hwm is not None
        assert first.position < cursor.position == cursor.hwm < datetime.now(UTC) - timedelta(minutes=59)
    assert second.hwm == cursor.hwm
    sim.admin("POST", "/clock/advance", {"seconds": 7200})  # KSeF's HWM passes the invoice
    third = await sync(sim, tmp_path)
    assert third.new == 1
    assert records(tmp_path).get(late) is not None


async def test_truncated_metadata_pages_continue_from_the_last_record(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim(export_delay=QUICK, seed_purchases=10, hwm_lag=0.0, metadata_row_cap=3)
    await sync(sim, tmp_path)
    added = add_supplier_invoices(sim, 5, "PAGE")
    result = await sync(sim, tmp_path)
    assert result.new == 5
    assert all(records(tmp_path).get(n) is not None for n in added)
    # 3 rows (truncated), then from the third one's date the last 3: two pages, not a page per overlap.
    assert result.calls["invoiceMetadata"] == 2
    assert result.calls["invoiceDownload"] == 5


async def test_an_invoice_not_yet_downloadable_keeps_its_header_and_comes_next_time(
    make_sim: Callable[..., Sim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """21165 "not yet available": the header is saved without XML, the cursor moves on, and the next run fetches
    the XML of the pending one (checked against the header's hash) before anything else."""
    from ksef_tui.ksef.errors import ApiError, ExceptionDetail
    from ksef_tui.ksef.receive import download_invoice

    sim = make_sim(export_delay=QUICK, seed_purchases=10, hwm_lag=0.0)
    await sync(sim, tmp_path)
    slow, ready = add_supplier_invoices(sim, 2, "SLOW")
    refused: list[str] = []

    async def not_yet(api: KsefApi, number: str) -> bytes:
        if number == slow and len(refused) < 2:  # on this run and on the first retry of the next
            refused.append(number)
            raise ApiError(400, (ExceptionDetail(21165, "Faktura nie jest jeszcze dostępna."),))
        return await download_invoice(api, number)

    monkeypatch.setattr("ksef_tui.services.purchase_sync.download_invoice", not_yet)
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip)
    events: list[SyncProgress] = []
    second = await sync(sim, tmp_path, api=api, progress=events.append)
    assert refused == [slow]
    assert (second.new, second.pending_xml) == (2, 1)
    header = records(tmp_path).get(slow)
    assert header is not None
    assert (header.xml_path, header.xml_sha256) == (None, None)
    assert header.kind == "VAT"  # from the metadata until the XML comes
    assert records(tmp_path).get(ready) is not None
    downloads = [(e.done, e.total) for e in events if e.phase == "download"]
    assert downloads == [(0, 2), (1, 2)]
    windows = [(e.window_from, e.window_to) for e in events if e.phase == "window"]
    assert len(windows) == 1
    assert windows[0][0] < windows[0][1]
    assert all((e.window_from, e.window_to) == windows[0] for e in events)  # every step names its window

    still = await sync(sim, tmp_path, api=api)  # still not available: kept pending, no failure
    assert refused == [slow, slow]
    assert (still.new, still.pending_xml) == (0, 1)
    third = await sync(sim, tmp_path, api=api)
    await api.aclose()
    assert (third.new, third.pending_xml) == (0, 0)
    assert third.calls.get("invoiceDownload") == 1  # the pending one only
    assert 0 not in third.calls.values()  # only the calls this run made
    fetched = records(tmp_path).get(slow)
    assert fetched is not None
    assert fetched.xml_path is not None
    assert fetched.xml_sha256 is not None
    assert b"SLOW/0" in XmlStore(tmp_path / "xml").get(fetched.xml_path, fetched.xml_sha256)
