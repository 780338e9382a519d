"""Month partitions: a table split into one JSON document per month, each rewritten alone.

Blocking by design (file I/O and fsync): call from thread workers.

Layout under ``root`` (``<company>/purchases``)::

    2025-03.json            {"purchases": {"1": {...}, "2": {...}}}   the documents (TinyDB's own file format:
                                                                     stock TinyDB opens it)
    2025-03.bookings.json   {"version": 2, "month": "2025-03", "bookings": {"<key>": {...}}}
                            a sidecar: small, frequently changed facts about the month's documents, keyed by the
                            document's key, so that booking one invoice rewrites a few hundred kilobytes, not
                            the month's headers

A month's files are found by listing ``root``; nothing else says what exists. Every write is atomic
(``store.atomic``); a batch over several months fsyncs the directory once. Encoding is incremental: each file
keeps the JSON of every member it wrote and encodes again only the members whose value is a new object, so the
caller must replace a changed document with a new dict, never mutate one it was given (rewriting a month of
2,200 headers: ~2 ms of encoding instead of ~37 ms).

Loaded months stay in memory (the last :data:`KEEP_LOADED` used) and are re-read only when the file's identity
(inode, size, mtime) changed, so a read-only view follows the single writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ksef_tui.store.atomic import atomic_write, fsync_dir
from ksef_tui.store.db import StoreCorrupt, StoreReadOnly

MONTH = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2]))\.json$")
SIDECAR = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2]))\.([a-z]+)\.json$")
KEEP_LOADED = 8
"""Months kept parsed in memory (with their encoded members); about 6 MB each at 2,200 purchases."""

Doc = dict[str, Any]
Signature = tuple[int, int, int]
MonthSignature = tuple[Signature | None, ...]
"""The identities of a month's files: the documents file first, then each sidecar (``None``: no such file)."""
MonthChange = tuple[Mapping[str, Doc] | None, Mapping[str, Mapping[str, Doc | None]]]
"""What to write into one month: documents by key (new or replaced), and per sidecar entries by key (``None``
removes one)."""


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_SIMPLE_KEY = re.compile(r"[A-Za-z0-9/_.:+ -]*")


def _key_bytes(key: str) -> bytes:
    """``"key":`` as JSON (quick for the keys we write: numbers, ids, invoice numbers)."""
    if _SIMPLE_KEY.fullmatch(key):
        return b'"' + key.encode("ascii") + b'":'
    return _dumps(key) + b":"


@dataclass(slots=True)
class _Members:
    """Encoded ``"key":value`` members, kept per key with the value object they encode.

    Written one member a line (still one JSON document), so that reading a file gives the members' JSON back
    for free (:meth:`seed`): the first rewrite of a month just read encodes only what changed, too."""

    cache: dict[str, tuple[object, bytes]] = field(default_factory=dict)

    def join(self, items: Iterable[tuple[str, Doc]]) -> bytes:
        parts = []
        cache = self.cache
        for key, value in items:
            known = cache.get(key)
            if known is None or known[0] is not value:
                known = (value, _key_bytes(key) + _dumps(value))
                cache[key] = known
            parts.append(known[1])
        return b"{\n" + b",\n".join(parts) + b"\n}" if parts else b"{}"

    def seed(self, raw: bytes, items: Mapping[str, object]) -> None:
        """Take each member's JSON from ``raw``, a file this class wrote whose object ``items`` was parsed
        from it (in file order). A file laid out otherwise (edited by hand) is simply not used."""
        lines = raw.split(b"\n")
        if len(lines) != len(items) + 2:
            return
        last = len(items) - 1
        seeded: dict[str, tuple[object, bytes]] = {}
        for position, (key, value) in enumerate(items.items()):
            line = lines[position + 1]
            if position < last:
                if not line.endswith(b","):
                    return
                line = line[:-1]
            if not line.startswith(_key_bytes(key)):
                return
            seeded[key] = (value, line)
        self.cache.update(seeded)

    def prune(self, keys: Iterable[str]) -> None:
        keep = set(keys)
        for key in [k for k in self.cache if k not in keep]:
            del self.cache[key]


class Month:
    """One month as read: its documents by key (read when first used), each sidecar by key, and the identity
    of the files read."""

    __slots__ = ("_docs", "_loader", "ids", "members", "month", "path", "side_members", "sides", "signature")

    def __init__(
        self,
        month: str,
        path: Path,
        sides: dict[str, dict[str, Doc]],
        signature: MonthSignature,
        loader: Callable[[Month], None] | None = None,
    ) -> None:
        self.month = month
        self.path = path  # the documents file (a bad document is reported with it)
        self.sides = sides
        self.signature = signature
        self.ids: dict[str, int] = {}
        self.members = _Members()
        self.side_members: dict[str, _Members] = {}
        self._docs: dict[str, Doc] | None = None if loader is not None else {}
        self._loader = loader

    @property
    def docs(self) -> dict[str, Doc]:
        if self._docs is None:
            assert self._loader is not None
            self._loader(self)
        assert self._docs is not None
        return self._docs

    @property
    def docs_loaded(self) -> bool:
        return self._docs is not None


class PartitionSet:
    """The month partitions of one table under ``root``: documents keyed by their ``key`` field."""

    def __init__(self, root: Path, table: str, key: str, *, sidecars: tuple[str, ...] = (), read_only: bool) -> None:
        self.root = Path(root)
        self.table = table
        self.key = key
        self.sidecars = sidecars
        self.read_only = read_only
        self._loaded: OrderedDict[str, Month] = OrderedDict()

    # ------------------------------------------------------------------------------------------- paths

    def path(self, month: str) -> Path:
        return self.root / f"{month}.json"

    def side_path(self, month: str, side: str) -> Path:
        return self.root / f"{month}.{side}.json"

    def clean_stale(self) -> int:
        """Remove temp files of interrupted writes (writer only, with the store's lock held)."""
        removed = 0
        for stale in self.root.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
        return removed

    # ------------------------------------------------------------------------------------------- state

    def signatures(self) -> dict[str, MonthSignature]:
        """Every month on disk with the identity of its files: one directory scan."""
        mains: dict[str, Signature] = {}
        sides: dict[tuple[str, str], Signature] = {}
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        for entry in entries:
            if (match := MONTH.match(entry.name)) is not None:
                with contextlib.suppress(FileNotFoundError):
                    mains[match[1]] = _signature(entry.stat())
            elif (side := SIDECAR.match(entry.name)) is not None and side[2] in self.sidecars:
                with contextlib.suppress(FileNotFoundError):
                    sides[(side[1], side[2])] = _signature(entry.stat())
        months = set(mains) | {month for month, _ in sides}
        return {m: (mains.get(m), *(sides.get((m, s)) for s in self.sidecars)) for m in sorted(months)}

    def _current(self, month: str) -> MonthSignature:
        found: list[Signature | None] = []
        for path in (self.path(month), *(self.side_path(month, s) for s in self.sidecars)):
            try:
                found.append(_signature(path.stat()))
            except FileNotFoundError:
                found.append(None)
        return tuple(found)

    def get(self, month: str) -> Month:
        """The month as on disk now (from memory when its files did not change; empty when it has none)."""
        loaded = self._loaded.get(month)
        if loaded is not None and loaded.signature == self._current(month):
            self._loaded.move_to_end(month)
            return loaded
        fresh = self._read(month)
        self._remember(fresh)
        return fresh

    def _remember(self, month: Month) -> None:
        self._loaded[month.month] = month
        self._loaded.move_to_end(month.month)
        while len(self._loaded) > KEEP_LOADED:
            self._loaded.popitem(last=False)

    def forget(self) -> None:
        """Drop every parsed month (memory); the next use reads the files again."""
        self._loaded.clear()

    def _read(self, month: str) -> Month:
        sides: dict[str, dict[str, Doc]] = {}
        seeds: dict[str, tuple[bytes, dict[str, Doc]]] = {}
        sigs: list[Signature | None] = [self._stat(self.path(month))]
        for side in self.sidecars:
            path = self.side_path(month, side)
            sig, side_raw, raw = self._read_file(path)
            sigs.append(sig)
            entries = {} if side_raw is None else _object(side_raw.get(side, {}), path)
            if not all(isinstance(v, dict) for v in entries.values()):
                raise StoreCorrupt(path, f"bad {side} entry")
            sides[side] = entries
            seeds[side] = (raw, entries)
        loaded = Month(month, self.path(month), sides, tuple(sigs), loader=self._load_docs)
        for side, (raw, entries) in seeds.items():
            loaded.side_members.setdefault(side, _Members()).seed(raw, entries)
        return loaded

    def _load_docs(self, month: Month) -> None:
        """Read the documents file of ``month`` (its sidecars were read already)."""
        docs: dict[str, Doc] = {}
        ids: dict[str, int] = {}
        sig, raw, text = self._read_file(month.path)
        table: dict[str, Any] = {}
        if raw is not None:
            table = _object(raw.get(self.table, {}), month.path)
            for doc_id, doc in table.items():
                if not doc_id.isdigit() or not isinstance(doc, dict) or not isinstance(doc.get(self.key), str):
                    raise StoreCorrupt(month.path, f"bad document {doc_id!r}")
                docs[doc[self.key]] = doc
                ids[doc[self.key]] = int(doc_id)
        month.members.seed(text, table)
        month.ids = ids
        month._docs = docs
        month.signature = (sig, *month.signature[1:])

    @staticmethod
    def _stat(path: Path) -> Signature | None:
        try:
            return _signature(path.stat())
        except FileNotFoundError:
            return None

    @staticmethod
    def _read_file(path: Path) -> tuple[Signature | None, dict[str, Any] | None, bytes]:
        try:
            with path.open("rb") as handle:
                sig = _signature(os.fstat(handle.fileno()))
                raw = handle.read()
            data = json.loads(raw)
        except FileNotFoundError:
            return None, None, b""
        except ValueError as exc:  # not JSON, not UTF-8
            raise StoreCorrupt(path, f"{type(exc).__name__}: {exc}") from None
        return sig, _object(data, path), raw

    # ------------------------------------------------------------------------------------------ writes

    def write(self, changes: Mapping[str, MonthChange]) -> dict[str, Month]:
        """Apply, per month, new or replaced documents (by key) and sidecar entries (``None`` removes one).

        Each touched file is rewritten atomically (documents first, then sidecars); the directory is fsynced
        once at the end. Returns the months as written. A key's month never changes: callers put an existing
        document back into the month it came from.
        """
        if self.read_only:
            raise StoreReadOnly(self.root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        written: dict[str, Month] = {}
        for month in sorted(changes):
            docs, side_changes = changes[month]
            current = self.get(month)
            try:
                if docs:
                    self._write_docs(current, docs)
                for side, entries in side_changes.items():
                    if entries:
                        self._write_side(current, side, entries)
            except BaseException:
                self._loaded.pop(month, None)  # memory may be ahead of the disk now: read the files next time
                raise
            current.signature = self._current(month)
            written[month] = current
        if written:
            fsync_dir(self.root)
        return written

    def _write_docs(self, month: Month, docs: Mapping[str, Doc]) -> None:
        current = month.docs  # read first: the ids come with it
        next_id = max(month.ids.values(), default=0) + 1
        for key, doc in docs.items():
            if key not in month.ids:
                month.ids[key] = next_id
                next_id += 1
            current[key] = doc
        table = month.members.join((str(month.ids[key]), doc) for key, doc in month.docs.items())
        payload = b"{" + _dumps(self.table) + b":" + table + b"}"  # the member lines as ``_Members.seed`` reads
        atomic_write(self.path(month.month), payload, sync_dir=False)

    def _write_side(self, month: Month, side: str, entries: Mapping[str, Doc | None]) -> None:
        current = month.sides.setdefault(side, {})
        for key, entry in entries.items():
            if entry is None:
                current.pop(key, None)
            else:
                current[key] = entry
        members = month.side_members.setdefault(side, _Members())
        body = members.join(sorted(current.items()))
        members.prune(current)
        head = {"version": 2, "month": month.month}
        payload = _dumps(head)[:-1] + b"," + _dumps(side) + b":" + body + b"}"
        atomic_write(self.side_path(month.month, side), payload, sync_dir=False)


def _object(value: Any, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StoreCorrupt(path, f"expected an object, found {type(value).__name__}")
    return value
