"""Invoice numbering series: ``FV/{n}/{MM}/{YYYY}`` and the like, without gaps and without reuse (stdlib only).

A pattern holds the running number ``{n}`` (``{n:4}``: at least four digits, zero-padded) and any of ``{YYYY}``,
``{YY}``, ``{MM}``, ``{DD}`` from the issue date; everything else is literal. The running number restarts in each
period the pattern names: monthly with ``{MM}`` (and a year), yearly with only a year, never without a date.

There is no counter to keep: the next number is one more than the highest number of the same series and period
already in the register (:func:`next_number`). A number exists exactly when its invoice does, so a crash between
"take a number" and "save the invoice" can leave neither a gap nor a number used twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

DEFAULT_PATTERN = "FV/{n}/{MM}/{YYYY}"

_FIELD = re.compile(r"\{(n(?::(\d{1,2}))?|YYYY|YY|MM|DD)\}")


class BadPattern(ValueError):
    """A numbering pattern without exactly one ``{n}``, with an unknown field, or restarting on a day or month
    without the year (numbers would repeat). ``reason`` names which, for the faces' words."""

    def __init__(self, reason: str, text: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # shape | unknown_field | twice | n_once | no_year
        self.text = text


@dataclass(frozen=True, slots=True)
class NumberPattern:
    text: str
    regex: re.Pattern[str]
    width: int  # zero-padding of {n}; 0 for none
    fields: tuple[str, ...]  # the date fields, in order

    @classmethod
    def parse(cls, text: str) -> NumberPattern:
        if not text or len(text) > 100 or any(c.isspace() or not c.isprintable() for c in text):
            raise BadPattern("shape", text, f"not a numbering pattern: {text!r}")
        parts: list[str] = []
        fields: list[str] = []
        width = 0
        runs = 0
        position = 0
        for match in _FIELD.finditer(text):
            literal = text[position : match.start()]
            if "{" in literal or "}" in literal:
                raise BadPattern("unknown_field", text, f"unknown field in {text!r}")
            parts.append(re.escape(literal))
            name = match[1]
            if name.startswith("n"):
                runs += 1
                width = int(match[2] or 0)
                parts.append(r"(?P<n>[1-9][0-9]*)" if not width else rf"(?P<n>[0-9]{{{width},}})")
            else:
                if name in fields:
                    raise BadPattern("twice", text, f"{{{name}}} twice in {text!r}")
                fields.append(name)
                size = {"YYYY": 4, "YY": 2, "MM": 2, "DD": 2}[name]
                parts.append(rf"(?P<{name}>[0-9]{{{size}}})")
            position = match.end()
        tail = text[position:]
        if "{" in tail or "}" in tail:
            raise BadPattern("unknown_field", text, f"unknown field in {text!r}")
        parts.append(re.escape(tail))
        if runs != 1:
            raise BadPattern("n_once", text, f"{text!r} must hold {{n}} exactly once")
        has_year = "YYYY" in fields or "YY" in fields
        if ("MM" in fields or "DD" in fields) and not has_year:
            raise BadPattern(
                "no_year", text, f"{text!r} restarts its numbers without naming the year: they would repeat"
            )
        return cls(text, re.compile("".join(parts)), width, tuple(fields))

    def scope(self, day: date) -> tuple[int, ...]:
        """The period in which the running number restarts, for an invoice issued on ``day``."""
        scope: list[int] = []
        if "YYYY" in self.fields or "YY" in self.fields:
            scope.append(day.year)
        if "MM" in self.fields:
            scope.append(day.month)
        if "DD" in self.fields:
            scope.append(day.day)
        return tuple(scope)

    def format(self, n: int, day: date) -> str:
        if n < 1:
            raise ValueError(f"running numbers start at 1, not {n}")
        values = {
            "YYYY": f"{day.year:04d}",
            "YY": f"{day.year % 100:02d}",
            "MM": f"{day.month:02d}",
            "DD": f"{day.day:02d}",
        }

        def fill(match: re.Match[str]) -> str:
            name = match[1]
            return f"{n:0{self.width}d}" if name.startswith("n") else values[name]

        return _FIELD.sub(fill, self.text)

    def read(self, number: str) -> tuple[int, tuple[int, ...]] | None:
        """``(n, scope)`` of a number of this series (``None`` for a number of another series). The year of
        ``{YY}`` is taken in 2000-2099."""
        match = self.regex.fullmatch(number)
        if match is None:
            return None
        found = match.groupdict()
        scope: list[int] = []
        if "YYYY" in found:
            scope.append(int(found["YYYY"]))
        elif "YY" in found:
            scope.append(2000 + int(found["YY"]))
        if "MM" in found:
            scope.append(int(found["MM"]))
        if "DD" in found:
            scope.append(int(found["DD"]))
        return int(found["n"]), tuple(scope)


def next_number(pattern: NumberPattern, day: date, existing: Iterable[str]) -> str:
    """The number an invoice issued on ``day`` takes: one more than the highest of the same series and period
    among ``existing`` (the register's numbers), 1 for the first."""
    scope = pattern.scope(day)
    highest = 0
    for number in existing:
        found = pattern.read(number)
        if found is not None and found[1] == scope and found[0] > highest:
            highest = found[0]
    return pattern.format(highest + 1, day)
