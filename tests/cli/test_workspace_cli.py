"""The workspace behind the command line: sessions that died, companies that own their data, the secret's
location remembered, profile add that leaves nothing behind, global options anywhere, a CLI without Textual."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.domain.session import SessionTokens
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import load_settings

from ..conftest import Sim
from .test_doctor_cli import add_profile, home, secret_args

__all__ = ["home"]


def workspace(home: Path) -> Workspace:
    settings = load_settings().with_secrets(backend="encrypted-file", password_file=str(home / "master"))
    return Workspace(settings)


def test_a_session_ksef_no_longer_knows_means_one_silent_sign_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    """A restarted or purged KSeF answers 401 to the stored access token and to its refresh token: every
    command must sign in again once, silently (this ended in exit 70 through an OverflowError)."""
    sim = make_sim(seed_purchases=3)
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    assert main(["sync", "--json"]) == 0
    capsys.readouterr()
    signed_in = len(sim.state.auths)
    ws = workspace(home)
    profile = ws.profile("firma")
    vault = ws.vault(profile)
    stored = vault.get_session(profile.vault_environment, profile.name)
    assert stored is not None
    later = datetime.now(UTC) + timedelta(hours=1)
    unknown = SessionTokens(
        access_token="eyJ.dead.access",
        access_valid_until=later,
        refresh_token="eyJ.dead.refresh",
        refresh_valid_until=later,
        reference_number=stored.reference_number,
    )
    for command in (["sync", "--json"], ["doctor", "--json"]):
        vault.set_session(profile.vault_environment, profile.name, unknown)
        before = len(sim.state.auths)
        code = main(command)
        out, err = capsys.readouterr()
        assert code == 0, (command, err)
        assert json.loads(out)
        assert len(sim.state.auths) == before + 1, command
    assert len(sim.state.auths) == signed_in + 2


def test_the_secret_backend_chosen_at_add_is_remembered(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    """The README's quick start: add with the encrypted file, then plain `doctor` and `sync` find the token,
    even with another keyring reachable (the environment's backend is the in-memory one here)."""
    sim = make_sim(seed_purchases=2)
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    monkeypatch.setenv("KSEF_TUI_MASTER_PASSWORD_FILE", str(home / "master"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "ksef_tui.vault.MemoryKeyring")
    assert main(["doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["profile", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["secret_backend"] == "encrypted-file"


def test_a_profile_name_reused_for_another_company_starts_empty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    first = make_sim(seed_purchases=3)
    assert add_profile(capsys, monkeypatch, home, first, first.tokens["full"])[0] == 0
    assert main(["sync"]) == 0
    capsys.readouterr()
    assert main(["profile", "remove", "firma", "--keep-data", *secret_args(home)]) == 0
    out = capsys.readouterr().out
    assert "stays on the disk" in out
    kept = Path(out.split(" in ", 1)[1].split(";", 1)[0])
    assert (kept / "store.json").is_file()

    code, _, err = add_profile(capsys, monkeypatch, home, first, first.tokens["other_nip"], nip="9512345675")
    assert code == 0, err
    # The new company has no store yet: nothing of the first company's is shown.
    assert main(["purchases", "list", "--json"]) == 4
    assert "no data yet" in capsys.readouterr().err
    assert (kept / "store.json").is_file()  # the first company's data is still there, untouched


def test_profile_remove_can_delete_the_company_data(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(seed_purchases=2)
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    assert main(["sync"]) == 0
    data = workspace(home).company_dir(workspace(home).profile("firma"))
    assert (data / "store.json").is_file()
    capsys.readouterr()
    assert main(["profile", "remove", "firma", "--delete-data", *secret_args(home)]) == 0
    assert "deleted the company's data" in capsys.readouterr().out
    assert not data.exists()


def test_a_failed_profile_add_leaves_no_secret_behind(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    """The profiles file cannot be written (its directory is a file: works as root too): exit 4 naming the
    path, and the token that was stored first is taken out of the vault again."""
    sim = make_sim()
    blocker = home / "xdg_config_home"
    blocker.write_text("not a directory")
    code, _, err = add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])
    assert code == 4, err
    assert str(blocker) in err
    assert "Traceback" not in err
    vault = workspace(home).vault(None)
    assert vault.get_token(sim.profile().vault_environment, "firma") is None


def test_a_future_start_date_is_said_not_silent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    future = (datetime.now(UTC) + timedelta(days=40)).date()
    code, _, err = add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"], start_date=future.isoformat())
    assert code == 0
    assert f"{future:%d.%m.%Y}" in err
    before = len(sim.state.auths)
    assert main(["sync"]) == 0
    assert f"from {future:%d.%m.%Y}" in capsys.readouterr().out
    assert len(sim.state.auths) == before  # nothing asked of KSeF


@pytest.mark.parametrize("start", ["2021-12-31", "1999-01-01"])
def test_a_start_date_before_ksef_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, start: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    args = ["profile", "add", "--name", "firma", "--nip", "5265877635", "--env", "test", "--start-date", start]
    assert main([*args, "--token-stdin"]) == 4
    assert "before KSeF itself started" in capsys.readouterr().err


def test_global_options_after_the_sub_command(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert main(["profile", "list", "--lang", "pl"]) == 0
    assert "brak profili" in capsys.readouterr().out
    assert main(["profile", "list", "--lang=en"]) == 0
    assert "no profiles" in capsys.readouterr().out
    assert main(["doctor", "--version"]) == 0
    assert capsys.readouterr().out.startswith("ksef-tui ")
    assert main(["profile", "list", "--lang", "de"]) == 2
    assert "unknown language de" in capsys.readouterr().err


def test_argparse_speaks_polish(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--lang", "pl", "purchases", "export"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "użycie:" in err
    assert "brakuje wymaganych argumentów" in err
    assert "usage" not in err


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["invoice", "show", "{sample}"], ["doctor", "--help"], ["profile", "list"]],
)
def test_the_command_line_never_imports_textual(argv: list[str], fixtures: Path, home: Path) -> None:
    sample = next((fixtures / "fa3").glob("*.xml"))
    args = [a.replace("{sample}", str(sample)) for a in argv]
    probe = (
        "import sys\n"
        "from ksef_tui.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TEXTUAL' if any(m == 'textual' or m.startswith('textual.') for m in sys.modules) else 'CLEAN')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip().splitlines()[-1] == "CLEAN", done.stderr
