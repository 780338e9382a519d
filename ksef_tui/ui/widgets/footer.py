"""The footer of every screen: Textual's ``Footer``, rebuilt only when the keys it shows change.

Textual's footer unmounts and mounts all its keys again on every ``bindings_updated_signal`` (each focus move,
each ``refresh_bindings``). Opening the purchase screen sent that signal about eight times: ~120 key widgets
built and styled for a footer that looked the same each time (a tenth of the screen's first paint). This one
compares what it would show (key, label, enabled, tooltip, in order) with what it shows and does nothing when
they are equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

Shown = tuple[tuple[str, str, str, bool, str], ...]


def shown_keys(screen: Screen[object]) -> Shown:
    """What a footer on ``screen`` shows now: each shown binding's key, description, action, enabled, tooltip."""
    palette = screen.app.COMMAND_PALETTE_BINDING
    return tuple(
        (binding.key, binding.description, binding.action, enabled, tooltip or "")
        for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
        if binding.show or key == palette
    )


class KsefFooter(Footer):
    """A :class:`~textual.widgets.Footer` that rebuilds its keys only when they change."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not screen.app.app_focus or not (self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # Textual's own bookkeeping (nothing is rebuilt in these cases)
            return
        shown = shown_keys(screen)
        if shown == self._shown and self._bindings_ready:
            return
        self._shown = shown
        super().bindings_changed(screen)
