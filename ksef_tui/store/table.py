"""A partitioned table of a store: month partitions (``store.partitions``) plus their columnar index
(``store.index``), one per open store and table. Purchases use it; sales use it the same way.

Blocking by design (file I/O): call from thread workers.

A table is described by a :class:`TableSpec`: its name (``<store>.<name>/`` beside ``store.json``, and the TinyDB
table inside each month file), the document field that identifies a row, its sidecars (small, frequently changed
facts per document, each month in its own file: bookings, send states) and the index columns with the function
that computes a row's columns from its document and sidecar entries. The month of a document is chosen by the
caller when it is first written and never changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ksef_tui.domain.booking import Period
from ksef_tui.store import index as index_file
from ksef_tui.store.db import Store, StoreNeedsMigration
from ksef_tui.store.index import Column, ColumnIndex, IndexMismatch, Row, Value
from ksef_tui.store.partitions import Doc, Month, MonthChange, PartitionSet

RowsOf = Callable[[Month, Iterable[str] | None], Iterator[Row]]
"""The index rows of a month's documents (all of them, or the keys given)."""


SideValues = Callable[[str, Mapping[str, Any] | None], dict[str, Value]]
"""The index columns a sidecar entry gives (``None``: no entry), for a change of sidecars alone."""


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    key: str
    sidecars: tuple[str, ...]
    columns: tuple[Column, ...]
    rows_of: RowsOf
    side_values: SideValues


def issued_in(index: ColumnIndex, period: Period, rows: Iterable[int], column: str = "issue_date") -> list[int]:
    """The ``rows`` whose date column (``date.toordinal()``) falls in ``period``, in their order."""
    first = date(period.year, period.month, 1).toordinal()
    last = date(period.year + period.month // 12, period.month % 12 + 1, 1).toordinal()
    days = index.ints(column)
    return [i for i in rows if first <= days[i] < last]


def table_root(store_path: Path, name: str) -> Path:
    """Where a store's table lives: ``store.<name>/`` beside ``store.json``."""
    return store_path.with_name(f"{store_path.stem}.{name}")


class PartitionedTable:
    """One table of an open store. A writable store saves the index when it closes (and when the owner asks,
    :meth:`save_index`); a read-only one re-reads the months the writer changed (:meth:`refresh`)."""

    def __init__(self, store: Store, spec: TableSpec) -> None:
        if store.needs_migration:
            raise StoreNeedsMigration(store.path, store.schema_version)
        self.store = store
        self.spec = spec
        self.root = table_root(store.path, spec.name)
        self.partitions = PartitionSet(
            self.root, spec.name, spec.key, sidecars=spec.sidecars, read_only=store.read_only
        )
        if not store.read_only:
            self.partitions.clean_stale()
        self.index_path = self.root / "index.bin"
        self.index = self._load()

    def _rows(self, month: Month) -> Iterator[Row]:
        return self.spec.rows_of(month, None)

    def _load(self) -> ColumnIndex:
        return index_file.load(self.index_path, self.partitions, self.spec.columns, self.spec.key, self._rows)

    def refresh(self) -> None:
        """A read-only view: take in what the writer saved since. The writer's own view is always current."""
        if self.store.read_only:
            try:
                index_file.refresh(self.index, self.partitions, self._rows)
            except IndexMismatch:
                self.index = self._load()

    def save_index(self) -> None:
        """Write the index if it changed. A cache: if it cannot be written (a full disk), the months it misses
        are read again at the next open, so the failure is not the caller's."""
        if not self.store.read_only:
            with contextlib.suppress(OSError):
                index_file.save(self.index, self.index_path)

    def close(self) -> None:
        self.save_index()
        self.partitions.forget()

    def month_of(self, key: str) -> str | None:
        row = self.index.row_of(key)
        return None if row is None else self.index.month_of(row)

    def write(self, changes: Mapping[str, MonthChange]) -> dict[str, Month]:
        """Write months (``PartitionSet.write``) and put what changed into the index."""
        written = self.partitions.write(changes)
        for month, loaded in written.items():
            docs, sides = changes[month]
            if docs or loaded.docs_loaded:
                keys = set(docs or ()) | {key for entries in sides.values() for key in entries}
                self.index.put(month, self.spec.rows_of(loaded, sorted(keys)), loaded.signature)
            else:  # sidecars alone (a booking, a send status): the other columns are in the index already
                self.index.put(month, self._overlay(sides), loaded.signature)
        return written

    def _overlay(self, sides: Mapping[str, Mapping[str, Doc | None]]) -> Iterator[Row]:
        changed: dict[str, dict[str, Value]] = {}
        for side, entries in sides.items():
            for key, entry in entries.items():
                changed.setdefault(key, {}).update(self.spec.side_values(side, entry))
        for key, values in changed.items():
            row = self.index.row_of(key)
            if row is None:
                raise IndexMismatch(f"{key}: a sidecar entry for a document the index does not have")
            yield {**self.index.get(row), **values}

    def by_month(self, rows: Iterable[int]) -> Iterator[tuple[Month, list[str]]]:
        """The months holding ``rows`` (each read once) with the keys of those rows in each."""
        grouped: dict[str, list[str]] = {}
        keys = self.index.text(self.spec.key)
        for row in rows:
            grouped.setdefault(self.index.month_of(row), []).append(keys[row])
        for month, found in grouped.items():
            yield self.partitions.get(month), found
