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
    with pytest.raises(InvalidKsefNumber) as caught:
        parse_ksef_number(text)
    assert (caught.value.value, caught.value.problem) == (text, problem)
    assert str(caught.value) == f"invalid KSeF number {text!r}: {problem.value}"


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


def crc8_by_division(data: bytes) -> int:
    """CRC-8 written from its definition, not from the code under test: the remainder of (message · x⁸) divided
    by x⁸ + x² + x + 1 over GF(2), the message read as one big-endian number (PROTOCOL.md §7: polynomial 0x07,
    init 0, no reflection, no final XOR)."""
    value = int.from_bytes(data, "big") << 8
    for shift in range(value.bit_length() - 9, -1, -1):
        if value >> (shift + 8) & 1:
            value ^= 0x107 << shift
    return value


# KSeF numbers from the MF's OpenAPI examples (ksef-openapi-2.6.1/2.7.0), as KSeF issued them.
OPENAPI_KSEF_NUMBERS = [
    "5265877635-20250826-0100001AF629-AF",
    "5265877635-20250626-010080DD2B5E-26",
    "5555555555-20250828-010080615740-E4",
    "5265877635-20250925-010020A0A242-0A",
    "5265877635-20250916-0200A0D6723E-C2",
    "5265877635-20250916-010040741B3E-46",
]
# Reference numbers from the same examples whose checksum holds (a few 20250918 examples do not).
OPENAPI_REFERENCES = [
    "20250514-AU-2DFC46C000-3AC6D5877F-D4",
    "20250514-CR-226FB7B000-3ACF9BE4C0-10",
    "20250625-SO-2C3E6C8000-B675CF5D68-07",
    "20250626-EE-2F20AD2000-242386DF86-52",
    "20250626-EG-333C814000-C529F710D8-D2",
    "20250626-SB-213D593000-4DE10D80A5-E9",
    "20250925-EH-2D2C11B000-E9C9ED8340-EE",
    "20251001-EC-220B0CE000-E228129563-96",
    "20251010-AU-19F5E39000-39B5B182BA-B8",
]


def test_the_reference_crc8_meets_the_catalogue_check_value() -> None:
    # CRC-8/SMBUS in the CRC catalogue: check value 0xF4 for "123456789"; the division agrees with it.
    assert crc8_by_division(b"123456789") == 0xF4
    assert crc8_by_division(b"") == 0
    assert crc8_by_division(b"\x01") == 0x07  # x⁸ mod the polynomial is the polynomial's low part


@given(st.binary(max_size=64))
def test_crc8_equals_the_division_by_the_polynomial(data: bytes) -> None:
    assert crc8(data) == crc8_by_division(data)


@pytest.mark.parametrize("number", OPENAPI_KSEF_NUMBERS)
def test_ksef_numbers_issued_by_ksef_are_valid(number: str) -> None:
    assert f"{crc8_by_division(number[:32].encode('ascii')):02X}" == number[33:]
    assert is_valid_ksef_number(number)
    parsed = parse_ksef_number(number)
    assert make_ksef_number(parsed.seller_nip, parsed.acquisition_date, parsed.technical) == number


@pytest.mark.parametrize("number", OPENAPI_KSEF_NUMBERS)
def test_any_one_changed_character_of_an_issued_number_is_detected(number: str) -> None:
    # A CRC-8 catches every error burst of up to 8 bits, so every single changed character.
    for position in [*range(11, 19), *range(20, 32)]:
        for char in "0123456789ABCDEF":
            if char != number[position]:
                changed = number[:position] + char + number[position + 1 :]
                if position >= 20:  # the technical part: only the checksum can tell
                    assert ksef_number_problem(changed) is KsefNumberProblem.CHECKSUM, changed
                else:  # the date: a checksum error unless the shape or the calendar already refuses it
                    assert ksef_number_problem(changed) is not None, changed


@pytest.mark.parametrize(
    "number",
    [
        # Placeholders in the MF's FA(3) samples (FA3_example_*.xml): not issued by KSeF, checksums do not hold.
        "9999999999-20230908-D08FB95950BE-3E",
        "9999999999-20230908-76B2B580D4DC-80",
        "9999999999-20230908-4191312C0E57-09",
        "9999999999-20230908-2B9266CEF3C4-DD",
        "9999999999-20230908-16B99491C78B-3D",
    ],
)
def test_sample_placeholders_fail_the_checksum(number: str) -> None:
    assert f"{crc8_by_division(number[:32].encode('ascii')):02X}" != number[33:]
    assert ksef_number_problem(number) is KsefNumberProblem.CHECKSUM


@pytest.mark.parametrize("reference", OPENAPI_REFERENCES)
def test_reference_numbers_issued_by_ksef_have_a_valid_checksum(reference: str) -> None:
    assert f"{crc8_by_division(reference[:33].encode('ascii')):02X}" == reference[34:]
    assert reference_checksum_ok(reference)
    changed = reference[:20] + ("0" if reference[20] != "0" else "1") + reference[21:]
    assert not reference_checksum_ok(changed)


def test_a_trailing_newline_is_not_part_of_a_number() -> None:
    # "$" matches before a final newline: 1 number in ~120 plus "\n" used to pass as a 36-character one.
    number = make_ksef_number("5265877635", date(2026, 3, 1), "000000001315")
    assert ksef_number_problem(number) is None
    assert ksef_number_problem(number + "\n") is KsefNumberProblem.FORMAT
    assert parse_ksef_number(number + "\n").text == number  # parsing strips what people paste


@pytest.mark.parametrize("technical", ["0100001AF62", "0100001AF6290", "0100001AF62G", "0100001-F629"])
def test_a_technical_part_must_be_twelve_hex_characters(technical: str) -> None:
    with pytest.raises(ValueError, match=r"^the technical part must be 12 hex characters$"):
        make_ksef_number("5265877635", date(2025, 8, 26), technical)
    assert make_ksef_number("5265877635", date(2025, 8, 26), "0100001af629") == OPENAPI_KSEF_NUMBERS[0]


@pytest.mark.parametrize("digits", ["2DFC46C0003AC6D5877", "2DFC46C0003AC6D5877F0", "2DFC46C0003AC6D5877G"])
def test_a_reference_needs_twenty_hex_characters(digits: str) -> None:
    with pytest.raises(ValueError, match=r"^the random part must be 20 hex characters$"):
        make_reference_number(date(2025, 5, 14), ReferenceType.AUTHENTICATION, digits)
    assert (
        make_reference_number(date(2025, 5, 14), ReferenceType.AUTHENTICATION, "2dfc46c0003ac6d5877f")
        == OPENAPI_REFERENCES[0]
    )
