"""Bar charts of small counts per day, drawn with single-cell block characters (``▁▂▃▄▅▆▇█``, East Asian width
N) or, with the ASCII glyph set, with ``. : | #``; several rows tall so a count of 1 and one of 9 look different.

:func:`bar_rows` is the drawing (pure text, tested alone); :class:`DayBars` shows one series as a widget: the
largest count at its top left, the bars in the series' colour (a theme variable), one or more cells a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

#: Eighths of a cell, 1/8 … 8/8.
BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_BLOCKS = "..::||##"


def bar_rows(values: Sequence[int], top: int, height: int, *, ascii_only: bool = False, width: int = 1) -> list[str]:
    """The chart as ``height`` lines of text, top line first: each value a bar of ``width`` cells (a gap of one
    cell after it when ``width`` > 1) scaled so ``top`` fills every line. A value above zero always shows (at
    least one eighth); zero leaves the column blank."""
    blocks = ASCII_BLOCKS if ascii_only else BLOCKS
    top = max(top, 1)
    total = height * 8
    eighths = [0 if v <= 0 else max(1, round(min(v, top) * total / top)) for v in values]
    bar = max(width - 1, 1) if width > 1 else 1
    gap = " " if width > 1 else ""
    lines = []
    for row in range(height - 1, -1, -1):  # the top line first
        floor = row * 8
        cells = []
        for filled in eighths:
            part = filled - floor
            char = " " if part <= 0 else blocks[min(part, 8) - 1]
            cells.append(char * bar + gap)
        lines.append("".join(cells))
    return lines


def cells_per_day(days: int, available: int, scale: int) -> int:
    """Cells a day takes when ``days`` bars share ``available`` columns after a ``scale`` label: 1, or a bar and a
    gap (2, 3) when there is room."""
    return max(1, min(3, (available - scale) // max(days, 1)))


def axis_rows(days: Sequence[date], width: int, scale: int, *, ascii_only: bool = False, every: int = 7) -> list[str]:
    """Two lines under the bars: a base line with a tick under every ``every``-th day counted back from the
    last, and those days' dates (DD.MM) ending under their ticks."""
    count = len(days)
    bar = max(width - 1, 1) if width > 1 else 1
    total = scale + count * width
    base = [" "] * scale + (["-" if ascii_only else "─"] * (count * width))
    labels = [" "] * (total + 5)
    marked = list(range(count - 1, -1, -every))
    for index in marked:
        column = scale + index * width + bar - 1
        base[column] = "+" if ascii_only else "┴"
        text = f"{days[index]:%d.%m}"
        start = column - len(text) + 1
        if start < 0:
            continue
        labels[start : column + 1] = list(text)
    return ["".join(base).rstrip(), "".join(labels).rstrip()]


class DayBars(Widget):
    """One series of counts per day as bars ``height`` rows tall, the scale's top (``top``) to the left."""

    DEFAULT_CSS: ClassVar[str] = """
    DayBars { height: auto; width: 1fr; text-wrap: nowrap; text-overflow: clip; }
    DayBars > .day-bars--bar { color: $primary; }
    DayBars.-received > .day-bars--bar { color: $secondary; }
    DayBars > .day-bars--scale { color: $foreground-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"day-bars--bar", "day-bars--scale"}

    #: Cells for the scale's label on the left (the largest count, right-aligned) and the gap after it.
    SCALE = 4

    def __init__(
        self,
        values: Sequence[int] = (),
        *,
        top: int = 1,
        height: int = 3,
        ascii_only: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.values = tuple(values)
        self.top = top
        self.rows = height
        self.ascii_only = ascii_only

    def show(self, values: Sequence[int], top: int) -> None:
        self.values = tuple(values)
        self.top = top
        self.refresh(layout=True)

    def cell_width(self, available: int) -> int:
        return cells_per_day(len(self.values), available, self.SCALE)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows

    def render(self) -> Text:
        width = self.cell_width(self.size.width)
        lines = bar_rows(self.values, self.top, self.rows, ascii_only=self.ascii_only, width=width)
        bar_style = self.get_component_rich_style("day-bars--bar")
        scale_style = self.get_component_rich_style("day-bars--scale")
        text = Text(no_wrap=True, overflow="crop")
        for number, line in enumerate(lines):
            label = str(self.top) if number == 0 and any(self.values) else ""
            text.append(f"{label:>{self.SCALE - 1}} ", scale_style)
            text.append(line, bar_style)
            if number < len(lines) - 1:
                text.append("\n")
        return text


class DayAxis(Widget):
    """The days under :class:`DayBars` of the same width: a base line with weekly ticks and their dates."""

    DEFAULT_CSS: ClassVar[str] = """
    DayAxis { height: 2; width: 1fr; color: $foreground-muted; text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, days: Sequence[date] = (), *, ascii_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days = tuple(days)
        self.ascii_only = ascii_only

    def show(self, days: Sequence[date]) -> None:
        self.days = tuple(days)
        self.refresh()

    def render(self) -> Text:
        if not self.days:
            return Text("")
        width = cells_per_day(len(self.days), self.size.width, DayBars.SCALE)
        lines = axis_rows(self.days, width, DayBars.SCALE, ascii_only=self.ascii_only)
        return Text("\n".join(lines), no_wrap=True, overflow="crop")


#: Eighths of a cell from the left, 1/8 … 8/8.
LEFT_BLOCKS = "▏▎▍▌▋▊▉█"


def hbar(value: Decimal, top: Decimal, width: int, *, ascii_only: bool = False) -> str:
    """A horizontal bar for ``value`` out of ``top`` in ``width`` cells (eighths of a cell; ``#`` cells in ASCII,
    rounded); a value above zero always shows."""
    if value <= 0 or top <= 0 or width <= 0:
        return ""
    if ascii_only:
        return "#" * max(1, round(min(value, top) / top * width))
    eighths = max(1, round(min(value, top) / top * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (LEFT_BLOCKS[part - 1] if part else "")
