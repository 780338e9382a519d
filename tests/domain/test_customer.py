"""Customers: checked identities (NIP, EU VAT, another id, none), keys that make one company one customer."""

from __future__ import annotations

import pytest

from ksef_tui.domain.customer import Customer, CustomerProblem, InvalidCustomer
from ksef_tui.domain.invoice import Address, BuyerIdType


def test_a_polish_company_typed_twice_is_one_customer() -> None:
    first = Customer.checked("  Biuro   Rachunkowe  ", nip="PL 526-587-76-35", email=" biuro@example.pl ")
    again = Customer.checked("Biuro Rachunkowe sp. z o.o.", nip="5265877635")
    assert first.name == "Biuro Rachunkowe" and first.tax_id == "5265877635" and first.email == "biuro@example.pl"
    assert first.key == again.key == "nip:5265877635"
    buyer = first.buyer()
    assert (buyer.id_type, buyer.tax_id, buyer.email) == (BuyerIdType.NIP, "5265877635", "biuro@example.pl")


def test_eu_other_and_no_id() -> None:
    eu = Customer.checked("GmbH", eu_vat="de 123.456.789", language="en")
    assert (eu.id_type, eu.eu_code, eu.tax_id, eu.key, eu.language) == (
        BuyerIdType.EU,
        "DE",
        "123456789",
        "eu:DE123456789",
        "en",
    )
    other = Customer.checked("Inc.", other_id=("us", " 12-3456789 "), address=Address("1 Main St", country="US"))
    assert other.key == "other:US:12-3456789" and other.buyer().country == "US"
    consumer = Customer.checked("Jan Kowalski", local_id="c7")
    assert consumer.id_type is BuyerIdType.NONE and consumer.key == "none:c7" and consumer.tax_id is None


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"name": " "}, CustomerProblem.NAME),
        ({"name": "x" * 513}, CustomerProblem.NAME),
        ({"name": "A", "nip": "5265877636"}, CustomerProblem.NIP),  # checksum
        ({"name": "A", "nip": "52658776"}, CustomerProblem.NIP),
        ({"name": "A", "eu_vat": "PL5265877635"}, CustomerProblem.EU_CODE),  # a Polish buyer is a NIP
        ({"name": "A", "eu_vat": "DE"}, CustomerProblem.EU_NUMBER),
        ({"name": "A", "other_id": ("USA", "1")}, CustomerProblem.OTHER_ID),
        ({"name": "A", "other_id": ("US", " ")}, CustomerProblem.OTHER_ID),
        ({"name": "A", "email": "no-at-sign"}, CustomerProblem.EMAIL),
        ({"name": "A", "email": "a@b"}, CustomerProblem.EMAIL),
        ({"name": "A", "language": "de"}, CustomerProblem.LANGUAGE),
    ],
)
def test_what_a_customer_cannot_be(kwargs: dict[str, object], problem: CustomerProblem) -> None:
    name = str(kwargs.pop("name"))
    with pytest.raises(InvalidCustomer) as caught:
        Customer.checked(name, **kwargs)  # type: ignore[arg-type]
    assert caught.value.problem is problem
