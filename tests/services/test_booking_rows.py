"""The purchase rows both faces show: words, Warsaw dates, plain text from suppliers, totals per currency."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ksef_tui import i18n
from ksef_tui.domain.booking import Booking
from ksef_tui.services.purchases import list_purchases, purchase_row, purchase_rows, totals
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository

from ..factories import record

BOOKED_AT = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def polish() -> Iterator[None]:
    i18n.set_language("pl")
    yield
    i18n.set_language(None)


def test_a_row_in_words_with_warsaw_dates() -> None:
    rec = record(
        1,
        day=date(2026, 5, 30),
        acquisition_date=datetime(2026, 5, 30, 22, 13, tzinfo=UTC),  # 00:13 on 31 May in Warsaw
        seller_name="Dostawca\x1b]0;pwned\x07 sp. z o.o.\r\n",
        invoice_number="FV\t1",
        net=Decimal("1234.5"),
        vat=Decimal("283.94"),
        gross=Decimal("1518.44"),
        kind="KOR_ZAL",
    )
    row = purchase_row(rec)
    assert row.received == "2026-05-31"
    assert row.issue_date == "2026-05-30"
    assert row.seller_name == "Dostawca ]0;pwned sp. z o.o."  # no ESC or BEL reaches the terminal
    assert row.invoice_number == "FV 1"
    assert row.kind == "korygująca fakturę zaliczkową"
    assert (row.net, row.vat, row.gross) == ("1\u00a0234,50", "283,94", "1\u00a0518,44")
    assert row.amounts == (Decimal("1234.50"), Decimal("283.94"), Decimal("1518.44"))
    assert row.booked == "niezaksięgowana" and not row.is_booked and not row.is_corrected

    i18n.set_language("en")
    row = purchase_row(rec)
    assert (row.kind, row.net, row.booked) == ("corrective (advance invoice)", "1,234.50", "not booked")
    assert row.received == "2026-05-31"


def test_booked_and_corrected_states() -> None:
    booking = Booking("incidental", 50, "2026-03", "", BOOKED_AT)
    rec = record(1, booking=booking)
    assert purchase_row(rec).booked == "koszty uboczne zakupu, odliczenie VAT 50%, okres 2026-03"
    both = purchase_row(rec, corrected=True)
    assert both.booked == "skorygowana (jest korekta); koszty uboczne zakupu, odliczenie VAT 50%, okres 2026-03"
    assert both.is_booked and both.is_corrected
    assert purchase_row(record(2), corrected=True).booked == "skorygowana (jest korekta); niezaksięgowana"


def test_rows_mark_corrected_invoices_from_the_store(tmp_path: Path) -> None:
    original = record(1, day=date(2026, 2, 10))
    correction = record(2, kind="KOR", corrected_ksef_number=original.ksef_number)
    with Store.open(tmp_path / "store.json") as store:
        repo = PurchaseRepository(store)
        repo.upsert_many([original, correction, record(3)])
        assert repo.corrected_numbers() == {original.ksef_number}
        rows = purchase_rows(list_purchases(repo), corrected=repo.corrected_numbers())
        assert [row.is_corrected for row in rows] == [True, False, False]
        assert [row.kind for row in rows] == ["podstawowa", "korygująca", "podstawowa"]
        assert [row.ksef_number for row in purchase_rows(list_purchases(repo, "2026-02"))] == [original.ksef_number]


def test_totals_per_currency_never_mixed_and_rounded_half_up() -> None:
    records = [
        record(1, net=Decimal("100.00"), vat=Decimal("23.00"), gross=Decimal("123.00")),
        record(2, net=Decimal("0.005"), vat=Decimal("0.005"), gross=Decimal("0.01")),  # ties: 0.01 each, half-up
        record(3, kind="KOR", net=Decimal("-10.00"), vat=Decimal("-2.30"), gross=Decimal("-12.30")),
        record(4, currency="EUR", net=Decimal("50.00"), vat=Decimal("11.50"), gross=Decimal("61.50")),
        record(5, currency="CHF", net=Decimal("1.00"), vat=Decimal("0.00"), gross=Decimal("1.00")),
    ]
    result = totals(purchase_rows(records))
    assert [(t.currency, t.count) for t in result] == [("PLN", 3), ("CHF", 1), ("EUR", 1)]
    pln = result[0]
    assert pln.amounts == (Decimal("90.01"), Decimal("20.71"), Decimal("110.71"))
    assert (pln.net, pln.vat, pln.gross) == ("90,01", "20,71", "110,71")
    assert result[2].amounts == (Decimal("50.00"), Decimal("11.50"), Decimal("61.50"))
    assert totals([]) == []


@pytest.mark.parametrize(
    ("count", "in_polish", "in_english"),
    [
        (1, "Razem 1 faktura w PLN", "Total 1 invoice in PLN"),
        (3, "Razem 3 faktury w PLN", "Total 3 invoices in PLN"),
        (5, "Razem 5 faktur w PLN", "Total 5 invoices in PLN"),
        (12, "Razem 12 faktur w PLN", "Total 12 invoices in PLN"),
        (22, "Razem 22 faktury w PLN", "Total 22 invoices in PLN"),
    ],
)
def test_the_totals_line_counts_in_words(count: int, in_polish: str, in_english: str) -> None:
    rows = purchase_rows(record(i) for i in range(count))
    [total] = totals(rows)
    assert total.text().startswith(in_polish + ":")
    i18n.set_language("en")
    [total] = totals(purchase_rows(record(i) for i in range(count)))
    assert total.text().startswith(in_english + ":")


def test_list_purchases_filters_booked(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.json") as store:
        repo = PurchaseRepository(store)
        repo.upsert_many([record(1), record(2)])
        repo.set_booking(record(2).ksef_number, Booking("goods", 100, "2026-03", "", BOOKED_AT))
        assert [r.ksef_number for r in list_purchases(repo, booked=True)] == [record(2).ksef_number]
        assert [r.ksef_number for r in list_purchases(repo, "2026-03", booked=False)] == [record(1).ksef_number]


def test_rows_keep_the_records_order() -> None:
    recs = [record(3), record(1), record(2)]
    assert [row.ksef_number for row in purchase_rows(recs)] == [r.ksef_number for r in recs]
    assert dataclasses.is_dataclass(purchase_rows(recs)[0])
