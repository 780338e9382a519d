"""Customers of the sales register (stdlib only): who they are for KSeF, where to mail, in which language.

A customer is identified as FA(3)'s ``Podmiot2`` allows: a Polish NIP (checked, checksum included), an EU VAT
number (a member state's code and the number), another tax id (a country and the id), or none (a consumer). The
key that stores a customer follows from it (``nip:5265877635``, ``eu:DE123456789``, ``other:US:12-345``), so the
same company entered twice is one customer; a customer without an id gets a key of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from ksef_tui.domain.invoice import Address, Buyer, BuyerIdType
from ksef_tui.domain.nip import nip_problem, normalize_nip

EU_CODES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    ]
)
"""Member-state prefixes of EU VAT numbers (Greece is EL, Northern Ireland XI), Poland excluded: a Polish buyer
is identified by NIP."""

_EU_NUMBER = re.compile(r"[0-9A-Z+*]{2,12}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
LANGUAGES = ("pl", "en")


class CustomerProblem(Enum):
    NAME = "name"  # empty or longer than FA(3) allows (512)
    NIP = "nip"
    EU_CODE = "eu-code"
    EU_NUMBER = "eu-number"
    OTHER_ID = "other-id"
    EMAIL = "email"
    LANGUAGE = "language"


class InvalidCustomer(ValueError):
    def __init__(self, problem: CustomerProblem, value: object) -> None:
        super().__init__(f"customer {problem.value}: {value!r}")
        self.problem = problem
        self.value = value


@dataclass(frozen=True, slots=True)
class Customer:
    """One customer as the register keeps it; :meth:`checked` builds a valid one from what a person typed."""

    name: str
    id_type: BuyerIdType = BuyerIdType.NIP
    tax_id: str | None = None  # the NIP, the EU VAT number without its prefix, or another id
    eu_code: str | None = None  # the member state of an EU VAT number
    country: str | None = None  # the country of another id
    address: Address | None = None
    email: str | None = None
    language: str = "pl"  # of the e-mail with the KSeF number
    local_id: str | None = None  # the key of a customer without a tax id

    @property
    def key(self) -> str:
        if self.id_type is BuyerIdType.NIP:
            return f"nip:{self.tax_id}"
        if self.id_type is BuyerIdType.EU:
            return f"eu:{self.eu_code}{self.tax_id}"
        if self.id_type is BuyerIdType.OTHER:
            return f"other:{self.country or ''}:{self.tax_id}"
        return f"none:{self.local_id or ''}"

    def buyer(self) -> Buyer:
        """The invoice's ``Podmiot2`` for this customer."""
        return Buyer(
            name=self.name,
            id_type=self.id_type,
            tax_id=self.tax_id,
            eu_code=self.eu_code,
            country=self.country,
            address=self.address,
            email=self.email,
        )

    @classmethod
    def checked(
        cls,
        name: str,
        *,
        nip: str | None = None,
        eu_vat: str | None = None,
        other_id: tuple[str, str] | None = None,
        address: Address | None = None,
        email: str | None = None,
        language: str = "pl",
        local_id: str | None = None,
    ) -> Customer:
        """A customer from typed values: at most one of ``nip``, ``eu_vat`` (``DE123456789``) and ``other_id``
        (``(country, id)``); none for a consumer. Raises :class:`InvalidCustomer` naming the first problem."""
        name = " ".join(name.split())
        if not name or len(name) > 512:
            raise InvalidCustomer(CustomerProblem.NAME, name)
        mail = email.strip() if email else None
        if mail and not _EMAIL.fullmatch(mail):
            raise InvalidCustomer(CustomerProblem.EMAIL, email)
        if language not in LANGUAGES:
            raise InvalidCustomer(CustomerProblem.LANGUAGE, language)
        consumer = cls(name, BuyerIdType.NONE, address=address, email=mail or None, language=language)
        if nip is not None:
            digits = normalize_nip(nip)
            if nip_problem(digits) is not None:
                raise InvalidCustomer(CustomerProblem.NIP, nip)
            return replace(consumer, id_type=BuyerIdType.NIP, tax_id=digits)
        if eu_vat is not None:
            text = re.sub(r"[\s.-]", "", eu_vat.upper())
            code, number = text[:2], text[2:]
            if code not in EU_CODES:
                raise InvalidCustomer(CustomerProblem.EU_CODE, eu_vat)
            if not _EU_NUMBER.fullmatch(number):
                raise InvalidCustomer(CustomerProblem.EU_NUMBER, eu_vat)
            return replace(consumer, id_type=BuyerIdType.EU, tax_id=number, eu_code=code)
        if other_id is not None:
            country, value = other_id[0].strip().upper(), other_id[1].strip()
            if not re.fullmatch(r"[A-Z]{2}", country) or not value or len(value) > 50:
                raise InvalidCustomer(CustomerProblem.OTHER_ID, other_id)
            return replace(consumer, id_type=BuyerIdType.OTHER, tax_id=value, country=country)
        return replace(consumer, local_id=local_id)
