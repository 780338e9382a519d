"""The fa layer's errors: ``UserError`` subclasses translated when shown, with an optional source line.

``FaError.message()`` is the user's text in the current language; ``str(error)`` is the same text in English,
one line, for logs and for callers that still treat these errors as ``ValueError`` (they are both). A parameter
may itself be a message (``Text``, e.g. "amount" in "<P_15> is not a valid amount") or a libxml2 message
(``XsdText``); both are translated when the error is shown, in the language of the moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import EN, plural_form, t

__all__ = ["FaError", "Text", "Translate", "english", "one_line", "render"]

Translate = Callable[..., str]


def english(key: str, **values: object) -> str:
    """``key`` from the English catalog (for logs and ``str()``), whatever the user's language."""
    count = values.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        key = next((k for k in (f"{key}.{plural_form(count, 'en')}", f"{key}.many") if k in EN), key)
    text = EN.get(key, key)
    return text.format(**values) if values else text


@dataclass(frozen=True, slots=True)
class Text:
    """A message by key, translated when shown (a parameter of another message, or a finding)."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def render(self, translate: Translate = t) -> str:
        return translate(self.key, **{name: render(value, translate) for name, value in self.params.items()})

    def __str__(self) -> str:
        return self.render()


def render(value: object, translate: Translate = t) -> object:
    """A parameter as shown: messages translated, anything else as it is."""
    return value.render(translate) if isinstance(value, Text) else value


def one_line(text: str) -> str:
    return " ".join(text.split())


class FaError(UserError, ValueError):
    """A document the command cannot use: not XML, not an invoice, not one this command handles, refused at the
    door. ``Category.INPUT`` (exit 2, as ``invoice show`` always answered) unless told; an invoice judged against
    KSeF's rules is ``validate.InvoiceInvalid``, ``Category.INVALID`` (exit 1)."""

    key = "parse.unreadable"
    category = Category.INPUT

    def __init__(
        self, key: str | None = None, /, *, line: int | None = None, category: Category | None = None, **params: object
    ) -> None:
        self.line = line
        super().__init__(key, category=category, **params)

    @classmethod
    def like(cls, error: FaError) -> Self:
        """The same message, line and category as ``error``, as this class (e.g. a refused DOCTYPE as a
        ``RenderError``)."""
        new = cls(error.key, line=error.line, category=error.category)
        new.params = dict(error.params)
        new.args = (new.summary(),)
        return new

    def _text(self, translate: Translate) -> str:
        text = one_line(translate(self.key, **{name: render(v, translate) for name, v in self.params.items()}))
        return translate("val.line", line=self.line) + text if self.line else text

    def message(self) -> str:
        return self._text(t)

    def __str__(self) -> str:
        return self._text(english)
