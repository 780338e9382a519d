"""The FA(3) VAT rate set and the summary buckets (``P_13_x``/``P_14_x``) each rate feeds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum


@dataclass(frozen=True, slots=True)
class Bucket:
    """One VAT summary group of ``Fa``: net field, tax field (if taxed) and PLN tax field (if any)."""

    net: str
    tax: str | None
    tax_pln: str | None


BUCKETS: dict[str, Bucket] = {
    "1": Bucket("P_13_1", "P_14_1", "P_14_1W"),
    "2": Bucket("P_13_2", "P_14_2", "P_14_2W"),
    "3": Bucket("P_13_3", "P_14_3", "P_14_3W"),
    "4": Bucket("P_13_4", "P_14_4", "P_14_4W"),
    "5": Bucket("P_13_5", "P_14_5", None),
    "6.1": Bucket("P_13_6_1", None, None),
    "6.2": Bucket("P_13_6_2", None, None),
    "6.3": Bucket("P_13_6_3", None, None),
    "7": Bucket("P_13_7", None, None),
    "8": Bucket("P_13_8", None, None),
    "9": Bucket("P_13_9", None, None),
    "10": Bucket("P_13_10", None, None),
    "11": Bucket("P_13_11", None, None),
}

#: Schema order of every summary field in ``Fa`` (before ``P_15``).
SUMMARY_FIELDS: tuple[str, ...] = tuple(
    name for bucket in BUCKETS.values() for name in (bucket.net, bucket.tax, bucket.tax_pln) if name is not None
)


class VatRate(Enum):
    """``FaWiersz/P_12`` values of FA(3), plus the margin scheme (lines without ``P_12``)."""

    R23 = "23"
    R22 = "22"
    R8 = "8"
    R7 = "7"
    R5 = "5"
    R4 = "4"
    R3 = "3"
    ZERO_DOMESTIC = "0 KR"
    ZERO_WDT = "0 WDT"
    ZERO_EXPORT = "0 EX"
    EXEMPT = "zw"
    REVERSE_CHARGE = "oo"
    NP_I = "np I"
    NP_II = "np II"
    MARGIN = "margin"

    @property
    def percent(self) -> Decimal | None:
        """The tax rate in percent for taxed rates, else ``None``."""
        return Decimal(self.value) if self.value.isdigit() else None

    @property
    def bucket(self) -> Bucket:
        return BUCKETS[_BUCKET_OF[self]]

    @property
    def p12(self) -> str | None:
        """The ``P_12`` text, ``None`` for margin-scheme lines (which carry no rate)."""
        return None if self is VatRate.MARGIN else self.value

    @classmethod
    def from_p12(cls, text: str) -> VatRate:
        for rate in cls:
            if rate.value == text and rate is not VatRate.MARGIN:
                return rate
        raise ValueError(f"unknown P_12 rate {text!r}")


_BUCKET_OF: dict[VatRate, str] = {
    VatRate.R23: "1",
    VatRate.R22: "1",
    VatRate.R8: "2",
    VatRate.R7: "2",
    VatRate.R5: "3",
    VatRate.R4: "4",
    VatRate.R3: "4",
    VatRate.ZERO_DOMESTIC: "6.1",
    VatRate.ZERO_WDT: "6.2",
    VatRate.ZERO_EXPORT: "6.3",
    VatRate.EXEMPT: "7",
    VatRate.NP_I: "8",
    VatRate.NP_II: "9",
    VatRate.REVERSE_CHARGE: "10",
    VatRate.MARGIN: "11",
}
