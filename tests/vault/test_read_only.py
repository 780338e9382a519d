"""A keyring file or folder we may not write is a clear UserError naming the path and what to do (exit 4),
never a raw PermissionError (exit 70). Nothing already stored is lost on the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksef_tui.errors import EXIT_CODES, Category, UserError, report
from ksef_tui.vault import (
    BackendChoice,
    ResolvedBackend,
    SecretStoreUnavailable,
    Vault,
    VaultFileError,
    resolve_backend,
)

from .support import MakeReadOnly, make_session, make_token

FILE_BACKENDS = [BackendChoice.ENCRYPTED_FILE, BackendChoice.PLAINTEXT_FILE]


def _resolve(choice: BackendChoice, path: Path) -> ResolvedBackend:
    return resolve_backend(choice, password="master-pw", file_path=path)


def _assert_clear(error: VaultFileError, path: Path, keyring_file: Path, secret: str = "") -> None:
    assert isinstance(error, SecretStoreUnavailable) and isinstance(error, UserError)
    assert error.category is Category.CONFIG
    shown = report(error)
    assert shown.exit_code == EXIT_CODES[Category.CONFIG] == 4
    assert str(path) in shown.message  # what failed
    assert "permission denied" in shown.message  # why, in words
    assert f"chmod u+rw {keyring_file}" in shown.hint  # what to do, for the file
    assert f"chmod u+rwx {keyring_file.parent}" in shown.hint  # and for its folder
    assert isinstance(error.cause, PermissionError) and error.cause.__traceback__ is None  # errno and path only
    assert error.__cause__ is None and (error.__suppress_context__ or error.__context__ is None)  # no raw chain
    if secret:
        assert secret not in str(error) and secret not in shown.message and secret not in shown.hint


@pytest.mark.parametrize("choice", FILE_BACKENDS)
def test_a_read_only_keyring_file(tmp_path: Path, read_only: MakeReadOnly, choice: BackendChoice) -> None:
    path = tmp_path / "keys" / "secrets.cfg"
    token = make_token()
    Vault(_resolve(choice, path)).set_token("prod", "acme", token)
    read_only(path)

    vault = Vault(_resolve(choice, path))  # opening and reading need no write
    assert vault.get_token("prod", "acme") == token
    assert vault.has_token("prod", "acme")
    replacement = make_token()
    with pytest.raises(VaultFileError) as info:
        vault.set_token("prod", "acme", replacement)
    _assert_clear(info.value, path, path, replacement)
    with pytest.raises(VaultFileError):
        vault.set_session("prod", "acme", make_session())
    with pytest.raises(VaultFileError):
        vault.delete_token("prod", "acme")
    assert vault.get_token("prod", "acme") == token  # nothing was lost


@pytest.mark.parametrize("choice", FILE_BACKENDS)
def test_a_read_only_folder_holding_the_keyring_file(
    tmp_path: Path, read_only: MakeReadOnly, choice: BackendChoice
) -> None:
    folder = tmp_path / "keys"
    path = folder / "secrets.cfg"
    token = make_token()
    Vault(_resolve(choice, path)).set_token("prod", "acme", token)
    lock = Path(f"{path}.lock")
    lock.unlink()  # the lock beside the file cannot be created again in a read-only folder
    read_only(folder)

    with pytest.raises(VaultFileError) as info:
        Vault(_resolve(choice, path)).get_token("prod", "acme")  # the encrypted file fails on opening already
    _assert_clear(info.value, lock, path)
    assert not lock.exists()


@pytest.mark.parametrize("choice", FILE_BACKENDS)
def test_a_new_keyring_file_in_a_read_only_folder(
    tmp_path: Path, read_only: MakeReadOnly, choice: BackendChoice
) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    read_only(folder)
    path = folder / "secrets.cfg"
    token = make_token()
    with pytest.raises(VaultFileError) as info:
        Vault(_resolve(choice, path)).set_token("prod", "acme", token)  # the first `profile add`
    _assert_clear(info.value, Path(f"{path}.lock"), path, token)
    assert not path.exists()


@pytest.mark.parametrize("choice", FILE_BACKENDS)
def test_a_keyring_folder_that_cannot_be_created(
    tmp_path: Path, read_only: MakeReadOnly, choice: BackendChoice
) -> None:
    parent = tmp_path / "data"
    parent.mkdir()
    read_only(parent)
    path = parent / "ksef-tui" / "secrets.cfg"
    with pytest.raises(VaultFileError) as info:
        _resolve(choice, path)
    _assert_clear(info.value, path.parent, path)


def test_the_message_is_translated_when_shown(
    tmp_path: Path, read_only: MakeReadOnly, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secrets.cfg"
    vault = Vault(_resolve(BackendChoice.PLAINTEXT_FILE, path))
    vault.set_token("prod", "acme", make_token())
    read_only(path)
    with pytest.raises(VaultFileError) as info:
        vault.set_token("prod", "acme", make_token())
    english = report(info.value)
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    polish = report(info.value)
    assert str(path) in polish.message and "brak uprawnień" in polish.message
    assert polish.message != english.message and polish.hint != english.hint
    assert f"chmod u+rw {path}" in polish.hint
