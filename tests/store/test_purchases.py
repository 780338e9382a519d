"""Purchase records, the repository's batched writes and merge rules, and the XML file store."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksef_tui.domain.booking import Booking
from ksef_tui.store import db as db_module
from ksef_tui.store import index as index_module
from ksef_tui.store import partitions as partitions_module
from ksef_tui.store.db import Store, StoreCorrupt
from ksef_tui.store.purchases import (
    PurchaseNotFound,
    PurchaseRecord,
    PurchaseRepository,
    UpsertResult,
    XmlDamaged,
    XmlStore,
    partitions_root,
)

from ..factories import number
from ..factories import record as any_record

WARSAW = timezone(timedelta(hours=1))


def record(index: int, day: date = date(2026, 3, 5), **changes: Any) -> PurchaseRecord:
    return any_record(index, day, offset=WARSAW, **changes)


BOOKING = Booking("towary", 100, "2026-03", "", datetime(2026, 4, 2, 9, 0, tzinfo=WARSAW))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.json") as opened:
        yield opened


@pytest.fixture
def repo(store: Store) -> PurchaseRepository:
    return PurchaseRepository(store)


class WriteCounter:
    """Counts atomic file writes of the store, by file name (wraps ``atomic_write`` where the store imports it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        for module in (partitions_module, db_module, index_module):
            original = module.atomic_write

            def counting(path: Path, data: bytes, *, _original: Any = original, **kwargs: Any) -> None:
                self.names.append(path.name)
                _original(path, data, **kwargs)

            monkeypatch.setattr(module, "atomic_write", counting)

    @property
    def count(self) -> int:
        return len(self.names)

    def clear(self) -> None:
        self.names.clear()


def test_record_round_trips_through_its_document() -> None:
    rec = record(1, booking=BOOKING, corrected_ksef_number=number(date(2026, 2, 1), 9), xml_path="2026/03/x.xml")
    doc = rec.to_doc()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["net"] == "100.00" and doc["gross"] == "123.00"
    assert doc["invoicing_date"] == "2026-03-05T10:30:00+01:00"
    assert doc["issue_date"] == "2026-03-05"
    assert PurchaseRecord.from_doc(doc) == rec


@settings(max_examples=60, deadline=None)
@given(
    amount=st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2),
    offset=st.integers(min_value=-12 * 60, max_value=14 * 60),
    micro=st.integers(min_value=0, max_value=999_999),
    booked=st.booleans(),
)
def test_any_record_round_trips(amount: Decimal, offset: int, micro: int, booked: bool) -> None:
    moment = datetime(2026, 1, 31, 23, 59, 59, micro, tzinfo=timezone(timedelta(minutes=offset)))
    rec = record(
        7, net=amount, vat=-amount, gross=amount * 2, invoicing_date=moment, booking=BOOKING if booked else None
    )
    back = PurchaseRecord.from_doc(json.loads(json.dumps(rec.to_doc())))
    assert back == rec
    assert back.invoicing_date.utcoffset() == moment.utcoffset()
    assert str(back.net) == str(amount)


def test_naive_datetimes_and_bad_bookings_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        record(1, first_seen=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="vat_deduction"):
        dataclasses.replace(BOOKING, vat_deduction=75)
    with pytest.raises(ValueError, match="YYYY-MM"):
        dataclasses.replace(BOOKING, period="2026-13")
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(BOOKING, booked_at=datetime(2026, 1, 1))


def test_upsert_many_counts_and_batches_its_writes(repo: PurchaseRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = WriteCounter(monkeypatch)
    assert repo.upsert_many([record(i) for i in range(100)]) == UpsertResult(new=100, updated=0, unchanged=0)
    assert writes.names == ["2026-03.json", "index.bin"]  # one month written once, and the index saved

    writes.clear()
    batch = [record(i) for i in range(90, 100)]
    batch += [record(i, seller_name="Nowa nazwa") for i in range(80, 90)]
    batch += [record(i) for i in range(100, 130)]
    batch += [record(i, day=date(2026, 4, 2)) for i in range(200, 203)]
    assert repo.upsert_many(batch) == UpsertResult(new=33, updated=10, unchanged=10)
    assert writes.names == ["2026-03.json", "2026-04.json", "index.bin"]  # one write per month touched

    writes.clear()
    assert repo.upsert_many([record(5)]) == UpsertResult(new=0, updated=0, unchanged=1)
    assert repo.upsert_many([]) == UpsertResult(new=0, updated=0, unchanged=0)
    assert writes.names == []  # nothing changed: no write at all

    assert repo.count() == 133
    assert repo.ksef_numbers() == {record(i).ksef_number for i in range(130)} | {
        record(i, day=date(2026, 4, 2)).ksef_number for i in range(200, 203)
    }
    got = repo.get(record(85).ksef_number)
    assert got is not None and got.seller_name == "Nowa nazwa"
    assert repo.get(number(date(2026, 3, 5), 999)) is None


def test_duplicates_in_one_batch_last_wins(repo: PurchaseRepository) -> None:
    assert repo.upsert_many([record(1, invoice_number="A"), record(1, invoice_number="B")]) == UpsertResult(1, 0, 0)
    got = repo.get(record(1).ksef_number)
    assert got is not None and got.invoice_number == "B"


def test_booking_xml_and_first_seen_survive_a_later_upsert(tmp_path: Path, repo: PurchaseRepository) -> None:
    key = record(1).ksef_number
    repo.upsert_many([record(1), record(2)])
    repo.set_booking(key, BOOKING)
    repo.upsert_many([record(1, xml_path="2026/03/a.xml", xml_sha256="ab" * 32)])

    later = record(1, seller_name="Zmieniona", first_seen=datetime(2026, 5, 1, tzinfo=UTC))
    assert repo.upsert_many([later]) == UpsertResult(new=0, updated=1, unchanged=0)
    got = repo.get(key)
    assert got is not None
    assert got.seller_name == "Zmieniona"
    assert got.booking == BOOKING
    assert (got.xml_path, got.xml_sha256) == ("2026/03/a.xml", "ab" * 32)
    assert got.first_seen == record(1).first_seen

    rebooked = dataclasses.replace(BOOKING, vat_deduction=50, note="samochód")
    repo.upsert_many([record(1, booking=rebooked, xml_path="2026/03/b.xml", xml_sha256="cd" * 32)])
    got = repo.get(key)
    assert got is not None
    assert got.booking == rebooked
    assert (got.xml_path, got.xml_sha256) == ("2026/03/b.xml", "cd" * 32)

    with Store.open(tmp_path / "store.json", read_only=True) as reader:
        assert PurchaseRepository(reader).get(key) == got
    assert [r.ksef_number for r in repo.without_xml()] == [record(2).ksef_number]


def test_set_booking(store: Store, repo: PurchaseRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.upsert_many([record(1), record(2)])
    writes = WriteCounter(monkeypatch)
    key = record(2).ksef_number
    repo.set_booking(key, BOOKING)
    assert writes.names == ["2026-03.bookings.json"]  # the month's bookings only: not its headers, not the index
    sidecar = partitions_root(store.path) / "2026-03.bookings.json"
    assert list(json.loads(sidecar.read_text())["bookings"]) == [key]
    got = repo.get(key)
    assert got is not None and got.booking == BOOKING
    other = repo.get(record(1).ksef_number)
    assert other is not None and other.booking is None

    repo.set_booking(key, None)
    got = repo.get(key)
    assert got is not None and got.booking is None
    assert json.loads(sidecar.read_text())["bookings"] == {}

    writes.clear()
    with pytest.raises(PurchaseNotFound):
        repo.set_booking(number(date(2026, 3, 5), 77), BOOKING)
    with pytest.raises(KeyError):
        repo.set_booking("nope", None)
    assert writes.names == []


def test_set_bookings_books_many_in_one_write(
    store: Store, repo: PurchaseRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.upsert_many([record(i) for i in range(10)] + [record(20, day=date(2026, 4, 1))])
    writes = WriteCounter(monkeypatch)
    half = dataclasses.replace(BOOKING, vat_deduction=50)
    repo.set_bookings({record(i).ksef_number: half for i in range(0, 10, 2)})
    assert writes.names == ["2026-03.bookings.json"]  # five bookings, one month, one file written
    writes.clear()
    repo.set_bookings({record(1).ksef_number: half, record(20, day=date(2026, 4, 1)).ksef_number: BOOKING})
    assert writes.names == ["2026-03.bookings.json", "2026-04.bookings.json"]
    assert [r.booking for r in repo.all()] == [half, half] + [half, None] * 4 + [BOOKING]
    writes.clear()
    with pytest.raises(PurchaseNotFound):
        repo.set_bookings({record(1).ksef_number: None, number(date(2026, 3, 5), 500): BOOKING})
    repo.set_bookings({})
    assert writes.names == []
    assert [r.booking for r in repo.list("2026-03", booked=True)] == [half] * 6


def test_list_by_issue_month_booking_period_and_state(repo: PurchaseRepository) -> None:
    march = [record(i, day=date(2026, 3, 1 + i)) for i in range(3)]
    april = [record(10 + i, day=date(2026, 4, 1 + i)) for i in range(2)]
    repo.upsert_many(april + march)
    repo.set_booking(march[0].ksef_number, BOOKING)  # booked into 2026-03
    repo.set_booking(april[0].ksef_number, dataclasses.replace(BOOKING, period="2026-05"))

    def keys(records: list[PurchaseRecord]) -> list[str]:
        return [r.ksef_number for r in records]

    assert keys(repo.list("2026-03")) == keys(march)  # by issue date
    assert keys(repo.list("2026-04")) == keys(april)
    assert keys(repo.list("2026-03", booked=True)) == [march[0].ksef_number]
    assert keys(repo.list("2026-03", booked=False)) == keys(march[1:])
    assert keys(repo.list(booked=False)) == keys(march[1:] + april[1:])
    assert keys(repo.list("2026-05", by="booking")) == [april[0].ksef_number]
    assert keys(repo.list("2026-03", by="booking")) == [march[0].ksef_number]
    assert repo.list("2026-06") == []
    assert keys(repo.list()) == keys(repo.all()) == keys(march + april)
    with pytest.raises(ValueError):
        repo.list("2026-3")


def test_corrections_of(repo: PurchaseRepository) -> None:
    original = record(1, day=date(2026, 1, 10))
    first = record(2, day=date(2026, 2, 1), kind="KOR", corrected_ksef_number=original.ksef_number)
    second = record(3, day=date(2026, 3, 1), kind="KOR", corrected_ksef_number=original.ksef_number)
    unrelated = record(4, kind="KOR", corrected_ksef_number=number(date(2025, 12, 1), 5))
    repo.upsert_many([second, unrelated, original, first])
    assert repo.corrections_of(original.ksef_number) == [first, second]
    assert repo.corrections_of(first.ksef_number) == []


def test_xml_store_round_trip(tmp_path: Path) -> None:
    xml = XmlStore(tmp_path / "xml")
    one, two = number(date(2026, 3, 5), 1), number(date(2025, 12, 31), 2)
    items = {one: b"<Faktura>1</Faktura>", two: "<Faktura>ż</Faktura>".encode()}
    saved = xml.put_many(items)
    assert saved[one] == (f"2026/03/{one}.xml", hashlib.sha256(items[one]).hexdigest())
    assert saved[two][0] == f"2025/12/{two}.xml"
    for key, (relative, digest) in saved.items():
        assert xml.get(relative, digest) == items[key]
        assert stat.S_IMODE((tmp_path / "xml" / relative).stat().st_mode) == 0o600
    assert not list((tmp_path / "xml").rglob("*.tmp"))

    inode = (tmp_path / "xml" / saved[one][0]).stat().st_ino
    assert xml.put_many({one: items[one]}) == {one: saved[one]}  # same bytes: not rewritten
    assert (tmp_path / "xml" / saved[one][0]).stat().st_ino == inode
    changed = xml.put_many({one: b"<Faktura>1b</Faktura>"})
    assert xml.get(*changed[one]) == b"<Faktura>1b</Faktura>"


def test_xml_store_detects_damage(tmp_path: Path) -> None:
    xml = XmlStore(tmp_path)
    key = number(date(2026, 3, 5), 1)
    relative, digest = xml.put_many({key: b"<Faktura>100.00</Faktura>"})[key]
    (tmp_path / relative).write_bytes(b"<Faktura>900.00</Faktura>")
    with pytest.raises(XmlDamaged, match="SHA-256 mismatch"):
        xml.get(relative, digest)
    (tmp_path / relative).unlink()
    with pytest.raises(XmlDamaged, match="missing"):
        xml.get(relative, digest)


def test_xml_store_refuses_paths_outside_its_root(tmp_path: Path) -> None:
    xml = XmlStore(tmp_path / "xml")
    with pytest.raises(ValueError):
        xml.put_many({"../../etc/passwd-20260101-000000000000-00": b"x"})
    with pytest.raises(ValueError):
        xml.put_many({"5265877635-20261399-000000000000-00": b"x"})
    with pytest.raises(ValueError):
        xml.get("../store.json", "00")
    with pytest.raises(ValueError):
        xml.get("/etc/passwd", "00")


def test_a_month_partition_is_a_tinydb_file(store: Store, repo: PurchaseRepository) -> None:
    from tinydb import TinyDB

    from ksef_tui.store.db import PURCHASES

    repo.upsert_many([record(1), record(2, day=date(2026, 4, 1))])
    repo.set_booking(record(1).ksef_number, BOOKING)
    root = partitions_root(store.path)
    assert sorted(p.name for p in root.iterdir()) == [
        "2026-03.bookings.json",
        "2026-03.json",
        "2026-04.json",
        "index.bin",
    ]
    with TinyDB(root / "2026-03.json", access_mode="r") as stock:
        [doc] = stock.table(PURCHASES).all()
    assert doc["ksef_number"] == record(1).ksef_number
    assert "booking" not in doc  # bookings live in the month's sidecar
    assert store.table(PURCHASES).all() == []  # store.json holds no purchases any more


def test_a_stale_or_damaged_index_is_brought_up_to_date_from_the_months(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        repo = PurchaseRepository(store)
        repo.upsert_many([record(1), record(2), record(3, day=date(2026, 4, 1))])
    index = partitions_root(path) / "index.bin"
    saved = index.read_bytes()
    key = record(1).ksef_number
    moved = dataclasses.replace(BOOKING, period="2026-04", booked_at=BOOKING.booked_at + timedelta(hours=1))
    with Store.open(path) as store:
        repo = PurchaseRepository(store)
        repo.set_booking(key, BOOKING)
        repo.set_booking(key, moved)  # another period: still the same one file, the invoice's month
    index.write_bytes(saved)  # as if the process died before saving the index: the cache predates the bookings
    with Store.open(path, read_only=True) as reader:
        repo = PurchaseRepository(reader)
        assert [r.ksef_number for r in repo.list("2026-04", by="booking")] == [key]
        assert repo.index.value("period", repo.index.row_of(key) or 0) == "2026-04"
    for damage in (b"", b"KSEF-TUI-INDEX\x00\x01\xff\xff", saved[:-7], b"x" * 100):
        index.write_bytes(damage)
        with Store.open(path) as store:
            got = PurchaseRepository(store).get(key)
            assert got is not None and got.booking == moved
        assert index.read_bytes() != damage  # rebuilt and saved by the writer
    with Store.open(tmp_path / "other.json") as other:
        assert PurchaseRepository(other).get(key) is None  # partitions belong to their own store


def test_a_damaged_month_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        PurchaseRepository(store).upsert_many([record(1)])
    sidecar = partitions_root(path) / "2026-03.bookings.json"
    sidecar.write_text('{"bookings": {"x": {"category": 1')
    with Store.open(path) as store, pytest.raises(StoreCorrupt) as caught:
        PurchaseRepository(store).count()  # the first use reads the months (building a repository reads nothing)
    assert caught.value.path == sidecar
    assert sidecar.read_text() == '{"bookings": {"x": {"category": 1'  # reported, never replaced


def test_xml_store_cleans_leftovers_of_interrupted_writes(tmp_path: Path) -> None:
    xml = XmlStore(tmp_path / "xml")
    stored = xml.put_many({number(date(2026, 3, 5), 1): b"<Faktura/>"})
    (relative, _digest) = next(iter(stored.values()))
    folder = (tmp_path / "xml" / relative).parent
    (folder / ".x.xml.abc123.tmp").write_bytes(b"half")
    assert xml.clean_stale() == 1
    assert sorted(p.name for p in folder.iterdir()) == [Path(relative).name]


def test_repositories_share_the_store_and_a_reader_follows_the_writer(store: Store) -> None:
    first, second = PurchaseRepository(store), PurchaseRepository(store)
    assert first.table is second.table  # one table per open store
    first.upsert_many([record(1), record(2), record(3)])
    one, two, three = (record(i).ksef_number for i in (1, 2, 3))
    first.set_booking(one, BOOKING)
    got = second.get(one)
    assert got is not None and got.booking == BOOKING
    second.set_booking(two, BOOKING)  # the same month's file: must keep the first's booking
    path = partitions_root(store.path) / "2026-03.bookings.json"
    assert set(json.loads(path.read_text())["bookings"]) == {one, two}
    assert [r.booking is not None for r in first.all()] == [True, True, False]

    with Store.open(store.path, read_only=True) as reader:
        viewer = PurchaseRepository(reader)
        first.set_booking(three, dataclasses.replace(BOOKING, period="2026-04"))
        got = viewer.get(three)
        assert got is not None and got.booking is not None and got.booking.period == "2026-04"
        first.set_booking(three, None)  # the writer un-books after the reader looked
        got = viewer.get(three)
        assert got is not None and got.booking is None
        assert [r.ksef_number for r in viewer.list(booked=True)] == [one, two]
        first.upsert_many([record(4, day=date(2026, 5, 1))])  # a new month
        assert viewer.count() == 4


def test_the_known_numbers_follow_inserts_by_another_repository(store: Store) -> None:
    first, second = PurchaseRepository(store), PurchaseRepository(store)
    first.upsert_many([record(1)])
    assert first.ksef_numbers() == {record(1).ksef_number}
    second.upsert_many([record(2)])
    first.set_booking(record(2).ksef_number, BOOKING)  # known to the first although the second inserted it
    assert first.ksef_numbers() == {record(1).ksef_number, record(2).ksef_number}


def test_list_takes_a_period_object_and_refuses_a_malformed_text(repo: PurchaseRepository) -> None:
    from ksef_tui.domain.booking import InvalidBooking, Period

    repo.upsert_many([record(1), record(2, day=date(2026, 4, 1))])
    assert [r.ksef_number for r in repo.list(Period(2026, 4))] == [record(2, day=date(2026, 4, 1)).ksef_number]
    for wrong in ("2026-3", "2026-13", "26-03", "2026-03\n"):
        with pytest.raises(InvalidBooking):
            repo.list(wrong)


def test_rewritten_month_files_hold_exactly_the_current_bookings(store: Store, repo: PurchaseRepository) -> None:
    repo.upsert_many([record(i) for i in range(6)])
    keys = [record(i).ksef_number for i in range(6)]
    repo.set_bookings(dict.fromkeys(keys, BOOKING))
    changed = dataclasses.replace(BOOKING, note='zmiana "ważna"\\', vat_deduction=50)
    repo.set_booking(keys[2], changed)  # the month rewritten: one member re-encoded, the rest reused
    repo.set_booking(keys[3], None)
    repo.set_booking(keys[4], dataclasses.replace(BOOKING, period="2026-04"))
    on_disk = json.loads((partitions_root(store.path) / "2026-03.bookings.json").read_text())
    assert on_disk["month"] == "2026-03"
    written = {key: Booking.from_doc(doc) for key, doc in on_disk["bookings"].items()}
    expected = {r.ksef_number: r.booking for r in repo.all() if r.booking is not None}
    assert written == expected
    assert expected[keys[2]] == changed and keys[3] not in expected
    assert expected[keys[4]].period == "2026-04"


def test_an_index_that_cannot_be_saved_costs_nothing_but_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(path: Path, data: bytes, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    path = tmp_path / "store.json"
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "atomic_write", full)
        with Store.open(path) as store:
            repo = PurchaseRepository(store)
            assert repo.upsert_many([record(1), record(2)]).new == 2  # the purchases are saved all the same
            repo.set_booking(record(1).ksef_number, BOOKING)
    assert not (partitions_root(path) / "index.bin").exists()
    with Store.open(path, read_only=True) as reader:
        got = PurchaseRepository(reader).get(record(1).ksef_number)
        assert got is not None and got.booking == BOOKING
