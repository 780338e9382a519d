"""Files a user names on the command line (or picks in the UI): read an input, check and write an output.

Every command that reads an input file or writes an output uses this module, so one set of rules holds:

* an input must be a regular file (also through a symbolic link) of bounded size: a FIFO, a device such as
  ``/dev/zero``, a socket or a directory is refused *before it is opened* (opening a FIFO blocks, opening some
  devices has effects), and opened without blocking in case it was swapped since;
* an output must not be one of the inputs (same file, also through a symbolic or a hard link), must not lie in
  the application's own directories (stores, invoice XML, the vault file) and, when it exists, must be a
  regular file: ``/dev/full`` or a FIFO is refused, never replaced. A symbolic link is written *through*: its
  target is replaced atomically and the link itself stays;
* writing is atomic (``store.atomic.atomic_write``: temp file in the same directory, fsync, rename), keeps the
  permission bits of a file it replaces and gives a new file the usual ``0o666 & ~umask``;
* every failure is a ``PathError`` (``Category.INPUT``) naming the path, with the reason translated when shown.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from ksef_tui import paths
from ksef_tui.errors import Category, PathError
from ksef_tui.i18n import language, t
from ksef_tui.store.atomic import atomic_write

__all__ = [
    "MAX_INPUT_BYTES",
    "FileRefused",
    "app_directories",
    "check_output",
    "read_input",
    "write_output",
]

MIB: Final = 1024 * 1024
#: Inputs are invoices (KSeF takes 3 MB at most) or small data files: anything larger is refused unread.
MAX_INPUT_BYTES: Final = 16 * MIB
_CHUNK: Final = 1024 * 1024


class FileRefused(PathError):
    """A ``PathError`` whose reason is a catalog message of its own (``file.*``), translated when shown."""

    def __init__(
        self,
        path: object,
        reason: str,
        /,
        *,
        message: str,
        category: Category = Category.INPUT,
        **reason_params: object,
    ) -> None:
        self.reason_key = reason
        self.reason_params = reason_params
        super().__init__(path, reason, message=message, category=category)

    def message(self) -> str:
        params = dict(self.reason_params)
        for name, value in params.items():
            if name in {"size", "limit"} and isinstance(value, int):
                params[name] = _megabytes(value)
        return t(self.key, reason=t(self.reason_key, **params), **self.params)


def _megabytes(size: int) -> str:
    text = f"{size / 1_000_000:.1f}"  # decimal megabytes, as KSeF states its limits
    return text.replace(".", ",") if language() == "pl" else text


def _kind(mode: int) -> str:
    """The ``file.*`` reason for a file that is not regular."""
    if stat.S_ISFIFO(mode):
        return "file.fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "file.device"
    if stat.S_ISSOCK(mode):
        return "file.socket"
    if stat.S_ISDIR(mode):
        return "file.directory"
    return "file.special"


# --- input ----------------------------------------------------------------------------------------------


def read_input(path: Path, *, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (symbolic links followed), at most ``max_bytes``.

    Refuses (``PathError``, ``Category.INPUT``) a missing or unreadable file, a directory, a FIFO, a device or a
    socket (looked at before opening, so nothing blocks and no device is opened), and a file over the limit.
    """
    path = Path(path)
    try:
        before = os.stat(path)
    except FileNotFoundError as exc:
        raise PathError(path, exc, message="err.file_missing") from None
    except OSError as exc:
        raise PathError(path, exc, message="file.read_failed") from None
    if not stat.S_ISREG(before.st_mode):
        raise FileRefused(path, _kind(before.st_mode), message="file.read_failed")
    if before.st_size > max_bytes:
        raise FileRefused(path, "file.too_large", message="file.read_failed", size=before.st_size, limit=max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise PathError(path, exc, message="file.read_failed") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since the look above
            raise FileRefused(path, _kind(opened.st_mode), message="file.read_failed")
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise FileRefused(path, "file.changed", message="file.read_failed")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while we read it
                raise FileRefused(path, "file.too_large", message="file.read_failed", size=total, limit=max_bytes)
        return b"".join(chunks)
    except OSError as exc:
        raise PathError(path, exc, message="file.read_failed") from None
    finally:
        os.close(fd)


# --- output ---------------------------------------------------------------------------------------------


def app_directories() -> tuple[Path, ...]:
    """The application's own directories (data: stores, invoice XML, the vault file; configuration: profiles,
    settings): the usual ``protected`` argument of ``check_output`` and ``write_output``."""
    return (paths.data_dir(), paths.config_dir())


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def check_output(out: Path, *, inputs: Sequence[Path] = (), protected: Sequence[Path] = ()) -> Path:
    """The file that writing ``out`` would replace (``out`` itself, or the target of a symbolic link), after
    checking that it may be written. Refuses (``PathError``, ``Category.INPUT``):

    * an output that is one of ``inputs`` (the same file, also through symbolic or hard links);
    * an output inside one of the ``protected`` directories (by its own path or by its link target);
    * an existing output that is not a regular file (a device, a FIFO, a socket, a directory);
    * an output whose directory does not exist (nothing is created on a mistyped path).
    """
    out = Path(out)
    lexical = Path(os.path.abspath(out))
    target = Path(os.path.realpath(out))
    for directory in protected:
        guarded = Path(os.path.realpath(directory))
        for candidate in (lexical, target):
            if _inside(candidate, guarded) or _inside(candidate, Path(os.path.abspath(directory))):
                raise FileRefused(out, "file.protected", message="file.refused_output", dir=directory)
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise PathError(out, exc, message="file.write_failed") from None
    if existing is not None:
        if not stat.S_ISREG(existing.st_mode):
            raise FileRefused(out, _kind(existing.st_mode), message="file.refused_output")
        for source in inputs:
            with contextlib.suppress(OSError):  # an input that is gone cannot be overwritten
                if os.path.samefile(target, source):
                    raise FileRefused(out, "file.same_as_input", message="file.refused_output", input=source)
    parent = target.parent
    if not parent.is_dir():
        raise FileRefused(out, "file.no_dir", message="file.write_failed", dir=parent)
    return target


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it: racy with threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o077


def write_output(
    out: Path,
    data: bytes | str,
    *,
    inputs: Sequence[Path] = (),
    protected: Sequence[Path] = (),
    encoding: str = "utf-8",
) -> Path:
    """Write ``data`` (``str`` encoded with ``encoding``) to ``out`` atomically, after ``check_output``; returns
    the file written (the link target when ``out`` is a symbolic link, which itself stays as it is)."""
    target = check_output(out, inputs=inputs, protected=protected)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise PathError(out, exc, message="file.write_failed") from None
    try:
        atomic_write(target, payload, mode=mode)
    except OSError as exc:
        raise PathError(out, exc, message="file.write_failed") from None
    return target
