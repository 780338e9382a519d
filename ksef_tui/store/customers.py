"""The customers of a company's sales register: one small TinyDB file beside ``store.json``
(``store.customers.json``), written atomically, one document per customer keyed by :attr:`Customer.key`.

Blocking by design: call from thread workers. A few thousand customers make a file of a few hundred kilobytes,
read once per open store and rewritten whole on a change (tinydb's way; customers change rarely).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import Address, BuyerIdType
from ksef_tui.store.db import AtomicJSONStorage, Store, StoreCorrupt

CUSTOMERS = "customers"


def customer_doc(customer: Customer) -> dict[str, Any]:
    address = customer.address
    return {
        "key": customer.key,
        "name": customer.name,
        "id_type": customer.id_type.value,
        "tax_id": customer.tax_id,
        "eu_code": customer.eu_code,
        "country": customer.country,
        "address": None
        if address is None
        else {"line1": address.line1, "line2": address.line2, "country": address.country},
        "email": customer.email,
        "language": customer.language,
        "local_id": customer.local_id,
    }


def customer_from_doc(doc: Mapping[str, Any]) -> Customer:
    address = doc.get("address")
    return Customer(
        name=str(doc["name"]),
        id_type=BuyerIdType(doc["id_type"]),
        tax_id=doc.get("tax_id"),
        eu_code=doc.get("eu_code"),
        country=doc.get("country"),
        address=None
        if address is None
        else Address(str(address["line1"]), address.get("line2"), str(address.get("country", "PL"))),
        email=doc.get("email"),
        language=str(doc.get("language", "pl")),
        local_id=doc.get("local_id"),
    )


class CustomerBook:
    """The customers of one open store (:meth:`of`); read-only when the store is."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = store.path.with_name(f"{store.path.stem}.{CUSTOMERS}.json")
        self._db = TinyDB(self.path, storage=AtomicJSONStorage, read_only=store.read_only, cache=not store.read_only)
        self._by_key: dict[str, int] | None = None

    @classmethod
    def of(cls, store: Store) -> CustomerBook:
        return store.attachment(CUSTOMERS, cls)

    def close(self) -> None:
        self._db.close()

    def _docs(self) -> list[Document]:
        try:
            return self._db.table(CUSTOMERS, cache_size=0).all()
        except FileNotFoundError:
            return []

    def _customer(self, doc: Mapping[str, Any]) -> Customer:
        try:
            return customer_from_doc(doc)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise StoreCorrupt(self.path, f"{doc.get('key')}: {type(exc).__name__}: {exc}") from None

    def all(self) -> list[Customer]:
        """Every customer, by name."""
        with self.store.mutex:
            found = [self._customer(doc) for doc in self._docs()]
        return sorted(found, key=lambda c: (c.name.casefold(), c.key))

    def get(self, key: str) -> Customer | None:
        with self.store.mutex:
            for doc in self._docs():
                if doc.get("key") == key:
                    return self._customer(doc)
        return None

    def put(self, customer: Customer) -> bool:
        """Add a customer or replace the one with the same key (one write). Returns whether it was new."""
        doc = customer_doc(customer)
        with self.store.mutex:
            table = self._db.table(CUSTOMERS, cache_size=0)
            known = next((d.doc_id for d in self._docs() if d.get("key") == customer.key), None)
            if known is None:
                table.insert(doc)
                return True
            table.update(doc, doc_ids=[known])  # every field is in every document: this replaces it whole
            return False

    def search(self, text: str) -> list[Customer]:
        """Customers whose name, tax id or e-mail contains ``text`` (any case)."""
        needle = " ".join(text.split()).casefold()
        return [
            c
            for c in self.all()
            if needle in c.name.casefold() or needle in (c.tax_id or "").casefold() or needle in (c.email or "")
        ]
