"""Every failure of the secret store: ``SecretStoreUnavailable`` and its family, all ``UserError``s of the
configuration category (the command line's exit code 4), each carrying an i18n key and never a secret.

``DamagedSecret`` is also a ``ValueError``: a stored entry that cannot be read back (a session blob that is not
our JSON, an encrypted entry failing its tag). For the session slot that means "sign in again", and callers
that keep sessions (``services.connection.VaultSessionStore``) catch it as such.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ksef_tui import i18n
from ksef_tui.errors import Category, UserError, os_reason

__all__ = [
    "HINT_PARAMS",
    "BackendProbe",
    "DamagedSecret",
    "MasterPasswordRequired",
    "MasterPasswordSourceError",
    "NoSecretStorage",
    "SecretStoreUnavailable",
    "StorageOption",
    "VaultFileError",
    "WrongMasterPassword",
]

# The i18n keys the vault uses, each with the placeholders it may use besides {backend}, {profile} and
# {environment} (always available, possibly empty). The texts live in ksef_tui/i18n.py.
HINT_PARAMS: dict[str, tuple[str, ...]] = {
    "secrets.no_storage": (),
    "secrets.locked": (),
    "secrets.timeout": (),
    "secrets.busy": (),
    "secrets.backend_error": (),
    "secrets.entry_unreadable": (),
    "secrets.session_corrupt": (),
    "secrets.file_access": ("path", "reason", "file", "folder"),
    "secrets.would_prompt": ("source",),
    "secrets.configured_backend_unavailable": ("source",),
    "secrets.environment_unset": (),
    "secrets.wrong_master_password": ("path",),
    "secrets.master_password_required": (),
    "secrets.master_password_empty": (),
    "secrets.password_file_mode": ("path", "mode"),
    "secrets.password_file_unreadable": ("path",),
    "secrets.password_fd_unreadable": ("fd",),
    "secrets.option.encrypted_file": (),
    "secrets.option.plaintext_file": (),
    "secrets.option.ask_every_session": (),
}


class SecretStoreUnavailable(UserError):
    """Every failure of the secret store. Carries an i18n ``key``, never a secret.

    ``backend``, ``profile`` and ``environment`` say where it happened; ``detail`` is the original error's
    type and message (scrubbed) for the diagnostics screen; ``params`` are the key's own placeholders.
    """

    key = "secrets.backend_error"
    category = Category.CONFIG

    def __init__(
        self,
        key: str,
        *,
        backend: str = "",
        profile: str = "",
        environment: str = "",
        detail: str = "",
        **params: str,
    ) -> None:
        self.backend = backend
        self.profile = profile
        self.environment = environment
        self.detail = detail
        extra: dict[str, Any] = params  # the key's own placeholders; never "category"
        super().__init__(key, **extra)

    def summary(self) -> str:
        """``key (backend=…, profile=…, env=…, …): detail``, in English, for logs; never a secret."""
        pairs = (("backend", self.backend), ("profile", self.profile), ("env", self.environment))
        where = ", ".join(f"{key}={value}" for key, value in (*pairs, *self.params.items()) if value)
        text = f"{self.key} ({where})" if where else self.key
        return f"{text}: {self.detail}" if self.detail else text

    def _values(self) -> dict[str, object]:
        values: dict[str, object] = dict.fromkeys(HINT_PARAMS.get(self.key, ()), "")
        values.update(backend=self.backend, profile=self.profile, environment=self.environment, **self.params)
        return values

    def message(self) -> str:
        """The message in the current UI language (translated now, when shown)."""
        try:
            return i18n.t(self.key, **self._values())
        except (KeyError, IndexError):
            return self.key

    def hint(self) -> str:
        hint_key = self.key + ".hint"
        if not i18n.has_key(hint_key):
            return ""
        try:
            return i18n.t(hint_key, **self._values())
        except (KeyError, IndexError):
            return ""


class WrongMasterPassword(SecretStoreUnavailable):
    """The encrypted file exists and the master password does not open it."""


class MasterPasswordRequired(SecretStoreUnavailable):
    """An encrypted file backend was chosen but no master password source was given."""


class MasterPasswordSourceError(SecretStoreUnavailable):
    """The password file or descriptor cannot be used (unsafe mode, unreadable, empty)."""


class DamagedSecret(SecretStoreUnavailable, ValueError):
    """A stored entry cannot be read back: the session blob is not ours (``secrets.session_corrupt``: sign in
    again) or an encrypted entry fails its check (``secrets.entry_unreadable``: store the token again)."""


class VaultFileError(SecretStoreUnavailable):
    """The keyring file, its folder or its lock cannot be created, read or written (a read-only file or
    folder, a full disk). ``path`` is what failed; ``file`` is the keyring file and ``folder`` its folder."""

    def __init__(
        self,
        path: object,
        cause: OSError | None,
        *,
        file: Path | None = None,
        backend: str = "",
        profile: str = "",
        environment: str = "",
    ) -> None:
        # A fresh copy holding only errno, the OS text and the path: no traceback, no frame, no argument that a
        # careless backend may have filled with a secret.
        self.cause = OSError(cause.errno, cause.strerror or "", cause.filename) if cause is not None else None
        where = os.fsdecode(path) if isinstance(path, bytes | str | os.PathLike) else str(path)
        target = Path(file) if file is not None else Path(where)
        super().__init__(
            "secrets.file_access",
            backend=backend,
            profile=profile,
            environment=environment,
            detail=type(cause).__name__ if cause is not None else "",
            path=where,
            file=str(target),
            folder=str(target.parent),
        )

    def _values(self) -> dict[str, object]:
        values = super()._values()
        # The OS cause in the user's language, translated when shown, never when raised.
        values["reason"] = os_reason(self.cause) if self.cause is not None else ""
        return values


class StorageOption(StrEnum):
    """What the UI/CLI can offer when there is no OS keyring."""

    ENCRYPTED_FILE = "encrypted-file"
    PLAINTEXT_FILE = "plaintext-file"
    ASK_EVERY_SESSION = "ask-every-session"  # keep nothing: BackendChoice.MEMORY for this process

    @property
    def label_key(self) -> str:
        """The i18n key of its label (``secrets.option.encrypted_file`` …)."""
        return "secrets.option." + self.value.replace("-", "_")


@dataclass(frozen=True, slots=True)
class BackendProbe:
    """One OS keyring candidate and why it is (not) usable, for the diagnostics screen."""

    backend: str
    available: bool
    priority: float | None = None
    reason: str = ""


class NoSecretStorage(SecretStoreUnavailable):
    """No usable keyring: offer ``options``; ``probes`` say what was tried."""

    def __init__(self, probes: tuple[BackendProbe, ...] = (), *, backend: str = "", detail: str = "") -> None:
        super().__init__("secrets.no_storage", backend=backend, detail=detail)
        self.options: tuple[StorageOption, ...] = tuple(StorageOption)
        self.probes = probes
