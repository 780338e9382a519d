from __future__ import annotations

from decimal import Decimal

import pytest

from ksef_tui.domain.money import format_amount, parse_decimal, q2, xml_amount


@pytest.mark.parametrize(
    ("value", "expected"),
    [("383.3318", "383.33"), ("0.0475", "0.05"), ("0.005", "0.01"), ("-0.005", "-0.01"), ("2.675", "2.68")],
)
def test_half_up_to_the_grosz(value: str, expected: str) -> None:
    assert q2(Decimal(value)) == Decimal(expected)


def test_parse_never_goes_through_float() -> None:
    assert parse_decimal("0.1") + parse_decimal("0.2") == Decimal("0.3")
    assert parse_decimal("1234,5") == Decimal("1234.5")
    for bad in ("1e3", "NaN", "1 000", "", "--1", "1.2.3"):
        with pytest.raises(ValueError):
            parse_decimal(bad)


def test_xml_amount_shapes() -> None:
    assert xml_amount(Decimal("2051")) == "2051.00"
    assert xml_amount(Decimal("-0.001")) == "0.00"
    assert xml_amount(Decimal("1.500000"), 6) == "1.5"
    assert xml_amount(Decimal("10"), 6) == "10"
    assert xml_amount(Decimal("0.123456789"), 8) == "0.12345679"


def test_format_without_locale() -> None:
    assert format_amount(Decimal("1234567.5")) == "1\u00a0234\u00a0567,50"
    assert format_amount(Decimal("-200"), decimal_comma=False) == "-200.00"
    assert format_amount(Decimal("999.999"), decimal_comma=False, thousands=False) == "1000.00"


@pytest.mark.parametrize(
    ("value", "comma", "thousands", "expected"),
    [
        ("0", True, True, "0,00"),
        ("-0.001", True, True, "0,00"),  # rounds to zero: never "-0,00"
        ("0.5", True, True, "0,50"),
        ("-0.5", True, True, "-0,50"),
        ("999", True, True, "999,00"),
        ("1000", True, True, "1\u00a0000,00"),
        ("1234567.5", False, True, "1,234,567.50"),
        ("-1234.5", False, False, "-1234.50"),
        ("-1234.5", True, False, "-1234,50"),
    ],
)
def test_format_amount_cases(value: str, comma: bool, thousands: bool, expected: str) -> None:
    assert format_amount(Decimal(value), decimal_comma=comma, thousands=thousands) == expected


def test_parse_errors_quote_the_input() -> None:
    with pytest.raises(ValueError, match=r"^not a decimal amount: '1e3'$"):
        parse_decimal("1e3")


def test_xml_amount_rounds_half_up_at_every_precision() -> None:
    assert xml_amount(Decimal("0.125")) == "0.13"  # half-even would give 0.12
    assert xml_amount(Decimal("-0.125")) == "-0.13"
    assert xml_amount(Decimal("0.1234565"), 6) == "0.123457"
    assert xml_amount(Decimal("2.500"), 3) == "2.5"  # above two places trailing zeros go
    assert xml_amount(Decimal("2.000"), 3) == "2"
    assert xml_amount(Decimal("100"), 6) == "100"  # zeros before the point stay
    assert xml_amount(Decimal("1E+3")) == "1000.00"  # never an exponent
