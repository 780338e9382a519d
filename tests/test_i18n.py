from __future__ import annotations

import re

import pytest

from ksef_tui import i18n


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    assert set(i18n.PL) == set(i18n.EN)
    for key in i18n.PL:
        assert set(re.findall(r"{(\w+)}", i18n.PL[key])) == set(re.findall(r"{(\w+)}", i18n.EN[key])), key


def test_polish_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSEF_TUI_LANG", raising=False)
    i18n.set_language(None)
    assert i18n.t("show.seller") == "Sprzedawca"
    monkeypatch.setenv("KSEF_TUI_LANG", "en_GB.UTF-8")
    assert i18n.t("show.seller") == "Seller"
    i18n.set_language("pl")
    assert i18n.t("err.file_missing", path="x") == "nie ma pliku: x"
    i18n.set_language(None)


def _plural_families(catalog: dict[str, str]) -> set[str]:
    return {key.rsplit(".", 1)[0] for key in catalog if key.rsplit(".", 1)[-1] in {"one", "few", "many"}}


def test_every_count_message_has_all_three_forms_in_both_catalogs() -> None:
    families = _plural_families(i18n.PL) | _plural_families(i18n.EN)
    assert {"booking.exported", "setup.keys.ok"} <= families
    for family in families:
        for catalog in (i18n.PL, i18n.EN):
            assert {f"{family}.{form}" for form in ("one", "few", "many")} <= set(catalog), family


@pytest.mark.parametrize(
    ("count", "polish", "english"),
    [
        (0, "0 faktur ", "0 invoices "),
        (1, "1 faktura ", "1 invoice "),
        (2, "2 faktury ", "2 invoices "),
        (4, "4 faktury ", "4 invoices "),
        (5, "5 faktur ", "5 invoices "),
        (12, "12 faktur ", "12 invoices "),
        (14, "14 faktur ", "14 invoices "),
        (21, "21 faktur ", "21 invoices "),
        (22, "22 faktury ", "22 invoices "),
        (101, "101 faktur ", "101 invoices "),
        (112, "112 faktur ", "112 invoices "),
        (122, "122 faktury ", "122 invoices "),
    ],
)
def test_counts_choose_their_form(count: int, polish: str, english: str) -> None:
    i18n.set_language("pl")
    try:
        assert polish in i18n.t("booking.exported", count=count, path="r.csv")
        i18n.set_language("en")
        assert english in i18n.t("booking.exported", count=count, path="r.csv")
    finally:
        i18n.set_language(None)


def test_certificate_counts_read_as_sentences() -> None:
    i18n.set_language("pl")
    try:
        assert i18n.t("setup.keys.ok", count=1, host="h").endswith("1 certyfikat klucza publicznego")
        assert i18n.t("setup.keys.ok", count=2, host="h").endswith("2 certyfikaty klucza publicznego")
        assert i18n.t("setup.keys.ok", count=5, host="h").endswith("5 certyfikatów klucza publicznego")
    finally:
        i18n.set_language(None)


def test_polish_words_where_the_glossary_wants_them() -> None:
    """GLOSSARY.md: no "magazyn", "HWM", "kursor", "Do zapłaty" for P_15, "np." for the not-taxable rows, nor raw
    permission names and kind codes on Polish screens."""
    for key, text in i18n.PL.items():
        lowered = text.lower()
        assert "magazyn" not in lowered, key
        assert "hwm" not in lowered and "kursor" not in lowered, key
        assert "InvoiceRead" not in text and "InvoiceWrite" not in text and "invoiceExport" not in text, key
    assert i18n.PL["show.gross"].startswith("Kwota należności ogółem")
    for bucket in ("bucket.P_13_8", "bucket.P_13_9"):
        assert i18n.PL[bucket].startswith("niepodlegające opodatkowaniu")
        assert "np." not in i18n.PL[bucket]
    kinds = {key: text for key, text in i18n.PL.items() if key.startswith("kind.")}
    assert set(kinds) == {f"kind.{code}" for code in ("VAT", "KOR", "ZAL", "ROZ", "UPR", "KOR_ZAL", "KOR_ROZ")}
    assert kinds["kind.VAT"] == "podstawowa" and kinds["kind.KOR"] == "korygująca"
    assert all(text.islower() and "_" not in text for text in kinds.values())
