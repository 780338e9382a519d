from __future__ import annotations

import base64
import hashlib
import re
from datetime import date
from pathlib import Path

import pytest
import segno
from lxml import etree

from ksef_tui.fa.qr import (
    QR_BASE,
    QUIET_ZONE,
    invoice_hash_b64,
    invoice_hash_b64url,
    kod1_url,
    kod1_url_for_invoice,
    make_qr,
    qr_label,
    qr_modules,
    qr_png,
    qr_svg,
    qr_text,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
FA3 = sorted((FIXTURES / "fa3").glob("*.xml"))
FA2 = sorted((FIXTURES / "fa2").glob("*.xml"))
URL = "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"


def test_bases_match_the_protocol() -> None:
    assert QR_BASE == {
        "test": "https://qr-test.ksef.mf.gov.pl",
        "demo": "https://qr-demo.ksef.mf.gov.pl",
        "prod": "https://qr.ksef.mf.gov.pl",
    }


def test_url_has_the_documented_shape() -> None:
    url = kod1_url("test", "1111111111", date(2026, 2, 1), b"<Faktura/>")
    assert re.fullmatch(r"https://qr-test\.ksef\.mf\.gov\.pl/invoice/1111111111/01-02-2026/[A-Za-z0-9_-]{43}", url)
    # Same shape as the example in PROTOCOL.md §9.
    assert url.rsplit("/", 1)[0] == URL.rsplit("/", 1)[0]
    assert len(url) == len(URL)


@pytest.mark.parametrize(("env", "host"), [("test", "qr-test"), ("demo", "qr-demo"), ("prod", "qr")])
def test_each_environment(env: str, host: str) -> None:
    assert kod1_url(env, "5265877635", date(2026, 2, 1), b"x").startswith(f"https://{host}.ksef.mf.gov.pl/invoice/")


def test_date_is_day_month_year() -> None:
    url = kod1_url("prod", "5265877635", date(2026, 12, 3), b"x")
    assert "/invoice/5265877635/03-12-2026/" in url


@pytest.mark.parametrize("env", ["", "TEST", "production", "te"])
def test_unknown_environment(env: str) -> None:
    with pytest.raises(ValueError, match="unknown KSeF environment"):
        kod1_url(env, "1111111111", date(2026, 2, 1), b"x")
    with pytest.raises(ValueError, match="unknown KSeF environment"):
        kod1_url_for_invoice(env, FA3[0].read_bytes())


@pytest.mark.parametrize("nip", ["111111111", "11111111111", "PL1111111111", "111111111a", ""])
def test_bad_nip(nip: str) -> None:
    with pytest.raises(ValueError, match="NIP"):
        kod1_url("test", nip, date(2026, 2, 1), b"x")


@pytest.mark.parametrize("path", FA3[:3], ids=lambda p: p.name)
def test_hash_is_sha256_of_the_exact_bytes(path: Path) -> None:
    data = path.read_bytes()
    digest = hashlib.sha256(data).digest()
    assert invoice_hash_b64(data) == base64.b64encode(digest).decode()
    url_hash = invoice_hash_b64url(data)
    assert "=" not in url_hash
    assert base64.urlsafe_b64decode(url_hash + "=") == digest
    # invoiceHash (standard Base64) -> the URL form: + -> -, / -> _, no padding.
    assert invoice_hash_b64(data).replace("+", "-").replace("/", "_").rstrip("=") == url_hash
    # A single changed byte changes the link.
    assert invoice_hash_b64(data + b" ") != invoice_hash_b64(data)


def test_hash_alphabet_conversion_is_exercised() -> None:
    # Find inputs whose standard Base64 hash contains '+' and '/', so the URL-safe mapping is really tested.
    data = next(str(i).encode() for i in range(1000) if "+" in invoice_hash_b64(str(i).encode()))
    assert "-" in invoice_hash_b64url(data)
    data = next(str(i).encode() for i in range(1000) if "/" in invoice_hash_b64(str(i).encode()))
    assert "_" in invoice_hash_b64url(data)


def _seller_and_date(data: bytes) -> tuple[str, str]:
    root = etree.fromstring(data)
    ns = {"t": etree.QName(root).namespace or ""}
    nip = root.findtext("t:Podmiot1/t:DaneIdentyfikacyjne/t:NIP", namespaces=ns)
    p_1 = root.findtext("t:Fa/t:P_1", namespaces=ns)
    assert nip and p_1
    return nip, p_1


@pytest.mark.parametrize("path", FA3 + FA2, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_url_for_invoice_reads_nip_and_p1(path: Path) -> None:
    data = path.read_bytes()
    nip, p_1 = _seller_and_date(data)
    year, month, day = p_1.split("-")
    url = kod1_url_for_invoice("demo", data)
    assert url == f"https://qr-demo.ksef.mf.gov.pl/invoice/{nip}/{day}-{month}-{year}/{invoice_hash_b64url(data)}"
    assert url == kod1_url("demo", nip, date.fromisoformat(p_1), data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml",
        b"<Faktura/>",
        b'<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"/>',
        b'<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"><Podmiot1><DaneIdentyfikacyjne>'
        b"<NIP>1111111111</NIP></DaneIdentyfikacyjne></Podmiot1><Fa><P_1>2026-13-01</P_1></Fa></Faktura>",
    ],
)
def test_url_for_bad_invoice(data: bytes) -> None:
    with pytest.raises(ValueError):
        kod1_url_for_invoice("test", data)


def test_url_for_upo_is_refused() -> None:
    with pytest.raises(ValueError, match="not an FA"):
        kod1_url_for_invoice("test", (FIXTURES / "upo" / "upo-faktura-kontekst-id-nip.xml").read_bytes())


def test_label() -> None:
    assert qr_label(None) == "OFFLINE"
    assert qr_label("") == "OFFLINE"
    assert qr_label("5265877635-20250826-0100001AF629-AF") == "5265877635-20250826-0100001AF629-AF"


def _reference_matrix(url: str, *, border: int = QUIET_ZONE) -> list[list[bool]]:
    """Built from segno's bare ``matrix`` (no border) so it does not depend on ``matrix_iter``."""
    code = segno.make(url, error="m", micro=False)
    size = len(code.matrix)
    light = [False] * (size + 2 * border)
    rows = [list(light) for _ in range(border)]
    rows += [[False] * border + [bool(m) for m in row] + [False] * border for row in code.matrix]
    rows += [list(light) for _ in range(border)]
    return rows


def test_symbol_is_a_regular_qr_with_at_least_m() -> None:
    code = make_qr(URL)
    assert not code.is_micro
    assert code.error in ("M", "Q", "H")
    assert qr_modules(URL) == _reference_matrix(URL)


_DECODE = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


def _decode_half_blocks(text: str) -> list[list[bool]]:
    lines = text.split("\n")
    width = len(lines[0])
    assert all(len(line) == width for line in lines)
    rows: list[list[bool]] = []
    for line in lines:
        pairs = [_DECODE[ch] for ch in line]
        rows.append([top for top, _ in pairs])
        rows.append([bottom for _, bottom in pairs])
    return rows[:width]  # the symbol is square; drop the padding row


def _decode_ascii(text: str) -> list[list[bool]]:
    rows = []
    for line in text.split("\n"):
        assert len(line) % 2 == 0
        cells = [line[i : i + 2] for i in range(0, len(line), 2)]
        assert set(cells) <= {"##", "  "}
        rows.append([cell == "##" for cell in cells])
    return rows


@pytest.mark.parametrize("url", [URL, "https://qr.ksef.mf.gov.pl/invoice/5265877635/31-01-2027/" + "A" * 43])
def test_half_block_text_decodes_to_segno_matrix(url: str) -> None:
    text = qr_text(url)
    assert set(text) <= {" ", "▀", "▄", "█", "\n"}
    reference = _reference_matrix(url)
    assert _decode_half_blocks(text) == reference
    assert len(text.split("\n")) == (len(reference) + 1) // 2  # two module rows per line
    # Quiet zone: first and last lines blank, every line starts and ends with light modules.
    lines = text.split("\n")
    assert lines[0].strip() == "" and lines[-1].strip() == ""
    assert all(line.startswith(" " * QUIET_ZONE) and line.endswith(" " * QUIET_ZONE) for line in lines)


def test_half_block_padding_row_is_light() -> None:
    text = qr_text(URL)
    size = len(_reference_matrix(URL))
    assert size % 2 == 1  # versions have odd sizes, so the last line carries a padding half
    assert set(text.split("\n")[-1]) == {" "}


def test_ascii_text_decodes_to_segno_matrix() -> None:
    text = qr_text(URL, ascii_only=True)
    assert text.isascii()
    assert set(text) <= {"#", " ", "\n"}
    assert _decode_ascii(text) == _reference_matrix(URL)


def test_inverted_text_swaps_dark_and_light() -> None:
    reference = _reference_matrix(URL)
    inverted = [[not m for m in row] for row in reference]
    assert _decode_ascii(qr_text(URL, ascii_only=True, invert=True)) == inverted
    assert _decode_half_blocks(qr_text(URL, invert=True)) == inverted


def test_svg_is_well_formed() -> None:
    svg = qr_svg(URL)
    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    size = len(_reference_matrix(URL)) * 4
    assert root.get("width") == str(size) and root.get("height") == str(size)


def test_png(tmp_path: Path) -> None:
    out = qr_png(URL, tmp_path / "kod1.png", scale=2)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == height == len(_reference_matrix(URL)) * 2
