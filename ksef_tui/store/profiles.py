"""The list of profiles: one small JSON file in the config directory, written atomically under a lock.

It holds no secret: tokens live in the vault (``ksef_tui.vault``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ksef_tui.domain.credential import Credential, CredentialKind
from ksef_tui.domain.profile import MailSecurity, MailSettings, MailTransport, Numbering, Profile, SecretLocation
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.store.atomic import atomic_write, clean_stale_temp_files

SCHEMA_VERSION = 2  # 2: credentials apart from profiles (1 is read: each profile's own token)


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


class CredentialNotFound(UserError):
    key = "credential.not_found"
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


def _credential_to_json(credential: Credential) -> dict[str, Any]:
    data = asdict(credential)
    data["kind"] = credential.kind.value
    for name in ("not_before", "not_after"):
        value = getattr(credential, name)
        data[name] = None if value is None else value.isoformat()
    return data


def _credential_from_json(data: dict[str, Any]) -> Credential:
    def moment(value: object) -> datetime | None:
        return None if value in (None, "") else datetime.fromisoformat(str(value))

    return Credential(
        name=str(data["name"]),
        kind=CredentialKind(data["kind"]),
        environment=str(data["environment"]),
        fingerprint=None if data.get("fingerprint") is None else str(data["fingerprint"]),
        subject=str(data.get("subject") or ""),
        identity=str(data.get("identity") or ""),
        serial=str(data.get("serial") or ""),
        not_before=moment(data.get("not_before")),
        not_after=moment(data.get("not_after")),
        certificate_type=str(data.get("certificate_type") or ""),
    )


def legacy_credential(profile: Profile) -> Credential:
    """The credential of a profile from before credentials: its own KSeF token, kept under its name."""
    return Credential(profile.name, CredentialKind.TOKEN, profile.vault_environment)


def _from_json(data: dict[str, Any]) -> Profile:
    return Profile(
        name=str(data["name"]),
        nip=str(data["nip"]),
        environment=str(data["environment"]),
        start_date=date.fromisoformat(str(data["start_date"])),
        mail=_mail_from_json(data.get("mail") or {}),
        secrets=SecretLocation(**data["secrets"]) if data.get("secrets") else None,
        numbering=Numbering(**data.get("numbering") or {}),
        credential=str(data.get("credential") or ""),
    )


class ProfileRepository:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_file = str(path) + ".lock"

    def _read(self) -> list[Profile]:
        return self._read_all()[0]

    def _read_all(self) -> tuple[list[Profile], list[Credential]]:
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as exc:
            raise PathError(self.path, exc, category=Category.CONFIG) from None
        try:
            data = json.loads(raw)
            profiles = [_from_json(item) for item in data["profiles"]]
            credentials = [_credential_from_json(item) for item in data.get("credentials") or []]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileFileCorrupt(self.path, f"{type(exc).__name__}: {exc}") from None
        return profiles, credentials

    def _write(self, profiles: list[Profile], credentials: list[Credential] | None = None) -> None:
        if credentials is None:
            credentials = self._read_all()[1]
        payload = {
            "version": SCHEMA_VERSION,
            "credentials": [_credential_to_json(c) for c in credentials],
            "profiles": [_to_json(p) for p in profiles],
        }
        atomic_write(self.path, json.dumps(payload, ensure_ascii=False, indent=2).encode())

    # --- credentials

    def credentials(self) -> list[Credential]:
        """Every credential: those stored, and each older profile's own token."""
        profiles, stored = self._read_all()
        named = {c.name for c in stored}
        legacy = [legacy_credential(p) for p in profiles if not p.credential and p.name not in named]
        return stored + legacy

    def credential(self, name: str) -> Credential:
        for credential in self.credentials():
            if credential.name == name:
                return credential
        raise CredentialNotFound(name)

    def credential_of(self, profile: Profile) -> Credential:
        return self.credential(profile.credential_name)

    def users_of(self, credential: str) -> list[Profile]:
        """The profiles signing in with this credential."""
        return [p for p in self._read() if p.credential_name == credential]

    def put_credential(self, credential: Credential) -> None:
        """Add or replace (by name) a credential's description (never its secret: that is the vault's)."""
        with self._writing():
            profiles, credentials = self._read_all()
            self._write(profiles, [c for c in credentials if c.name != credential.name] + [credential])

    def remove_credential(self, name: str) -> None:
        with self._writing():
            profiles, credentials = self._read_all()
            self._write(profiles, [c for c in credentials if c.name != name])

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

    def add(self, profile: Profile, *, replace: bool = False, credential: Credential | None = None) -> None:
        """Add (or replace) a profile, with the description of its new credential in the same write."""
        with self._writing():
            clean_stale_temp_files(self.path)
            profiles, credentials = self._read_all()
            if any(p.name == profile.name for p in profiles) and not replace:
                raise ProfileExists(profile.name)
            if credential is not None:
                credentials = [c for c in credentials if c.name != credential.name] + [credential]
            self._write([p for p in profiles if p.name != profile.name] + [profile], credentials)

    def remove(self, name: str) -> Profile:
        with self._writing():
            profiles = self._read()
            found = [p for p in profiles if p.name == name]
            if not found:
                raise ProfileNotFound(name)
            self._write([p for p in profiles if p.name != name])
            return found[0]
