"""Our totals against the MF documents: read each sample, rebuild its model, recompute the summary."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ksef_tui.domain.invoice import PriceBasis, compute_totals
from ksef_tui.errors import Category, UserError
from ksef_tui.fa.build import build_xml
from ksef_tui.fa.convert import ConvertError, to_sales_invoice
from ksef_tui.fa.parse import parse_invoice
from ksef_tui.fa.validate import validate_bytes

FA3 = Path(__file__).parent.parent / "fixtures" / "fa3"

# Every MF sample whose lines carry quantity, price and rate (the model's shape).
RECOMPUTABLE = [
    "FA3_example_1.xml",
    "FA3_example_2.xml",
    "FA3_example_3.xml",
    "FA3_example_4.xml",
    "FA3_example_9.xml",
    "FA3_example_20.xml",
    "FA3_example_22.xml",
    "FA3_example_23.xml",
    "fa3_basic_vat_23_8.xml",
]


@pytest.mark.parametrize("name", RECOMPUTABLE)
def test_recomputed_summary_equals_the_document(name: str) -> None:
    parsed = parse_invoice((FA3 / name).read_bytes())
    model = to_sales_invoice(parsed)
    totals = compute_totals(model)
    assert totals.fields == parsed.buckets
    if name == "FA3_example_1.xml":
        # The document's P_15 (2051) is one grosz above the sum of its own buckets: it was priced gross.
        assert (parsed.gross, totals.gross) == (Decimal("2051"), Decimal("2050.99"))
    else:
        assert totals.gross == parsed.gross
    rebuilt = build_xml(model)
    assert validate_bytes(rebuilt).ok
    again = parse_invoice(rebuilt)
    assert (again.buckets, again.number, len(again.lines)) == (parsed.buckets, parsed.number, len(parsed.lines))


def test_discount_per_unit_as_in_mf_example_4() -> None:
    model = to_sales_invoice(parse_invoice((FA3 / "FA3_example_4.xml").read_bytes()))
    line = model.lines[1]
    assert (line.quantity, line.unit_price, line.discount, line.amount) == (
        Decimal(20),
        Decimal(1000),
        Decimal(100),
        Decimal("18000.00"),
    )
    assert model.price_basis is PriceBasis.NET


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("FA3_example_12.xml", "KOR_ZAL"),
        ("FA3_example_15.xml", "UPR"),
        ("FA3_example_6.xml", "no lines"),
        ("FA3_example_8.xml", "margin"),
    ],
)
def test_shapes_the_model_cannot_carry_are_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(ConvertError, match=reason):
        to_sales_invoice(parse_invoice((FA3 / name).read_bytes()))


def test_a_refusal_is_a_user_error_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConvertError) as err:
        to_sales_invoice(parse_invoice((FA3 / "FA3_example_8.xml").read_bytes()))
    assert isinstance(err.value, UserError) and err.value.category is Category.INPUT
    assert str(err.value) == "margin-scheme invoices are not supported by the sales model"
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert err.value.message() == "faktur w procedurze marży model sprzedaży nie obsługuje"
