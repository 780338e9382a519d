"""Status glyphs: single-cell (East Asian width N) code points, or an ASCII set for PuTTY and non-UTF-8 sessions
(``ascii = true`` in config.toml, ``KSEF_TUI_ASCII=1``). Never colour alone: a glyph and a word go together."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Glyphs:
    ok: str
    fail: str
    busy: str
    waiting: str
    warn: str
    bullet: str
    arrow: str
    sep: str


UNICODE = Glyphs(ok="✓", fail="✗", busy="⟳", waiting="-", warn="⚠", bullet="-", arrow="→", sep="│")
ASCII = Glyphs(ok="ok", fail="ERR", busy="...", waiting="-", warn="!", bullet="-", arrow="->", sep="|")


def glyphs(ascii_only: bool) -> Glyphs:
    return ASCII if ascii_only else UNICODE
