"""The API log on disk: the last lines of the redacted call log, one file per profile, for support."""

from __future__ import annotations

from pathlib import Path

from ksef_tui.store.atomic import atomic_write

KEEP_LINES = 1000


def append_api_log(path: Path, lines: list[str], keep: int = KEEP_LINES) -> None:
    """Append ``lines`` and keep only the newest ``keep`` (a ring buffer written atomically)."""
    if not lines:
        return
    try:
        old = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        old = []
    kept = (old + lines)[-keep:]
    atomic_write(path, ("\n".join(kept) + "\n").encode("utf-8"))


def read_api_log(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
