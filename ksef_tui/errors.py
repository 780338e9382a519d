"""The one user-facing error model, shared by every room and both faces (the CLI now, the TUI's dialog later).

A ``UserError`` carries an i18n key and its parameters; it is translated when shown (``.message()``,
``.hint()``), never when raised, so one error reads right in Polish and in English. ``str(error)`` is a short
English summary for logs and never contains a secret. Services raise errors with a ``Category``; only the faces
turn a category into an exit code, through ``report()``: there are no exit codes inside services.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from enum import Enum

from ksef_tui.i18n import has_key, t


class Category(Enum):
    """What went wrong, as a user sees it; ``EXIT_CODES`` maps each to the command line's exit code."""

    INVALID = "invalid"  # an invoice is not valid
    INPUT = "input"  # bad input or usage: a value, a file, a path given on the command line
    AUTH = "auth"  # the credential was refused or is malformed (doctor: "token")
    NETWORK = "network"  # KSeF could not be reached, or answered 5xx
    CONFIG = "config"  # configuration: profiles, the vault, the store, data directories
    PERMISSIONS = "permissions"  # the credential lacks a KSeF permission in this context
    KSEF = "ksef"  # KSeF refused an operation (sync, send): nothing local was changed
    INTERRUPTED = "interrupted"
    INTERNAL = "internal"  # a bug of ours


EXIT_CODES: dict[Category, int] = {
    Category.INVALID: 1,
    Category.INPUT: 2,
    Category.AUTH: 2,
    Category.NETWORK: 3,
    Category.CONFIG: 4,
    Category.PERMISSIONS: 5,
    Category.KSEF: 6,
    Category.INTERRUPTED: 130,
    Category.INTERNAL: 70,
}


class UserError(Exception):
    """A failure the user can understand and act on: ``key`` names a message (and ``key + '.hint'``)."""

    key: str = "err.unknown"
    category: Category = Category.INPUT

    def __init__(self, key: str | None = None, /, *, category: Category | None = None, **params: object) -> None:
        self.key = key or type(self).key  # an instance may name its own message
        if category is not None:
            self.category = category
        self.params = params
        super().__init__(self.summary())

    def summary(self) -> str:
        """Short English text for logs: the key and its parameters (no secret is ever a parameter)."""
        shown = ", ".join(f"{name}={value}" for name, value in self.params.items())
        return f"{self.key}({shown})" if shown else self.key

    def message(self) -> str:
        """The user's message in the current language."""
        return t(self.key, **self.params)

    def hint(self) -> str:
        """What to do about it, or an empty string."""
        hint_key = self.key + ".hint"
        return t(hint_key, **self.params) if has_key(hint_key) else ""


@dataclass(frozen=True, slots=True)
class Report:
    """What a face shows for an error: the message, the hint and the exit code."""

    message: str
    hint: str
    exit_code: int
    category: Category


def os_reason(exc: OSError) -> str:
    """An OS error's cause in the user's language (never the OS's English text alone)."""
    key = {
        errno.EACCES: "os.access",
        errno.EPERM: "os.access",
        errno.EROFS: "os.read_only",
        errno.ENOENT: "os.missing",
        errno.ENOSPC: "os.no_space",
        errno.EISDIR: "os.is_dir",
        errno.ENOTDIR: "os.not_dir",
        errno.EEXIST: "os.exists",
        errno.ELOOP: "os.loop",
        errno.ENAMETOOLONG: "os.name_too_long",
        errno.EDQUOT: "os.no_space",
    }.get(exc.errno or 0)
    if key is not None:
        return t(key)
    return t("os.other", detail=exc.strerror or type(exc).__name__)


class PathError(UserError):
    """A file or directory we must read or write is unusable; ``path`` is named, the OS cause translated."""

    key = "err.path"

    def __init__(
        self,
        path: object,
        cause: OSError | str | None = None,
        /,
        *,
        message: str | None = None,
        category: Category = Category.INPUT,
    ) -> None:
        self.cause = cause
        super().__init__(message, category=category, path=path)

    def message(self) -> str:
        # The OS cause is translated when shown too, never when raised.
        reason = os_reason(self.cause) if isinstance(self.cause, OSError) else (self.cause or "")
        return t(self.key, reason=reason, **self.params)


def report(exc: BaseException) -> Report:
    """The one table from an error to what the user sees and the exit code."""
    if isinstance(exc, UserError):
        return Report(exc.message(), exc.hint(), EXIT_CODES[exc.category], exc.category)
    if isinstance(exc, KeyboardInterrupt):
        return Report(t("err.interrupted"), "", EXIT_CODES[Category.INTERRUPTED], Category.INTERRUPTED)
    if isinstance(exc, OSError):
        # An OS error that escaped a service is still the user's environment (a read-only or full disk, a
        # directory that is a file), not our bug: name the path and the cause.
        error = PathError(exc.filename or "?", exc, category=Category.CONFIG)
        return Report(error.message(), error.hint(), EXIT_CODES[Category.CONFIG], Category.CONFIG)
    return Report(t("err.internal", kind=type(exc).__name__), "", EXIT_CODES[Category.INTERNAL], Category.INTERNAL)
