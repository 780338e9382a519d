"""The API log on disk: the newest entries of the redacted call log, one file per profile, for support.

A line is one entry: JSON with the call's redacted request and response (written by ``ksef.apilog``), or the
older one-line text of a call; the file may hold both, oldest first. The store knows neither format: it keeps
lines. The file is a ring: at most ``keep`` lines and about ``keep_bytes`` bytes (the oldest lines go first),
rewritten atomically.
"""

from __future__ import annotations

from pathlib import Path

from ksef_tui.store.atomic import atomic_write

KEEP_LINES = 1000
#: A ceiling for the file (each entry carries up to a few KB of request and response).
KEEP_BYTES = 2_000_000


def append_api_log(path: Path, lines: list[str], keep: int = KEEP_LINES, keep_bytes: int = KEEP_BYTES) -> None:
    """Append ``lines`` and keep only the newest ``keep`` of them within ``keep_bytes`` (a ring buffer written
    atomically). A line with a newline inside would read back as two: newlines are escaped before writing."""
    if not lines:
        return
    try:
        old = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        old = []
    kept = (old + [line.replace("\r", "\\r").replace("\n", "\\n") for line in lines])[-keep:]
    size = 0
    start = len(kept)
    while start > 0 and size + len(kept[start - 1].encode("utf-8")) + 1 <= keep_bytes:
        start -= 1
        size += len(kept[start].encode("utf-8")) + 1
    kept = kept[start:] or kept[-1:]  # the newest line stays even when alone it is bigger than the ceiling
    atomic_write(path, ("\n".join(kept) + "\n").encode("utf-8"))


def read_api_log(path: Path) -> list[str]:
    """The file's lines, oldest first (none when there is no file yet)."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
