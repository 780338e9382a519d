"""The list of profiles: one small JSON file in the config directory, written atomically under a lock.

It holds no secret: tokens live in the vault (``ksef_tui.vault``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from ksef_tui.domain.profile import MailSecurity, MailSettings, MailTransport, Numbering, Profile, SecretLocation
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.store.atomic import atomic_write, clean_stale_temp_files

SCHEMA_VERSION = 1


class ProfileFileCorrupt(UserError):
    """The profiles file cannot be read; it is left in place (never overwritten) and named in the message."""

    key = "profile.corrupt"
    category = Category.CONFIG

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path=path, reason=reason)
        self.path = path


class ProfileExists(UserError):
    key = "profile.exists"
    category = Category.CONFIG

    def __init__(self, name: str) -> None:
        super().__init__(name=name)


class ProfileNotFound(UserError):
    key = "profile.not_found"
    category = Category.CONFIG

    def __init__(self, name: str) -> None:
        super().__init__(name=name)


def _to_json(profile: Profile) -> dict[str, Any]:
    data = asdict(profile)
    data["start_date"] = profile.start_date.isoformat()
    data["mail"] = _mail_to_json(profile.mail)
    return data


def _mail_to_json(mail: MailSettings) -> dict[str, Any]:
    return {
        "host": mail.host,
        "port": mail.port,
        "username": mail.username,
        "sender": mail.sender,
        "security": mail.security.value,
        "auto": mail.auto,
        "transport": mail.transport.value,
        "file_dir": mail.file_dir,
    }


def _mail_from_json(data: dict[str, Any]) -> MailSettings:
    """Mail settings as written by any version: files from before the mail issue have ``starttls`` (a bool) for
    ``security`` and ``enabled`` for ``auto``, and nothing of the file transport."""
    mail = dict(data)
    starttls = mail.pop("starttls", None)
    enabled = mail.pop("enabled", None)
    if "security" in mail:
        mail["security"] = MailSecurity(mail["security"])
    elif starttls is not None:
        mail["security"] = MailSecurity.STARTTLS if starttls else MailSecurity.NONE
    if "auto" not in mail and enabled is not None:
        mail["auto"] = bool(enabled)
    if "transport" in mail:
        mail["transport"] = MailTransport(mail["transport"])
    if "port" in mail:
        mail["port"] = int(mail["port"])
    return MailSettings(**mail)


def _from_json(data: dict[str, Any]) -> Profile:
    return Profile(
        name=str(data["name"]),
        nip=str(data["nip"]),
        environment=str(data["environment"]),
        start_date=date.fromisoformat(str(data["start_date"])),
        mail=_mail_from_json(data.get("mail") or {}),
        secrets=SecretLocation(**data["secrets"]) if data.get("secrets") else None,
        numbering=Numbering(**data.get("numbering") or {}),
    )


class ProfileRepository:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_file = str(path) + ".lock"

    def _read(self) -> list[Profile]:
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise PathError(self.path, exc, category=Category.CONFIG) from None
        try:
            data = json.loads(raw)
            return [_from_json(item) for item in data["profiles"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileFileCorrupt(self.path, f"{type(exc).__name__}: {exc}") from None

    def _write(self, profiles: list[Profile]) -> None:
        payload = {"version": SCHEMA_VERSION, "profiles": [_to_json(p) for p in profiles]}
        atomic_write(self.path, json.dumps(payload, ensure_ascii=False, indent=2).encode())

    def list(self) -> list[Profile]:
        return self._read()

    def get(self, name: str) -> Profile:
        for profile in self._read():
            if profile.name == name:
                return profile
        raise ProfileNotFound(name)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The lock around a read-modify-write; an unwritable config directory is named, not a traceback."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            from filelock import FileLock  # only when profiles are written: never on the start-up path

            with FileLock(self._lock_file, timeout=10):
                yield
        except OSError as exc:
            raise PathError(exc.filename or self.path, exc, category=Category.CONFIG) from None

    def add(self, profile: Profile, *, replace: bool = False) -> None:
        with self._writing():
            clean_stale_temp_files(self.path)
            profiles = self._read()
            if any(p.name == profile.name for p in profiles) and not replace:
                raise ProfileExists(profile.name)
            self._write([p for p in profiles if p.name != profile.name] + [profile])

    def remove(self, name: str) -> Profile:
        with self._writing():
            profiles = self._read()
            found = [p for p in profiles if p.name == name]
            if not found:
                raise ProfileNotFound(name)
            self._write([p for p in profiles if p.name != name])
            return found[0]
