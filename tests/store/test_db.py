"""The store file: atomic writes under SIGKILL, the single-writer lock, corruption recovery, schema versions."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.store import db as dbmod
from ksef_tui.store.db import (
    META,
    PURCHASES,
    SCHEMA_VERSION,
    Store,
    StoreClosed,
    StoreCorrupt,
    StoreLocked,
    StoreReadOnly,
    StoreTooNew,
)
from ksef_tui.store.purchases import UNREADABLE

REPO = Path(__file__).resolve().parents[2]


def run_py(code: str, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def raw(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


def test_fresh_store_is_private_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "profile" / "store.json"
    with Store.open(path) as store:
        assert store.recovered_from is None
        assert store.schema_version == SCHEMA_VERSION
        assert not store.needs_migration
        store.table(PURCHASES).insert_multiple([{"n": 1}, {"n": 2}])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert raw(path)[META] == {"1": {"schema": SCHEMA_VERSION}}
    with Store.open(path) as store:
        assert sorted(doc["n"] for doc in store.table(PURCHASES)) == [1, 2]


def test_each_tinydb_write_is_one_atomic_file_write(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        table = store.table(PURCHASES)
        table.insert_multiple([{"n": i} for i in range(100)])
        inode = path.stat().st_ino
        table.update({"x": 1}, doc_ids=[1, 2, 3])
        assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place
        assert temp_files(path) == []
        assert len(raw(path)[PURCHASES]) == 100


def test_stale_temp_files_are_removed_by_a_writable_open_only(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    Store.open(path).close()
    stale = tmp_path / f".{path.name}.abc123.tmp"
    stale.write_bytes(b'{"half')
    Store.open(path, read_only=True).close()  # a reader must not delete a writer's in-flight temp file
    assert stale.exists()
    Store.open(path).close()
    assert temp_files(path) == []


def test_a_failed_write_leaves_memory_and_file_at_the_last_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        table = store.table(PURCHASES)
        table.insert_multiple([{"n": 1}])

        def disk_full(target: Path, data: bytes, *, mode: int = 0o600) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(dbmod, "atomic_write", disk_full)
        with pytest.raises(OSError):
            table.update({"n": 2}, doc_ids=[1])
        monkeypatch.undo()
        assert [doc["n"] for doc in table] == [1]  # tinydb's in-place change was not kept in the cache
        table.insert_multiple([{"n": 3}])
        assert sorted(doc["n"] for doc in table) == [1, 3]
    assert sorted(doc["n"] for doc in raw(path)[PURCHASES].values()) == [1, 3]


WRITER = """
import sys
from pathlib import Path
from ksef_tui.store.db import Store, PURCHASES
batch = int(sys.argv[2])
store = Store.open(Path(sys.argv[1]))
table = store.table(PURCHASES)
number = len(table) // batch
print("ready", flush=True)
while True:
    table.insert_multiple({"batch": number, "seq": seq, "pad": "x" * 400} for seq in range(batch))
    number += 1
    print(len(table), flush=True)
"""


def test_sigkill_during_writes_leaves_a_committed_state(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    batch = 25
    rng = random.Random(20261123)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    for _ in range(15):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, _err = proc.communicate(timeout=10)
        reported = [int(line) for line in out.split()]
        committed = max(reported, default=None)

        with Store.open(path) as store:
            assert temp_files(path) == []
            docs = list(store.table(PURCHASES))
        count = len(docs)
        assert count % batch == 0
        if committed is not None:
            assert committed <= count <= committed + batch  # at most the one write in flight when killed
        batches: dict[int, int] = {}
        for doc in docs:
            batches[doc["batch"]] = batches.get(doc["batch"], 0) + 1
        assert batches == dict.fromkeys(range(count // batch), batch)
    assert time.monotonic() - started < 20


STUCK_IN_FSYNC = """
import os, sys, time
from pathlib import Path
from ksef_tui.store.db import Store, PURCHASES
store = Store.open(Path(sys.argv[1]))
table = store.table(PURCHASES)
def stuck(fd):
    print("fsync", flush=True)
    time.sleep(30)
os.fsync = stuck
if sys.argv[2] == "remove":
    table.remove(doc_ids=list(range(1, 151)))
else:
    table.insert_multiple({"n": n, "pad": "y" * 400} for n in range(200, 400))
"""


@pytest.mark.parametrize("operation", ["remove", "insert"])
def test_sigkill_inside_the_file_write_keeps_the_old_state(tmp_path: Path, operation: str) -> None:
    """The STYLE.md §5 reproduction (kill -9 while the data is being synced), against our storage."""
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        store.table(PURCHASES).insert_multiple({"n": n, "pad": "x" * 2000} for n in range(200))
    before = path.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_IN_FSYNC, str(path), operation],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "fsync", proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert path.read_bytes() == before
    assert len(temp_files(path)) == 1
    with Store.open(path) as store:
        assert temp_files(path) == []
        assert sorted(doc["n"] for doc in store.table(PURCHASES)) == list(range(200))


OPEN_IN_CHILD = """
import json, sys
from pathlib import Path
from ksef_tui.store.db import Store, StoreLocked, StoreReadOnly, PURCHASES
from ksef_tui.i18n import set_language
set_language("en")
path, mode = Path(sys.argv[1]), sys.argv[2]
result = {}
try:
    with Store.open(path, read_only=(mode == "ro")) as store:
        table = store.table(PURCHASES)
        result["docs"] = [doc["n"] for doc in table]
        result["needs_migration"] = store.needs_migration
        try:
            table.insert_multiple([{"n": 99}])
            result["wrote"] = True
        except StoreReadOnly as exc:
            result["read_only_error"] = exc.message()
except StoreLocked as exc:
    result["locked"] = {"message": exc.message(), "pid": exc.pid, "host": exc.host, "since": exc.since}
print(json.dumps(result))
"""


def test_a_second_process_is_locked_out_but_can_read(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    store = Store.open(path)
    store.table(PURCHASES).insert_multiple([{"n": 1}, {"n": 2}])

    locked = json.loads(run_py(OPEN_IN_CHILD, str(path), "rw").stdout)["locked"]
    host = socket.gethostname()
    assert locked["message"] == f"the store is open in another session (pid {os.getpid()}, host {host})"
    assert (locked["pid"], locked["host"]) == (os.getpid(), host)
    assert locked["since"]

    reader = json.loads(run_py(OPEN_IN_CHILD, str(path), "ro").stdout)
    assert reader["docs"] == [1, 2]
    assert reader["read_only_error"] == f"the company's data is open read-only: {path}"
    assert "wrote" not in reader
    assert sorted(doc["n"] for doc in raw(path)[PURCHASES].values()) == [1, 2]

    store.close()
    assert not path.with_name(path.name + ".owner").exists()
    writer = json.loads(run_py(OPEN_IN_CHILD, str(path), "rw").stdout)
    assert writer["docs"] == [1, 2]
    assert writer["wrote"] is True


def test_a_second_open_in_the_same_process_is_locked_too(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with Store.open(path), pytest.raises(StoreLocked) as caught:
        Store.open(path)
    assert caught.value.pid == os.getpid()
    assert f"pid {os.getpid()}" in caught.value.message()


def test_a_stale_owner_file_is_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    owner = path.with_name(path.name + ".owner")
    owner.write_text('{"pid": 1, "host": "elsewhere", "since": "2020-01-01T00:00:00+00:00"}')
    with Store.open(path):
        data = json.loads(owner.read_text())
        assert (data["pid"], data["host"]) == (os.getpid(), socket.gethostname())
        assert stat.S_IMODE(owner.stat().st_mode) == 0o600


def test_read_only_view_follows_the_writer_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as writer:
        writer.table(PURCHASES).insert_multiple([{"n": 1}])
        with Store.open(path, read_only=True) as reader:
            assert reader.read_only
            table = reader.table(PURCHASES)
            assert [doc["n"] for doc in table] == [1]
            writer.table(PURCHASES).insert_multiple([{"n": 2}])
            assert sorted(doc["n"] for doc in table) == [1, 2]
            before = path.read_bytes()
            with pytest.raises(StoreReadOnly):
                table.insert_multiple([{"n": 3}])
            with pytest.raises(StoreReadOnly):
                table.update({"n": 5}, doc_ids=[1])
            with pytest.raises(StoreReadOnly):
                reader.table("outbox").truncate()
            assert path.read_bytes() == before
            assert sorted(doc["n"] for doc in table) == [1, 2]


def test_read_only_open_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Store.open(tmp_path / "none.json", read_only=True)
    assert not (tmp_path / "none.json").exists()


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.json")
    table = store.table(PURCHASES)
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreClosed):
        store.table(PURCHASES)
    with pytest.raises(StoreClosed):
        len(table)


CORRUPT_NAME = re.compile(r"^store\.json\.corrupt-\d{8}T\d{6}(-\d+)?$")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="truncated"),
        pytest.param(b"\x00\x17garbage\xff not json at all", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[1, 2, 3]", id="list"),
        pytest.param(b'{"purchases": [1, 2]}', id="table-not-object"),
        pytest.param(b'{"purchases": {"x": {"n": 1}}}', id="bad-doc-id"),
        pytest.param(b'{"_meta": {"1": {"schema": "one"}}}', id="bad-meta"),
    ],
)
def test_a_damaged_file_is_moved_aside_and_a_fresh_store_opened(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        store.table(PURCHASES).insert_multiple([{"n": i, "text": "żółć"} for i in range(50)])
    if content is None:
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)

    with pytest.raises(StoreCorrupt):
        Store.open(path, read_only=True)
    assert path.read_bytes() == content

    with Store.open(path) as store:
        moved = store.recovered_from
        assert moved is not None
        assert moved.parent == tmp_path
        assert CORRUPT_NAME.match(moved.name)
        assert moved.read_bytes() == content
        assert len(store.table(PURCHASES)) == 0
        assert store.schema_version == SCHEMA_VERSION
    assert raw(path)[META] == {"1": {"schema": SCHEMA_VERSION}}
    with Store.open(path) as store:
        assert store.recovered_from is None


def test_two_recoveries_in_one_second_keep_both_files(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    moved = []
    for content in (b"first{", b"second{"):
        path.write_bytes(content)
        with Store.open(path) as store:
            assert store.recovered_from is not None
            moved.append(store.recovered_from)
    assert moved[0] != moved[1]
    assert [m.read_bytes() for m in moved] == [b"first{", b"second{"]


def test_a_version_0_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    legacy = {"purchases": {"1": {"n": 1}, "2": {"n": 2}}, "profiles": {}}
    path.write_text(json.dumps(legacy))

    with Store.open(path, read_only=True) as reader:
        assert reader.schema_version == 0
        assert reader.needs_migration
    assert json.loads(path.read_text()) == legacy

    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert not store.needs_migration
        assert store.table(PURCHASES).all() == []  # purchases live in month partitions since schema 2
        # documents that are no purchases (no KSeF number, no issue date) are kept as they were, not dropped
        assert sorted(doc["n"] for doc in store.table(UNREADABLE)) == [1, 2]
    assert raw(path)[META] == {"1": {"schema": SCHEMA_VERSION}}


def test_migrations_run_in_order_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.json"
    path.write_text(json.dumps({"purchases": {"1": {"n": 1}}}))
    calls: list[int] = []

    def to_2(store: Store) -> None:
        calls.append(2)
        store.table(PURCHASES).update({"v2": True})

    def to_3(store: Store) -> None:
        calls.append(3)
        assert all(doc["v2"] for doc in store.table(PURCHASES))

    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(dbmod, "MIGRATIONS", {1: dbmod.MIGRATIONS[1], 2: to_2, 3: to_3})
    with Store.open(path) as store:
        assert store.schema_version == 3
    assert calls == [2, 3]
    with Store.open(path):
        pass
    assert calls == [2, 3]
    assert raw(path)[META] == {"1": {"schema": 3}}


@pytest.mark.parametrize("read_only", [False, True])
def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "store.json"
    path.write_text(json.dumps({"_meta": {"1": {"schema": SCHEMA_VERSION + 1}}, "purchases": {"1": {"new": [1]}}}))
    before = path.read_bytes()
    with pytest.raises(StoreTooNew) as caught:
        Store.open(path, read_only=read_only)
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["store.json"]
    # the failed open released the lock
    with pytest.raises(StoreTooNew):
        Store.open(path)


def test_a_store_opened_in_one_thread_and_closed_in_another_is_released(tmp_path: Path) -> None:
    """Workers open a store in one thread and close it in another (asyncio.to_thread); the lock must go."""
    import threading

    opened: list[Store] = []
    first = threading.Thread(target=lambda: opened.append(Store.open(tmp_path / "store.json")))
    first.start()
    first.join()
    second = threading.Thread(target=opened[0].close)
    second.start()
    second.join()
    Store.open(tmp_path / "store.json").close()  # StoreLocked with a thread-local lock
