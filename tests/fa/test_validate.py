"""XSD validation and KSeF's checks beyond the XSD."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksef_tui.fa.validate import MAX_INVOICE_BYTES, Problem, Schema, validate_bytes

FIXTURES = Path(__file__).parent.parent / "fixtures"
SAMPLE = (FIXTURES / "fa3" / "FA3_example_1.xml").read_bytes()


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "fa3").glob("*.xml")) + sorted((FIXTURES / "fa2").glob("*.xml")), ids=lambda p: p.name
)
def test_every_official_sample_is_valid(path: Path) -> None:
    result = validate_bytes(path.read_bytes())
    assert result.ok, [str(f) for f in result.findings]
    assert result.schema is (Schema.FA2 if path.parent.name == "fa2" else Schema.FA3)


def test_official_upo_examples_fail_only_on_the_test_environment_receiver_name() -> None:
    for path in sorted((FIXTURES / "upo").glob("*.xml")):
        result = validate_bytes(path.read_bytes(), expect=Schema.UPO)
        assert result.schema is Schema.UPO
        assert len(result.findings) == 1
        assert "NazwaPodmiotuPrzyjmujacego" in result.findings[0].message
        fixed = path.read_bytes().replace(
            "Ministerstwo Finansów - środowisko testowe (TE)".encode(), "Ministerstwo Finansów".encode()
        )
        assert validate_bytes(fixed, expect=Schema.UPO).ok


def problems(data: bytes) -> list[Problem]:
    return [finding.problem for finding in validate_bytes(data).findings]


def test_processing_instructions_are_refused_with_their_line() -> None:
    data = SAMPLE.replace(b"?>", b'?>\n<?xml-stylesheet href="x.xsl"?>', 1)
    result = validate_bytes(data)
    assert [f.problem for f in result.findings] == [Problem.PROCESSING_INSTRUCTION]
    assert result.findings[0].line == 2
    inner = SAMPLE.replace(b"<Naglowek>", b"<Naglowek><?app data?>")
    assert Problem.PROCESSING_INSTRUCTION in problems(inner)


def test_discouraged_code_points() -> None:
    data = SAMPLE.replace(b"Zimnotech", "Zimno\u0086tech".encode())
    result = validate_bytes(data)
    assert result.findings[0].problem is Problem.DISCOURAGED_CHARACTER
    assert "U+0086" in result.findings[0].message
    assert result.findings[0].line == SAMPLE[: SAMPLE.index(b"Zimnotech")].count(b"\n") + 1
    assert Problem.DISCOURAGED_CHARACTER in problems(SAMPLE.replace(b"Zimnotech", "Zimno\ufdd0".encode()))


def _discouraged_reference(code: int) -> bool:
    """XML 1.0 §2.2's discouraged characters, written from the spec (not from the validator's regexes)."""
    return 0x7F <= code <= 0x84 or 0x86 <= code <= 0x9F or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFF) >= 0xFFFE


DISCOURAGED_OR_NEAR = [0x7E, 0x7F, 0x84, 0x85, 0x86, 0x9F, 0xA0, 0xFDCF, 0xFDD0, 0xFDEF, 0xFDF0, 0xFFFD, 0xFFFE]
DISCOURAGED_OR_NEAR += [p * 0x10000 + low for p in range(1, 17) for low in (0xFFFD, 0xFFFE, 0xFFFF)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(DISCOURAGED_OR_NEAR),
            st.integers(0x20, 0x10FFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF),
        ),
        max_size=12,
    )
)
def test_discouraged_code_points_found_first_wherever_they_are(codes: list[int]) -> None:
    name = "".join(map(chr, codes)).replace("<", "").replace("&", "").replace("]]>", "")
    data = SAMPLE.replace(b"Zimnotech", ("Zimno" + name + "tech").encode())
    expected = next((c for c in map(ord, name) if _discouraged_reference(c)), None)
    found = [f for f in validate_bytes(data).findings if f.problem is Problem.DISCOURAGED_CHARACTER]
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and f"U+{expected:04X}" in found[0].message


def test_doctype_and_entities_are_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = SAMPLE.replace(b"?>", f'?>\n<!DOCTYPE Faktura [<!ENTITY x SYSTEM "file://{secret}">]>'.encode(), 1).replace(
        b"<P_1M>Warszawa</P_1M>", b"<P_1M>&x;</P_1M>"
    )
    result = validate_bytes(data)
    assert Problem.DOCTYPE in [f.problem for f in result.findings]
    assert "TOPSECRET" not in " ".join(f.message for f in result.findings)


def test_size_limit_without_attachment() -> None:
    padding = b"<!--" + b"x" * MAX_INVOICE_BYTES + b"-->"
    data = SAMPLE.replace(b"</Faktura>", padding + b"</Faktura>")
    assert Problem.TOO_LARGE in problems(data)


def test_encoding_bom_and_garbage() -> None:
    assert problems(b"\xef\xbb\xbf" + SAMPLE) == [Problem.BOM]
    assert problems(SAMPLE.replace(b"UTF-8", b"windows-1250")) == [Problem.ENCODING]
    assert problems(SAMPLE.replace("ó".encode(), "ó".encode("latin-1"))) == [Problem.ENCODING]
    assert problems(b"   ") == [Problem.EMPTY]
    assert problems(b"<a><b></a>") == [Problem.NOT_XML]
    assert problems(b"<Faktura/>") == [Problem.UNKNOWN_SCHEMA]


def test_xsd_errors_carry_lines_and_the_validator_message() -> None:
    data = SAMPLE.replace(b"<P_15>2051</P_15>", b"<P_15>2051,00</P_15>")
    result = validate_bytes(data)
    assert [f.problem for f in result.findings] == [Problem.XSD]
    assert result.findings[0].line == SAMPLE[: SAMPLE.index(b"<P_15>")].count(b"\n") + 1
    assert "P_15" in result.findings[0].message
    assert "2051,00" in result.findings[0].message


def test_fa2_relabelled_as_fa3_fails() -> None:
    fa2 = (FIXTURES / "fa2" / "FA2_podstawowa__FA_2_Przyklad_4.xml").read_bytes()
    relabelled = fa2.replace(b"http://crd.gov.pl/wzor/2023/06/29/12648/", b"http://crd.gov.pl/wzor/2025/06/25/13775/")
    result = validate_bytes(relabelled)
    assert result.schema is Schema.FA3
    assert not result.ok
