"""Purchase import against the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.domain.profile import Profile
from ksef_tui.ksef.api import KsefApi
from ksef_tui.services.purchase_sync import PurchaseSync, SyncResult
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository, XmlStore

from ..conftest import Sim, make_api


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
    sim = make_sim(seed_purchases=60)
    seeded = sim.stats()["purchases_seeded"]
    assert seeded >= 60
    first = await sync(sim, tmp_path)
    assert first.new == seeded
    assert first.corrections > 0
    assert first.pending_xml == 0
    repo = records(tmp_path)
    assert repo.count() == seeded
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
    from datetime import UTC, datetime
    from decimal import Decimal

    from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
    from ksef_tui.domain.vat import VatRate
    from ksef_tui.fa.build import build_xml

    invoice = SalesInvoice(
        number,
        datetime.now(UTC).date(),
        Seller("7740001454", "Nowy Dostawca sp. z o.o.", Address("ul. Boczna 3", "00-950 Warszawa")),
        Buyer("Demo", tax_id=sim.nip),
        (InvoiceLine("usługa", Decimal(1), Decimal(amount), VatRate.R23),),
    )
    return build_xml(invoice)


def add_supplier_invoices(sim: Sim, count: int, prefix: str) -> list[str]:
    import httpx

    numbers = []
    for index in range(count):
        response = httpx.post(
            f"{sim.admin_url}/invoices",
            content=supplier_invoice(sim, f"{prefix}/{index}"),
            headers={"content-type": "application/xml"},
            timeout=10,
        )
        response.raise_for_status()
        numbers.append(response.json()["ksefNumber"])
    return numbers


async def test_new_invoices_appear_on_the_next_sync(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim(seed_purchases=10, hwm_lag=0.0)
    first = await sync(sim, tmp_path)
    added = add_supplier_invoices(sim, 3, "NEW")
    import asyncio

    await asyncio.sleep(0.3)
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
    sim = make_sim(seed_purchases=40, export_row_cap=cap, metadata_row_cap=cap)
    seeded = sim.stats()["purchases_seeded"]
    result = await sync(sim, tmp_path)
    assert result.new == seeded
    assert records(tmp_path).count() == seeded
    assert result.calls["invoiceExport"] > 4  # several packages per three-month window


async def test_a_rejected_window_leaves_the_cursor_where_it_was(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    from ksef_tui.ksef.errors import ServerError
    from ksef_tui.store.cursors import CursorRepository

    sim = make_sim(seed_purchases=10, hwm_lag=0.0)
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

    sim = make_sim(seed_purchases=10, hwm_lag=0.0)
    await sync(sim, tmp_path)
    add_supplier_invoices(sim, MAX_SINGLE_DOWNLOADS + 5, "BUSY")
    import asyncio

    await asyncio.sleep(0.3)
    result = await sync(sim, tmp_path)
    assert result.new == MAX_SINGLE_DOWNLOADS + 5
    assert result.calls.get("invoiceDownload", 0) == 0
    assert result.calls["invoiceExport"] == 1
    assert result.calls["invoiceMetadata"] == 1
