"""The FA(3) rate set: P_12 texts both ways, percents, and the summary bucket each rate feeds."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

import ksef_tui.fa
from ksef_tui.domain.vat import BUCKETS, SUMMARY_FIELDS, Bucket, VatRate


@pytest.mark.parametrize("rate", [r for r in VatRate if r is not VatRate.MARGIN])
def test_p12_texts_round_trip(rate: VatRate) -> None:
    assert rate.p12 is not None
    assert VatRate.from_p12(rate.p12) is rate


@pytest.mark.parametrize("text", ["margin", "23%", "zw ", "NP I", "0", ""])
def test_unknown_p12_texts_are_refused(text: str) -> None:
    # "margin" is our name for lines without P_12, never a P_12 value.
    with pytest.raises(ValueError, match=f"^unknown P_12 rate {text!r}$"):
        VatRate.from_p12(text)
    assert VatRate.MARGIN.p12 is None


def test_percents_of_taxed_rates_only() -> None:
    assert VatRate.R23.percent == Decimal(23)
    assert VatRate.R4.percent == Decimal(4)
    assert [r for r in VatRate if r.percent is not None] == [
        VatRate.R23,
        VatRate.R22,
        VatRate.R8,
        VatRate.R7,
        VatRate.R5,
        VatRate.R4,
        VatRate.R3,
    ]


def test_summary_fields_are_the_fa3_schemas_in_its_order() -> None:
    """Read from the MF's XSD, not from our table: every P_13_x/P_14_x(W) of ``Fa``, in schema order."""
    schema = (Path(ksef_tui.fa.__file__).parent / "schemas" / "schemat_FA(3)_v1-0E.xsd").read_text(encoding="utf-8")
    in_schema = list(dict.fromkeys(re.findall(r'name="(P_1[34]_[0-9_]+W?)"', schema)))
    assert len(in_schema) == 22
    assert tuple(in_schema) == SUMMARY_FIELDS
    assert VatRate.R23.bucket == VatRate.R22.bucket == BUCKETS["1"]
    assert VatRate.R5.bucket == Bucket("P_13_3", "P_14_3", "P_14_3W")
    assert BUCKETS["5"].tax_pln is None  # P_13_5/P_14_5 (OSS) has no tax in PLN in the schema
    assert VatRate.REVERSE_CHARGE.bucket.net == "P_13_10"
    assert VatRate.MARGIN.bucket.net == "P_13_11"
