"""Helpers of the vault tests: secrets unique per call (so a scan for their bytes means something), a leak
scanner that says what it read, and read-only files that stay read-only even for root."""

from __future__ import annotations

import os
import secrets as std_secrets
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksef_tui.vault import SessionTokens


def make_token() -> str:
    """A KSeF 2.0 shaped token, unique per call."""
    return f"20251010-EC-2B8F9A1C3D-4E5F6A7B8C-9D|nip-5265877635|{std_secrets.token_hex(32)}"


def make_session() -> SessionTokens:
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    return SessionTokens(
        access_token="eyJhbGciOiJSUzI1NiJ9.access." + std_secrets.token_urlsafe(24),
        access_valid_until=now + timedelta(minutes=15),
        refresh_token="eyJhbGciOiJSUzI1NiJ9.refresh." + std_secrets.token_urlsafe(24),
        refresh_valid_until=now + timedelta(days=7),
        reference_number="20251123-AU-1A2B3C4D5E-6F7A8B9C0D-EF",
    )


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def scan(root: Path, needle: bytes) -> tuple[list[Path], list[Path]]:
    """(every file read, the files holding ``needle``): a caller asserts what was read, not only what was found."""
    scanned = files_under(root)
    return scanned, [p for p in scanned if needle in p.read_bytes()]


MakeReadOnly = Callable[[Path], None]


@contextmanager
def read_only_paths() -> Iterator[MakeReadOnly]:
    """``make(path)`` makes a file or a folder read-only until the block ends.

    A normal user gets chmod (0400 / 0500). Root ignores permission bits, so root gets the immutable attribute
    (``chattr +i``: even root cannot write, create or remove there); without chattr the test is skipped.
    """
    restore: list[Callable[[], None]] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            mode = stat.S_IMODE(path.stat().st_mode)
            path.chmod(0o500 if path.is_dir() else 0o400)
            restore.append(lambda: path.chmod(mode))
            return
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("running as root without chattr: cannot make a path read-only")
        done = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"running as root and chattr +i fails here: {done.stderr.decode(errors='replace')}")

        def undo() -> None:
            subprocess.run([chattr, "-i", str(path)], check=True)

        restore.append(undo)

    try:
        yield make
    finally:
        for undo in reversed(restore):
            undo()
