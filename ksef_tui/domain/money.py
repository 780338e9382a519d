"""Money as ``Decimal``: parsing, half-up rounding to the grosz and formatting without locale."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

GROSZ = Decimal("0.01")
ZERO = Decimal("0.00")
_AMOUNT_RE = re.compile(r"^-?\d+(\.\d+)?$")


def q2(value: Decimal) -> Decimal:
    """Round half-up (away from zero on ties) to two decimal places."""
    return value.quantize(GROSZ, rounding=ROUND_HALF_UP)


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal (``1234.5``, ``-0.95``); a comma is accepted as the decimal mark.

    Never goes through float. Raises ``ValueError`` for anything else (``1e3``, ``NaN``, ``1 000``).
    """
    cleaned = text.strip().replace(",", ".")
    if not _AMOUNT_RE.match(cleaned):
        raise ValueError(f"not a decimal amount: {text!r}")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"not a decimal amount: {text!r}") from exc


def xml_amount(value: Decimal, places: int = 2) -> str:
    """Format for FA(3) numeric types: fixed point, no exponent, never ``-0``.

    Amounts (``places=2``) always carry two decimals; quantities and unit prices (6 or 8 places) drop
    trailing zeros (``1``, ``0.5``, ``12.3456``).
    """
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    text = format(rounded, "f")
    if places > 2 and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_amount(value: Decimal, *, decimal_comma: bool = True, thousands: bool = True) -> str:
    """Human format: ``1 234,56`` (Polish) or ``1,234.56`` style without relying on the locale."""
    value = q2(value)
    sign = "-" if value < 0 else ""
    whole, _, frac = format(abs(value), "f").partition(".")
    if thousands:
        groups: list[str] = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        groups.insert(0, whole)
        whole = ("\u00a0" if decimal_comma else ",").join(groups)
    mark = "," if decimal_comma else "."
    return f"{sign}{whole}{mark}{frac or '00'}"
