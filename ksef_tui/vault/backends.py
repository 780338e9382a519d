"""The keyring backend policy: which backend holds the secrets, chosen explicitly, never by surprise.

``resolve_backend``, first match wins:

1. the explicit choice from our config (``BackendChoice``);
2. keyring's own configuration: ``PYTHON_KEYRING_BACKEND`` or ``keyringrc.cfg``;
3. the OS keyring (Secret Service, KWallet, libsecret, macOS, Windows) if one is viable, probed in a
   daemon thread with a time limit so an SSH box without DBus answers "no" quickly;
4. otherwise ``NoSecretStorage`` with the options the UI/CLI can offer (encrypted file, plaintext file
   by explicit opt-in, or keep nothing and ask every session).

keyring's auto-selection is never used: with keyrings.alt/keyrings.cryptfile installed it picks a chainer
whose encrypted member calls ``getpass()`` on the terminal, which would fight the TUI for it. Every
encrypted-file backend we hand out is "disarmed": a path that would prompt raises instead.
"""

from __future__ import annotations

import configparser
import functools
import importlib
import os
import stat
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

import filelock
import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends import chainer as keyring_chainer
from keyring.backends import fail as keyring_fail
from keyring.compat import properties
from keyring.errors import PasswordDeleteError
from keyring.util import platform_ as keyring_platform

from ksef_tui import paths
from ksef_tui.domain.profile import BackendChoice
from ksef_tui.vault.errors import (
    BackendProbe,
    MasterPasswordRequired,
    NoSecretStorage,
    SecretStoreUnavailable,
    VaultFileError,
    WrongMasterPassword,
)
from ksef_tui.vault.master import read_master_password
from ksef_tui.vault.redact import Redacted, detail

__all__ = [
    "DEFAULT_PROBE_TIMEOUT",
    "DEFAULT_SYSTEM_TIMEOUT",
    "ENCRYPTED_FILE_NAME",
    "FILE_LOCK_TIMEOUT",
    "PLAINTEXT_FILE_NAME",
    "SERVICE_PREFIX",
    "BackendChoice",
    "MemoryKeyring",
    "ResolvedBackend",
    "default_encrypted_file",
    "default_plaintext_file",
    "encrypted_file_exists",
    "probe_system_backends",
    "resolve_backend",
]

SERVICE_PREFIX = "ksef-tui/"
ENCRYPTED_FILE_NAME = "secrets.cryptfile.cfg"
PLAINTEXT_FILE_NAME = "secrets.plaintext.cfg"
DEFAULT_PROBE_TIMEOUT = 5.0
DEFAULT_SYSTEM_TIMEOUT = 30.0
FILE_LOCK_TIMEOUT = 10.0

# The OS keyrings shipped with keyring itself; third-party backends are reachable through ENVIRONMENT.
_SYSTEM_BACKENDS = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)

T = TypeVar("T")


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
    try:
        return target.is_file() and target.stat().st_size > 0
    except OSError as exc:  # a folder we may not enter: say which, not "no file"
        raise VaultFileError(exc.filename or target, exc, file=target) from None


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
    """Parent directory 0700; an existing file loses group/other bits. A folder or file we may not create or
    change is a ``VaultFileError`` naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix" and path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(0o600)
    except OSError as exc:
        raise VaultFileError(exc.filename or path, exc, file=path) from None


def _unlock(kr: Any, master: str, *, choice: BackendChoice, source: str) -> ResolvedBackend:
    """Set the key of an encrypted file keyring; a wrong key is ``WrongMasterPassword``, never a prompt."""
    _disarm(kr)
    name = type(kr).__name__
    path = _file_path_of(kr)
    lock = filelock.FileLock(f"{path}.lock", timeout=FILE_LOCK_TIMEOUT) if path else nullcontext()
    master = Redacted(master)
    try:
        with lock:
            kr.keyring_key = master
    except (ValueError, AssertionError):
        # cryptfile: the reference entry fails its GCM tag -> ValueError("MAC check failed");
        # its PBKDF2 sibling: the decrypted reference differs -> ValueError("Incorrect Password").
        failure: SecretStoreUnavailable = WrongMasterPassword(
            "secrets.wrong_master_password", backend=name, path=str(path or "")
        )
    except filelock.Timeout:  # before OSError: it is a TimeoutError
        failure = SecretStoreUnavailable("secrets.busy", backend=name)
    except _WouldPrompt:
        failure = MasterPasswordRequired("secrets.master_password_required", backend=name)
    except OSError as exc:  # the lock or a new file in a read-only folder, a read-only file, a full disk
        failure = VaultFileError(exc.filename or path or "?", exc, file=path, backend=name)
    except Exception as exc:
        failure = SecretStoreUnavailable("secrets.backend_error", backend=name, detail=detail(exc, (master,)))
    else:
        return ResolvedBackend(kr, choice, source, path)
    kr._keyring_key = None  # a rejected key must not linger in the instance
    raise failure


def _encrypted_file(path: Path, master: str, source: str) -> ResolvedBackend:
    try:
        from keyrings.cryptfile.cryptfile import CryptFileKeyring
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise SecretStoreUnavailable("secrets.backend_error", backend="CryptFileKeyring", detail=detail(exc)) from None
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
        return BackendProbe(name, False, None, detail(exc))
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
            probes[index] = BackendProbe(probe.backend, False, probe.priority, detail(exc))
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
            "secrets.configured_backend_unavailable", backend=name, source=source, detail=detail(exc)
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
        password = Redacted(password)  # this frame's locals may end up in a traceback with locals

    def master() -> str:
        return Redacted(read_master_password(password=password, password_fd=password_fd, password_file=password_file))

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
