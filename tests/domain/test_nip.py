from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksef_tui.domain.nip import (
    InvalidNip,
    NipProblem,
    is_valid_nip,
    nip_checksum_ok,
    nip_problem,
    nip_with_checksum,
    normalize_nip,
    parse_nip,
)


@pytest.mark.parametrize("nip", ["5265877635", "9999999999", "1111111111"])
def test_real_shaped_nips_are_valid(nip: str) -> None:
    assert is_valid_nip(nip)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", NipProblem.EMPTY),
        ("52658776a5", NipProblem.NOT_DIGITS),
        ("526587763", NipProblem.LENGTH),
        ("52658776351", NipProblem.LENGTH),
        ("0265877635", NipProblem.API_FORMAT),  # leading zero
        ("1001234567", NipProblem.API_FORMAT),  # second and third digit both zero
        ("5265877636", NipProblem.CHECKSUM),
        ("١٢٣٤٥٦٧٨٩٠", NipProblem.NOT_DIGITS),  # Arabic-Indic digits are digits to str.isdigit, not to us
    ],
)
def test_each_problem_is_named(value: str, problem: NipProblem) -> None:
    assert nip_problem(value) is problem


def test_parse_normalises_what_people_type() -> None:
    assert normalize_nip(" PL 526-587-76-35 ") == "5265877635"
    assert parse_nip("526-587-76-35") == "5265877635"
    with pytest.raises(InvalidNip) as info:
        parse_nip("526-587-76-36")
    assert info.value.problem is NipProblem.CHECKSUM


def test_remainder_ten_is_never_valid() -> None:
    # 1234567890: weights give 6+10+21+8+15+24+35+48+63 = 230, 230 % 11 = 10 -> no check digit exists.
    assert nip_with_checksum("123456789") is None
    assert not nip_checksum_ok("1234567890")


@given(st.from_regex(r"[1-9][1-9][0-9]{7}", fullmatch=True))
def test_completed_nips_validate_and_any_other_last_digit_fails(first_nine: str) -> None:
    nip = nip_with_checksum(first_nine)
    if nip is None:
        return
    assert is_valid_nip(nip)
    for digit in "0123456789":
        if digit != nip[-1]:
            assert not is_valid_nip(nip[:-1] + digit)
