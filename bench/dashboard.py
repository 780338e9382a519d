"""The home screen's dashboard over a large store: the time its worker takes to read it.

Run: ``.venv/bin/python bench/dashboard.py [--purchases 50000] [--sales 20000]``.

It writes ``--purchases`` purchases (``bench/store.py``'s rows: 700 days from 2025-01-01) and ``--sales`` sales
invoices, every one accepted by KSeF on a day of the same 700, into a store in a temporary directory, then reads the
dashboard (``services.dashboard.read_dashboard``) as of 2026-11-30 from a fresh read-only open, twice, and prints
the times and what it counted. Measured on the shared 2-CPU box (50,000 purchases, 20,000 accepted sales): 0.25 s
quiet, 0.65-0.9 s with a load of 4 (it was 2.1 s when the sent days came from whole sales records instead of the
months' status files).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ksef_tui.services.dashboard import read_dashboard
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository
from ksef_tui.store.sales import SaleRecord, SalesRepository, SendState, SendStatus

sys.path.insert(0, str(Path(__file__).parent.parent))
from bench.store import BATCH, SELLERS, generate  # the store bench's purchases

START = datetime(2025, 1, 1, tzinfo=UTC)


def sale(n: int) -> tuple[SaleRecord, SendStatus]:
    record = SaleRecord(
        number=f"FV/{n}",
        issue_date=date(2025, 1, 1) + timedelta(days=n % 700),
        customer_id=SELLERS[n % len(SELLERS)],
        customer_id_type="nip",
        customer_name="Klient",
        net=Decimal("100.00"),
        vat=Decimal("23.00"),
        gross=Decimal("123.00"),
        currency="PLN",
        kind="VAT",
        corrected_number=None,
        xml_path=f"sales/{n}.xml",
        xml_sha256=f"{n:064x}",
        invoice_hash="Kb0rXcF2mSC8fW3u1mXy1O7JQb0y9zq8a4V0fJk2R1A=",
        source="built",
        created_at=START,
    )
    accepted = START + timedelta(days=n % 700, hours=10)
    return record, SendStatus(SendState.ACCEPTED, accepted, ksef_number=f"k-{n}", acquisition_date=accepted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--purchases", type=int, default=50_000)
    parser.add_argument("--sales", type=int, default=20_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ksef-dashboard-bench-"))
    rng = random.Random(1)
    with Store.open(root / "store.json") as store:
        purchases = PurchaseRepository(store)
        for start in range(0, args.purchases, BATCH):
            purchases.upsert_many(generate(start, min(BATCH, args.purchases - start), rng))
        sales = SalesRepository(store)
        for start in range(0, args.sales, BATCH):
            sales.add_many(sale(n) for n in range(start, min(start + BATCH, args.sales)))
    today = date(2026, 11, 30)
    for run in ("first read", "second read"):
        began = time.perf_counter()
        with Store.open(root / "store.json", read_only=True) as store:
            seen = read_dashboard(store, today)
        took = time.perf_counter() - began
        assert seen.traffic is not None and seen.purchases is not None and seen.sales is not None
        print(
            f"{run}: {took * 1000:.0f} ms  (this month: {seen.purchases.count} purchases, {seen.sales.count} sales;"
            f" 30 days: {sum(seen.traffic.received)} received, {sum(seen.traffic.sent)} sent)"
        )


if __name__ == "__main__":
    main()
