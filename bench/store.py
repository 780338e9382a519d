"""Store cost at 10k and 50k purchases: one booking update, upsert_many of 10k new, open, file size.

Run: ``.venv/bin/python bench/store.py [--dir DIR] [--repeat N]``. Works in a fresh temp directory (or under
``DIR``, which should sit on the filesystem you care about: fsync cost differs a lot). Times are wall clock;
the booking update is the median of ``--repeat`` runs. ARCHITECTURE.md's P5 target: one update <= 20 ms at 50k.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ksef_tui.domain.booking import Booking
from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository

WARSAW = timezone(timedelta(hours=1))
SELLERS = ["5265877635", "7740001454", "5261040828", "1111111111", "9999999999"]


def generate(start: int, count: int, rng: random.Random) -> list[PurchaseRecord]:
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
                xml_path=f"{day:%Y}/{day:%m}/{number}.xml",
                xml_sha256=f"{index:064x}",
                booking=None,
                first_seen=datetime.now(UTC),
            )
        )
    return records


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def booking_update_ms(repo: PurchaseRepository, numbers: list[str], repeat: int, rng: random.Random) -> float:
    """One booking into a period that already holds 5,000 bookings (a busy month), median of ``repeat``."""
    busy = Booking("towary", 100, "2025-03", "bench", datetime.now(UTC))
    repo.set_bookings(dict.fromkeys(numbers[:5000], busy))
    samples = []
    for n in range(repeat):
        booking = Booking("towary", 100, "2025-03", f"bench {n}", datetime.now(UTC))
        key = rng.choice(numbers)
        samples.append(timed(functools.partial(repo.set_booking, key, booking)))
    return statistics.median(samples) * 1000


def open_ms(path: Path, *, read_only: bool) -> float:
    started = time.perf_counter()
    store = Store.open(path, read_only=read_only)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "store.json"
        records = generate(0, 50_000, rng)
        numbers = [r.ksef_number for r in records]
        with Store.open(path) as store:
            repo = PurchaseRepository(store)
            first = timed(lambda: repo.upsert_many(records[:10_000]))
            print(f"upsert_many 10,000 new into an empty store: {first * 1000:8.0f} ms")
            at_10k = booking_update_ms(repo, numbers[:10_000], args.repeat, rng)
            again = timed(lambda: repo.upsert_many(records[:10_000]))
            print(f"upsert_many 10,000 known, unchanged:        {again * 1000:8.0f} ms")
        size_10k = path.stat().st_size
        open_10k = open_ms(path, read_only=False)
        with Store.open(path) as store:
            repo = PurchaseRepository(store)
            repo.upsert_many(records[10_000:40_000])
            last = timed(lambda: repo.upsert_many(records[40_000:]))
            print(f"upsert_many 10,000 new into 40,000:         {last * 1000:8.0f} ms")
            at_50k = booking_update_ms(repo, numbers, args.repeat, rng)
            listing = timed(lambda: repo.list("2025-03"))
            getting = timed(lambda: repo.get(numbers[-1]))
        size_50k = path.stat().st_size
        open_50k = open_ms(path, read_only=False)
        open_50k_ro = open_ms(path, read_only=True)
        print(f"set_booking (median of {args.repeat}) at 10,000:      {at_10k:8.1f} ms")
        print(f"set_booking (median of {args.repeat}) at 50,000:      {at_50k:8.1f} ms   (P5 target: 20 ms)")
        print(f"list(period) at 50,000:                     {listing * 1000:8.1f} ms")
        print(f"get(ksef_number) at 50,000:                 {getting * 1000:8.1f} ms")
        print(f"file size at 10,000:                        {size_10k / 1e6:8.1f} MB")
        print(f"file size at 50,000:                        {size_50k / 1e6:8.1f} MB")
        print(f"open (writable) at 10,000:                  {open_10k:8.0f} ms")
        print(f"open (writable) at 50,000:                  {open_50k:8.0f} ms")
        print(f"open (read-only) at 50,000:                 {open_50k_ro:8.0f} ms")


if __name__ == "__main__":
    main()
