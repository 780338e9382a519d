"""The vault and the keyring backend policy: real backends in tmp_path, no network, no terminal prompt ever."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from keyring.backend import KeyringBackend
from keyring.backends import fail as keyring_fail
from keyring.errors import InitError, KeyringLocked, PasswordSetError

from ksef_tui import i18n
from ksef_tui import vault as sec
from ksef_tui.errors import Category, UserError, report
from ksef_tui.vault import (
    BackendChoice,
    BackendProbe,
    MasterPasswordRequired,
    MasterPasswordSourceError,
    MemoryKeyring,
    NoSecretStorage,
    SecretStoreUnavailable,
    SessionTokens,
    StorageOption,
    Vault,
    WrongMasterPassword,
    backends,
    fingerprint,
    read_master_password,
    resolve_backend,
    service_name,
)
from ksef_tui.vault.redact import Redacted

from .support import files_under, make_session, make_token, scan

ENVS = ("test", "demo", "prod", "custom:ksef.example.com:8443")


# ----------------------------------------------------------------------------------------- basics


def test_fingerprint_is_the_first_8_hex_of_sha256() -> None:
    assert fingerprint("abc") == "ba7816bf"
    token = make_token()
    assert len(fingerprint(token)) == 8
    assert fingerprint(token) != fingerprint(make_token())
    assert fingerprint(token) not in token


def test_service_name_per_environment() -> None:
    assert [service_name(env) for env in ENVS] == [
        "ksef-tui/test",
        "ksef-tui/demo",
        "ksef-tui/prod",
        "ksef-tui/custom:ksef.example.com:8443",
    ]
    with pytest.raises(ValueError):
        service_name("")
    with pytest.raises(ValueError):
        service_name("te st")


def test_token_round_trip_in_memory(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    token = make_token()
    assert vault.get_token("test", "acme") is None
    vault.set_token("test", "acme", token)
    assert vault.get_token("test", "acme") == token
    assert isolated.store == {("ksef-tui/test", "acme"): token}
    assert vault.delete_token("test", "acme") is True
    assert vault.get_token("test", "acme") is None
    assert vault.delete_token("test", "acme") is False


def test_environments_never_collide(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    tokens = {env: make_token() for env in ENVS}
    for env, token in tokens.items():
        vault.set_token(env, "acme", token)
    for env, token in tokens.items():
        assert vault.get_token(env, "acme") == token
    vault.delete_token("prod", "acme")
    assert vault.get_token("prod", "acme") is None
    assert vault.get_token("test", "acme") == tokens["test"]
    assert vault.get_token("demo", "acme") == tokens["demo"]


def test_session_round_trip_beside_the_token(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    token, session = make_token(), make_session()
    vault.set_token("demo", "acme", token)
    assert vault.get_session("demo", "acme") is None
    vault.set_session("demo", "acme", session)
    assert vault.get_session("demo", "acme") == session
    assert vault.get_token("demo", "acme") == token
    blob = json.loads(isolated.store[("ksef-tui/demo", "acme#session")])
    assert blob["reference_number"] == session.reference_number
    assert blob["access_token"] == session.access_token
    assert vault.get_session("test", "acme") is None
    assert vault.delete_session("demo", "acme") is True
    assert vault.get_session("demo", "acme") is None
    assert vault.get_token("demo", "acme") == token


def test_profile_names_that_could_collide_are_refused(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    for bad in ("", "acme#session", "a b", "a\nb"):
        with pytest.raises(ValueError):
            vault.set_token("test", bad, make_token())
    with pytest.raises(ValueError):
        vault.set_token("test", "acme", "")


def test_session_tokens_repr_and_errors_never_show_the_tokens() -> None:
    session = make_session()
    text = repr(session)
    assert session.access_token not in text
    assert session.refresh_token not in text
    assert fingerprint(session.access_token) in text
    assert session.reference_number in text
    blob = session.to_json()
    for broken in (blob[:-1], blob.replace('"v":1', '"v":9'), blob.replace("+00:00", "")):
        with pytest.raises(ValueError) as info:
            SessionTokens.from_json(broken)
        assert session.access_token not in str(info.value)
        assert session.refresh_token not in str(info.value)


def test_session_validity() -> None:
    session = make_session()
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert session.access_valid(now)
    assert not session.access_valid(now + timedelta(minutes=14, seconds=30))
    assert session.refresh_valid(now + timedelta(days=6))
    with pytest.raises(ValueError):
        SessionTokens("a", datetime(2026, 1, 1), "r", now, "ref")  # a naive instant


@given(
    access=st.text(min_size=1, max_size=200),
    refresh=st.text(min_size=1, max_size=200),
    reference=st.text(max_size=50),
    seconds=st.integers(min_value=0, max_value=10**9),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_session_json_round_trip(access: str, refresh: str, reference: str, seconds: int, offset: int) -> None:
    zone = timezone(timedelta(minutes=offset))
    start = datetime(2000, 1, 1, tzinfo=UTC).astimezone(zone) + timedelta(seconds=seconds)
    tokens = SessionTokens(access, start, refresh, start + timedelta(days=7), reference)
    assert SessionTokens.from_json(tokens.to_json()) == tokens


def test_corrupt_session_blob_is_a_clear_error(isolated: MemoryKeyring) -> None:
    isolated.store[("ksef-tui/test", "acme#session")] = "not json at all"
    with pytest.raises(SecretStoreUnavailable) as info:
        Vault(isolated).get_session("test", "acme")
    assert info.value.key == "secrets.session_corrupt"
    assert "not json at all" not in str(info.value)


async def test_async_wrappers(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    token, session = make_token(), make_session()
    await vault.aset_token("prod", "acme", token)
    await vault.aset_session("prod", "acme", session)
    assert await vault.aget_token("prod", "acme") == token
    assert await vault.aget_session("prod", "acme") == session
    assert await vault.adelete_token("prod", "acme") is True
    assert await vault.adelete_session("prod", "acme") is True
    assert await vault.aget_token("prod", "acme") is None
    assert await vault.aget_session("prod", "acme") is None


# ---------------------------------------------------------------------------------- error mapping


class _BrokenKeyring(MemoryKeyring):
    """Raises the given error, quoting the password in its message the way a careless backend might."""

    def __init__(self, error: type[Exception]) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error("cannot read")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error(f"cannot store {password}")


class _SlowKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3)
        return None


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (KeyringLocked, "secrets.locked"),
        (PasswordSetError, "secrets.backend_error"),
        (RuntimeError, "secrets.backend_error"),
        (OSError, "secrets.backend_error"),
    ],
)
def test_every_keyring_error_becomes_secret_store_unavailable(error: type[Exception], hint: str) -> None:
    vault = Vault(_BrokenKeyring(error))
    token = make_token()
    with pytest.raises(SecretStoreUnavailable) as info:
        vault.set_token("prod", "acme", token)
    exc = info.value
    assert exc.key == hint
    assert (exc.profile, exc.environment, exc.backend) == ("acme", "prod", "_BrokenKeyring")
    assert token not in str(exc)
    assert token not in exc.detail
    assert token not in exc.message()
    assert exc.__cause__ is None
    assert exc.__context__ is None
    frames = []
    tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # skip this test's own frame
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    assert frames, "the error should come from inside the vault"
    for frame in frames:  # what a traceback with locals (Textual's crash screen) would print
        for name, value in frame.f_locals.items():
            assert token not in repr(value), (frame.f_code.co_name, name)
    with pytest.raises(SecretStoreUnavailable):
        vault.get_token("prod", "acme")


def test_fail_keyring_is_no_secret_storage() -> None:
    with pytest.raises(NoSecretStorage) as info:
        Vault(keyring_fail.Keyring()).get_token("test", "acme")  # type: ignore[no-untyped-call]
    assert info.value.options == (
        StorageOption.ENCRYPTED_FILE,
        StorageOption.PLAINTEXT_FILE,
        StorageOption.ASK_EVERY_SESSION,
    )


def test_a_hanging_backend_times_out() -> None:
    vault = Vault(_SlowKeyring(), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(SecretStoreUnavailable) as info:
        vault.get_token("test", "acme")
    assert info.value.key == "secrets.timeout"
    assert time.monotonic() - started < 2


def test_every_hint_is_declared_and_renders() -> None:
    package = Path(sec.__file__).parent
    source = "\n".join(path.read_text(encoding="utf-8") for path in sorted(package.glob("*.py")))
    used = set(re.findall(r'"(secrets\.[a-z_]+)"', source))
    assert {"secrets.session_corrupt", "secrets.file_access", "secrets.no_storage"} <= used  # the scan reads them all
    assert used <= set(sec.HINT_PARAMS)
    assert {option.label_key for option in StorageOption} <= set(sec.HINT_PARAMS)
    exc = WrongMasterPassword("secrets.wrong_master_password", backend="CryptFileKeyring", path="/x")
    assert isinstance(exc.message(), str)
    assert str(exc) == "secrets.wrong_master_password (backend=CryptFileKeyring, path=/x)"


def test_hint_texts_in_both_catalogs() -> None:
    for key, extra in sec.HINT_PARAMS.items():
        allowed = {"backend", "profile", "environment", *extra}
        for catalog in (i18n.PL, i18n.EN):
            assert key in catalog, key
            assert set(re.findall(r"{(\w+)}", catalog[key])) <= allowed, key


# ------------------------------------------------------------------------------- master password


def test_redacted_secret_shows_only_its_fingerprint() -> None:
    secret = Redacted("abc")
    assert repr(secret) == "<secret sha256:ba7816bf>"
    assert secret == "abc"
    assert f"{secret}" == "abc"
    assert type(str(secret)) is str


def test_wrong_master_password_leaves_no_password_in_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "v.cfg"
    resolve_backend(BackendChoice.ENCRYPTED_FILE, password="right-master", file_path=path)
    with pytest.raises(WrongMasterPassword) as info:
        resolve_backend(BackendChoice.ENCRYPTED_FILE, password="wrong-master", file_path=path)
    assert info.value.__context__ is None
    tb = info.value.__traceback__.tb_next if info.value.__traceback__ else None
    while tb is not None:
        for name, value in tb.tb_frame.f_locals.items():
            assert "wrong-master" not in repr(value), (tb.tb_frame.f_code.co_name, name)
        tb = tb.tb_next


def test_master_password_from_each_source(tmp_path: Path) -> None:
    assert read_master_password(password="hunter2") == "hunter2"
    read_end, write_end = os.pipe()
    os.write(write_end, b"from fd\nignored rest")
    os.close(write_end)
    try:
        assert read_master_password(password_fd=read_end) == "from fd"
    finally:
        os.close(read_end)
    path = tmp_path / "master"
    path.write_bytes(b"from file\n\n")
    path.chmod(0o600)
    assert read_master_password(password_file=path) == "from file\n"
    path.write_bytes(b"crlf\r\n")
    assert read_master_password(password_file=path) == "crlf"


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master"
    path.write_text("secret-master\n")
    path.chmod(0o644)
    with pytest.raises(MasterPasswordSourceError) as info:
        read_master_password(password_file=path)
    assert info.value.key == "secrets.password_file_mode"
    assert info.value.params["mode"] == "0644"
    assert "secret-master" not in str(info.value)


def test_master_password_missing_empty_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(MasterPasswordRequired):
        read_master_password()
    with pytest.raises(MasterPasswordSourceError):
        read_master_password(password="   ")
    with pytest.raises(MasterPasswordSourceError) as info:
        read_master_password(password_file=tmp_path / "missing")
    assert info.value.key == "secrets.password_file_unreadable"
    with pytest.raises(ValueError):
        read_master_password(password="a", password_file=tmp_path / "x")


# --------------------------------------------------------------------------- encrypted file backend


def test_encrypted_file_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "secrets.cfg"
    token = make_token()
    vault = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="correct horse", file_path=path))
    vault.set_token("prod", "acme", token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    description = vault.describe()
    assert description.backend == "keyrings.cryptfile.cryptfile.CryptFileKeyring"
    assert description.file_path == path
    assert description.choice is BackendChoice.ENCRYPTED_FILE

    master = tmp_path / "master.txt"
    master.write_text("correct horse\n")
    master.chmod(0o600)
    again = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password_file=master, file_path=path))
    assert again.get_token("prod", "acme") == token

    with pytest.raises(WrongMasterPassword) as info:
        resolve_backend(BackendChoice.ENCRYPTED_FILE, password="wrong horse", file_path=path)
    assert "wrong horse" not in str(info.value)
    assert info.value.key == "secrets.wrong_master_password"

    raw = path.read_bytes()
    assert token.encode() not in raw
    assert base64.b64encode(token.encode()) not in raw
    assert token.split("|")[2].encode() not in raw


def test_encrypted_file_default_path_and_default_name(tmp_path: Path) -> None:
    resolved = resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw")
    assert resolved.file_path == tmp_path / "data" / "ksef-tui" / sec.ENCRYPTED_FILE_NAME
    assert resolved.file_path.is_file()


def test_encrypted_file_without_password_never_prompts(tmp_path: Path) -> None:
    with pytest.raises(MasterPasswordRequired):
        resolve_backend(BackendChoice.ENCRYPTED_FILE, file_path=tmp_path / "v.cfg")
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    bare = CryptFileKeyring()
    bare.file_path = str(tmp_path / "bare.cfg")
    vault = Vault(bare)
    assert vault.get_token("test", "acme") is None  # no file yet: nothing to decrypt, no key needed
    with pytest.raises(MasterPasswordRequired):  # creating the file would ask for a new password
        vault.set_token("test", "acme", make_token())
    assert not (tmp_path / "bare.cfg").exists()

    Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=tmp_path / "bare.cfg")).set_token(
        "test", "acme", make_token()
    )
    locked = CryptFileKeyring()
    locked.file_path = str(tmp_path / "bare.cfg")
    with pytest.raises(MasterPasswordRequired):  # an existing file would ask to be unlocked
        Vault(locked).get_token("test", "acme")


def test_keyrings_alt_encrypted_keyring_never_prompts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from keyrings.alt.file import EncryptedKeyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.EncryptedKeyring")
    with pytest.raises(SecretStoreUnavailable) as info:
        resolve_backend(password="pw")
    assert info.value.key == "secrets.would_prompt"
    alt = EncryptedKeyring()
    alt.file_path = str(tmp_path / "alt.cfg")
    with pytest.raises(MasterPasswordRequired):
        Vault(alt).set_token("test", "acme", make_token())


def test_encrypted_file_exists(tmp_path: Path) -> None:
    path = tmp_path / "v.cfg"
    assert not sec.encrypted_file_exists(path)
    resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=path)
    assert sec.encrypted_file_exists(path)
    assert not sec.encrypted_file_exists()


# ---------------------------------------------------------------------------------- policy / resolve


def test_no_dbus_means_no_secret_storage_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(NoSecretStorage) as info:
        resolve_backend()
    assert time.monotonic() - started < 5
    exc = info.value
    assert set(exc.options) == {
        StorageOption.ENCRYPTED_FILE,
        StorageOption.PLAINTEXT_FILE,
        StorageOption.ASK_EVERY_SESSION,
    }
    assert exc.key == "secrets.no_storage"
    by_name = {probe.backend: probe for probe in exc.probes}
    secret_service = by_name["keyring.backends.SecretService.Keyring"]
    assert not secret_service.available
    assert secret_service.reason


def test_dead_dbus_address_means_no_secret_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    started = time.monotonic()
    with pytest.raises(NoSecretStorage):
        resolve_backend(BackendChoice.SYSTEM)
    assert time.monotonic() - started < 5


def test_auto_never_picks_a_file_backend_or_the_chainer() -> None:
    """keyrings.alt and keyrings.cryptfile are installed and viable, yet resolve refuses them without a choice."""
    with pytest.raises(NoSecretStorage) as info:
        resolve_backend()
    names = {probe.backend for probe in info.value.probes}
    assert not any(
        name.startswith(("keyrings.", "keyring.backends.chainer", "keyring.backends.fail")) for name in names
    )


class _HangingMeta(type):
    @property
    def priority(cls) -> float:
        time.sleep(3)
        return 5.0


class _HangingBackend(metaclass=_HangingMeta):
    pass


def test_a_hanging_probe_is_reported_as_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_system_classes", lambda: [_HangingBackend])
    started = time.monotonic()
    with pytest.raises(NoSecretStorage) as info:
        resolve_backend(probe_timeout=0.2)
    assert time.monotonic() - started < 2
    (probe,) = info.value.probes
    assert probe == BackendProbe(f"{__name__}._HangingBackend", False, None, "no answer within 0.2 s")


@pytest.fixture
def registry() -> Iterator[None]:
    """Backend classes defined in a test leave keyring's class registry as they found it."""
    classes: set[type[KeyringBackend]] = KeyringBackend._classes
    saved = set(classes)
    yield
    classes.intersection_update(saved)


class _FakeOs(MemoryKeyring):
    priority = 5


class _LockedOs(MemoryKeyring):
    """Viable by priority (DBus answers) but its collection is locked: the probe read fails."""

    priority = 9

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")


class _BrokenInitOs(MemoryKeyring):
    priority = 8

    def get_password(self, service: str, username: str) -> str | None:
        raise InitError("Failed to create the collection")


class _HangingOs(MemoryKeyring):
    priority = 7

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3)
        return None


def test_a_viable_system_backend_is_chosen(monkeypatch: pytest.MonkeyPatch, registry: None) -> None:
    monkeypatch.setattr(backends, "_system_classes", lambda: [MemoryKeyring, _FakeOs])
    resolved = resolve_backend()
    assert isinstance(resolved.keyring, _FakeOs)
    assert (resolved.choice, resolved.source) == (BackendChoice.SYSTEM, "system")
    vault = Vault(resolved)
    token = make_token()
    vault.set_token("test", "acme", token)
    assert vault.get_token("test", "acme") == token
    assert vault._timeout == sec.DEFAULT_SYSTEM_TIMEOUT


def test_locked_or_broken_os_keyrings_are_skipped(monkeypatch: pytest.MonkeyPatch, registry: None) -> None:
    monkeypatch.setattr(backends, "_system_classes", lambda: [_LockedOs, _BrokenInitOs, _HangingOs, _FakeOs])
    started = time.monotonic()
    resolved = resolve_backend(BackendChoice.SYSTEM, probe_timeout=0.2)
    assert time.monotonic() - started < 2
    assert isinstance(resolved.keyring, _FakeOs)
    assert resolved.source == "config"


def test_only_locked_or_broken_os_keyrings_means_no_secret_storage(
    monkeypatch: pytest.MonkeyPatch, registry: None
) -> None:
    monkeypatch.setattr(backends, "_system_classes", lambda: [_LockedOs, _BrokenInitOs, _HangingOs])
    with pytest.raises(NoSecretStorage) as info:
        resolve_backend(probe_timeout=0.2)
    reasons = {probe.backend.rsplit(".", 1)[1]: probe.reason for probe in info.value.probes}
    assert reasons["_LockedOs"].startswith("KeyringLocked")
    assert reasons["_BrokenInitOs"].startswith("InitError")
    assert reasons["_HangingOs"] == "no answer within 0.2 s"
    assert not any(probe.available for probe in info.value.probes)


def test_python_keyring_backend_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    resolved = resolve_backend()
    assert (resolved.choice, resolved.source) == (BackendChoice.ENVIRONMENT, "env-var")
    vault = Vault(resolved)
    assert vault.describe().backend == "keyring.backends.null.Keyring"
    vault.set_token("test", "acme", make_token())
    assert vault.get_token("test", "acme") is None


def test_keyringrc_is_honoured_and_the_env_var_beats_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rc = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
    rc.parent.mkdir(parents=True)
    rc.write_text("[backend]\ndefault-keyring=keyring.backends.null.Keyring\n")
    resolved = resolve_backend()
    assert (resolved.choice, resolved.source) == (BackendChoice.ENVIRONMENT, "keyringrc")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    assert type(resolve_backend().keyring).__name__ == "PlaintextKeyring"
    assert resolve_backend(BackendChoice.ENVIRONMENT).source == "env-var"


def test_explicit_choice_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    resolved = resolve_backend(BackendChoice.MEMORY)
    assert isinstance(resolved.keyring, MemoryKeyring)
    assert resolved.source == "config"


def test_environment_choice_without_configuration_says_so() -> None:
    with pytest.raises(SecretStoreUnavailable) as info:
        resolve_backend(BackendChoice.ENVIRONMENT)
    assert info.value.key == "secrets.environment_unset"


@pytest.mark.parametrize(
    ("name", "error", "hint"),
    [
        ("keyring.backends.fail.Keyring", NoSecretStorage, "secrets.no_storage"),
        ("no.such.module.Keyring", SecretStoreUnavailable, "secrets.configured_backend_unavailable"),
        ("keyring.backends.SecretService.Keyring", SecretStoreUnavailable, "secrets.configured_backend_unavailable"),
        ("keyring.backends.chainer.ChainerBackend", SecretStoreUnavailable, "secrets.would_prompt"),
    ],
)
def test_environment_backends_that_cannot_work(
    monkeypatch: pytest.MonkeyPatch, name: str, error: type[Exception], hint: str
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
    with pytest.raises(error) as info:
        resolve_backend()
    assert isinstance(info.value, SecretStoreUnavailable)
    assert info.value.key == hint


def test_environment_cryptfile_needs_our_password_and_never_prompts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.cryptfile.cryptfile.CryptFileKeyring")
    with pytest.raises(MasterPasswordRequired):
        resolve_backend()
    resolved = resolve_backend(password="pw")
    assert resolved.choice is BackendChoice.ENVIRONMENT
    assert resolved.file_path == tmp_path / "data" / "python_keyring" / "cryptfile_pass.cfg"
    token = make_token()
    Vault(resolved).set_token("test", "acme", token)
    assert token.encode() not in resolved.file_path.read_bytes()


# ---------------------------------------------------------------------------------- plaintext file


def test_plaintext_only_when_chosen_and_0600(tmp_path: Path) -> None:
    with pytest.raises(NoSecretStorage):
        resolve_backend()
    assert not sec.default_plaintext_file().exists()
    resolved = resolve_backend(BackendChoice.PLAINTEXT_FILE)
    assert resolved.file_path == tmp_path / "data" / "ksef-tui" / sec.PLAINTEXT_FILE_NAME
    token = make_token()
    Vault(resolved).set_token("test", "acme", token)
    assert resolved.file_path is not None
    assert stat.S_IMODE(resolved.file_path.stat().st_mode) == 0o600
    assert Vault(resolve_backend(BackendChoice.PLAINTEXT_FILE)).get_token("test", "acme") == token


def test_plaintext_file_with_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "p" / "plain.cfg"
    path.parent.mkdir()
    path.write_text("")
    path.chmod(0o644)
    resolve_backend(BackendChoice.PLAINTEXT_FILE, file_path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------ leak scans


def _resolve(choice: str, monkeypatch: pytest.MonkeyPatch) -> sec.ResolvedBackend:
    environment = {
        "env-null": "keyring.backends.null.Keyring",
        "env-plaintext": "keyrings.alt.file.PlaintextKeyring",
        "env-cryptfile": "keyrings.cryptfile.cryptfile.CryptFileKeyring",
    }
    if choice in environment:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", environment[choice])
        return resolve_backend(password="master-pw")
    return resolve_backend(BackendChoice(choice), password="master-pw")


@pytest.mark.parametrize(
    "choice", [BackendChoice.ENCRYPTED_FILE, BackendChoice.PLAINTEXT_FILE, "env-plaintext", "env-cryptfile"]
)
def test_no_file_holds_a_secret_in_clear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, choice: str) -> None:
    resolved = _resolve(choice, monkeypatch)
    vault = Vault(resolved)
    token, session = make_token(), make_session()
    vault.set_token("prod", "acme", token)
    vault.set_session("prod", "acme", session)
    keyring_file = resolved.file_path
    assert keyring_file is not None and keyring_file.is_file()

    for secret in (token, session.access_token, session.refresh_token, "master-pw"):
        scanned, holders = scan(tmp_path, secret.encode())
        assert keyring_file in scanned  # the scan read the file that would hold it were there a leak
        assert holders == [], secret[:8]

    encoded = base64.b64encode(token.encode())[:40]
    scanned, holders = scan(tmp_path, encoded)
    assert keyring_file in scanned
    if choice in (BackendChoice.PLAINTEXT_FILE, "env-plaintext"):
        assert holders == [keyring_file]  # base64 only, and only in its own 0600 file
        assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600
    else:
        assert holders == []

    # The scan's self-test: plant the token in the keyring file and the same scan must report it.
    with keyring_file.open("ab") as handle:
        handle.write(b"\n" + token.encode() + b"\n")
    assert scan(tmp_path, token.encode())[1] == [keyring_file]


@pytest.mark.parametrize("choice", [BackendChoice.MEMORY, "env-null"])
def test_backends_without_a_file_write_no_file_at_all(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, choice: str
) -> None:
    """No file can hold a secret when none is written: a scan for one would read nothing, so assert that."""
    resolved = _resolve(choice, monkeypatch)
    assert resolved.file_path is None
    vault = Vault(resolved)
    token, session = make_token(), make_session()
    vault.set_token("prod", "acme", token)
    vault.set_session("prod", "acme", session)
    vault.get_token("prod", "acme")
    vault.get_session("prod", "acme")
    assert files_under(tmp_path) == []


def test_the_leak_scanner_finds_a_planted_secret(tmp_path: Path) -> None:
    token = make_token()
    assert scan(tmp_path, token.encode()) == ([], [])  # reads nothing here: coverage must be asserted apart
    clean = tmp_path / "a" / "clean.cfg"
    clean.parent.mkdir()
    clean.write_bytes(b"x" * 10_000)
    leaky = tmp_path / "a" / "b" / "leak.log"
    leaky.parent.mkdir()
    leaky.write_bytes(b"\x00binary\xff" + token.encode() + b"tail")
    scanned, holders = scan(tmp_path, token.encode())
    assert scanned == [leaky, clean]
    assert holders == [leaky]
    assert scan(tmp_path, make_token().encode()) == ([leaky, clean], [])


def test_describe_for_the_diagnostics_screen(isolated: MemoryKeyring) -> None:
    description = Vault(isolated).describe()
    assert description.backend == "ksef_tui.vault.backends.MemoryKeyring"
    assert description.file_path is None
    assert str(description) == "ksef_tui.vault.backends.MemoryKeyring"
    resolved = resolve_backend(BackendChoice.PLAINTEXT_FILE)
    text = str(Vault(resolved).describe())
    assert "keyrings.alt.file.PlaintextKeyring" in text
    assert str(resolved.file_path) in text
    assert "plaintext-file" in text


def test_memory_keyring_is_never_auto_selected() -> None:
    assert not MemoryKeyring.viable
    assert MemoryKeyring not in set(KeyringBackend.get_viable_backends())


def test_has_token(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    assert not vault.has_token("test", "acme")
    vault.set_session("test", "acme", make_session())
    assert not vault.has_token("test", "acme")  # a session alone is not a token
    vault.set_token("test", "acme", make_token())
    assert vault.has_token("test", "acme")
    assert not vault.has_token("demo", "acme")
    assert not vault.has_token("test", "other")
    vault.delete_token("test", "acme")
    assert not vault.has_token("test", "acme")


async def test_has_token_async(isolated: MemoryKeyring) -> None:
    vault = Vault(isolated)
    assert not await vault.ahas_token("prod", "acme")
    await vault.aset_token("prod", "acme", make_token())
    assert await vault.ahas_token("prod", "acme")


@pytest.mark.parametrize(
    "error",
    [
        SecretStoreUnavailable("secrets.locked", backend="X"),
        WrongMasterPassword("secrets.wrong_master_password", path="/x"),
        MasterPasswordRequired("secrets.master_password_required"),
        MasterPasswordSourceError("secrets.password_file_mode", path="/x", mode="0644"),
        NoSecretStorage(),
        sec.DamagedSecret("secrets.session_corrupt", profile="acme", environment="test"),
        sec.VaultFileError("/x/y.cfg", PermissionError(13, "Permission denied"), file=Path("/x/y.cfg")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_vault_error_is_a_config_user_error(
    error: SecretStoreUnavailable, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(error, UserError)
    assert error.category is Category.CONFIG
    shown = report(error)
    assert shown.exit_code == 4
    assert shown.message == error.message() and shown.message != error.key  # a real text, not the bare key
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert report(error).message != shown.message  # translated when shown, not when raised


def test_a_busy_keyring_file_says_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import filelock

    from ksef_tui.vault import vault as vault_module

    path = tmp_path / "plain.cfg"
    vault = Vault(resolve_backend(BackendChoice.PLAINTEXT_FILE, file_path=path))
    monkeypatch.setattr(vault_module, "FILE_LOCK_TIMEOUT", 0.05)
    with filelock.FileLock(f"{path}.lock"), pytest.raises(SecretStoreUnavailable) as info:
        vault.get_token("test", "acme")  # another ksef-tui holds the file
    assert info.value.key == "secrets.busy"
    assert vault.get_token("test", "acme") is None  # and once it lets go, the file is ours again


def test_a_password_file_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)  # no writer: a blocking open would wait forever
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")  # a character device that never ends
    outcomes: dict[str, object] = {}

    def attempt(name: str, path: Path) -> None:
        try:
            read_master_password(password_file=path)
        except MasterPasswordSourceError as exc:
            outcomes[name] = exc.key
        except BaseException as exc:
            outcomes[name] = exc

    workers = [
        threading.Thread(target=attempt, args=(name, path), daemon=True)
        for name, path in (("fifo", fifo), ("folder", folder), ("device", link))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert not any(worker.is_alive() for worker in workers), "reading the password file hung"
    assert outcomes == {
        "fifo": "secrets.password_file_mode",
        "folder": "secrets.password_file_unreadable",
        "device": "secrets.password_file_mode",
    }
