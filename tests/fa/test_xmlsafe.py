"""Hostile XML (issue 8, B3 and D2): any DOCTYPE is refused before parsing, on every path, reading nothing it
names; the parser itself refuses external loads; legitimate documents are untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from ksef_tui.errors import Category, UserError
from ksef_tui.fa.parse import InvoiceParseError, parse_invoice
from ksef_tui.fa.qr import kod1_url_for_invoice
from ksef_tui.fa.render import RenderError, render_html
from ksef_tui.fa.validate import Problem, validate_bytes
from ksef_tui.fa.xmlsafe import XmlRefused, parse_bytes, refuse_doctype, safe_parser

FIXTURES = Path(__file__).parent.parent / "fixtures"
SAMPLE = (FIXTURES / "fa3" / "FA3_example_1.xml").read_bytes()
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
BODY = SAMPLE[SAMPLE.index(b"<Faktura") :]
MARKER = "MARKER-7f3a1c-not-to-be-read"


def _with_prolog(prolog: bytes) -> bytes:
    return prolog + BODY


def _utf16(prolog: str, encoding: str, bom: bytes) -> bytes:
    text = '<?xml version="1.0" encoding="UTF-16"?>' + prolog + BODY.decode("utf-8")
    return bom + text.encode(encoding)


def hostile(target: Path) -> dict[str, bytes]:
    """Documents whose prolog holds a DOCTYPE, each naming ``target`` where a DOCTYPE can name something."""
    system = f'<!DOCTYPE Faktura SYSTEM "file://{target}">'
    return {
        "external-subset": _with_prolog(DECLARATION + system.encode() + b"\n"),
        "external-subset-relative": _with_prolog(DECLARATION + f'<!DOCTYPE Faktura SYSTEM "{target}">'.encode()),
        "public-id": _with_prolog(DECLARATION + f'<!DOCTYPE Faktura PUBLIC "-//X//EN" "{target}">'.encode()),
        "parameter-entity": _with_prolog(
            DECLARATION + f'<!DOCTYPE Faktura [<!ENTITY % p SYSTEM "file://{target}"> %p;]>'.encode()
        ),
        "general-entity": SAMPLE.replace(
            DECLARATION, DECLARATION + f'<!DOCTYPE Faktura [<!ENTITY x SYSTEM "file://{target}">]>'.encode(), 1
        ).replace(b"<P_1M>Warszawa</P_1M>", b"<P_1M>&x;</P_1M>"),
        "bare": _with_prolog(DECLARATION + b"<!DOCTYPE Faktura>"),
        "no-declaration": _with_prolog(system.encode()),
        "after-bom": b"\xef\xbb\xbf" + _with_prolog(DECLARATION + system.encode()),
        "after-whitespace": _with_prolog(DECLARATION + b"\n\n \t\r\n" + system.encode()),
        "after-comment": _with_prolog(DECLARATION + b"<!-- an innocent comment -->\n" + system.encode()),
        "after-pi": _with_prolog(DECLARATION + b'<?xml-stylesheet href="x.xsl"?>' + system.encode()),
        "lower-case": _with_prolog(DECLARATION + system.lower().replace("faktura", "Faktura").encode()),
        "newline-inside": _with_prolog(DECLARATION + b"<!DOCTYPE\n  Faktura\n  SYSTEM\n" + f'"{target}">'.encode()),
        "utf-16-le-bom": _utf16(system, "utf-16-le", b"\xff\xfe"),
        "utf-16-be-bom": _utf16(system, "utf-16-be", b"\xfe\xff"),
        "utf-16-le-no-bom": _utf16(system, "utf-16-le", b""),
        "utf-32-be": ('<?xml version="1.0"?>' + system + BODY.decode()).encode("utf-32-be"),
        "utf-16-be-space-first": ("\n " + system + BODY.decode()).encode("utf-16-be"),
        "ebcdic": ('<?xml version="1.0" encoding="IBM037"?>' + system + "<Faktura/>").encode("cp037"),
        "utf-7-declared": _with_prolog(
            b'<?xml version="1.0" encoding="UTF-7"?>' + system.replace("<", "+ADw-").encode("ascii")
        ),
        "quoted-declaration": _with_prolog(b"<?xml version=\"1.0\" standalone='?>'?>" + system.encode()),
        "long-comment-first": _with_prolog(DECLARATION + b"<!--" + b"x" * 100_000 + b"-->" + system.encode()),
    }


CASES = sorted(hostile(Path("/x")))


def _paths() -> dict[str, Callable[[bytes], object]]:
    return {
        "parse": parse_invoice,
        "render": render_html,
        "qr": lambda data: kod1_url_for_invoice("test", data),
        "parse_bytes": parse_bytes,
    }


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "marker.dtd"
    path.write_text(f'<!ENTITY x "{MARKER}">')
    return path


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("path", sorted(_paths()))
def test_every_path_refuses_every_doctype(case: str, path: str, marker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = hostile(marker)[case]
    with pytest.raises(UserError) as err:
        _paths()[path](data)
    assert isinstance(err.value, XmlRefused | InvoiceParseError | RenderError)
    assert err.value.category is Category.INPUT  # show, render, qr: a file they cannot use (exit 2)
    assert err.value.key == "val.doctype"
    assert "DOCTYPE" in err.value.message()
    assert MARKER not in err.value.message()
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert "deklaracja DOCTYPE jest niedozwolona" in err.value.message()


@pytest.mark.parametrize("case", CASES)
def test_validate_refuses_every_doctype_before_parsing(case: str, marker: Path) -> None:
    result = validate_bytes(hostile(marker)[case])
    assert not result.ok
    assert [f.problem for f in result.findings] == [Problem.DOCTYPE]
    assert result.schema is None
    assert MARKER not in str(result.findings[0])


def test_a_bare_doctype_is_invalid() -> None:
    """Part D2: ``<!DOCTYPE Faktura>`` names nothing, and used to validate as VALID."""
    data = SAMPLE.replace(DECLARATION, DECLARATION + b"\n<!DOCTYPE Faktura>", 1)
    result = validate_bytes(data)
    assert not result.ok
    assert [(f.problem, f.line) for f in result.findings] == [(Problem.DOCTYPE, 2)]
    error = result.error()
    assert error is not None and error.category is Category.INVALID
    assert "DOCTYPE" in error.message()


def test_the_refusal_names_the_line_of_the_doctype() -> None:
    data = _with_prolog(DECLARATION + b"\n<!-- one\ntwo -->\n\n<!DOCTYPE Faktura>")
    with pytest.raises(XmlRefused) as err:
        refuse_doctype(data)
    assert err.value.line == 5
    assert str(err.value).startswith("line 5: a DOCTYPE declaration is not allowed")


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE,
        b"\xef\xbb\xbf" + SAMPLE,
        _with_prolog(DECLARATION + b"<!-- <!DOCTYPE Faktura SYSTEM 'x'> inside a comment -->"),
        SAMPLE.replace(b"</Faktura>", b"<!-- <!DOCTYPE x> --></Faktura>"),
        SAMPLE.replace(b"<P_1M>Warszawa</P_1M>", b"<P_1M><![CDATA[<!DOCTYPE x>]]></P_1M>"),
        _utf16("<!-- x -->", "utf-16-le", b"\xff\xfe"),
        SAMPLE.replace(b"UTF-8", b"windows-1250"),
    ],
    ids=["sample", "bom", "doctype-in-prolog-comment", "doctype-in-body-comment", "cdata", "utf-16", "cp1250"],
)
def test_documents_without_a_doctype_pass_the_door(data: bytes) -> None:
    refuse_doctype(data)
    assert etree.QName(parse_bytes(data).getroot()).localname == "Faktura"


def test_legitimate_samples_still_read() -> None:
    for path in sorted((FIXTURES / "fa3").glob("*.xml")) + sorted((FIXTURES / "fa2").glob("*.xml")):
        refuse_doctype(path.read_bytes())
        parse_invoice(path.read_bytes())


def test_an_encoding_nobody_can_check_is_refused() -> None:
    with pytest.raises(XmlRefused) as err:
        refuse_doctype(b'<?xml version="1.0" encoding="x-no-such-thing"?><Faktura/>')
    assert err.value.key == "val.encoding_unknown"
    assert "x-no-such-thing" in err.value.message()
    result = validate_bytes(b'<?xml version="1.0" encoding="x-no-such-thing"?><Faktura/>')
    assert [f.problem for f in result.findings] == [Problem.ENCODING]


def test_the_refusal_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvoiceParseError) as err:
        parse_invoice(_with_prolog(DECLARATION + b"<!DOCTYPE Faktura>"))
    assert "ask the issuer" in err.value.hint()
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert "poproś wystawcę" in err.value.hint()


def test_the_parser_alone_refuses_external_loads(marker: Path) -> None:
    """Layer 2, without the pre-check: libxml2 would open the external subset (it does with collect_ids=False
    even though load_dtd=False); the parser's resolver refuses it, so the marker never comes back."""
    data = _with_prolog(DECLARATION + f'<!DOCTYPE Faktura SYSTEM "{marker}">'.encode())
    with pytest.raises(XmlRefused) as err:
        etree.fromstring(data, parser=safe_parser())
    assert err.value.key == "val.external"
    assert str(marker) in err.value.message()
    assert MARKER not in err.value.message()


_FIFO_PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lxml import etree
    sys.path.insert(0, sys.argv[2])
    from test_xmlsafe import hostile, _paths
    from ksef_tui.fa.validate import validate_bytes
    from ksef_tui.fa.xmlsafe import XmlRefused, safe_parser
    fifo = Path(sys.argv[1])
    refused = 0
    for case, data in hostile(fifo).items():
        for path in _paths().values():
            try:
                path(data)
            except ValueError:
                refused += 1
        assert not validate_bytes(data).ok
    try:  # layer 2 alone, straight at the FIFO
        etree.fromstring(('<!DOCTYPE Faktura SYSTEM "%s"><Faktura/>' % fifo).encode(), parser=safe_parser())
    except XmlRefused:
        refused += 1
    print(refused)
    """
)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_doctype_naming_a_fifo_never_hangs(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; nobody writes, so any open would hang the
    probe, and the timeout turns that into a failure instead of a hung test run."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    probe = subprocess.run(
        [sys.executable, "-c", _FIFO_PROBE, str(fifo), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KSEF_TUI_LANG": "en"},
    )
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout) == len(CASES) * len(_paths()) + 1
