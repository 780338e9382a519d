"""KOD I drawn in the terminal so a phone can scan it from the screen.

Black modules on white, always (whatever the theme: a scanner needs dark on light), quiet zone included (it
is part of the matrix). Unicode: two module rows per cell with the half blocks ``▀ ▄ █`` (a drawn half is a
dark module, the cell's background white), so the code stays about square in a normal terminal. ASCII: one
module row per line, ``##`` for a dark module and two spaces for a light one (larger; for terminals without
the block characters). :func:`cells_to_modules` reads a drawing back into the matrix (the tests compare it
with the one the link encodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

Matrix = Sequence[Sequence[bool]]

#: The code's colours: never theme colours (a dark theme would invert the code).
QR_STYLE = Style(color="#000000", bgcolor="#ffffff")
#: Light cells (spaces): the same white, as a style of their own so screenshot exports keep each run at its
#: cell (the SVG exporter merges a line's same-style segments, and a fallback font narrows the spaces).
QR_LIGHT_STYLE = Style(color="#ffffff", bgcolor="#ffffff")

_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
_FROM_HALF = {char: pair for pair, char in _HALF_BLOCKS.items()}


def draw(modules: Matrix, *, ascii_only: bool = False) -> list[str]:
    """The lines of the drawing (each the same width; trailing spaces are quiet zone, kept)."""
    rows = [list(row) for row in modules]
    if not rows:
        return []
    if ascii_only:
        return ["".join("##" if dark else "  " for dark in row) for row in rows]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return [
        "".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom, strict=True))
        for top, bottom in zip(rows[0::2], rows[1::2], strict=True)
    ]


def cells_to_modules(lines: Sequence[str], *, ascii_only: bool = False) -> list[list[bool]]:
    """The module matrix a drawing shows (the inverse of :func:`draw`; a padding row stays a light row)."""
    if ascii_only:
        return [[line[i : i + 2] == "##" for i in range(0, len(line), 2)] for line in lines]
    matrix: list[list[bool]] = []
    for line in lines:
        pairs = [_FROM_HALF[char] for char in line]
        matrix.append([top for top, _ in pairs])
        matrix.append([bottom for _, bottom in pairs])
    return matrix


class QrCode(Widget):
    """A QR code's module matrix drawn black on white; sized to the drawing (nothing shows when empty)."""

    DEFAULT_CSS: ClassVar[str] = """
    QrCode {
        width: auto;
        height: auto;
    }
    """

    def __init__(
        self,
        modules: Matrix = (),
        *,
        ascii_only: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.ascii_only = ascii_only
        self._lines: list[str] = []
        self.show(modules)

    @property
    def lines(self) -> list[str]:
        return list(self._lines)

    def show(self, modules: Matrix) -> None:
        self._lines = draw(modules, ascii_only=self.ascii_only)
        self.styles.width = len(self._lines[0]) if self._lines else 0
        self.styles.height = len(self._lines)
        self.refresh(layout=True)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` as it is, cell for cell (a text renderer would strip the quiet zone's leading spaces)."""
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width)
        line = self._lines[y]
        # runs of light and drawn cells as segments of their own (see QR_LIGHT_STYLE)
        segments = [
            Segment("".join(run), QR_LIGHT_STYLE if light else QR_STYLE)
            for light, run in groupby(line, key=lambda char: char == " ")
        ]
        return Strip(segments, len(line)).crop_extend(0, width, None)
