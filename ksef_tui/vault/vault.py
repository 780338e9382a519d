"""The ``Vault``: the KSeF token and the session tokens of each profile, per environment, in one keyring backend.

Service name ``ksef-tui/<environment>``, username = profile name for the KSeF token, ``<profile>#session``
for the session tokens (a small JSON blob), ``<profile>#mail`` for the SMTP password of the customer e-mail and
``<credential>#cert`` for a certificate credential (certificate and private key; a token credential's token is
under the credential's plain name, which for a profile from before credentials is the profile's name).
Nothing here logs, prints or puts a secret into an exception message; UIs show ``fingerprint(token)``.

All ``Vault`` methods block (Argon2 key derivation, DBus, file I/O): call them from thread workers, or use the
``a*`` wrappers, which run them through ``asyncio.to_thread``.

A damaged session blob is ``DamagedSecret`` (a ``ValueError``), never a plain ``SecretStoreUnavailable``: a
session is disposable, and the caller that keeps sessions treats it as "sign in again" (the next saved session
replaces it). It is raised rather than swallowed so that the diagnostics can still say what was found.
"""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import filelock
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError

from ksef_tui.domain.session import SessionTokens
from ksef_tui.vault.backends import (
    DEFAULT_SYSTEM_TIMEOUT,
    FILE_LOCK_TIMEOUT,
    SERVICE_PREFIX,
    BackendChoice,
    MemoryKeyring,
    ResolvedBackend,
    _disarm,
    _file_path_of,
    _is_encrypted_file_keyring,
    _run_with_timeout,
    _WouldPrompt,
    resolve_backend,
)
from ksef_tui.vault.errors import (
    DamagedSecret,
    MasterPasswordRequired,
    NoSecretStorage,
    SecretStoreUnavailable,
    VaultFileError,
)
from ksef_tui.vault.redact import Redacted, detail

__all__ = ["CERT_SUFFIX", "MAIL_SUFFIX", "SESSION_SUFFIX", "Vault", "VaultDescription", "service_name"]

SESSION_SUFFIX = "#session"
MAIL_SUFFIX = "#mail"  # the SMTP password of the profile's customer e-mail
CERT_SUFFIX = "#cert"  # a certificate credential: its certificate and private key (PEM, in one JSON blob)

# OS errors that mean "this file or folder cannot be used" (as opposed to a keyring daemon's own failure).
_FILE_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR, errno.ENOTDIR}
)

T = TypeVar("T")


def service_name(environment: str) -> str:
    """``ksef-tui/<environment>``: test, demo, prod and custom servers never share an entry."""
    if not environment or any(c.isspace() or ord(c) < 32 for c in environment):
        raise ValueError("vault: the environment must be a non-empty string without whitespace")
    return SERVICE_PREFIX + environment


def _username(profile: str, *, session: bool = False) -> str:
    if not profile or "#" in profile or any(c.isspace() or ord(c) < 32 for c in profile):
        raise ValueError("vault: the profile name must be non-empty, without '#' or whitespace")
    return profile + SESSION_SUFFIX if session else profile


@dataclass(frozen=True, slots=True)
class VaultDescription:
    """For the diagnostics screen."""

    backend: str  # module.Class
    file_path: Path | None
    choice: BackendChoice | None
    source: str | None

    def __str__(self) -> str:
        text = self.backend + (f" ({self.file_path})" if self.file_path else "")
        return text + (f" [{self.choice.value}, {self.source}]" if self.choice else "")


class Vault:
    """The KSeF token and session tokens of each profile, per environment, in one keyring backend."""

    def __init__(self, backend: ResolvedBackend | KeyringBackend, *, timeout: float | None = None) -> None:
        """``timeout`` bounds each call; by default 30 s for backends without a file (OS keyrings), none else."""
        if isinstance(backend, ResolvedBackend):
            self._resolved: ResolvedBackend | None = backend
            self._keyring = backend.keyring
        else:
            self._resolved = None
            self._keyring = backend
            if _is_encrypted_file_keyring(backend):
                _disarm(backend)
        self._file_path = self._resolved.file_path if self._resolved else _file_path_of(self._keyring)
        if timeout is None and self._file_path is None and type(self._keyring) is not MemoryKeyring:
            timeout = DEFAULT_SYSTEM_TIMEOUT  # DBus / OS keyrings: an unlock may wait for a GUI nobody sees
        self._timeout = timeout

    @classmethod
    def open(cls, choice: BackendChoice | None = None, **kwargs: Any) -> Vault:
        """``Vault(resolve_backend(choice, **kwargs))``."""
        return cls(resolve_backend(choice, **kwargs))

    @property
    def keyring(self) -> KeyringBackend:
        return self._keyring

    def describe(self) -> VaultDescription:
        cls = type(self._keyring)
        return VaultDescription(
            backend=f"{cls.__module__}.{cls.__qualname__}",
            file_path=self._file_path,
            choice=self._resolved.choice if self._resolved else None,
            source=self._resolved.source if self._resolved else None,
        )

    # --- plumbing

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self._file_path is None:
            yield
            return
        with filelock.FileLock(f"{self._file_path}.lock", timeout=FILE_LOCK_TIMEOUT):
            yield

    def _call(
        self,
        operation: Callable[[], T],
        *,
        environment: str,
        profile: str,
        secrets: tuple[str, ...] = (),
    ) -> T:
        name = type(self._keyring).__name__
        where = {"backend": name, "profile": profile, "environment": environment}

        def locked() -> T:
            with self._file_lock():
                return operation()

        try:
            return _run_with_timeout(locked, self._timeout)
        except SecretStoreUnavailable:
            raise
        except Exception as exc:
            mapped = self._map_error(exc, where, secrets)
        # Raised outside the handler: no chained context, and no local in this frame holds the original
        # error (whose message a careless backend may have filled with the secret).
        raise mapped

    def _map_error(self, exc: Exception, where: dict[str, str], secrets: tuple[str, ...]) -> SecretStoreUnavailable:
        if isinstance(exc, filelock.Timeout):  # before TimeoutError, which it is
            return SecretStoreUnavailable("secrets.busy", **where)
        if isinstance(exc, TimeoutError):
            return SecretStoreUnavailable("secrets.timeout", **where)
        if isinstance(exc, OSError) and exc.errno in _FILE_ERRNOS and (exc.filename or self._file_path):
            # A read-only keyring file or folder (the lock lives beside the file), a full disk.
            return VaultFileError(exc.filename or self._file_path, exc, file=self._file_path, **where)
        if isinstance(exc, _WouldPrompt | EOFError):
            return MasterPasswordRequired("secrets.master_password_required", **where)
        if isinstance(exc, KeyringLocked):
            return SecretStoreUnavailable("secrets.locked", detail=detail(exc, secrets), **where)
        if isinstance(exc, NoKeyringError):
            return NoSecretStorage(backend=where["backend"], detail=detail(exc, secrets))
        if isinstance(exc, ValueError) and _is_encrypted_file_keyring(self._keyring):
            return DamagedSecret("secrets.entry_unreadable", **where)  # fails its GCM tag
        return SecretStoreUnavailable("secrets.backend_error", detail=detail(exc, secrets), **where)

    def _get(self, environment: str, username: str, profile: str) -> str | None:
        service = service_name(environment)
        value = self._call(
            lambda: self._keyring.get_password(service, username), environment=environment, profile=profile
        )
        return None if value is None else str(value)

    def _set(self, environment: str, username: str, profile: str, secret: str) -> None:
        service = service_name(environment)
        secret = Redacted(secret)
        self._call(
            lambda: self._keyring.set_password(service, username, secret),
            environment=environment,
            profile=profile,
            secrets=(secret,),
        )

    def _delete(self, environment: str, username: str, profile: str) -> bool:
        service = service_name(environment)

        def delete() -> bool:
            try:
                self._keyring.delete_password(service, username)
            except PasswordDeleteError:
                return False
            return True

        return self._call(delete, environment=environment, profile=profile)

    # --- the KSeF token

    def get_token(self, environment: str, profile: str) -> str | None:
        return self._get(environment, _username(profile), profile)

    def set_token(self, environment: str, profile: str, token: str) -> None:
        token = Redacted(token)
        if not token:
            raise ValueError("vault: empty token")
        self._set(environment, _username(profile), profile, token)

    def has_token(self, environment: str, profile: str) -> bool:
        """Whether a KSeF token is stored for the profile (for the workspace and the setup screens)."""
        return self.get_token(environment, profile) is not None

    def delete_token(self, environment: str, profile: str) -> bool:
        """True if a token was there."""
        return self._delete(environment, _username(profile), profile)

    # --- session tokens

    def get_session(self, environment: str, profile: str) -> SessionTokens | None:
        """The saved session tokens, or None. A blob that cannot be read back (not our JSON, or an encrypted
        entry failing its check) is ``DamagedSecret`` with ``secrets.session_corrupt``: sign in again."""
        where = {"backend": type(self._keyring).__name__, "profile": profile, "environment": environment}
        try:
            blob = self._get(environment, _username(profile, session=True), profile)
        except DamagedSecret as exc:
            damaged = DamagedSecret("secrets.session_corrupt", detail=exc.detail, **where)
        else:
            if blob is None:
                return None
            try:
                return SessionTokens.from_json(blob)
            except ValueError as exc:  # SessionTokens' messages never quote the tokens
                damaged = DamagedSecret("secrets.session_corrupt", detail=str(exc), **where)
        raise damaged

    def set_session(self, environment: str, profile: str, tokens: SessionTokens) -> None:
        blob = Redacted(tokens.to_json())
        self._set(environment, _username(profile, session=True), profile, blob)

    def delete_session(self, environment: str, profile: str) -> bool:
        return self._delete(environment, _username(profile, session=True), profile)

    # --- the SMTP password (customer e-mail with the KSeF number)

    def get_mail_password(self, environment: str, profile: str) -> str | None:
        return self._get(environment, _username(profile) + MAIL_SUFFIX, profile)

    def set_mail_password(self, environment: str, profile: str, password: str) -> None:
        password = Redacted(password)
        if not password:
            raise ValueError("vault: empty mail password")
        self._set(environment, _username(profile) + MAIL_SUFFIX, profile, password)

    def delete_mail_password(self, environment: str, profile: str) -> bool:
        """True if a password was there."""
        return self._delete(environment, _username(profile) + MAIL_SUFFIX, profile)

    # --- a certificate credential (the certificate with its private key)

    def get_certificate(self, environment: str, credential: str) -> dict[str, str] | None:
        """``{"certificate": PEM, "key": PKCS#8 PEM, "chain": PEM…}`` of a certificate credential, or None.
        A blob that is not ours is ``DamagedSecret`` (never its content in the message)."""
        blob = self._get(environment, _username(credential) + CERT_SUFFIX, credential)
        if blob is None:
            return None
        try:
            data = json.loads(blob)
            if not isinstance(data, dict) or not {"certificate", "key"} <= data.keys():
                raise ValueError("not a certificate credential")
        except ValueError:
            where = {"backend": type(self._keyring).__name__, "profile": credential, "environment": environment}
            raise DamagedSecret("secrets.entry_unreadable", **where) from None
        return {str(k): str(v) for k, v in data.items()}

    def set_certificate(self, environment: str, credential: str, bundle: dict[str, str]) -> None:
        if not bundle.get("certificate") or not bundle.get("key"):
            raise ValueError("vault: a certificate credential needs its certificate and its key")
        self._set(environment, _username(credential) + CERT_SUFFIX, credential, Redacted(json.dumps(bundle)))

    def delete_certificate(self, environment: str, credential: str) -> bool:
        return self._delete(environment, _username(credential) + CERT_SUFFIX, credential)

    async def aget_certificate(self, environment: str, credential: str) -> dict[str, str] | None:
        return await asyncio.to_thread(self.get_certificate, environment, credential)

    # --- async wrappers (asyncio.to_thread)

    async def aget_token(self, environment: str, profile: str) -> str | None:
        return await asyncio.to_thread(self.get_token, environment, profile)

    async def ahas_token(self, environment: str, profile: str) -> bool:
        return await asyncio.to_thread(self.has_token, environment, profile)

    async def aset_token(self, environment: str, profile: str, token: str) -> None:
        await asyncio.to_thread(self.set_token, environment, profile, token)

    async def adelete_token(self, environment: str, profile: str) -> bool:
        return await asyncio.to_thread(self.delete_token, environment, profile)

    async def aget_session(self, environment: str, profile: str) -> SessionTokens | None:
        return await asyncio.to_thread(self.get_session, environment, profile)

    async def aset_session(self, environment: str, profile: str, tokens: SessionTokens) -> None:
        await asyncio.to_thread(self.set_session, environment, profile, tokens)

    async def adelete_session(self, environment: str, profile: str) -> bool:
        return await asyncio.to_thread(self.delete_session, environment, profile)

    async def aget_mail_password(self, environment: str, profile: str) -> str | None:
        return await asyncio.to_thread(self.get_mail_password, environment, profile)

    async def aset_mail_password(self, environment: str, profile: str, password: str) -> None:
        await asyncio.to_thread(self.set_mail_password, environment, profile, password)

    async def adelete_mail_password(self, environment: str, profile: str) -> bool:
        return await asyncio.to_thread(self.delete_mail_password, environment, profile)
