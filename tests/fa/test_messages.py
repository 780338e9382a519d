"""libxml2's messages said in the user's language (issue 8, B9: no English schema messages in Polish mode), the
validation findings as one UserError, and the labels of ``invoice validate``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ksef_tui.errors import EXIT_CODES, Category, UserError, report
from ksef_tui.fa.messages import syntax_text, xsd_text
from ksef_tui.fa.qr import QrError, kod1_url, kod1_url_for_invoice
from ksef_tui.fa.validate import InvoiceInvalid, Problem, validate_bytes
from ksef_tui.i18n import PL, t

FIXTURES = Path(__file__).parent.parent / "fixtures"
SAMPLE = (FIXTURES / "fa3" / "FA3_example_1.xml").read_bytes()


def _swap(old: bytes, new: bytes) -> bytes:
    assert SAMPLE.count(old) >= 1, old
    return SAMPLE.replace(old, new, 1)


#: A broken sample, the catalog key its first XSD finding must get, and the Polish text it must read.
CASES: dict[str, tuple[bytes, str, str]] = {
    "unexpected": (
        _swap(b"<P_2>", b"<Foo>x</Foo><P_2>"),
        "xsd.unexpected_one",
        "wiersz 47: element <Foo> jest tu nieoczekiwany; oczekiwano <P_2>",
    ),
    "unexpected-many": (
        _swap(b"</Fa>", b"</Fa><Fa></Fa>"),
        "xsd.unexpected_many",
        "element <Fa> jest tu nieoczekiwany; oczekiwano jednego z: <Stopka>, <Zalacznik>",
    ),
    "missing-element": (
        _swap(b"<Adres>\r\n\t\t\t<KodKraju>PL</KodKraju>", b"<Adres>\r\n\t\t\t"),
        "xsd.unexpected_one",
        "element <AdresL1> jest tu nieoczekiwany; oczekiwano <KodKraju>",
    ),
    "pattern": (
        _swap(b"<NIP>9999999999</NIP>", b"<NIP>12</NIP>"),
        "xsd.pattern",
        "wiersz 12: <NIP>: wartość '12' nie ma wymaganej postaci",
    ),
    "atomic": (
        _swap(b"<P_15>2051</P_15>", b"<P_15>abc</P_15>"),
        "xsd.atomic_what",
        "<P_15>: 'abc' nie jest poprawną wartością typu kwota",
    ),
    "date": (
        _swap(b"<P_1>2026-02-15</P_1>", b"<P_1>2026-02-30</P_1>"),
        "xsd.atomic_what",
        "<P_1>: '2026-02-30' nie jest poprawną wartością typu data (RRRR-MM-DD)",
    ),
    "enumeration": (
        _swap(b"<RodzajFaktury>VAT</RodzajFaktury>", b"<RodzajFaktury>FAKE</RodzajFaktury>"),
        "xsd.enumeration_listed",
        "<RodzajFaktury>: wartości 'FAKE' nie ma na liście dozwolonych (VAT, KOR, ZAL, ROZ, UPR, KOR_ZAL, KOR_ROZ)",
    ),
    "long-enumeration": (
        _swap(b"<KodWaluty>PLN</KodWaluty>", b"<KodWaluty>ZZZ</KodWaluty>"),
        "xsd.enumeration",
        "<KodWaluty>: wartości 'ZZZ' nie ma na liście dozwolonych",
    ),
    "max-length": (
        _swap(b"<P_2>FV2026/02/150</P_2>", b"<P_2>" + b"x" * 300 + b"</P_2>"),
        "xsd.max_length",
        "<P_2>: długość wartości (300) przekracza dopuszczalną (256)",
    ),
    "min-length": (
        _swap(b"<P_2>FV2026/02/150</P_2>", b"<P_2></P_2>"),
        "xsd.min_length",
        "<P_2>: długość wartości (0) jest mniejsza od wymaganej (1)",
    ),
    "fraction-digits": (
        _swap(b"<P_15>2051</P_15>", b"<P_15>2051.123</P_15>"),
        "xsd.fraction_digits",
        "<P_15>: wartość '2051.123' ma za dużo cyfr po przecinku (dozwolone: 2)",
    ),
    "attribute": (
        _swap(b"<P_2>", b'<P_2 foo="1">'),
        "xsd.attribute_not_allowed",
        "<P_2>: atrybut foo jest niedozwolony",
    ),
    "text-in-elements": (
        _swap(b"<Fa>", b"<Fa>hello"),
        "xsd.text_not_allowed",
        "<Fa> może zawierać tylko elementy, nie tekst",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_frequent_schema_messages_read_polish(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, key, polish = CASES[case]
    result = validate_bytes(data)
    first = result.findings[0]
    assert first.problem is Problem.XSD
    assert first.text.key == key, first.english
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    shown = str(first)
    assert polish in shown
    assert "Element '" not in shown and "{http" not in shown and "expected" not in shown


def test_missing_child_at_the_end() -> None:
    text = xsd_text(
        "Element '{http://crd.gov.pl/wzor/2025/06/25/13775/}Platnosc': Missing child element(s). "
        "Expected is one of ( {http://crd.gov.pl/wzor/2025/06/25/13775/}Zaplacono, "
        "{http://crd.gov.pl/wzor/2025/06/25/13775/}TerminPlatnosci )."
    )
    assert text.key == "xsd.missing_many"
    assert text.params == {"element": "Platnosc", "expected": "<Zaplacono>, <TerminPlatnosci>"}


def test_an_unknown_message_stays_as_libxml2_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = "Element '{urn:x}A': Some message libxml2 may add one day."
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert xsd_text(raw).key == "xsd.other"
    assert xsd_text(raw).render() == raw


@pytest.mark.parametrize(
    ("raw", "polish"),
    [
        ("Document is empty, line 1, column 1", "dokument jest pusty"),
        ("Opening and ending tag mismatch: b line 1 and a, line 1, column 11", "</a> nie pasuje do otwartego <b>"),
        ("Premature end of data in tag Fa line 3, line 9, column 1", "dokument urywa się wewnątrz <Fa>"),
        ("Extra content at the end of the document, line 1, column 5", "dodatkowa treść po końcu dokumentu"),
        ("Entity 'x' not defined, line 1, column 7", "encja &x; nie jest zdefiniowana"),
        ("Invalid bytes in character encoding, line 1, column 4", "niepoprawne bajty w kodowaniu znaków"),
        ("expected '>', line 76, column 26", "oczekiwano znaku '>'"),
        ("AttValue: \" or ' expected, line 2, column 20", "niepoprawny zapis atrybutu"),
        ("Invalid character: Char 0x0 out of allowed range\n, line 1, column 5", "znak niedozwolony w XML"),
        ("Comment not terminated \n<!--, line 1, column 9", "niezakończony komentarz"),
    ],
)
def test_syntax_messages_read_polish(raw: str, polish: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    text = syntax_text(raw)
    assert not isinstance(text, str)
    assert polish in text.render()
    assert syntax_text("Something new, line 1, column 2") == "Something new"


def test_truncated_samples_get_catalog_messages() -> None:
    """Truncated samples (the commonest damage: an interrupted download) get a catalog message, not libxml2's."""
    raw = SAMPLE
    untranslated = []
    for cut in range(50, len(raw), 97):
        result = validate_bytes(raw[:cut])
        finding = result.findings[-1]
        if finding.problem is not Problem.NOT_XML:  # a cut inside a multi-byte character: not UTF-8
            continue
        detail = finding.text.params["detail"]
        if isinstance(detail, str):
            untranslated.append(detail)
    assert untranslated == []


def test_findings_are_translated_when_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    result = validate_bytes(b"\xef\xbb\xbf" + SAMPLE)
    finding = result.findings[0]
    assert str(finding) == "line 1: " + t("val.bom")
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert str(finding) == "wiersz 1: " + PL["val.bom"]
    assert finding.english == "UTF-8 byte order mark (BOM) is not allowed"  # for logs, whatever the language


def test_findings_as_one_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _swap(b"<P_15>2051</P_15>", b"<P_15>2051.123</P_15>")
    bad = bad.replace(b"<NIP>9999999999</NIP>", b"<NIP>12</NIP>", 1).replace(b"<P_2>", b'<P_2 a="1" b="2">', 1)
    result = validate_bytes(bad)
    assert len(result.findings) == 5
    error = result.error(shown=2)
    assert isinstance(error, InvoiceInvalid) and isinstance(error, UserError)
    assert error.category is Category.INVALID
    assert report(error).exit_code == EXIT_CODES[Category.INVALID] == 1
    assert error.message().startswith("the invoice would not pass KSeF's checks: line 12: <NIP>")
    assert error.message().endswith("… and 3 more problems")
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert error.message().startswith("faktura nie przejdzie weryfikacji KSeF: wiersz 12: <NIP>")
    assert error.message().endswith("… i jeszcze 3 błędy")
    assert validate_bytes(SAMPLE).error() is None


@pytest.mark.parametrize(("count", "polish"), [(1, "1 błąd"), (3, "3 błędy"), (5, "5 błędów"), (22, "22 błędy")])
def test_more_findings_have_a_polish_plural(count: int, polish: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert t("validate.more", count=count) == f"… i jeszcze {polish}"


def test_the_validate_labels_are_polish_in_polish() -> None:
    assert PL["validate.valid"] == "POPRAWNA"
    assert PL["validate.invalid"] == "NIEPOPRAWNA"


def test_qr_errors_are_user_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(QrError) as env:
        kod1_url_for_invoice("staging", SAMPLE)
    assert env.value.category is Category.INPUT
    with pytest.raises(QrError) as nip:
        kod1_url("test", "12", date(2026, 2, 15), SAMPLE)
    assert nip.value.category is Category.INPUT
    assert isinstance(nip.value, ValueError)
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert env.value.message() == "nieznane środowisko KSeF staging (dostępne: test, demo, prod)"
    assert nip.value.message() == "NIP sprzedawcy musi mieć 10 cyfr, a jest 12"
