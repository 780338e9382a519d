from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ksef_tui.domain.ksef_number import (
    InvalidKsefNumber,
    KsefNumberProblem,
    ReferenceType,
    crc8,
    is_reference_number,
    is_valid_ksef_number,
    ksef_number_problem,
    make_ksef_number,
    make_reference_number,
    parse_ksef_number,
    reference_checksum_ok,
)


def test_crc8_known_vectors() -> None:
    # CRC-8/SMBUS check value for "123456789" is 0xF4.
    assert crc8(b"123456789") == 0xF4
    assert crc8(b"") == 0


def test_documentation_example() -> None:
    number = parse_ksef_number("5265877635-20250826-0100001AF629-AF")
    assert number.seller_nip == "5265877635"
    assert number.acquisition_date == date(2025, 8, 26)
    assert number.technical == "0100001AF629"
    assert not number.legacy


def test_legacy_36_char_form_is_accepted() -> None:
    head = "5265877635-20240826-0100001-AF629"  # 1.0 style split technical part "XXXXXX-XXXXXX"
    head = "5265877635-20240826-010000-1AF629"
    number = f"{head}-{crc8(head.encode()):02X}"
    parsed = parse_ksef_number(number)
    assert parsed.legacy
    assert parsed.technical == "0100001AF629"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("5265877635-20250826-0100001AF629-AE", KsefNumberProblem.CHECKSUM),
        ("5265877635-20250826-0100001af629-AF", KsefNumberProblem.FORMAT),  # lowercase hex
        ("526587763-20250826-0100001AF629-AF", KsefNumberProblem.FORMAT),
        ("5265877635-20250230-0100001AF629-AF", KsefNumberProblem.DATE),
        ("", KsefNumberProblem.FORMAT),
    ],
)
def test_problems(text: str, problem: KsefNumberProblem) -> None:
    assert ksef_number_problem(text) is problem
    with pytest.raises(InvalidKsefNumber):
        parse_ksef_number(text)


def test_mf_correction_sample_reference_has_a_wrong_checksum() -> None:
    # The MF sample FA3_example_2.xml cites 9999999999-20230908-8BEF280C8D35-4D; its CRC is not 4D.
    # Readers must therefore not reject invoices for a bad reference: we only flag it.
    assert not is_valid_ksef_number("9999999999-20230908-8BEF280C8D35-4D")


@given(
    st.sampled_from(["5265877635", "9999999999", "1111111111"]),
    st.dates(min_value=date(2026, 2, 1), max_value=date(2049, 12, 31)),
    st.from_regex(r"[0-9A-F]{12}", fullmatch=True),
)
def test_generated_numbers_round_trip(nip: str, day: date, technical: str) -> None:
    text = make_ksef_number(nip, day, technical)
    assert len(text) == 35
    parsed = parse_ksef_number(text)
    assert (parsed.seller_nip, parsed.acquisition_date, parsed.technical) == (nip, day, technical)
    # Any single changed technical character breaks the checksum.
    flipped = text[:20] + ("0" if text[20] != "0" else "1") + text[21:]
    assert not is_valid_ksef_number(flipped)


def test_reference_numbers() -> None:
    ref = make_reference_number(date(2025, 7, 11), ReferenceType.CHALLENGE, "0A1B2C3D4E5F60718293")
    assert len(ref) == 36
    assert ref.startswith("20250711-CR-0A1B2C3D4E-5F60718293-")
    assert is_reference_number(ref)
    assert reference_checksum_ok(ref)
    assert not reference_checksum_ok(ref[:-2] + ("00" if ref[-2:] != "00" else "01"))
    with pytest.raises(ValueError):
        make_reference_number(date(2025, 7, 11), ReferenceType.CHALLENGE, "xyz")
