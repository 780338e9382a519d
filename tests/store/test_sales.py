"""The sales register in the store: headers by issue month, send statuses in the month's state file."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.domain.booking import Period
from ksef_tui.store.db import Store, StoreCorrupt
from ksef_tui.store.sales import (
    MailState,
    Sale,
    SaleExists,
    SaleNotFound,
    SaleRecord,
    SalesRepository,
    SendState,
    SendStatus,
)
from ksef_tui.store.table import table_root

from .test_purchases import WriteCounter

WARSAW = timezone(timedelta(hours=1))
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=WARSAW)


def sale(n: int, day: date = date(2026, 3, 5), **changes: Any) -> SaleRecord:
    base = SaleRecord(
        number=f"FV/{n}/{day:%m}/{day:%Y}",
        issue_date=day,
        customer_id="7740001454",
        customer_id_type="nip",
        customer_name="Klient „Żółw” sp. z o.o.",
        net=Decimal("100.00"),
        vat=Decimal("23.00"),
        gross=Decimal("123.00"),
        currency="PLN",
        kind="VAT",
        corrected_number=None,
        xml_path=f"sales/{day:%Y}/{day:%m}/{n}.xml",
        xml_sha256=f"{n:064x}",
        invoice_hash="3q2+7w==",
        source="built",
        created_at=CREATED,
    )
    return dataclasses.replace(base, **changes)


QUEUED = SendStatus(SendState.QUEUED, CREATED)
ACCEPTED = SendStatus(
    SendState.ACCEPTED,
    CREATED + timedelta(minutes=5),
    intent="online",
    session_ref="20260305-SO-2B6C4F0000-4A8E2C1D3F-4B",
    invoice_ref="20260305-EE-2B6C4F0000-4A8E2C1D3F-4B",
    ksef_number="5265877635-20260305-0100A0B1C2D3-4E",
    acquisition_date=datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
    upo_path="upo/FV-1.xml",
    attempts=1,
    mail=MailState.PENDING,
)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SalesRepository]:
    with Store.open(tmp_path / "store.json") as store:
        yield SalesRepository(store)


def test_records_and_statuses_round_trip() -> None:
    record = sale(1, corrected_number="FV/0/02/2026", kind="KOR")
    assert SaleRecord.from_doc(json.loads(json.dumps(record.to_doc()))) == record
    rejected = SendStatus(
        SendState.REJECTED,
        CREATED,
        error_code=450,
        error_description="Błąd weryfikacji semantyki dokumentu faktury",
        error_details=("Element 'P_1': '2026-13-01' is not a valid value",),
        extra={"journal": [1, 2]},
    )
    for status in (QUEUED, ACCEPTED, rejected):
        assert SendStatus.from_doc(json.loads(json.dumps(status.to_doc()))) == status
    with pytest.raises(ValueError, match="timezone-aware"):
        SendStatus(SendState.QUEUED, datetime(2026, 3, 1))


def test_adding_writes_one_file_per_month_and_refuses_a_number_twice(
    repo: SalesRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = WriteCounter(monkeypatch)
    names = writes.names
    repo.add_many((sale(i), QUEUED) for i in range(1, 4))
    repo.add_many([(sale(9, date(2026, 4, 1)), QUEUED)])
    # one file per month and kind, and the index saved after each batch
    assert names == [
        "2026-03.json",
        "2026-03.state.json",
        "index.bin",
        "2026-04.json",
        "2026-04.state.json",
        "index.bin",
    ]
    names.clear()
    with pytest.raises(SaleExists):
        repo.add_many([(sale(5), QUEUED), (sale(2), QUEUED)])  # FV/2 is there already
    with pytest.raises(SaleExists):
        repo.add_many([(sale(6), QUEUED), (sale(6), QUEUED)])
    assert names == [] and repo.count() == 4  # nothing of a refused batch was written


def test_a_status_change_rewrites_only_its_months_state_file(
    tmp_path: Path, repo: SalesRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add_many([(sale(1), QUEUED), (sale(2), QUEUED), (sale(3, date(2026, 4, 2)), QUEUED)])
    writes = WriteCounter(monkeypatch)
    names = writes.names
    number = sale(2).number
    sending = SendStatus(SendState.SENDING, CREATED, intent="online", session_ref="S-1", attempts=1)
    repo.set_status(number, sending)
    assert names == ["2026-03.state.json"]
    got = repo.get(number)
    assert got == Sale(sale(2), sending)
    repo.set_status(number, ACCEPTED)
    assert [s.record.number for s in repo.list(state=SendState.ACCEPTED)] == [number]
    assert [s.record.number for s in repo.list(Period(2026, 3), SendState.QUEUED)] == [sale(1).number]
    assert [s.record.number for s in repo.list(Period(2026, 4))] == [sale(3, date(2026, 4, 2)).number]
    index = repo.table.index
    row = index.row_of(number)
    assert row is not None
    assert (index.value("state", row), index.value("ksef_number", row), index.value("mail", row)) == (
        "accepted",
        ACCEPTED.ksef_number,
        "pending",
    )
    with pytest.raises(SaleNotFound):
        repo.set_statuses({number: QUEUED, "FV/404": QUEUED})
    assert repo.get(number) == Sale(sale(2), ACCEPTED)  # nothing written for a batch naming an unknown number

    with Store.open(tmp_path / "store.json", read_only=True) as reader:
        viewer = SalesRepository(reader)
        assert viewer.get(number) == Sale(sale(2), ACCEPTED)
        repo.set_status(sale(1).number, ACCEPTED)  # the writer moves on: the reader sees it
        assert len(viewer.list(state=SendState.ACCEPTED)) == 2


def test_a_damaged_state_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        SalesRepository(store).add_many([(sale(1), QUEUED)])
    state = table_root(path, "sales") / "2026-03.state.json"
    state.write_text('{"state": {"FV/1/03/2026": {"state": "lost"}}}')
    with Store.open(path) as store, pytest.raises(StoreCorrupt) as caught:
        SalesRepository(store).count()
    assert caught.value.path == state  # the file to restore is named
    assert "lost" in caught.value.reason
