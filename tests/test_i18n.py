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
