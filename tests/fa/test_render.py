from __future__ import annotations

import re
import select
import socket
import threading
from pathlib import Path

import pytest
from lxml import etree, html

from ksef_tui.errors import Category, UserError
from ksef_tui.fa import render
from ksef_tui.fa.qr import kod1_url_for_invoice
from ksef_tui.fa.render import CODE_LIST_PREFIX, RenderError, render_html

FIXTURES = Path(__file__).parent.parent / "fixtures"
FA3 = sorted((FIXTURES / "fa3").glob("*.xml"))
FA2 = sorted((FIXTURES / "fa2").glob("*.xml"))
XSL_DIR = Path(render.__file__).parent / "xsl"
KSEF_NUMBER = "9999999999-20260215-0100001AF629-AF"


def _text(document: str) -> str:
    """The visible text of the rendered page, whitespace collapsed."""
    return " ".join(html.document_fromstring(document).text_content().split())


def _fields(data: bytes) -> dict[str, str]:
    root = etree.fromstring(data)
    ns = {"t": etree.QName(root).namespace or ""}

    def text(path: str) -> str:
        value = root.findtext(path, namespaces=ns)
        assert value is not None, path
        return value

    return {
        "p_2": text("t:Fa/t:P_2"),
        "nip": text("t:Podmiot1/t:DaneIdentyfikacyjne/t:NIP"),
        "p_15": text("t:Fa/t:P_15"),
        "currency": text("t:Fa/t:KodWaluty"),
        "country": root.findtext("t:Podmiot1/t:Adres/t:KodKraju", namespaces=ns) or "",
    }


def test_there_are_fixtures() -> None:
    assert len(FA3) >= 10 and FA2


@pytest.mark.parametrize("path", FA3, ids=lambda p: p.name)
def test_every_fa3_fixture_renders_its_content(path: Path) -> None:
    data = path.read_bytes()
    fields = _fields(data)
    document = render_html(data)
    assert document.lstrip().startswith("<!DOCTYPE html")
    text = _text(document)
    assert "Krajowy System e-Faktur (KSeF)" in text
    assert fields["p_2"] in text
    assert fields["nip"] in text
    # styl.xsl prints P_15 as written, followed by the currency code.
    assert f"{fields['p_15']} {fields['currency']}" in text
    assert "Numer KSeF" not in text and "OFFLINE" not in text


@pytest.mark.parametrize(
    "path", [p for p in FA3 if _fields(p.read_bytes())["country"] == "PL"][:3], ids=lambda p: p.name
)
def test_country_names_come_from_the_local_code_list(path: Path) -> None:
    # "PL (POLSKA)": the name is looked up in KodyKrajow_v10-0E.xsd through document(), offline.
    assert re.search(r"PL\s*\(POLSKA\)", _text(render_html(path.read_bytes())))


def test_ksef_number_and_qr() -> None:
    data = FA3[0].read_bytes()
    url = kod1_url_for_invoice("test", data)
    document = render_html(data, ksef_number=KSEF_NUMBER, qr_url=url)
    text = _text(document)
    assert f"Numer KSeF: {KSEF_NUMBER}" in text
    tree = html.document_fromstring(document)
    (block,) = tree.xpath("//div[@class='kod-qr']")
    assert block.xpath("string(div[@class='etykieta-qr'])") == KSEF_NUMBER
    assert block.xpath("a/@href | */a/@href") == [url]
    (src,) = block.xpath(".//img/@src")
    assert src.startswith("data:image/svg+xml;base64,")
    # The number sits right under the KSeF heading, before the invoice title.
    assert text.index("Krajowy System e-Faktur") < text.index("Numer KSeF") < text.index("Faktura podstawowa")


def test_qr_without_ksef_number_is_labelled_offline() -> None:
    data = FA3[0].read_bytes()
    document = render_html(data, qr_url=kod1_url_for_invoice("prod", data))
    tree = html.document_fromstring(document)
    assert tree.xpath("string(//div[@class='etykieta-qr'])") == "OFFLINE"
    assert "Numer KSeF" not in _text(document)


def test_ksef_number_is_escaped() -> None:
    document = render_html(FA3[0].read_bytes(), ksef_number="<script>x</script>")
    assert "<script>x" not in document
    assert "&lt;script&gt;x" in document


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://qr.ksef.mf.gov.pl/invoice/x", ""])
def test_qr_url_must_be_https(url: str) -> None:
    with pytest.raises(RenderError, match="https"):
        render_html(FA3[0].read_bytes(), qr_url=url)


@pytest.mark.parametrize("path", FA2, ids=lambda p: p.name)
def test_fa2_is_refused(path: Path) -> None:
    with pytest.raises(RenderError, match=r"FA \(3\) only"):
        render_html(path.read_bytes())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml at all",
        b"<Faktura>",
        b"\xff\xfe<\x00",
        b"<Faktura/>",
        b'<Invoice xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"/>',
        b'<html xmlns="http://www.w3.org/1999/xhtml"/>',
        (FIXTURES / "upo" / "upo-faktura-kontekst-id-nip.xml").read_bytes(),
    ],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(RenderError):
        render_html(data)


def test_str_input_is_refused() -> None:
    with pytest.raises(RenderError):
        render_html(FA3[0].read_text(encoding="utf-8"))  # type: ignore[arg-type]


def test_render_error_is_a_value_error() -> None:
    assert issubclass(RenderError, ValueError)


def test_a_doctype_is_refused_before_anything_is_read() -> None:
    """Once an entity reference was left unexpanded; now the DOCTYPE itself is refused before parsing."""
    doctype = b'<!DOCTYPE Faktura [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n<Faktura'
    data = FA3[0].read_bytes().replace(b"<Faktura", doctype, 1)
    data = re.sub(rb"<P_2>[^<]*</P_2>", b"<P_2>&secret;</P_2>", data)
    with pytest.raises(RenderError, match="DOCTYPE") as err:
        render_html(data)
    assert err.value.line == 2
    assert "root:" not in err.value.message()


def test_render_errors_are_user_errors_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RenderError) as err:
        render_html(FA2[0].read_bytes())
    assert isinstance(err.value, UserError)
    assert err.value.category is Category.INPUT
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert err.value.message() == "wizualizacja jest dostępna tylko dla faktur FA(3); to jest faktura FA(2)"
    with pytest.raises(RenderError) as bad_link:
        render_html(FA3[0].read_bytes(), qr_url="http://x")
    assert bad_link.value.category is Category.INPUT
    assert "https" in bad_link.value.message() and "link weryfikacyjny" in bad_link.value.message()


def test_every_remote_code_list_is_mapped() -> None:
    """Every top-level parameter defaulting to an http URL is overridden with a local one."""
    found: dict[str, str] = {}
    for path in XSL_DIR.glob("*.xsl"):
        for param in etree.parse(str(path)).getroot().iterfind("{http://www.w3.org/1999/XSL/Transform}param"):
            select = param.get("select") or ""
            if "http" in select:
                found[param.get("name") or ""] = select.strip("'")
    assert found
    assert {name: url for name, (url, _) in render._CODE_LISTS.items()} == found
    assert set(render._parameters()) == set(found)
    assert all(render._local_uri(url).startswith(CODE_LIST_PREFIX) for url in found.values())
    # Every document() call in the stylesheets goes through one of those parameters.
    calls = re.findall(r"document\(([^)]*)\)", "".join(p.read_text(encoding="utf-8") for p in XSL_DIR.glob("*.xsl")))
    assert calls == ["$schema"]


def test_shipped_code_lists_exist() -> None:
    schemas = Path(render.__file__).parent / "schemas"
    for _, local in render._CODE_LISTS.values():
        if local is not None:
            assert (schemas / local).is_file()


def test_unknown_code_lists_resolve_to_an_empty_schema() -> None:
    """A lookup in a list we do not ship gives an empty name, not an error and not a fetch."""
    resolver = render._CodeListResolver()
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(resolver)
    for name, (url, local) in render._CODE_LISTS.items():
        doc = etree.parse(CODE_LIST_PREFIX + url.rsplit("/", 1)[-1], parser)
        root = doc.getroot()
        assert root.tag == "{http://www.w3.org/2001/XMLSchema}schema", name
        assert (len(root) == 0) == (local is None), name
    empty = etree.parse(CODE_LIST_PREFIX + "NoSuchList_v1-0E.xsd", parser).getroot()
    assert len(empty) == 0


def test_remote_document_fails_closed_without_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a code list were left at an http URL, the render fails; nothing connects, even to a live server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        remote = {
            "schema-krajow": etree.XSLT.strparam(f"http://127.0.0.1:{port}/KodyKrajow_v10-0E.xsd"),
            "schema-walut": etree.XSLT.strparam(f"http://127.0.0.1:{port}/KodyWalut_v1-0E.xsd"),
        }
        monkeypatch.setattr(render, "_parameters", lambda: remote)
        data = next(p for p in FA3 if _fields(p.read_bytes())["country"]).read_bytes()
        with pytest.raises(RenderError, match="denied"):
            render_html(data)
        # A connection would be pending now (connect completes in the kernel before accept); wait for one
        # for half a second at most: none may come.
        readable, _, _ = select.select([server], [], [], 0.5)
        assert readable == []
        with pytest.raises(BlockingIOError):
            server.accept()


def test_official_defaults_are_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stylesheet's own defaults (crd.gov.pl) are refused by the access control, not fetched."""
    monkeypatch.setattr(render, "_parameters", dict)
    data = next(p for p in FA3 if _fields(p.read_bytes())["country"]).read_bytes()
    with pytest.raises(RenderError, match=r"denied"):
        render_html(data)


def test_access_control_forbids_network_and_writes() -> None:
    options = render.ACCESS_CONTROL.options
    assert options["read_network"] is False
    assert options["write_network"] is False
    assert options["write_file"] is False
    assert options["create_dir"] is False


def test_stylesheet_is_cached_per_thread() -> None:
    first = render._stylesheet()
    assert render._stylesheet() is first
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(render._stylesheet()))
    worker.start()
    worker.join()
    assert seen and seen[0] is not first


def test_concurrent_renders_agree() -> None:
    data = FA3[0].read_bytes()
    expected = render_html(data, ksef_number=KSEF_NUMBER)
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(render_html(data, ksef_number=KSEF_NUMBER))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 20 and set(results) == {expected}


def test_an_offline_invoice_shows_kod2_next_to_kod1_labelled_certyfikat() -> None:
    """KOD II (the certificate's link) beside KOD I, ``CERTYFIKAT`` under it; KOD I still ``OFFLINE``."""
    import base64 as b64

    data = FA3[0].read_bytes()
    url = kod1_url_for_invoice("test", data)
    kod2 = "https://qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/01F20A5D352AE590/abc/def"
    document = render_html(data, qr_url=url, kod2_url=kod2)
    tree = html.document_fromstring(document)
    (row,) = tree.xpath("//div[@class='kody-qr']")
    first, second = row.xpath("div")
    assert first.get("class") == "kod-qr" and second.get("class") == "kod-qr-certyfikat"
    assert first.xpath("string(div[@class='etykieta-qr'])") == "OFFLINE"
    assert second.xpath("string(div[@class='etykieta-qr'])") == "CERTYFIKAT"
    assert second.xpath(".//a/@href") == [kod2] and first.xpath(".//a/@href") == [url]
    (src,) = second.xpath(".//img/@src")
    svg = b64.b64decode(src.removeprefix("data:image/svg+xml;base64,")).decode()
    assert "<title>KOD II</title>" in svg
    with pytest.raises(RenderError, match="https"):
        render_html(data, qr_url=url, kod2_url="http://qr-test.ksef.mf.gov.pl/certificate/x")
