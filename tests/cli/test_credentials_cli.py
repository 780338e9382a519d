"""Credentials apart from profiles (issue 11, part 1): a profile from before credentials keeps working, and its
token becomes a credential of its own that the listing shows; a shared credential outlives one of its profiles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.services.workspace import Workspace
from ksef_tui.vault import fingerprint

from ..conftest import Sim
from .test_doctor_cli import add_profile, home

__all__ = ["home"]


def profiles_file(home: Path) -> Path:
    return home / "xdg_config_home" / "ksef-tui" / "profiles.json"


def test_a_profile_from_before_credentials_keeps_working(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    token = sim.tokens["full"]
    assert add_profile(capsys, monkeypatch, home, sim, token)[0] == 0
    # What version 1 wrote: no credentials, no credential name on the profile, the token under its name.
    data = json.loads(profiles_file(home).read_text())
    old = {"version": 1, "profiles": [{k: v for k, v in p.items() if k != "credential"} for p in data["profiles"]]}
    profiles_file(home).write_text(json.dumps(old))
    capsys.readouterr()

    assert main(["doctor"]) == 0, capsys.readouterr()
    assert "KSeF tokens stop working on 1 January 2027" in capsys.readouterr().err  # and what to do
    assert main(["profile", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["name"], listed["nip"], listed["env"]) == ("firma", sim.nip, sim.base_url)
    credential = listed["credential"]
    assert (credential["name"], credential["kind"], credential["fingerprint"]) == ("firma", "token", fingerprint(token))
    assert credential["not_after"] is None and isinstance(credential["days_left"], int)  # tokens end 2027-01-01
    saved = json.loads(profiles_file(home).read_text())
    assert saved["credentials"][0]["fingerprint"] == fingerprint(token)  # learnt once, kept; the token is not there
    assert token not in profiles_file(home).read_text()


def test_a_new_token_profile_has_its_credential_and_removing_it_takes_the_secret(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    saved = json.loads(profiles_file(home).read_text())
    assert saved["version"] == 2 and saved["profiles"][0]["credential"] == "firma"
    assert saved["credentials"][0]["kind"] == "token"
    workspace = Workspace()
    profile = workspace.profile("firma")
    vault = workspace.vault(profile)
    assert main(["profile", "remove", "firma", "--keep-data"]) == 0
    assert vault.get_token(profile.vault_environment, "firma") is None
    assert json.loads(profiles_file(home).read_text())["credentials"] == []
