"""Month partitions under SIGKILL: a writer killed at random points loses nothing it reported as saved."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ksef_tui.store.db import Store
from ksef_tui.store.partitions import PartitionSet
from ksef_tui.store.purchases import PurchaseRepository, partitions_root

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from datetime import date, timedelta
from pathlib import Path
from tests.factories import record
from ksef_tui.domain.booking import Booking
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository
from datetime import datetime, UTC
store = Store.open(Path(sys.argv[1]))
repo = PurchaseRepository(store)
start = int(sys.argv[2])  # the last batch the test saw saved; a partial one after it is written again
print("ready", flush=True)
batch = 0
while True:
    n = start + batch * 200
    # each batch spreads over three months; then every tenth purchase so far is booked
    repo.upsert_many(record(i, date(2026, 1 + i % 3, 1 + i % 28)) for i in range(n, n + 200))
    print("saved", n + 200, flush=True)
    booked = {record(i, date(2026, 1 + i % 3, 1 + i % 28)).ksef_number: Booking(
        "goods", 100, f"2026-0{1 + i % 3}", str(n), datetime(2026, 4, 1, tzinfo=UTC)) for i in range(n, n + 200, 10)}
    repo.set_bookings(booked)
    print("booked", n + 200, flush=True)
    batch += 1
"""


def test_sigkill_during_partition_writes_loses_nothing_saved(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(20261129)
    saved = 0
    booked: set[int] = set()  # "booked N": the tenth invoices of the batch ending at N were booked
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(saved)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate(timeout=10)
        saved = max([saved] + [int(line.split()[1]) for line in out.splitlines() if line.startswith("saved")])
        for line in out.splitlines():
            if line.startswith("booked"):
                end = int(line.split()[1])
                booked |= set(range(end - 200, end, 10))
        with Store.open(path) as store:
            repo = PurchaseRepository(store)
            records = repo.all()
            count = len(records)
            assert count == repo.count()
            assert saved <= count <= saved + 200  # at most the batch in flight, which lands whole or per month
            invoices = sorted(int(r.invoice_number.split("/")[1]) for r in records)
            assert invoices[:saved] == list(range(saved))  # every reported batch, none missing
            with_booking = {int(r.invoice_number.split("/")[1]) for r in records if r.booking is not None}
            assert booked <= with_booking  # every reported booking
            assert with_booking <= set(range(0, count + 200, 10))
            assert not list(partitions_root(path).glob(".*.tmp"))  # the writable open cleaned up


def test_a_partition_file_is_rewritten_with_only_the_changed_members_encoded(tmp_path: Path) -> None:
    months = PartitionSet(tmp_path, "things", "key", sidecars=("notes",), read_only=False)
    docs = {f"k{i}": {"key": f"k{i}", "n": i} for i in range(5)}
    months.write({"2026-01": (docs, {"notes": {"k1": {"text": "a"}}})})
    first = months.get("2026-01").members.cache["1"][1]
    months.write({"2026-01": ({"k3": {"key": "k3", "n": 33, "ż": "ł\u2028"}}, {"notes": {"k1": None, "k2": {"t": 1}}})})
    again = PartitionSet(tmp_path, "things", "key", sidecars=("notes",), read_only=True).get("2026-01")
    assert again.docs == {**docs, "k3": {"key": "k3", "n": 33, "ż": "ł\u2028"}}
    assert again.sides == {"notes": {"k2": {"t": 1}}}
    assert again.ids == {f"k{i}": i + 1 for i in range(5)}  # ids kept: the file stays TinyDB's
    assert months.get("2026-01").members.cache["1"][1] is first  # k0's JSON reused, not encoded again


def test_a_month_read_back_is_rewritten_from_its_own_lines(tmp_path: Path) -> None:
    """After a restart, the first rewrite of a month re-encodes only what changed (the members' JSON comes
    from the file's lines) and writes exactly the data; a file laid out otherwise (edited by hand) works too."""
    import json

    odd = '/ż\\"'  # a key JSON must escape: a backslash and a quote
    docs = {f"FV/{i}{odd}": {"key": f"FV/{i}{odd}", "n": i, "text": "line\nbreak"} for i in range(6)}
    notes = {key: {"state": "queued", "i": i} for i, key in enumerate(docs)}
    first = PartitionSet(tmp_path, "things", "key", sidecars=("notes",), read_only=False)
    first.write({"2026-01": (docs, {"notes": notes})})

    again = PartitionSet(tmp_path, "things", "key", sidecars=("notes",), read_only=False)
    month = again.get("2026-01")
    assert not month.docs_loaded  # the documents file is read only when needed
    seeded = dict(month.side_members["notes"].cache)
    assert len(seeded) == 6
    key = next(iter(docs))
    again.write({"2026-01": (None, {"notes": {key: {"state": "accepted"}}})})
    assert not month.docs_loaded  # a sidecar change never reads the documents
    assert all(month.side_members["notes"].cache[k] is v for k, v in seeded.items() if k != key)
    on_disk = json.loads((tmp_path / "2026-01.notes.json").read_text())
    assert on_disk["notes"] == {**notes, key: {"state": "accepted"}}

    (tmp_path / "2026-01.json").write_text(json.dumps({"things": {str(i + 1): d for i, d in enumerate(docs.values())}}))
    edited = PartitionSet(tmp_path, "things", "key", sidecars=("notes",), read_only=False)
    changed = {**docs[key], "n": 99}
    edited.write({"2026-01": ({key: changed}, {})})
    reread = PartitionSet(tmp_path, "things", "key", sidecars=("notes",), read_only=True).get("2026-01")
    assert reread.docs == {**docs, key: changed}
    assert reread.ids == {k: i + 1 for i, k in enumerate(docs)}


def test_a_booking_after_a_restart_reads_no_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, date, datetime

    from ksef_tui.domain.booking import Booking

    from ..factories import record

    path = tmp_path / "store.json"
    with Store.open(path) as store:
        PurchaseRepository(store).upsert_many(record(i, date(2026, 3, 1 + i % 28)) for i in range(50))
    reads: list[str] = []
    original = PartitionSet._load_docs

    def counting(self: PartitionSet, month: object) -> None:
        reads.append(str(getattr(month, "month", "")))
        original(self, month)  # type: ignore[arg-type]

    monkeypatch.setattr(PartitionSet, "_load_docs", counting)
    booking = Booking("goods", 50, "2026-03", "", datetime(2026, 4, 1, tzinfo=UTC))
    number = record(7, date(2026, 3, 8)).ksef_number
    with Store.open(path) as store:
        repo = PurchaseRepository(store)
        repo.set_booking(number, booking)
        assert reads == []  # the index had the rest of the row
        row = repo.index.row_of(number)
        assert row is not None and repo.index.value("deduction", row) == 50
        got = repo.get(number)  # a full record needs the headers: now they are read
        assert got is not None and got.booking == booking and reads == ["2026-03"]
    with Store.open(path, read_only=True) as reader:
        assert [r.ksef_number for r in PurchaseRepository(reader).list(booked=True)] == [number]
