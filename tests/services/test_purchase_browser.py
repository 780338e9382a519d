"""The purchase browser: what the purchase screen lists, from the index alone, matching the rows built from records."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ksef_tui.domain.booking import Booking, Period
from ksef_tui.i18n import set_language
from ksef_tui.services.purchases import PurchaseBrowser, purchase_rows, totals
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository

from ..factories import record

WARSAW_SUMMER = timezone(timedelta(hours=2))


def purchases() -> list[PurchaseRecord]:
    march = [record(i, date(2026, 3, 1 + i)) for i in range(6)]
    april = [record(10 + i, date(2026, 4, 30 - i), offset=WARSAW_SUMMER) for i in range(4)]
    special = [
        record(20, date(2026, 3, 31), seller_name="ŻÓŁTA SPÓŁKA Jawna", seller_nip="7740001454"),
        record(
            21, date(2026, 4, 1), currency="EUR", net=Decimal("10.005"), vat=Decimal("2.30"), gross=Decimal("12.305")
        ),
        record(22, date(2026, 4, 2), kind="KOR", corrected_ksef_number=march[1].ksef_number, invoice_number="KOR/7"),
        # received just after midnight in Warsaw, the evening before in UTC: the Warsaw day is shown
        record(23, date(2026, 3, 9), acquisition_date=datetime(2026, 3, 8, 23, 30, tzinfo=UTC)),
    ]
    return march + april + special


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[PurchaseRepository]:
    with Store.open(tmp_path / "store.json") as store:
        repository = PurchaseRepository(store)
        repository.upsert_many(purchases())
        yield repository


BOOKING = Booking("goods", 50, "2026-04", "", datetime(2026, 4, 3, tzinfo=UTC))


@pytest.mark.parametrize("language", ["pl", "en"])
def test_rows_from_the_index_are_the_rows_built_from_records(repo: PurchaseRepository, language: str) -> None:
    set_language(language)
    try:
        repo.set_booking(record(3, date(2026, 3, 4)).ksef_number, BOOKING)
        browser = PurchaseBrowser(repo)
        expected = purchase_rows(repo.all(), corrected=repo.corrected_numbers())
        assert [browser.row(i) for i in browser.order()] == expected
        assert browser.totals(browser.order()) == totals(expected)
        assert {r.currency for r in expected} == {"PLN", "EUR"}
        assert sum(r.is_corrected for r in expected) == 1 and sum(r.is_booked for r in expected) == 1
    finally:
        set_language("pl")


def test_search_by_text_period_and_state(repo: PurchaseRepository) -> None:
    browser = PurchaseBrowser(repo)

    def numbers(rows: list[int]) -> list[str]:
        return [browser.row(i).invoice_number for i in rows]

    assert len(browser) == 14
    assert browser.search("A") == browser.order()  # every seller's name has an "a"
    assert browser.search("a", booked=True) == []
    assert numbers(browser.search("żółta spółka")) == ["FV/20/2026"]  # any case, Polish letters too
    assert numbers(browser.search("  kor/  ")) == ["KOR/7"]
    assert numbers(browser.search("7740001454")) == ["FV/20/2026"]  # seller NIP
    wanted = record(12, date(2026, 4, 28)).ksef_number
    assert numbers(browser.search(wanted[-8:].lower())) == ["FV/12/2026"]  # a piece of the KSeF number
    march = browser.search(period=Period(2026, 3))
    assert len(march) == 8 and numbers(march)[-1] == "FV/20/2026"  # by issue date, the 31st last
    assert browser.search("FV/1", period=Period(2026, 4)) == [
        i for i in browser.search(period=Period(2026, 4)) if "FV/1" in browser.row(i).invoice_number
    ]
    repo.set_bookings({record(i, date(2026, 3, 1 + i)).ksef_number: BOOKING for i in (0, 5)})
    assert numbers(browser.search(booked=True)) == ["FV/0/2026", "FV/5/2026"]
    assert len(browser.search(booked=False, period=Period(2026, 3))) == 6
    assert browser.search("nothing like it") == []


def test_the_order_is_kept_across_bookings_and_grows_with_new_purchases(repo: PurchaseRepository) -> None:
    browser = PurchaseBrowser(repo)
    first = browser.order()
    repo.set_booking(record(1, date(2026, 3, 2)).ksef_number, BOOKING)
    assert browser.order() is first  # a booking changes no date and no number: not sorted again
    assert len(browser.search("fv/0")) == 1
    repo.upsert_many([record(30, date(2026, 2, 1)), dataclasses.replace(purchases()[0], invoice_number="ZMIANA/1")])
    again = browser.order()
    assert again is not first and len(again) == 15
    assert browser.row(again[0]).invoice_number == "FV/30/2026"  # the earliest issue date first
    assert browser.search("zmiana") == [again[1]]  # a changed invoice number is searched as it is now
    assert browser.search("fv/0") == []


def test_a_read_only_browser_follows_the_writer_after_refresh(tmp_path: Path, repo: PurchaseRepository) -> None:
    with Store.open(tmp_path / "store.json", read_only=True) as reader:
        browser = PurchaseBrowser(PurchaseRepository(reader))
        assert len(browser) == 14
        repo.upsert_many([record(40, date(2026, 5, 1))])
        repo.set_booking(record(0, date(2026, 3, 1)).ksef_number, BOOKING)
        browser.refresh()
        assert len(browser) == 15
        assert [browser.row(i).invoice_number for i in browser.search(booked=True)] == ["FV/0/2026"]


NAMES = ["Żółta Spółka", "ZIELONA sp. z o.o.", "Biuro Ab", "ab-Trans", "Łódź Serwis"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    typed=st.lists(st.sampled_from(["a", "b", "ż", "Ó", "ł", "-", "1", "/", " ", "\b"]), max_size=8),
    booked=st.sampled_from([None, True, False]),
    month=st.sampled_from([None, 3, 4]),
)
@example(typed=["a", "b", "/", "1"], booked=True, month=None)  # the booking lands after "a": must be found
def test_typing_finds_what_a_full_search_finds(
    tmp_path_factory: pytest.TempPathFactory, typed: list[str], booked: bool | None, month: int | None
) -> None:
    """Narrowing the previous answer while the text grows gives exactly what searching every row gives, also
    when a key deletes ("\\b") or the data changes between keystrokes."""
    with Store.open(tmp_path_factory.mktemp("typing") / "store.json") as store:
        repo = PurchaseRepository(store)
        repo.upsert_many(
            record(i, date(2026, 3 + i % 2, 1 + i % 28), seller_name=NAMES[i % 5], invoice_number=f"AB/{i}/Ż")
            for i in range(40)
        )
        browser = PurchaseBrowser(repo)
        period = None if month is None else Period(2026, month)
        text = ""
        for step, key in enumerate(typed):
            text = text[:-1] if key == "\b" else text + key
            if step == 1:  # a booking lands while typing
                repo.set_booking(record(1, date(2026, 4, 2)).ksef_number, BOOKING)
            found = browser.search(text, period=period, booked=booked)
            needle = text.strip().casefold()
            everything = browser.order()
            rows = [browser.row(i) for i in everything]
            expected = [
                i
                for i, row in zip(everything, rows, strict=True)
                if (period is None or row.issue_date.startswith(str(period)))
                and (booked is None or row.is_booked == booked)
                and any(
                    needle in field.casefold()
                    for field in (row.ksef_number, row.invoice_number, row.seller_name, row.seller_nip)
                )
            ]
            assert found == expected, (text, period, booked)
