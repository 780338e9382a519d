"""The master password of the encrypted keyring file, from exactly one source: the UI, a descriptor or a file.

It is never read from the terminal here: the faces ask for it (the TUI in a dialog, the CLI with getpass) and
hand it over, or name a descriptor (``--master-password-fd``) or a 0600 file (for cron).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ksef_tui.vault.errors import MasterPasswordRequired, MasterPasswordSourceError

__all__ = ["read_master_password"]

MAX_PASSWORD_FILE_BYTES = 4096


def _strip_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def read_master_password(
    *, password: str | None = None, password_fd: int | None = None, password_file: Path | None = None
) -> str:
    """The master password from exactly one source.

    ``password_fd`` is read up to the first newline (the gpg ``--passphrase-fd`` convention) and left open.
    ``password_file`` must be a regular file of ours with no group/other permission bits (0600 or 0400),
    otherwise it is refused. One trailing newline is stripped from both.
    """
    given = [s for s in (password, password_fd, password_file) if s is not None]
    if not given:
        raise MasterPasswordRequired("secrets.master_password_required")
    if len(given) > 1:
        raise ValueError("read_master_password: give exactly one of password, password_fd, password_file")
    if password_fd is not None:
        value = _read_password_fd(password_fd)
    elif password_file is not None:
        value = _read_password_file(password_file)
    else:
        assert password is not None
        value = password
    if not value.strip():
        raise MasterPasswordSourceError("secrets.master_password_empty")
    return value


def _read_password_fd(fd: int) -> str:
    chunks = bytearray()
    try:
        while not chunks.endswith(b"\n"):
            byte = os.read(fd, 1)
            if not byte:
                break
            chunks += byte
        return _strip_newline(chunks.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterPasswordSourceError(
            "secrets.password_fd_unreadable", fd=str(fd), detail=type(exc).__name__
        ) from None


def _read_password_file(path: Path) -> str:
    # O_NONBLOCK: a FIFO with no writer must not hang us before the check below refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        with open(os.open(path, flags), "rb") as handle:  # fstat on the opened file, not a racy stat of the path
            info = os.fstat(handle.fileno())
            if os.name == "posix":
                mode = stat.S_IMODE(info.st_mode)
                if not stat.S_ISREG(info.st_mode) or mode & 0o077 or info.st_uid != os.getuid():
                    raise MasterPasswordSourceError("secrets.password_file_mode", path=str(path), mode=f"{mode:04o}")
            data = handle.read(MAX_PASSWORD_FILE_BYTES)
    except OSError as exc:
        raise MasterPasswordSourceError(
            "secrets.password_file_unreadable", path=str(path), detail=type(exc).__name__
        ) from None
    try:
        return _strip_newline(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise MasterPasswordSourceError(
            "secrets.password_file_unreadable", path=str(path), detail="UnicodeDecodeError"
        ) from None
