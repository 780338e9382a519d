"""Rich styles of a widget's component classes, for cells drawn as Rich ``Text`` (a ``DataTable``'s): the theme's
colours resolved, so a table's glyphs and words follow ``ansi-dark``, ``ksef-light``… like its CSS does."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from textual.widget import Widget


def component_styles(widget: Widget, prefix: str, names: Iterable[str]) -> dict[str, Style]:
    """The styles of the component classes ``{prefix}--{name}`` of ``widget``, by ``name``."""
    styles: dict[str, Style] = {}
    for name in names:
        component = f"{prefix}--{name}"
        style = widget.get_component_rich_style(component, partial=True)
        if style.color is not None:  # the partial style drops a colour's alpha ($foreground-muted): blend it
            style += Style(color=widget.get_component_rich_style(component).color)
        styles[name] = style
    return styles
