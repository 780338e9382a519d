"""Schema 1 -> 2: the single store file and its booking ledger become month partitions, crash-safely."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ksef_tui.domain.booking import Booking
from ksef_tui.store.cursors import CursorRepository
from ksef_tui.store.db import META, PURCHASES, SCHEMA_VERSION, Store
from ksef_tui.store.purchases import PurchaseRepository, partitions_root

from ..factories import record

REPO = Path(__file__).resolve().parents[2]


def booking(period: str, hour: int = 9, note: str = "") -> Booking:
    return Booking("goods", 100, period, note, datetime(2026, 6, 1, hour, tzinfo=UTC))


def write_v1(path: Path, count: int, *, months: int = 6, booked_every: int = 3) -> dict[str, Booking]:
    """A schema 1 store as ksef-tui wrote it: one file with every purchase, bookings in ``<file>.bookings/`` by
    booking period (a number may sit in two period files after a crash: the newer ``booked_at`` wins)."""
    docs: dict[str, Any] = {}
    bookings: dict[str, Booking] = {}
    ledger: dict[str, dict[str, Any]] = {}
    for i in range(count):
        day = date(2026, 1 + i % months, 1 + i % 28)
        doc = record(i, day).to_doc()
        docs[str(i + 1)] = doc
        if i % booked_every == 0:
            chosen = booking(f"2026-{day.month:02d}", note=f"nr {i} „zażółć”")
            if i % (booked_every * 4) == 0:  # moved to the next period; the old entry left behind by a crash
                stale = booking(f"2026-{day.month:02d}", hour=8)
                ledger.setdefault(stale.period, {})[doc["ksef_number"]] = stale.to_doc()
                chosen = booking(f"2026-{day.month + 1:02d}", hour=10)
            ledger.setdefault(chosen.period, {})[doc["ksef_number"]] = chosen.to_doc()
            bookings[doc["ksef_number"]] = chosen
    cursor = {"key": "purchases:Subject2", "position": "2026-06-01T00:00:00+00:00", "hwm": None}
    data = {
        META: {"1": {"schema": 1}},
        PURCHASES: docs,
        "sync_cursors": {"1": {**cursor, "updated_at": cursor["position"]}},
    }
    path.write_text(json.dumps(data, ensure_ascii=False))
    root = path.with_name(path.name + ".bookings")
    root.mkdir()
    for period, entries in ledger.items():
        (root / f"{period}.json").write_text(json.dumps({"version": 1, "period": period, "bookings": entries}))
    return bookings


def expected_numbers(count: int, months: int = 6) -> set[str]:
    return {record(i, date(2026, 1 + i % months, 1 + i % 28)).ksef_number for i in range(count)}


def check_migrated(path: Path, count: int, bookings: dict[str, Booking], *, months: int = 6) -> None:
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        repo = PurchaseRepository(store)
        found = repo.all()
        assert len(found) == repo.count() == count
        assert {r.ksef_number for r in found} == expected_numbers(count, months)
        assert {r.ksef_number: r.booking for r in found if r.booking is not None} == bookings
        cursor = CursorRepository(store).get("purchases:Subject2")
        assert cursor is not None and cursor.position == datetime(2026, 6, 1, tzinfo=UTC)
    assert PURCHASES not in json.loads(path.read_text()) or not json.loads(path.read_text())[PURCHASES]


def test_a_schema_1_store_becomes_month_partitions(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    bookings = write_v1(path, 60)
    before = path.read_bytes()
    with Store.open(path, read_only=True) as reader:
        assert reader.needs_migration  # a read-only view never migrates
    check_migrated(path, 60, bookings)
    root = partitions_root(path)
    assert sorted(p.name for p in root.glob("2026-0?.json")) == [f"2026-0{m}.json" for m in range(1, 7)]
    with Store.open(path) as store:
        repo = PurchaseRepository(store)
        for rec in repo.all():
            assert rec == record(int(rec.invoice_number.split("/")[1]), rec.issue_date, booking=rec.booking)
    backup = path.with_name("store.v1-backup")
    assert (backup / "store.json").read_bytes() == before  # the old file kept, never deleted
    assert sorted(p.name for p in (backup / "bookings").iterdir())  # and the old ledger
    assert not path.with_name("store.json.bookings").exists()
    small = json.loads(path.read_text())
    assert small[META] == {"1": {"schema": 2}} and "sync_cursors" in small and PURCHASES not in small


MIGRATE = """
import sys
from pathlib import Path
from ksef_tui.store.db import Store
print("start", flush=True)
Store.open(Path(sys.argv[1])).close()
print("migrated", flush=True)
"""


def test_sigkill_at_any_point_of_the_migration_loses_nothing(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    count = 6000
    bookings = write_v1(template / "store.json", count, months=12)
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def fresh() -> Path:
        work = tmp_path / "work"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(template, work)
        return work / "store.json"

    def run(path: Path, kill_after: float | None) -> tuple[float, str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", MIGRATE, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "start"
        started = time.monotonic()
        if kill_after is not None:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        return time.monotonic() - started, out + err

    took, output = run(fresh(), None)  # how long a whole migration takes here
    assert "migrated" in output, output
    rng = random.Random(20261129)
    outcomes = []
    for attempt in range(10):
        path = fresh()
        _, output = run(path, rng.uniform(0, took) if attempt else 0.0)
        outcomes.append("migrated" in output)
        check_migrated(path, count, bookings, months=12)  # this open finishes an interrupted migration
        assert not list(partitions_root(path).glob(".*.tmp"))
    assert outcomes.count(False) >= 5  # most kills landed inside the migration, not after it


def test_documents_that_are_no_purchases_are_kept_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    good = record(1).to_doc()
    path.write_text(
        json.dumps({META: {"1": {"schema": 1}}, PURCHASES: {"1": good, "2": {"n": 1}, "3": {"ksef_number": 5}}})
    )
    with Store.open(path) as store:
        assert [r.ksef_number for r in PurchaseRepository(store).all()] == [good["ksef_number"]]
        assert sorted(doc.doc_id for doc in store.table("purchases-unreadable")) == [2, 3]


def test_a_migration_interrupted_before_its_commit_starts_the_months_afresh(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    bookings = write_v1(path, 30)
    root = partitions_root(path)
    root.mkdir()
    (root / "2026-01.json").write_text('{"purchases": {"1": {"half-written')  # left by an earlier attempt
    (root / "2026-02.bookings.json").write_text("{}")
    (root / ".2026-03.json.x1.tmp").write_text("junk")
    check_migrated(path, 30, bookings)
    assert not list(root.glob(".*.tmp"))
