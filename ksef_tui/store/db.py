"""The local store: a small tinydb file per company (the manifest) behind an atomic storage, a single-writer lock
and schema versions; what grows with the history lives beside it in month partitions (``store.partitions``,
``store.purchases``), attached to the open store (:meth:`Store.attachment`).

Layout of a company's directory (schema 2)::

    store.json              _meta (schema), sync_cursors: small; read whole at open
    store.json.lock/.owner  the single-writer lock and who holds it
    store.purchases/        YYYY-MM.json (headers), YYYY-MM.bookings.json, index.bin (columnar cache)
    xml/YYYY/MM/*.xml       invoice XML as downloaded

Blocking by design: every method here reads or writes files (and fsyncs). Call it from a thread worker
(``@work(thread=True)`` or ``asyncio.to_thread``), never on the event loop.

* **Atomic writes.** :class:`AtomicJSONStorage` writes the whole database to a temp file in the same
  directory, fsyncs it, renames it over the store and fsyncs the directory (``store.atomic.atomic_write``).
  A crash leaves either the old or the new file, plus at worst a stale ``.<name>.*.tmp`` that the next
  writable open removes. The file is mode 0600.
* **One tinydb write = one file write.** tinydb rewrites the whole file on every write, so callers batch:
  ``insert_multiple``, one ``update`` with ``doc_ids=[...]`` or a callable, never a loop of single writes.
* **Single writer.** A writable open takes ``<path>.lock`` (``filelock``, timeout 0) for the store's life and
  writes ``<path>.owner`` (``{"pid", "host", "since"}``). A second opener gets :class:`StoreLocked` naming that
  session and may open ``read_only=True`` instead: no lock, every write raises :class:`StoreReadOnly`, and
  every read re-reads the file, so it sees the writer's commits. flock is unreliable on some NFS homes.
* **In-memory cache (writable only).** The owner of the lock is the only writer, so the storage keeps the last
  data it read or wrote and re-reads the file only when its identity (inode, size, mtime) changes. Documents
  returned by tinydb are shallow copies: treat nested values (lists, dicts) as read-only.
* **Schema versions.** ``_meta`` holds ``{"schema": N}``. A writable open applies ``MIGRATIONS[n]`` for every
  ``n`` above the file's version, in order (each migration must be idempotent: a crash may repeat it). A
  read-only open of an older file works and says so (:attr:`Store.needs_migration`); the purchase table refuses
  it (:class:`StoreNeedsMigration`) until a writable open has migrated it. A file newer than
  :data:`SCHEMA_VERSION` raises :class:`StoreTooNew` and is left untouched. Schema 2 moved the purchases out of
  this file into month partitions (``store.purchases.migrate_to_partitions``).
* **Corruption.** A writable open of a file that is not JSON or has the wrong shape moves it aside to
  ``<name>.corrupt-YYYYmmddTHHMMSS`` (local time; never deleted, never overwritten), opens a fresh empty store
  and sets :attr:`Store.recovered_from`; callers must tell the user loudly. A read-only open raises
  :class:`StoreCorrupt` and moves nothing.
* **Threads.** tinydb is not thread-safe. Hold :attr:`Store.mutex` around every read-modify-write done with
  a raw table; the repositories do.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

from ksef_tui.errors import Category, UserError
from ksef_tui.store.atomic import atomic_write, clean_stale_temp_files, fsync_dir

SCHEMA_VERSION = 2

META = "_meta"
SYNC_CURSORS = "sync_cursors"
PURCHASES = "purchases"

Data = dict[str, dict[str, Any]]


class Attachment(Protocol):
    def close(self) -> None: ...


A = TypeVar("A", bound=Attachment)


def _migrate_to_1(store: Store) -> None:
    """Version 0 (files written before ``_meta`` existed) has the same layout; only the version mark is new."""


def _migrate_to_2(store: Store) -> None:
    """Purchases move out of the single file into month partitions (``store.purchases.migrate_to_partitions``)."""
    from ksef_tui.store.purchases import migrate_to_partitions

    migrate_to_partitions(store)


MIGRATIONS: dict[int, Callable[[Store], None]] = {1: _migrate_to_1, 2: _migrate_to_2}
"""``MIGRATIONS[n]`` turns a version ``n - 1`` file into version ``n``."""


class StoreError(UserError):
    """Base of the store's errors: each a :class:`UserError` (configuration, exit 4) that names the file."""

    key = "store.error"
    category = Category.CONFIG


class StoreLocked(StoreError):
    """Another session holds the store's lock. Open ``read_only=True`` or ask the user to close the other one."""

    key = "store.locked"

    def __init__(self, pid: int | None, host: str | None, since: str | None) -> None:
        super().__init__(pid=pid if pid is not None else "?", host=host or "?")
        self.pid = pid
        self.host = host
        self.since = since


class StoreReadOnly(StoreError):
    """A write on a store opened ``read_only=True``."""

    key = "store.read_only"

    def __init__(self, path: Path) -> None:
        super().__init__(path=path)
        self.path = path


class StoreTooNew(StoreError):
    """The file was written by a newer ksef-tui (schema above :data:`SCHEMA_VERSION`); it is left untouched."""

    key = "store.too_new"

    def __init__(self, path: Path, found: int, supported: int) -> None:
        super().__init__(path=path, found=found, supported=supported)
        self.path = path
        self.found = found
        self.supported = supported


class StoreCorrupt(StoreError):
    """A file of the store cannot be read (read-only opens, a month file, a file damaged while open); nothing
    is changed: the user restores it or moves it aside."""

    key = "store.corrupt"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path=path, reason=reason)
        self.path = path
        self.reason = reason


class StoreNeedsMigration(StoreError):
    """A read-only view of a file older than this ksef-tui: open it writable once (that migrates it)."""

    key = "store.needs_migration"

    def __init__(self, path: Path, found: int) -> None:
        super().__init__(path=path, found=found)
        self.path = path
        self.found = found


class StoreClosed(StoreError):
    key = "store.closed"

    def __init__(self, path: Path) -> None:
        super().__init__(path=path)
        self.path = path


def _parse(raw: bytes) -> Data:
    """Parse and check the shape ``{table: {doc_id: {...}}}``; raises ValueError on anything else."""
    return _check_shape(json.loads(raw.decode("utf-8")))


def _check_shape(data: Any) -> Data:
    if not isinstance(data, dict):
        raise ValueError(f"top level is {type(data).__name__}, not an object")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ValueError(f"table {name!r} is {type(table).__name__}, not an object")
        for doc_id, doc in table.items():
            if not doc_id.isdigit() or not isinstance(doc, dict):
                raise ValueError(f"table {name!r}: bad document {doc_id!r}")
    return data


def _schema_of(data: Data) -> int:
    """The ``_meta`` schema number; 0 for files written before ``_meta`` existed."""
    meta = data.get(META)
    if not meta:
        return 0
    values = [doc.get("schema") for doc in meta.values()]
    if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool) or values[0] < 0:
        raise ValueError(f"bad {META} table")
    return values[0]


Signature = tuple[int, int, int]


def _signature(path: Path) -> Signature | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class AtomicJSONStorage(Storage):
    """tinydb storage writing the whole database atomically (temp file + fsync + rename + directory fsync).

    ``cache=True`` (the single writer) keeps the parsed data between calls; ``read_only=True`` makes
    :meth:`write` raise :class:`StoreReadOnly`.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, cache: bool = False, preload: Data | None = None
    ) -> None:
        self._path = Path(path)
        self._read_only = read_only
        self._cache_enabled = cache and not read_only
        self._cached: Data | None = None
        self._cached_sig: Signature | None = None
        self._closed = False
        if preload is not None and self._cache_enabled:
            self._cached, self._cached_sig = preload, _signature(self._path)

    @property
    def path(self) -> Path:
        return self._path

    def read(self) -> Data | None:
        if self._closed:
            raise StoreClosed(self._path)
        if self._cache_enabled and self._cached is not None and _signature(self._path) == self._cached_sig:
            return self._cached
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            self._cached = None
            return None
        sig = _signature(self._path)
        try:
            data = _parse(raw)
        except ValueError as exc:
            raise StoreCorrupt(self._path, f"{type(exc).__name__}: {exc}") from None
        if self._cache_enabled:
            self._cached, self._cached_sig = data, sig
        return data

    def write(self, data: Data) -> None:
        if self._closed:
            raise StoreClosed(self._path)
        if self._read_only:
            raise StoreReadOnly(self._path)
        # tinydb mutated ``data`` (maybe our cached dict) before calling us: until the write lands, nothing cached
        # is trustworthy.
        self._cached, self._cached_sig = None, None
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        atomic_write(self._path, payload)
        if self._cache_enabled:
            self._cached, self._cached_sig = data, _signature(self._path)

    def close(self) -> None:
        self._closed = True
        self._cached = None


def _owner_path(path: Path) -> Path:
    return path.with_name(path.name + ".owner")


def _read_owner(path: Path) -> tuple[int | None, str | None, str | None]:
    try:
        data = json.loads(_owner_path(path).read_bytes())
        pid, host, since = data.get("pid"), data.get("host"), data.get("since")
        return (
            pid if isinstance(pid, int) else None,
            host if isinstance(host, str) else None,
            since if isinstance(since, str) else None,
        )
    except (OSError, ValueError, AttributeError):
        return None, None, None


@dataclass(frozen=True, slots=True)
class LockOwner:
    """Who holds a store's single-writer lock, as its owner sidecar says (``None`` fields: not readable)."""

    pid: int | None
    host: str | None
    since: str | None  # ISO 8601, the holder's local time


def lock_owner(path: Path) -> LockOwner | None:
    """The holder of the store at ``path`` (for the diagnostics screen), or ``None`` when no session holds it.
    Reads the owner sidecar only (taking the lock to look would make a concurrent open fail). A sidecar left by
    a crashed session names a process that no longer runs. Blocking."""
    if not _owner_path(path).exists():
        return None
    return LockOwner(*_read_owner(path))


def _move_aside(path: Path) -> Path:
    """Rename a damaged store to ``<name>.corrupt-YYYYmmddTHHMMSS`` (``-N`` appended on a clash); never overwrite."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while True:
        try:
            os.link(path, target)  # fails if target exists: no clobbering
        except FileExistsError:
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
            counter += 1
            continue
        except OSError:  # no hard links on this filesystem; we hold the lock, so check-then-rename is safe enough
            if target.exists():
                target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
                counter += 1
                continue
            os.rename(path, target)
            break
        path.unlink()
        break
    fsync_dir(path.parent)
    return target


class Store:
    """An open store file. Build with :meth:`Store.open`; close with :meth:`close` or a ``with`` block."""

    def __init__(
        self,
        path: Path,
        db: TinyDB,
        *,
        read_only: bool,
        lock: FileLock | None,
        schema_version: int,
        recovered_from: Path | None,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.recovered_from = recovered_from
        """Where a damaged file was moved at open (writable opens only); report it to the user."""
        self.mutex = threading.RLock()
        """Hold around read-modify-write sequences on raw tables when several threads share the store."""
        self._db = db
        self._lock = lock
        self._schema_version = schema_version
        self._closed = False
        self._attachments: dict[str, Attachment] = {}

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Store:
        """Open (creating it if needed, unless ``read_only``) the store at ``path``. Blocking.

        Raises :class:`StoreLocked` (writable only), :class:`StoreTooNew`, :class:`StoreCorrupt` (read-only
        only) and ``FileNotFoundError`` (read-only open of a missing file).
        """
        path = Path(path)
        if read_only:
            return cls._open_read_only(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Not thread-local (filelock's default): a store is opened in one worker thread and closed in another,
        # and a thread-local lock released from the second thread stays held, locking the store until exit.
        lock = FileLock(str(path) + ".lock", mode=0o600, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise StoreLocked(*_read_owner(path)) from None
        try:
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now().astimezone().isoformat()}
            atomic_write(_owner_path(path), json.dumps(owner).encode("utf-8"))
            return cls._open_writable(path, lock)
        except BaseException:
            _owner_path(path).unlink(missing_ok=True)
            lock.release()
            raise

    @classmethod
    def _open_read_only(cls, path: Path) -> Store:
        raw = path.read_bytes()  # FileNotFoundError: nothing to show
        try:
            data = json.loads(raw.decode("utf-8"))
            found = _schema_of(data) if isinstance(data, dict) else 0
        except ValueError as exc:
            raise StoreCorrupt(path, f"{type(exc).__name__}: {exc}") from None
        if found > SCHEMA_VERSION:
            raise StoreTooNew(path, found, SCHEMA_VERSION)
        try:
            _check_shape(data)
        except ValueError as exc:
            raise StoreCorrupt(path, f"{type(exc).__name__}: {exc}") from None
        db = TinyDB(path, storage=AtomicJSONStorage, read_only=True)
        return cls(path, db, read_only=True, lock=None, schema_version=found, recovered_from=None)

    @classmethod
    def _open_writable(cls, path: Path, lock: FileLock) -> Store:
        clean_stale_temp_files(path)
        recovered_from: Path | None = None
        data: Data | None = None
        found = SCHEMA_VERSION
        try:
            raw: bytes | None = path.read_bytes()
        except FileNotFoundError:
            raw = None
        if raw is not None:
            try:
                parsed = json.loads(raw.decode("utf-8"))
                found = _schema_of(parsed) if isinstance(parsed, dict) else 0
                if found > SCHEMA_VERSION:
                    raise StoreTooNew(path, found, SCHEMA_VERSION)
                data = _check_shape(parsed)
            except ValueError:
                recovered_from = _move_aside(path)
                data, found = None, SCHEMA_VERSION
        db = TinyDB(path, storage=AtomicJSONStorage, cache=True, preload=data)
        store = cls(path, db, read_only=False, lock=lock, schema_version=found, recovered_from=recovered_from)
        try:
            if data is None:
                store._set_schema(SCHEMA_VERSION)
            else:
                store._migrate()
        except BaseException:
            db.close()
            raise
        return store

    def _set_schema(self, version: int) -> None:
        self._db.table(META, cache_size=0).upsert(Document({"schema": version}, doc_id=1))
        self._schema_version = version

    def _migrate(self) -> None:
        for version in range(self._schema_version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](self)
            self._set_schema(version)

    @property
    def schema_version(self) -> int:
        """The file's schema number (after migrations, for a writable store)."""
        return self._schema_version

    @property
    def needs_migration(self) -> bool:
        """True for a read-only view of a file older than :data:`SCHEMA_VERSION` (its shape may be old)."""
        return self._schema_version < SCHEMA_VERSION

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def db(self) -> TinyDB:
        return self._db

    def table(self, name: str) -> Table:
        """A tinydb table (no query cache). Each of its writes rewrites the whole file once: batch them."""
        if self._closed:
            raise StoreClosed(self.path)
        return self._db.table(name, cache_size=0)

    def attachment(self, name: str, factory: Callable[[Store], A]) -> A:
        """The object ``name`` living as long as this store (built by ``factory`` on first use): the parts of the
        store kept beside its file, such as the purchase partitions and their index. Closed before the lock is
        released."""
        if self._closed:
            raise StoreClosed(self.path)
        with self.mutex:
            found = self._attachments.get(name)
            if found is None:
                found = self._attachments[name] = factory(self)
            return found  # type: ignore[return-value]

    def close(self) -> None:
        """Close the attachments, release the file lock and the owner sidecar. Idempotent."""
        if self._closed:
            return
        try:
            with self.mutex:
                for attachment in self._attachments.values():
                    attachment.close()
        finally:
            self._closed = True
            self._attachments.clear()
            self._release()

    def _release(self) -> None:
        self._db.close()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                if _read_owner(self.path)[0] == os.getpid():
                    _owner_path(self.path).unlink()
            self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
