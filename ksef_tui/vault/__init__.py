"""The vault: KSeF tokens and session tokens in a keyring backend chosen explicitly, never by surprise.

Secrets live only in the keyring backend. Service name ``ksef-tui/<environment>``, username = profile
name for the KSeF token and ``<profile>#session`` for the session tokens (a small JSON blob).
Nothing here logs, prints or puts a secret into an exception message; UIs show ``fingerprint(token)``.

Backend policy (``resolve_backend``), first match wins:

1. the explicit choice from our config (``BackendChoice``);
2. keyring's own configuration: ``PYTHON_KEYRING_BACKEND`` or ``keyringrc.cfg``;
3. the OS keyring (Secret Service, KWallet, libsecret, macOS, Windows) if one is viable, probed in a
   daemon thread with a time limit so an SSH box without DBus answers "no" quickly;
4. otherwise ``NoSecretStorage`` with the options the UI/CLI can offer (encrypted file, plaintext file
   by explicit opt-in, or keep nothing and ask every session).

keyring's auto-selection is never used: with keyrings.alt/keyrings.cryptfile installed it picks a chainer
whose encrypted member calls ``getpass()`` on the terminal, which would fight the TUI for it. Every
encrypted-file backend we hand out is "disarmed": a path that would prompt raises instead.

All ``Vault`` methods block (Argon2 key derivation, DBus, file I/O): call them from thread workers, or use
the ``a*`` wrappers, which run them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import configparser
import functools
import importlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

import filelock
import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends import chainer as keyring_chainer
from keyring.backends import fail as keyring_fail
from keyring.compat import properties
from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError
from keyring.util import platform_ as keyring_platform

from ksef_tui import i18n, paths
from ksef_tui.domain.session import SessionTokens, fingerprint

__all__ = [
    "ENCRYPTED_FILE_NAME",
    "HINT_PARAMS",
    "PLAINTEXT_FILE_NAME",
    "SERVICE_PREFIX",
    "SESSION_SUFFIX",
    "BackendChoice",
    "BackendProbe",
    "MasterPasswordRequired",
    "MasterPasswordSourceError",
    "MemoryKeyring",
    "NoSecretStorage",
    "ResolvedBackend",
    "SecretStoreUnavailable",
    "SessionTokens",
    "StorageOption",
    "Vault",
    "VaultDescription",
    "WrongMasterPassword",
    "default_encrypted_file",
    "default_plaintext_file",
    "encrypted_file_exists",
    "fingerprint",
    "probe_system_backends",
    "read_master_password",
    "resolve_backend",
    "service_name",
]

SERVICE_PREFIX = "ksef-tui/"
SESSION_SUFFIX = "#session"
ENCRYPTED_FILE_NAME = "secrets.cryptfile.cfg"
PLAINTEXT_FILE_NAME = "secrets.plaintext.cfg"
DEFAULT_PROBE_TIMEOUT = 5.0
DEFAULT_SYSTEM_TIMEOUT = 30.0
FILE_LOCK_TIMEOUT = 10.0
_SESSION_FORMAT = 1

# The OS keyrings shipped with keyring itself; third-party backends are reachable through ENVIRONMENT.
_SYSTEM_BACKENDS = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)

T = TypeVar("T")


class _Redacted(str):
    """A secret whose ``repr`` is its fingerprint, so tracebacks with locals and ``%r`` logs never show it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<secret sha256:{fingerprint(str(self))}>"


def service_name(environment: str) -> str:
    """``ksef-tui/<environment>``: test, demo, prod and custom servers never share an entry."""
    if not environment or any(c.isspace() or ord(c) < 32 for c in environment):
        raise ValueError("vault: the environment must be a non-empty string without whitespace")
    return SERVICE_PREFIX + environment


def _username(profile: str, *, session: bool = False) -> str:
    if not profile or "#" in profile or any(c.isspace() or ord(c) < 32 for c in profile):
        raise ValueError("vault: the profile name must be non-empty, without '#' or whitespace")
    return profile + SESSION_SUFFIX if session else profile


# --------------------------------------------------------------------------------------------- errors

# The i18n keys this module uses, each with the placeholders it may use besides {backend}, {profile} and
# {environment} (always available, possibly empty). The texts live in ksef_tui/i18n.py.
HINT_PARAMS: dict[str, tuple[str, ...]] = {
    "secrets.no_storage": (),
    "secrets.locked": (),
    "secrets.timeout": (),
    "secrets.busy": (),
    "secrets.backend_error": (),
    "secrets.entry_unreadable": (),
    "secrets.session_corrupt": (),
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


class SecretStoreUnavailable(Exception):
    """Every failure of the secret store. Carries an i18n ``hint`` key, never a secret.

    ``backend``, ``profile`` and ``environment`` say where it happened; ``detail`` is the original error's
    type and message (scrubbed) for the diagnostics screen.
    """

    def __init__(
        self,
        hint: str,
        *,
        backend: str = "",
        profile: str = "",
        environment: str = "",
        detail: str = "",
        **params: str,
    ) -> None:
        self.hint = hint
        self.backend = backend
        self.profile = profile
        self.environment = environment
        self.detail = detail
        self.params = params
        pairs = (("backend", backend), ("profile", profile), ("env", environment), *params.items())
        where = ", ".join(f"{key}={value}" for key, value in pairs if value)
        text = f"{hint} ({where})" if where else hint
        super().__init__(f"{text}: {detail}" if detail else text)

    def message(self) -> str:
        """The hint in the current UI language."""
        values = dict.fromkeys(HINT_PARAMS.get(self.hint, ()), "")
        values.update(backend=self.backend, profile=self.profile, environment=self.environment, **self.params)
        try:
            return i18n.t(self.hint, **values)
        except (KeyError, IndexError):
            return self.hint


class WrongMasterPassword(SecretStoreUnavailable):
    """The encrypted file exists and the master password does not open it."""


class MasterPasswordRequired(SecretStoreUnavailable):
    """An encrypted file backend was chosen but no master password source was given."""


class MasterPasswordSourceError(SecretStoreUnavailable):
    """The password file or descriptor cannot be used (unsafe mode, unreadable, empty)."""


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


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, f"<secret sha256:{fingerprint(secret)}>")
    return text


def _detail(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    return _scrub(f"{type(exc).__name__}: {exc}", secrets)[:300]


# ------------------------------------------------------------------------------------- session tokens


# -------------------------------------------------------------------------------------- memory keyring


class MemoryKeyring(KeyringBackend):
    """A dict: for tests and for "ask every session" (nothing survives the process).

    Its priority raises, so keyring's auto-discovery never picks it: it is only used when handed over
    explicitly (``Vault(MemoryKeyring())``, ``BackendChoice.MEMORY`` or ``keyring.set_keyring``).
    """

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("MemoryKeyring is only used when chosen explicitly")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def __str__(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}"

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = str(password)

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


# ---------------------------------------------------------------------------------- master password


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
        chunks = bytearray()
        try:
            while not chunks.endswith(b"\n"):
                byte = os.read(password_fd, 1)
                if not byte:
                    break
                chunks += byte
            value = _strip_newline(chunks.decode("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise MasterPasswordSourceError(
                "secrets.password_fd_unreadable", fd=str(password_fd), detail=type(exc).__name__
            ) from None
    elif password_file is not None:
        value = _read_password_file(password_file)
    else:
        assert password is not None
        value = password
    if not value.strip():
        raise MasterPasswordSourceError("secrets.master_password_empty")
    return value


def _read_password_file(path: Path) -> str:
    try:
        with open(path, "rb") as handle:  # fstat on the opened file, not a racy stat of the path
            info = os.fstat(handle.fileno())
            if os.name == "posix":
                mode = stat.S_IMODE(info.st_mode)
                if not stat.S_ISREG(info.st_mode) or mode & 0o077 or info.st_uid != os.getuid():
                    raise MasterPasswordSourceError("secrets.password_file_mode", path=str(path), mode=f"{mode:04o}")
            data = handle.read(4096)
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


# ------------------------------------------------------------------------------------ backend policy


class BackendChoice(StrEnum):
    SYSTEM = "system"  # the OS keyring
    ENCRYPTED_FILE = "encrypted-file"  # keyrings.cryptfile, master password from the caller
    PLAINTEXT_FILE = "plaintext-file"  # keyrings.alt, base64 in a 0600 file: explicit opt-in only
    ENVIRONMENT = "environment"  # PYTHON_KEYRING_BACKEND / keyringrc.cfg, what keyring loads
    MEMORY = "memory"  # tests; "ask every session"


@dataclass(frozen=True, slots=True)
class ResolvedBackend:
    """The backend to use and how it was chosen (``source``: config, env-var, keyringrc, system)."""

    keyring: KeyringBackend
    choice: BackendChoice
    source: str
    file_path: Path | None = None


def default_encrypted_file() -> Path:
    return paths.data_dir() / ENCRYPTED_FILE_NAME


def default_plaintext_file() -> Path:
    return paths.data_dir() / PLAINTEXT_FILE_NAME


def encrypted_file_exists(path: Path | None = None) -> bool:
    """Whether to ask for the master password once (unlock) or twice (create a new file)."""
    target = path or default_encrypted_file()
    return target.is_file() and target.stat().st_size > 0


class _WouldPrompt(RuntimeError):
    pass


def _is_encrypted_file_keyring(kr: object) -> bool:
    """keyrings.alt / keyrings.cryptfile encrypted files: they call getpass() when they lack a key."""
    return hasattr(type(kr), "keyring_key") and hasattr(kr, "_unlock")


def _is_cryptfile_family(kr: object) -> bool:
    """keyrings.cryptfile's encrypted keyrings, whose ``keyring_key`` setter verifies the key."""
    try:
        from keyrings.cryptfile.file import EncryptedKeyring
    except ImportError:  # pragma: no cover - a hard dependency
        return False
    return isinstance(kr, EncryptedKeyring)


def _disarm(kr: Any) -> None:
    """Make every path of an encrypted file keyring that would call getpass() raise instead.

    keyrings.cryptfile prompts in ``_get_new_password`` (new file) and in ``_unlock`` when no key is set;
    keyrings.alt's ``EncryptedKeyring`` prompts in the same two places (its ``_unlock`` always prompts).
    """

    def refuse(*_args: object) -> str:
        raise _WouldPrompt("the backend asked for a password on the terminal")

    original_unlock = kr._unlock

    def unlock() -> None:
        if getattr(kr, "_keyring_key", None) is None:
            refuse()
        original_unlock()

    kr._get_new_password = refuse
    kr._unlock = unlock


def _file_path_of(kr: KeyringBackend) -> Path | None:
    value = getattr(kr, "file_path", None)
    return Path(value) if isinstance(value, str | os.PathLike) else None


def _prepare_file(path: Path) -> None:
    """Parent directory 0700; an existing file loses group/other bits."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix" and path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)


def _unlock(kr: Any, master: str, *, choice: BackendChoice, source: str) -> ResolvedBackend:
    """Set the key of an encrypted file keyring; a wrong key is ``WrongMasterPassword``, never a prompt."""
    _disarm(kr)
    name = type(kr).__name__
    path = _file_path_of(kr)
    lock = filelock.FileLock(f"{path}.lock", timeout=FILE_LOCK_TIMEOUT) if path else nullcontext()
    master = _Redacted(master)
    try:
        with lock:
            kr.keyring_key = master
    except (ValueError, AssertionError):
        # cryptfile: the reference entry fails its GCM tag -> ValueError("MAC check failed");
        # its PBKDF2 sibling: the decrypted reference differs -> ValueError("Incorrect Password").
        failure: SecretStoreUnavailable = WrongMasterPassword(
            "secrets.wrong_master_password", backend=name, path=str(path or "")
        )
    except filelock.Timeout:
        failure = SecretStoreUnavailable("secrets.busy", backend=name)
    except _WouldPrompt:
        failure = MasterPasswordRequired("secrets.master_password_required", backend=name)
    except Exception as exc:
        failure = SecretStoreUnavailable("secrets.backend_error", backend=name, detail=_detail(exc, (master,)))
    else:
        return ResolvedBackend(kr, choice, source, path)
    kr._keyring_key = None  # a rejected key must not linger in the instance
    raise failure


def _encrypted_file(path: Path, master: str, source: str) -> ResolvedBackend:
    try:
        from keyrings.cryptfile.cryptfile import CryptFileKeyring
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise SecretStoreUnavailable("secrets.backend_error", backend="CryptFileKeyring", detail=_detail(exc)) from None
    _prepare_file(path)
    kr = CryptFileKeyring()
    kr.file_path = str(path)
    return _unlock(kr, master, choice=BackendChoice.ENCRYPTED_FILE, source=source)


def _plaintext_file(path: Path, source: str) -> ResolvedBackend:
    from keyrings.alt.file import PlaintextKeyring

    _prepare_file(path)
    kr = PlaintextKeyring()
    kr.file_path = str(path)
    return ResolvedBackend(kr, BackendChoice.PLAINTEXT_FILE, source, path)


def _run_with_timeout(fn: Callable[[], T], timeout: float | None) -> T:
    """Run ``fn`` in a daemon thread (never joined at exit, so a hung DBus cannot block shutdown)."""
    if timeout is None:
        return fn()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=target, name="ksef-tui-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError
    if failure:
        raise failure[0]
    return outcome[0]


def _load_system_modules() -> None:
    """Import keyring's backend plugins (as keyring itself does) so their classes are registered."""
    for ep in entry_points(group="keyring.backends"):
        if ep.value.split(":")[0].startswith(_SYSTEM_BACKENDS):
            try:
                importlib.import_module(ep.value.split(":")[0])
            except Exception:
                continue  # a broken plugin is simply not a candidate
    for module in _SYSTEM_BACKENDS:
        try:
            importlib.import_module(module)
        except Exception:
            continue  # not on this platform


def _system_classes() -> list[type[KeyringBackend]]:
    _load_system_modules()
    classes: set[type[KeyringBackend]] = getattr(KeyringBackend, "_classes", set())
    return sorted(
        (c for c in classes if c.__module__.startswith(_SYSTEM_BACKENDS)),
        key=lambda c: f"{c.__module__}.{c.__qualname__}",
    )


def _probe_one(cls: type[KeyringBackend]) -> BackendProbe:
    name = f"{cls.__module__}.{cls.__qualname__}"
    try:
        priority = float(cls.priority)
    except Exception as exc:  # RuntimeError by contract; InitError, OSError, DBus errors in practice
        return BackendProbe(name, False, None, _detail(exc))
    if priority <= 0:
        return BackendProbe(name, False, priority, "priority <= 0")
    return BackendProbe(name, True, priority, "")


def probe_system_backends(timeout: float = DEFAULT_PROBE_TIMEOUT) -> tuple[BackendProbe, ...]:
    """Which OS keyrings are usable here, each probed with a time limit (DBus may hang on a broken box)."""
    probes: list[BackendProbe] = []
    for cls in _system_classes():
        name = f"{cls.__module__}.{cls.__qualname__}"
        try:
            probes.append(_run_with_timeout(functools.partial(_probe_one, cls), timeout))
        except TimeoutError:
            probes.append(BackendProbe(name, False, None, f"no answer within {timeout:g} s"))
    return tuple(probes)


def _verify(kr: KeyringBackend) -> None:
    """One harmless read: an OS keyring that is locked, or whose DBus half-works, fails here, not later."""
    kr.get_password(SERVICE_PREFIX + "probe", "probe")


def _system(probe_timeout: float, source: str) -> ResolvedBackend:
    """The best OS keyring that answers within ``probe_timeout``; otherwise ``NoSecretStorage``."""
    probes = list(probe_system_backends(probe_timeout))
    classes = {f"{c.__module__}.{c.__qualname__}": c for c in _system_classes()}
    for index, probe in sorted(enumerate(probes), key=lambda item: -(item[1].priority or 0.0)):
        if not probe.available or probe.backend not in classes:
            continue
        try:
            kr = _run_with_timeout(classes[probe.backend], probe_timeout)
            _run_with_timeout(functools.partial(_verify, kr), probe_timeout)
        except TimeoutError:
            probes[index] = BackendProbe(probe.backend, False, probe.priority, f"no answer within {probe_timeout:g} s")
        except Exception as exc:  # InitError, KeyringLocked, RuntimeError, DBus errors
            probes[index] = BackendProbe(probe.backend, False, probe.priority, _detail(exc))
        else:
            return ResolvedBackend(kr, BackendChoice.SYSTEM, source)
    raise NoSecretStorage(tuple(probes))


def _keyring_configured() -> tuple[str, str] | None:
    """(source, backend name) if keyring's own configuration names a backend."""
    name = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()
    if name:
        return "env-var", name
    path = Path(keyring_platform.config_root()) / "keyringrc.cfg"
    if path.is_file():
        config = configparser.RawConfigParser()
        try:
            config.read(path, encoding="utf-8")
            if config.has_option("backend", "default-keyring"):
                return "keyringrc", config.get("backend", "default-keyring").strip()
        except (configparser.Error, OSError, UnicodeDecodeError):
            return "keyringrc", str(path)
    return None


def _environment(source: str, name: str, master: Callable[[], str]) -> ResolvedBackend:
    try:
        kr = keyring.core.load_env() if source == "env-var" else keyring.core.load_config()
    except Exception as exc:
        raise SecretStoreUnavailable(
            "secrets.configured_backend_unavailable", backend=name, source=source, detail=_detail(exc)
        ) from None
    if kr is None:
        raise SecretStoreUnavailable("secrets.configured_backend_unavailable", backend=name, source=source)
    if isinstance(kr, keyring_fail.Keyring):
        raise NoSecretStorage(backend=name)
    if isinstance(kr, keyring_chainer.ChainerBackend) and any(
        _is_encrypted_file_keyring(member) for member in kr.backends
    ):
        raise SecretStoreUnavailable("secrets.would_prompt", backend=name, source=source)
    if _is_cryptfile_family(kr):
        path = _file_path_of(kr)
        if path is not None:
            _prepare_file(path)
        return _unlock(kr, master(), choice=BackendChoice.ENVIRONMENT, source=source)
    if _is_encrypted_file_keyring(kr):  # keyrings.alt's: cannot be keyed without its own prompt
        raise SecretStoreUnavailable("secrets.would_prompt", backend=name, source=source)
    return ResolvedBackend(kr, BackendChoice.ENVIRONMENT, source, _file_path_of(kr))


def resolve_backend(
    choice: BackendChoice | None = None,
    *,
    password: str | None = None,
    password_fd: int | None = None,
    password_file: Path | None = None,
    file_path: Path | None = None,
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
) -> ResolvedBackend:
    """Pick the backend: explicit ``choice`` > keyring's env var/keyringrc > OS keyring > ``NoSecretStorage``.

    The master password (``password`` / ``password_fd`` / ``password_file``) is read only when an encrypted
    file is used. ``file_path`` overrides the default file of ENCRYPTED_FILE / PLAINTEXT_FILE. Blocking: an
    encrypted file costs one Argon2 derivation (about half a second); run it in a thread worker.
    """

    if password is not None:
        password = _Redacted(password)  # this frame's locals may end up in a traceback with locals

    def master() -> str:
        return _Redacted(read_master_password(password=password, password_fd=password_fd, password_file=password_file))

    if choice is BackendChoice.MEMORY:
        return ResolvedBackend(MemoryKeyring(), choice, "config")
    if choice is BackendChoice.ENCRYPTED_FILE:
        return _encrypted_file(file_path or default_encrypted_file(), master(), "config")
    if choice is BackendChoice.PLAINTEXT_FILE:
        return _plaintext_file(file_path or default_plaintext_file(), "config")
    if choice is BackendChoice.SYSTEM:
        return _system(probe_timeout, "config")
    configured = _keyring_configured()
    if choice is BackendChoice.ENVIRONMENT and configured is None:
        raise SecretStoreUnavailable("secrets.environment_unset")
    if configured is not None:
        return _environment(*configured, master)
    return _system(probe_timeout, "system")


# ---------------------------------------------------------------------------------------------- vault


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
        if isinstance(exc, TimeoutError):
            return SecretStoreUnavailable("secrets.timeout", **where)
        if isinstance(exc, filelock.Timeout):
            return SecretStoreUnavailable("secrets.busy", **where)
        if isinstance(exc, _WouldPrompt | EOFError):
            return MasterPasswordRequired("secrets.master_password_required", **where)
        if isinstance(exc, KeyringLocked):
            return SecretStoreUnavailable("secrets.locked", detail=_detail(exc, secrets), **where)
        if isinstance(exc, NoKeyringError):
            return NoSecretStorage(backend=where["backend"], detail=_detail(exc, secrets))
        if isinstance(exc, ValueError) and _is_encrypted_file_keyring(self._keyring):
            return SecretStoreUnavailable("secrets.entry_unreadable", **where)  # fails its GCM tag
        return SecretStoreUnavailable("secrets.backend_error", detail=_detail(exc, secrets), **where)

    def _get(self, environment: str, username: str, profile: str) -> str | None:
        service = service_name(environment)
        value = self._call(
            lambda: self._keyring.get_password(service, username), environment=environment, profile=profile
        )
        return None if value is None else str(value)

    def _set(self, environment: str, username: str, profile: str, secret: str) -> None:
        service = service_name(environment)
        secret = _Redacted(secret)
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
        token = _Redacted(token)
        if not token:
            raise ValueError("vault: empty token")
        self._set(environment, _username(profile), profile, token)

    def delete_token(self, environment: str, profile: str) -> bool:
        """True if a token was there."""
        return self._delete(environment, _username(profile), profile)

    # --- session tokens

    def get_session(self, environment: str, profile: str) -> SessionTokens | None:
        blob = self._get(environment, _username(profile, session=True), profile)
        if blob is None:
            return None
        try:
            return SessionTokens.from_json(blob)
        except ValueError as exc:
            raise SecretStoreUnavailable(
                "secrets.session_corrupt",
                backend=type(self._keyring).__name__,
                profile=profile,
                environment=environment,
                detail=str(exc),
            ) from None

    def set_session(self, environment: str, profile: str, tokens: SessionTokens) -> None:
        blob = _Redacted(tokens.to_json())
        self._set(environment, _username(profile, session=True), profile, blob)

    def delete_session(self, environment: str, profile: str) -> bool:
        return self._delete(environment, _username(profile, session=True), profile)

    # --- async wrappers (asyncio.to_thread)

    async def aget_token(self, environment: str, profile: str) -> str | None:
        return await asyncio.to_thread(self.get_token, environment, profile)

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
