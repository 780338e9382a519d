"""`ksef-tui profile ...` and `ksef-tui doctor` end to end against the simulator, with real secret storage."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.cli import main

from ..conftest import Sim


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("KSEF_TUI_SECRET_BACKEND", raising=False)
    password = tmp_path / "master"
    password.write_text("correct horse battery staple\n")
    password.chmod(0o600)
    return tmp_path


def secret_args(home: Path) -> list[str]:
    return ["--secret-backend", "encrypted-file", "--master-password-file", str(home / "master")]


def add_profile(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    sim: Sim,
    token: str,
    *,
    nip: str | None = None,
    start_date: str = "2026-02-01",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    code = main(
        [
            "profile",
            "add",
            "--name",
            "firma",
            "--nip",
            nip or sim.nip,
            "--env",
            sim.base_url,
            "--start-date",
            start_date,
            "--token-stdin",
            *secret_args(home),
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def doctor(capsys: pytest.CaptureFixture[str], home: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", *extra, *secret_args(home)])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def test_add_then_doctor_then_scan_for_leaks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    token = sim.tokens["full"]
    code, out, _ = add_profile(capsys, monkeypatch, home, sim, token)
    assert code == 0
    assert "firma" in out
    code, report = doctor(capsys, home)
    assert code == 0
    assert report["ok"] is True
    assert report["profile"] == "firma"
    assert [s["name"] for s in report["steps"]] == [
        "token_shape",
        "ksef_reachable",
        "challenge",
        "token_accepted",
        "permissions",
    ]
    assert {"InvoiceRead", "InvoiceWrite"} <= set(report["permissions"])
    # the second run reuses the session kept in the vault: no new authentication at KSeF
    auths = len(sim.state.auths)
    code, report = doctor(capsys, home)
    assert code == 0
    assert len(sim.state.auths) == auths
    # the token's secret part, and any session JWT, appear in no file we wrote, nor in the API log
    secret = token.split("|")[2].encode()
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".api.log") for p in files)
    for path in files:
        data = path.read_bytes()
        assert secret not in data, path
        if path.name != "secrets.cryptfile.cfg":
            assert b"eyJ" not in data, path  # no JWT (header base64) anywhere but in the encrypted store
    assert secret.decode() not in json.dumps(report)


@pytest.mark.parametrize(
    ("name", "code", "failed_step"),
    [("read_only", 5, "permissions"), ("revoked", 2, "token_accepted"), ("inactive", 2, "token_accepted")],
)
def test_doctor_exit_codes(  # noqa: PLR0917 - pytest passes fixtures and parameters positionally
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    make_sim: Callable[..., Sim],
    name: str,
    code: int,
    failed_step: str,
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens[name])[0] == 0
    exit_code, report = doctor(capsys, home)
    assert exit_code == code
    assert report["ok"] is False
    steps = report["steps"]
    assert isinstance(steps, list)
    assert steps[-1]["name"] == failed_step
    assert steps[-1]["ok"] is False


def test_profile_add_refuses_wrong_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    code, _, err = add_profile(capsys, monkeypatch, home, sim, sim.tokens["other_nip"])
    assert code == 4
    assert "9512345675" in err
    code, _, err = add_profile(capsys, monkeypatch, home, sim, "a" * 64)
    assert code == 4
    assert "KSeF 1.0" in err
    assert "a" * 64 not in err
    monkeypatch.setattr("sys.stdin", io.StringIO(sim.tokens["full"] + "\n"))
    code = main(
        [
            "profile",
            "add",
            "--name",
            "x",
            "--nip",
            "1234567890",
            "--env",
            "prod",
            "--start-date",
            "2026-02-01",
            "--token-stdin",
            *secret_args(home),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 4
    assert "NIP 1234567890 is invalid" in err


def test_doctor_without_profiles_and_unreachable_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    assert main(["doctor", *secret_args(home)]) == 4
    assert "no profiles" in capsys.readouterr().err
    sim = make_sim()
    sim.base_url = "http://127.0.0.1:9/v2"  # the discard port: nothing listens, connections are refused
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    code, report = doctor(capsys, home)
    assert code == 3
    assert report["steps"][-1]["name"] == "ksef_reachable"


def test_corrupted_profiles_file_is_reported_and_kept(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    profiles = home / "xdg_config_home" / "ksef-tui" / "profiles.json"
    profiles.parent.mkdir(parents=True)
    profiles.write_text('{"profiles": [')
    assert main(["profile", "list"]) == 4
    assert "damaged" in capsys.readouterr().err
    assert profiles.read_text() == '{"profiles": ['
