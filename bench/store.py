"""The store at 10k, 50k and 100k purchases, side by side with stock tinydb (one JSON file), in the same run.

Run: ``.venv/bin/python bench/store.py [--sizes 10000,50000,100000] [--repeat 7] [--dir DIR]``.

For each size it builds our store (month partitions + index, written in sync-sized batches of 10,000) and a
stock ``TinyDB(path)`` holding the same documents (bookings embedded, as a naive design would), then prints:

* open: ``Store.open`` (the manifest: ``store.json`` and the lock) | stock: ``TinyDB(path)`` + the first read
* open + index: the purchase table ready for a screen (index loaded from ``index.bin``, brought up to date)
* index load: the index alone, from its file (the columns of every row, what a 100k-row table paints from)
* sort: every row by issue date and KSeF number, the first time (then cached until dates or numbers change)
* filter: one keystroke (``PurchaseBrowser.search``: text in seller, NIP, invoice or KSeF number; within one
  issue month, or over every row; and the slowest keystroke typing "dostawca 41") | stock: the same test over
  every document
* 60 rows for a screen: display-ready rows of what a table paints
* list one period: full records of one issue month | stock: a query over the table
* one booking, one status update (a header changed: the XML stored): median of ``--repeat`` | stock: one update
* sales: one send status change in a register as large (the month's state file) | stock: one update
* "cold month": the first write into a month this process has not read yet (its sidecar is read first; the
  index is loaded already)
* RSS: peak memory (VmHWM) of a fresh process holding the index | stock: holding every document

Goals (issue 9): at 50,000 open <= 50 ms, booking/status update <= 20 ms; at 100,000 index load <= 0.15 s,
filter <= 50 ms, RSS <= 150 MB. Times are wall clock on whatever disk ``--dir`` is on (fsync cost differs).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from ksef_tui.domain.booking import Booking, Period
from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.services.purchases import PurchaseBrowser
from ksef_tui.store import index as index_file
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import (
    KEY,
    PURCHASE_COLUMNS,
    PurchaseRecord,
    PurchaseRepository,
    _index_rows,
    partitions_root,
)
from ksef_tui.store.sales import SaleRecord, SalesRepository, SendState, SendStatus

WARSAW = timezone(timedelta(hours=1))
SELLERS = ["5265877635", "7740001454", "5261040828", "1111111111", "9999999999"]
BATCH = 10_000
PERIOD = "2025-03"


def generate(start: int, count: int, rng: random.Random) -> list[PurchaseRecord]:
    """Purchases over 700 days (about 2,150 a month at 50,000), 97 sellers, one in ten a correction."""
    records = []
    for index in range(start, start + count):
        day = date(2025, 1, 1) + timedelta(days=index % 700)
        at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=WARSAW) + timedelta(seconds=index)
        seller = SELLERS[index % len(SELLERS)]
        net = Decimal(rng.randrange(100, 10_000_000)) / 100
        vat = (net * Decimal("0.23")).quantize(Decimal("0.01"))
        number = make_ksef_number(seller, day, f"{index:012X}")
        records.append(
            PurchaseRecord(
                ksef_number=number,
                invoice_number=f"FV/{index % 1000}/{day:%m}/{day:%Y}",
                issue_date=day,
                seller_nip=seller,
                seller_name=f"Dostawca {index % 97} spółka z ograniczoną odpowiedzialnością",
                buyer_id="7740001454",
                net=net,
                vat=vat,
                gross=net + vat,
                currency="PLN",
                kind="VAT" if index % 10 else "KOR",
                corrected_ksef_number=None,
                invoicing_date=at,
                acquisition_date=at + timedelta(minutes=3),
                permanent_storage_date=at + timedelta(minutes=5),
                invoice_hash="Kb0rXcF2mSC8fW3u1mXy1O7JQb0y9zq8a4V0fJk2R1A=",
                xml_path=None,
                xml_sha256=None,
                booking=None,
                first_seen=datetime.now(UTC),
            )
        )
    return records


def ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def median_ms(action: Callable[[int], object], repeat: int) -> float:
    return statistics.median(ms(functools.partial(action, n)) for n in range(repeat))


def booking(n: int) -> Booking:
    return Booking("goods", 100, PERIOD, f"bench {n}", datetime.now(UTC))


PEAK = """
def peak_mb():  # VmHWM: this process's peak (ru_maxrss would carry the parent's across fork + exec on Linux)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
"""

RSS_OURS = (
    PEAK
    + """
import sys
from pathlib import Path
from ksef_tui.store.db import Store
from ksef_tui.store.sales import SaleRecord, SalesRepository, SendState, SendStatus
from ksef_tui.store.purchases import PurchaseRepository
store = Store.open(Path(sys.argv[1]), read_only=True)
repo = PurchaseRepository(store)
print(len(repo.index), peak_mb())
"""
)

RSS_STOCK = (
    PEAK
    + """
import sys
from tinydb import TinyDB
docs = TinyDB(sys.argv[1]).table("purchases").all()
print(len(docs), peak_mb())
"""
)


def rss_mb(script: str, path: Path) -> int:
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[1])


def ours(root: Path, records: list[PurchaseRecord], repeat: int, rng: random.Random) -> dict[str, float]:
    path = root / "store.json"
    with Store.open(path) as store:
        repo = PurchaseRepository(store)
        for start in range(0, len(records), BATCH):
            repo.upsert_many(records[start : start + BATCH])
        in_period = [r.ksef_number for r in records if str(r.issue_date)[:7] == PERIOD]
        repo.set_bookings({n: booking(-1) for n in in_period})  # a busy month: every invoice booked
    result: dict[str, float] = {}
    result["open"] = statistics.median(ms(lambda: Store.open(path).close()) for _ in range(repeat))
    with Store.open(path) as store:
        result["open + index"] = ms(lambda: PurchaseRepository(store).count())
        repo = PurchaseRepository(store)
        table = repo.table
        result["index load"] = statistics.median(
            ms(lambda: index_file.load(table.index_path, table.partitions, PURCHASE_COLUMNS, KEY, _index_rows))
            for _ in range(3)
        )
        browser = PurchaseBrowser(repo)
        result["sort (first time)"] = ms(browser.order)
        period = Period.parse(PERIOD)

        def fresh_search(text: str) -> float:
            browser.search("")  # forget the previous answer: every row is searched (not counted)
            return ms(lambda: browser.search(text))

        result["filter (all rows)"] = statistics.median(fresh_search("fv/12") for _ in range(repeat))
        result["filter (month)"] = statistics.median(
            ms(lambda: (browser.search(""), browser.search("dostawca 4", period=period))) for _ in range(repeat)
        )

        def typing(text: str) -> float:
            browser.search("")
            return max(ms(functools.partial(browser.search, text[:n])) for n in range(1, len(text) + 1))

        result["typing, worst keystroke"] = statistics.median(typing("dostawca 41") for _ in range(3))
        result["60 rows for a screen"] = ms(lambda: [browser.row(i) for i in browser.order()[:60]])
        result["list one period"] = ms(lambda: repo.list(PERIOD))
        picks = [rng.choice(in_period) for _ in range(repeat)]
        result["one booking"] = median_ms(lambda n: repo.set_booking(picks[n], booking(n)), repeat)
        by_number = {r.ksef_number: r for r in records}

        def status(n: int) -> None:
            changed = dataclasses.replace(by_number[picks[n]], xml_path=f"x/{n}.xml", xml_sha256=f"{n:064x}")
            repo.upsert_many([changed])

        result["one status update"] = median_ms(status, repeat)
        every = [r.ksef_number for r in records]

        def cold_booking(n: int) -> None:
            repo.table.partitions.forget()  # its month not read yet in this process (the index is)
            repo.set_booking(rng.choice(every), booking(n))

        result["one booking, cold month"] = statistics.median(
            ms(functools.partial(cold_booking, n)) for n in range(repeat)
        )
    warm, cold = sales_status_ms(root / "sales", len(records), repeat, rng)
    result["sales: one status update"] = warm
    result["sales: status, cold month"] = cold
    result["RSS MB"] = rss_mb(RSS_OURS, path)
    result["size MB"] = sum(p.stat().st_size for p in partitions_root(path).iterdir()) / 1e6
    return result


def sales_status_ms(root: Path, size: int, repeat: int, rng: random.Random) -> tuple[float, float]:
    """A register of ``size`` sales invoices (as many as purchases), then one send status change (the send
    pipeline writes one before and after each network step): medians of ``repeat`` in a month in use and in a
    month not read yet."""
    created = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(root / "store.json") as store:
        sales = SalesRepository(store)
        for start in range(0, size, BATCH):
            sales.add_many(
                (
                    SaleRecord(
                        number=f"FV/{n}/{date(2025, 1, 1) + timedelta(days=n % 700):%m/%Y}",
                        issue_date=date(2025, 1, 1) + timedelta(days=n % 700),
                        customer_id=SELLERS[n % len(SELLERS)],
                        customer_id_type="nip",
                        customer_name=f"Klient {n % 97} spółka z ograniczoną odpowiedzialnością",
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
                        created_at=created,
                    ),
                    SendStatus(SendState.QUEUED, created),
                )
                for n in range(start, min(start + BATCH, size))
            )
        numbers = sales.table.index.text("number")
        month = sales.table.index.month_of(0)
        in_use = [n for i, n in enumerate(numbers) if sales.table.index.month_of(i) == month]

        def accept(number: str, n: int) -> None:
            sales.set_status(
                number, SendStatus(SendState.ACCEPTED, datetime.now(UTC), ksef_number=f"x-{n}", attempts=1)
            )

        def cold(n: int) -> None:
            sales.table.partitions.forget()
            accept(rng.choice(numbers), n)

        accept(in_use[0], -1)
        warm = median_ms(lambda n: accept(rng.choice(in_use), n), repeat)
        return warm, median_ms(cold, repeat)


def stock(root: Path, records: list[PurchaseRecord], repeat: int, rng: random.Random) -> dict[str, float]:
    from tinydb import Query, TinyDB

    path = root / "stock.json"
    with TinyDB(path) as db:
        db.table("purchases").insert_multiple(r.to_doc() for r in records)
    in_period = [r.ksef_number for r in records if str(r.issue_date)[:7] == PERIOD]
    result: dict[str, float] = {}

    def open_stock() -> None:
        with TinyDB(path) as db:
            len(db.table("purchases"))

    result["open"] = statistics.median(ms(open_stock) for _ in range(3))
    with TinyDB(path) as db:
        table = db.table("purchases")
        result["open + index"] = ms(table.all)  # what a screen needs: every row
        result["index load"] = result["open + index"]
        docs = table.all()

        result["sort (first time)"] = ms(lambda: sorted(docs, key=lambda d: (d["issue_date"], d["ksef_number"])))

        def keystroke(text: str, period: str | None) -> list[dict[str, Any]]:
            return [
                d
                for d in docs
                if (period is None or d["issue_date"][:7] == period)
                and (
                    text in d["seller_name"].casefold()
                    or text in d["invoice_number"].casefold()
                    or text in d["ksef_number"].casefold()
                    or text in d["seller_nip"]
                )
            ]

        result["filter (month)"] = statistics.median(ms(lambda: keystroke("dostawca 4", PERIOD)) for _ in range(repeat))
        result["filter (all rows)"] = statistics.median(ms(lambda: keystroke("fv/12", None)) for _ in range(repeat))
        result["typing, worst keystroke"] = max(
            ms(functools.partial(keystroke, "dostawca 41"[:n], None)) for n in range(1, 12)
        )
        result["60 rows for a screen"] = ms(lambda: [PurchaseRecord.from_doc(d) for d in docs[:60]])
        result["list one period"] = ms(lambda: table.search(Query().issue_date.test(lambda v: v[:7] == PERIOD)))
        picks = [rng.choice(in_period) for _ in range(repeat)]
        result["one booking"] = median_ms(
            lambda n: table.update({"booking": booking(n).to_doc()}, Query().ksef_number == picks[n]), repeat
        )
        result["one status update"] = median_ms(
            lambda n: table.update({"xml_path": f"x/{n}.xml"}, Query().ksef_number == picks[n]), repeat
        )
    result["sales: one status update"] = result["one status update"]  # the same one-document update
    result["sales: status, cold month"] = result["one status update"]
    result["one booking, cold month"] = result["one booking"]
    result["RSS MB"] = rss_mb(RSS_STOCK, path)
    result["size MB"] = path.stat().st_size / 1e6
    return result


ROWS = (
    "open",
    "open + index",
    "index load",
    "sort (first time)",
    "filter (month)",
    "filter (all rows)",
    "typing, worst keystroke",
    "60 rows for a screen",
    "list one period",
    "one booking",
    "one booking, cold month",
    "one status update",
    "sales: one status update",
    "sales: status, cold month",
    "RSS MB",
    "size MB",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        rng = random.Random(size)
        records = generate(0, size, rng)
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            mine = ours(Path(tmp), records, args.repeat, rng)
            theirs = stock(Path(tmp), records, args.repeat, rng)
        print(f"\n{size:,} purchases (ms unless marked)")
        print(f"  {'':22}{'ksef-tui':>12}{'stock tinydb':>14}{'stock/ours':>12}")
        for row in ROWS:
            a, b = mine[row], theirs[row]
            ratio = f"{b / a:10.1f}x" if a else "-"
            print(f"  {row:22}{a:12.1f}{b:14.1f}{ratio:>12}")


if __name__ == "__main__":
    main()
