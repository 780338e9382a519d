"""A columnar index of a partitioned table: the columns a screen shows, for every row, without full records.

Blocking by design (file I/O): call from thread workers.

In memory each column is compact: ``text`` columns are lists of strings, ``coded`` columns (few distinct values:
sellers, currencies, kinds, periods) an ``array('I')`` of codes into a list of values, ``int`` columns an
``array('q')``. Rows are never removed (the table keeps every document it ever held); a document written again
updates its row in place, a new one is appended.

On disk (``index.bin`` beside the partitions) it is a cache, never the truth: a short binary header, a JSON
description (the columns, and for every month the identity of the partition files it was built from) and the
column bytes. Loading it costs a split per text column and a ``frombytes`` per number column (100,000 purchases:
~40 ms). Months whose files changed since (a booking saved after the cache was last written, a crash) are read
again and their rows replaced; a cache that is missing, damaged or inconsistent with the partitions is rebuilt
from them. Strings in the index never hold NUL (U+0000, the separator): it is shown as U+FFFD.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ksef_tui.store.atomic import atomic_write
from ksef_tui.store.db import StoreCorrupt
from ksef_tui.store.partitions import Month, MonthSignature, PartitionSet

MAGIC = b"KSEF-TUI-INDEX\x00\x01"
VERSION = 1
SEP = "\x00"

Kind = Literal["text", "coded", "int"]
Value = str | int
Row = Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind


class IndexMismatch(Exception):
    """The cache disagrees with the partitions (a key in two months, rows the partition no longer has)."""


class _Coded:
    """Codes into a list of distinct values."""

    __slots__ = ("codes", "lookup", "values")

    def __init__(self, values: list[str] | None = None, codes: array[int] | None = None) -> None:
        self.values: list[str] = values if values is not None else []
        self.lookup: dict[str, int] = {v: i for i, v in enumerate(self.values)}
        self.codes: array[int] = codes if codes is not None else array("I")

    def code(self, value: str) -> int:
        found = self.lookup.get(value)
        if found is None:
            found = self.lookup[value] = len(self.values)
            self.values.append(value)
        return found

    def __getitem__(self, row: int) -> str:
        return self.values[self.codes[row]]


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace(SEP, "\ufffd") if SEP in text else text


class ColumnIndex:
    """Every row's columns; ``key`` names the text column that identifies a row."""

    def __init__(self, columns: Sequence[Column], key: str) -> None:
        self.columns = tuple(columns)
        self.key = key
        self._kinds = {c.name: c.kind for c in self.columns}
        if self._kinds.get(key) != "text":
            raise ValueError(f"the key column {key!r} must be a text column")
        self._text: dict[str, list[str]] = {c.name: [] for c in self.columns if c.kind == "text"}
        self._coded: dict[str, _Coded] = {c.name: _Coded() for c in self.columns if c.kind == "coded"}
        self._int: dict[str, array[int]] = {c.name: array("q") for c in self.columns if c.kind == "int"}
        self._month = _Coded()
        self._rows: dict[str, int] | None = None
        self.signatures: dict[str, MonthSignature] = {}
        self.counts: dict[str, int] = {}
        self.dirty = False
        self.version = 0
        """Grows with every change: callers caching something derived (an order, a filter) compare it."""
        self.column_versions: dict[str, int] = {c.name: 0 for c in self.columns}
        """Per column: grows when a value of that column changes or rows are added (a booking changes the
        booking columns only, so an order by date or a lower-cased copy of the numbers stays valid)."""

    # ------------------------------------------------------------------------------------------- reads

    def __len__(self) -> int:
        return len(self._text[self.key])

    def text(self, name: str) -> list[str]:
        """A text column (read-only)."""
        return self._text[name]

    def coded(self, name: str) -> tuple[array[int], list[str]]:
        """A coded column: the codes of every row and the values they point to (read-only)."""
        column = self._coded[name]
        return column.codes, column.values

    def ints(self, name: str) -> array[int]:
        """A number column (read-only)."""
        return self._int[name]

    def value(self, name: str, row: int) -> Value:
        kind = self._kinds[name]
        if kind == "text":
            return self._text[name][row]
        if kind == "coded":
            return self._coded[name][row]
        return self._int[name][row]

    def get(self, row: int) -> dict[str, Value]:
        return {c.name: self.value(c.name, row) for c in self.columns}

    def row_of(self, key: str) -> int | None:
        if self._rows is None:
            self._rows = {k: i for i, k in enumerate(self._text[self.key])}
        return self._rows.get(key)

    def month_of(self, row: int) -> str:
        return self._month[row]

    def months(self) -> list[str]:
        return sorted(m for m, n in self.counts.items() if n)

    # ------------------------------------------------------------------------------------------ writes

    def put(self, month: str, rows: Iterable[Row], signature: MonthSignature | None) -> None:
        """Rows of ``month`` as they are now: known keys updated in place, new ones appended. ``signature`` is
        the identity of the month's files these rows were read from (``None``: not on disk yet)."""
        month_code = self._month.code(month)
        count = self.counts.get(month, 0)
        changed: set[str] = set()
        for values in rows:
            key = _clean(values[self.key])
            row = self.row_of(key)
            if row is None:
                row = len(self)
                assert self._rows is not None
                self._rows[key] = row
                self._month.codes.append(month_code)
                for name, column in self._text.items():
                    column.append(_clean(values[name]))
                for name, coded in self._coded.items():
                    coded.codes.append(coded.code(_clean(values[name])))
                for name, ints in self._int.items():
                    ints.append(int(values[name]))
                count += 1
                continue
            if self._month.codes[row] != month_code:
                raise IndexMismatch(f"{key} is in {self._month[row]} and in {month}")
            for name, column in self._text.items():
                text = _clean(values[name])
                if column[row] != text:
                    column[row] = text
                    changed.add(name)
            for name, coded in self._coded.items():
                code = coded.code(_clean(values[name]))
                if coded.codes[row] != code:
                    coded.codes[row] = code
                    changed.add(name)
            for name, ints in self._int.items():
                number = int(values[name])
                if ints[row] != number:
                    ints[row] = number
                    changed.add(name)
        if count != self.counts.get(month, 0):
            changed.update(self.column_versions)
        for name in changed:
            self.column_versions[name] += 1
        self.counts[month] = count
        if signature is not None:
            self.signatures[month] = signature
        self.dirty = True
        self.version += 1

    # ---------------------------------------------------------------------------------------- the file

    def to_bytes(self) -> bytes:
        sections: list[bytes] = []
        described: list[dict[str, Any]] = []
        offset = 0

        def add(data: bytes) -> list[int]:
            nonlocal offset
            sections.append(data)
            span = [offset, len(data)]
            offset += len(data)
            return span

        for column in self.columns:
            entry: dict[str, Any] = {"name": column.name, "kind": column.kind}
            if column.kind == "text":
                entry["data"] = add(SEP.join(self._text[column.name]).encode("utf-8"))
            elif column.kind == "coded":
                coded = self._coded[column.name]
                entry["values"] = add(SEP.join(coded.values).encode("utf-8"))
                entry["count"] = len(coded.values)
                entry["data"] = add(coded.codes.tobytes())
            else:
                entry["data"] = add(self._int[column.name].tobytes())
            described.append(entry)
        month_entry = {
            "values": add(SEP.join(self._month.values).encode("utf-8")),
            "count": len(self._month.values),
            "data": add(self._month.codes.tobytes()),
        }
        head = {
            "version": VERSION,
            "byteorder": sys.byteorder,
            "rows": len(self),
            "key": self.key,
            "columns": described,
            "month": month_entry,
            "months": {m: {"signature": self.signatures.get(m), "rows": n} for m, n in sorted(self.counts.items())},
        }
        encoded = json.dumps(head, separators=(",", ":")).encode("utf-8")
        return MAGIC + len(encoded).to_bytes(4, "little") + encoded + b"".join(sections)

    @classmethod
    def from_bytes(cls, raw: bytes, columns: Sequence[Column], key: str) -> ColumnIndex:
        """The index in ``raw``; ``ValueError`` when it is damaged or was written for other columns."""
        index = cls(columns, key)
        if not raw.startswith(MAGIC):
            raise ValueError("not an index file")
        size = int.from_bytes(raw[len(MAGIC) : len(MAGIC) + 4], "little")
        start = len(MAGIC) + 4
        head = json.loads(raw[start : start + size])
        body = memoryview(raw)[start + size :]
        if not isinstance(head, dict) or head.get("version") != VERSION or head.get("key") != key:
            raise ValueError("another index version")
        rows = head["rows"]
        swap = head["byteorder"] != sys.byteorder
        if [(c["name"], c["kind"]) for c in head["columns"]] != [(c.name, c.kind) for c in index.columns]:
            raise ValueError("other columns")

        def part(span: list[int]) -> memoryview:
            begin, length = span
            if begin < 0 or length < 0 or begin + length > len(body):
                raise ValueError("a column outside the file")
            return body[begin : begin + length]

        def texts(span: list[int], count: int) -> list[str]:
            values = bytes(part(span)).decode("utf-8").split(SEP) if count else []
            if len(values) != count:
                raise ValueError("a column of the wrong length")
            return values

        def numbers(span: list[int], typecode: str, count: int) -> array[int]:
            numbers = array(typecode)
            numbers.frombytes(part(span))
            if swap:
                numbers.byteswap()
            if len(numbers) != count:
                raise ValueError("a column of the wrong length")
            return numbers

        def coded(entry: Mapping[str, Any]) -> _Coded:
            values = texts(entry["values"], entry["count"])
            codes = numbers(entry["data"], "I", rows)
            if codes and max(codes) >= len(values):
                raise ValueError("a code without a value")
            return _Coded(values, codes)

        for entry in head["columns"]:
            name = entry["name"]
            if entry["kind"] == "text":
                index._text[name] = texts(entry["data"], rows)
            elif entry["kind"] == "coded":
                index._coded[name] = coded(entry)
            else:
                index._int[name] = numbers(entry["data"], "q", rows)
        index._month = coded(head["month"])
        for month, about in head["months"].items():
            index.counts[month] = int(about["rows"])
            signature = about["signature"]
            if signature is not None:
                index.signatures[month] = tuple(None if s is None else (s[0], s[1], s[2]) for s in signature)
        if sum(index.counts.values()) != rows:
            raise ValueError("month counts do not add up")
        return index


RowsOf = Callable[[Month], Iterator[Row]]


def load(path: Path, partitions: PartitionSet, columns: Sequence[Column], key: str, rows_of: RowsOf) -> ColumnIndex:
    """The index of ``partitions``: the cache at ``path`` brought up to date with the partition files.

    Months whose files changed are read again; a missing, damaged or inconsistent cache is rebuilt. Nothing is
    written here: the owner saves a dirty index (:func:`save`) when it may write.
    """
    on_disk = partitions.signatures()
    try:
        index = ColumnIndex.from_bytes(path.read_bytes(), columns, key)
    except (OSError, ValueError, KeyError, TypeError, IndexError, OverflowError):
        index = ColumnIndex(columns, key)
        index.dirty = True
    try:
        _refresh(index, partitions, on_disk, rows_of)
    except IndexMismatch:
        index = ColumnIndex(columns, key)
        try:
            _refresh(index, partitions, on_disk, rows_of)
        except IndexMismatch as exc:  # the partitions themselves disagree (a key in two months)
            raise StoreCorrupt(partitions.root, str(exc)) from None
    return index


def refresh(index: ColumnIndex, partitions: PartitionSet, rows_of: RowsOf) -> bool:
    """Bring ``index`` up to date with months changed on disk (a read-only view following the writer).
    Returns whether anything changed. Raises :class:`IndexMismatch` when the index must be rebuilt."""
    on_disk = partitions.signatures()
    if all(index.signatures.get(m) == s for m, s in on_disk.items()) and set(index.months()) <= set(on_disk):
        return False
    _refresh(index, partitions, on_disk, rows_of)
    return True


def _refresh(
    index: ColumnIndex, partitions: PartitionSet, on_disk: Mapping[str, MonthSignature], rows_of: RowsOf
) -> None:
    if any(month not in on_disk for month in index.months()):
        raise IndexMismatch("a month of the index has no partition")
    for month, signature in on_disk.items():
        if index.signatures.get(month) == signature:
            continue
        loaded = partitions.get(month)
        index.put(month, rows_of(loaded), loaded.signature)
        if index.counts.get(month, 0) != len(loaded.docs):
            raise IndexMismatch(f"{month}: the index has rows the partition does not")


def save(index: ColumnIndex, path: Path) -> None:
    """Write the index if it changed since it was read or last saved (atomic; a cache, rebuilt if lost)."""
    if index.dirty:
        atomic_write(path, index.to_bytes())
        index.dirty = False
