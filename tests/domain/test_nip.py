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


# Published NIPs of well-known Polish institutions and companies: vectors from outside this code, which pin
# every weight (9999999999 and 1111111111 pass with any weights whose sum is 1 modulo 11).
REAL_NIPS = {
    "5260250274": "Ministerstwo Finansów",
    "7740001454": "ORLEN S.A.",
    "6920000013": "KGHM Polska Miedź S.A.",
    "5250007738": "PKO Bank Polski S.A.",
    "5260251049": "PZU S.A.",
    "5250007313": "Poczta Polska S.A.",
    "5252674798": "Allegro.pl sp. z o.o.",
    "5260250995": "Orange Polska S.A.",
    "7791011327": "Jeronimo Martins Polska S.A.",
    "5831014898": "LPP S.A.",
}


@pytest.mark.parametrize("nip", sorted(REAL_NIPS))
def test_published_nips_are_valid(nip: str) -> None:
    assert is_valid_nip(nip), REAL_NIPS[nip]
    assert nip_with_checksum(nip[:9]) == nip
    assert parse_nip(f"PL {nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}") == nip


@pytest.mark.parametrize("nip", sorted(REAL_NIPS))
def test_any_one_wrong_digit_in_a_published_nip_is_refused(nip: str) -> None:
    for position in range(10):
        for digit in "0123456789":
            if digit != nip[position]:
                typo = nip[:position] + digit + nip[position + 1 :]
                assert nip_problem(typo) in (NipProblem.CHECKSUM, NipProblem.API_FORMAT), typo


@pytest.mark.parametrize("nip", sorted(REAL_NIPS))
def test_swapped_neighbours_in_a_published_nip_are_refused(nip: str) -> None:
    swaps = [nip[:i] + nip[i + 1] + nip[i] + nip[i + 2 :] for i in range(9) if nip[i] != nip[i + 1]]
    assert swaps
    for swapped in swaps:
        assert not is_valid_nip(swapped), swapped


@pytest.mark.parametrize(
    ("nip", "problem"),
    [
        ("5260250275", NipProblem.CHECKSUM),  # the Ministry's NIP with its last digit off by one
        ("5620250274", NipProblem.CHECKSUM),  # ... with its 2nd and 3rd digits swapped
        ("7740001445", NipProblem.CHECKSUM),  # ORLEN's with its last two digits swapped
        ("6920000031", NipProblem.CHECKSUM),  # KGHM's with its last two digits swapped
        ("5250007783", NipProblem.CHECKSUM),  # PKO BP's with its last two digits swapped
        ("0920000013", NipProblem.API_FORMAT),  # a leading zero cannot be a NIP
    ],
)
def test_known_typos_of_published_nips(nip: str, problem: NipProblem) -> None:
    assert nip_problem(nip) is problem


@pytest.mark.parametrize("value", ["526025027", "52602502740", "526025027a", "52602502 4", "١٢٣٤٥٦٧٨٩٠", ""])
def test_the_checksum_alone_refuses_what_is_not_ten_ascii_digits(value: str) -> None:
    assert not nip_checksum_ok(value)


@pytest.mark.parametrize("value", ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"])
def test_only_nine_ascii_digits_can_be_completed(value: str) -> None:
    assert nip_with_checksum(value) is None


def test_completion_refuses_what_the_api_pattern_refuses() -> None:
    # 100000000 + check digit 6: the checksum holds but the 2nd and 3rd digits are both zero.
    assert nip_checksum_ok("1000000006")
    assert nip_with_checksum("100000000") is None
    assert nip_problem("1000000006") is NipProblem.API_FORMAT


def test_an_invalid_nip_error_names_the_value_and_the_problem() -> None:
    with pytest.raises(InvalidNip) as caught:
        parse_nip("PL 526-025-02-75")
    assert caught.value.value == "PL 526-025-02-75"
    assert caught.value.problem is NipProblem.CHECKSUM
    assert str(caught.value) == "invalid NIP 'PL 526-025-02-75': checksum"
