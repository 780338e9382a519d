"""The customer book: one small TinyDB file beside the store, one document per customer key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import Address
from ksef_tui.store.customers import CustomerBook, customer_doc, customer_from_doc
from ksef_tui.store.db import Store, StoreCorrupt, StoreReadOnly


def test_customers_are_kept_by_key_and_found(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    firm = Customer.checked("Żółta Spółka", nip="5265877635", address=Address("ul. Długa 1", "00-001 Warszawa"))
    eu = Customer.checked("Gelb GmbH", eu_vat="DE123456789", email="rechnung@gelb.de", language="en")
    with Store.open(path) as store:
        book = CustomerBook.of(store)
        assert book.all() == []
        assert book.put(firm) is True
        assert book.put(eu) is True
        renamed = Customer.checked("Żółta Spółka Jawna", nip="526-587-76-35")
        assert book.put(renamed) is False  # the same NIP: the customer is replaced, not doubled
        assert book.all() == [eu, renamed]
        assert book.get("nip:5265877635") == renamed
        assert book.search("GELB") == [eu] and book.search("5265") == [renamed] and book.search("rechnung@") == [eu]
        assert book.get("nip:0000000000") is None
    raw = json.loads(path.with_name("store.customers.json").read_text())
    assert sorted(doc["key"] for doc in raw["customers"].values()) == ["eu:DE123456789", "nip:5265877635"]
    with Store.open(path, read_only=True) as reader:
        viewer = CustomerBook.of(reader)
        assert viewer.all() == [eu, renamed]
        with pytest.raises(StoreReadOnly):
            viewer.put(firm)


def test_documents_round_trip_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    other = Customer.checked("Inc.", other_id=("US", "12-3456789"), address=Address("1 Main St", None, "US"))
    assert customer_from_doc(json.loads(json.dumps(customer_doc(other)))) == other
    path = tmp_path / "store.json"
    with Store.open(path) as store:
        CustomerBook.of(store).put(other)
    book_file = path.with_name("store.customers.json")
    book_file.write_text('{"customers": {"1": {"key": "x", "id_type": "Martian"}}}')
    with Store.open(path) as store, pytest.raises(StoreCorrupt) as caught:
        CustomerBook.of(store).all()
    assert caught.value.path == book_file
