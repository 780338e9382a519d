"""A damaged session blob in the vault means "sign in again", never an error that stops every command.

``Vault.get_session`` raises ``DamagedSecret`` (a ``SecretStoreUnavailable`` and a ``ValueError``) for a blob it
cannot read back; ``services.connection.VaultSessionStore`` treats it as no session, so the next KSeF call
authenticates once and the new session replaces the damaged one.
"""

from __future__ import annotations

import base64
import configparser
import json
from pathlib import Path

import pytest
from keyrings.cryptfile.escape import escape as escape_for_ini

from ksef_tui.errors import EXIT_CODES, Category, UserError, report
from ksef_tui.services.connection import open_api
from ksef_tui.vault import (
    BackendChoice,
    DamagedSecret,
    MemoryKeyring,
    SecretStoreUnavailable,
    Vault,
    resolve_backend,
    service_name,
)

from ..conftest import Sim
from .support import make_session, make_token

GARBAGE = ("not json at all", '{"v": 1}', "", "[]", '{"v":1,"access_token":"a"}')


def _damage_encrypted_entry(path: Path, environment: str, username: str) -> None:
    """Flip the GCM tag of one entry of a keyrings.cryptfile file, leaving the rest intact."""
    config = configparser.RawConfigParser()
    config.read(path, encoding="utf-8")
    section, option = escape_for_ini(service_name(environment)), escape_for_ini(username)
    entry = json.loads(base64.b64decode(config.get(section, option)))
    mac = bytearray(base64.b64decode(entry["mac"]))
    mac[0] ^= 0xFF
    entry["mac"] = base64.b64encode(bytes(mac)).decode()
    config.set(section, option, base64.b64encode(json.dumps(entry).encode()).decode())
    with path.open("w", encoding="utf-8") as handle:
        config.write(handle)


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_damaged_session_blob_is_damaged_secret(isolated: MemoryKeyring, garbage: str) -> None:
    token = make_token()
    vault = Vault(isolated)
    vault.set_token("test", "acme", token)
    isolated.store[("ksef-tui/test", "acme#session")] = garbage
    with pytest.raises(DamagedSecret) as info:
        vault.get_session("test", "acme")
    error = info.value
    assert isinstance(error, ValueError)  # what the session store catches as "sign in again"
    assert isinstance(error, SecretStoreUnavailable) and isinstance(error, UserError)
    assert error.key == "secrets.session_corrupt"
    assert error.category is Category.CONFIG
    assert (error.profile, error.environment) == ("acme", "test")
    assert "acme" in error.message() and "sign in again" in error.message()
    assert garbage not in str(error) or not garbage
    assert error.__context__ is None and error.__cause__ is None
    # the token beside it is untouched, and a new session repairs the slot
    assert vault.get_token("test", "acme") == token
    session = make_session()
    vault.set_session("test", "acme", session)
    assert vault.get_session("test", "acme") == session


def test_a_damaged_session_is_translated_when_shown(isolated: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated.store[("ksef-tui/test", "acme#session")] = "{"
    with pytest.raises(DamagedSecret) as info:
        Vault(isolated).get_session("test", "acme")
    english = info.value.message()
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    polish = info.value.message()
    assert polish != english
    assert "zaloguj się ponownie" in polish
    shown = report(info.value)
    assert shown.exit_code == EXIT_CODES[Category.CONFIG] == 4
    assert shown.message == polish


def test_a_damaged_encrypted_session_entry_is_damaged_secret(tmp_path: Path) -> None:
    path = tmp_path / "secrets.cfg"
    vault = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=path))
    token = make_token()
    vault.set_token("test", "acme", token)
    vault.set_session("test", "acme", make_session())
    _damage_encrypted_entry(path, "test", "acme#session")

    reopened = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=path))
    with pytest.raises(DamagedSecret) as info:
        reopened.get_session("test", "acme")
    assert info.value.key == "secrets.session_corrupt"
    assert reopened.get_token("test", "acme") == token
    session = make_session()
    reopened.set_session("test", "acme", session)
    assert reopened.get_session("test", "acme") == session


def test_a_damaged_encrypted_token_entry_says_store_the_token_again(tmp_path: Path) -> None:
    path = tmp_path / "secrets.cfg"
    vault = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=path))
    vault.set_token("test", "acme", make_token())
    _damage_encrypted_entry(path, "test", "acme")
    with pytest.raises(DamagedSecret) as info:
        vault.get_token("test", "acme")
    assert info.value.key == "secrets.entry_unreadable"
    assert "store the token again" in info.value.message()


# ----------------------------------------------------------------------------- end to end, via the simulator


async def test_a_damaged_session_means_one_silent_sign_in(sim: Sim, isolated: MemoryKeyring) -> None:
    profile = sim.profile()
    environment = profile.vault_environment
    vault = Vault(isolated)
    vault.set_token(environment, profile.name, sim.tokens["full"])
    isolated.store[(service_name(environment), profile.name + "#session")] = "garbage left by a crash"
    reference = sim.tokens["full"].split("|")[0]

    async with open_api(profile, vault) as api:
        status = await api.token_status(reference)  # before the fix: SecretStoreUnavailable, exit 70 in sync
        assert status.reference == reference
        assert api.auth.authentications == 1
        fresh = await api.auth.tokens()
    assert len(sim.state.auths) == 1
    assert vault.get_session(environment, profile.name) == fresh  # the damaged blob was replaced

    async with open_api(profile, vault) as api:  # the next command reuses the repaired session
        await api.token_status(reference)
        assert api.auth.authentications == 0
    assert len(sim.state.auths) == 1


async def test_a_damaged_encrypted_session_entry_means_one_silent_sign_in(sim: Sim, tmp_path: Path) -> None:
    path = tmp_path / "secrets.cfg"
    profile = sim.profile()
    environment = profile.vault_environment
    vault = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=path))
    vault.set_token(environment, profile.name, sim.tokens["full"])
    reference = sim.tokens["full"].split("|")[0]
    async with open_api(profile, vault) as api:
        await api.token_status(reference)
    assert len(sim.state.auths) == 1
    _damage_encrypted_entry(path, environment, profile.name + "#session")

    vault = Vault(resolve_backend(BackendChoice.ENCRYPTED_FILE, password="pw", file_path=path))
    async with open_api(profile, vault) as api:
        await api.token_status(reference)
        assert api.auth.authentications == 1
    assert len(sim.state.auths) == 2
    assert vault.get_session(environment, profile.name) is not None
