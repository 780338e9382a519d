"""The real program in a real terminal: ``ksef-tui`` run by tmux at 100×30, read back with ``capture-pane`` and
typed at with ``send-keys`` and ``paste-buffer``, as a person at an SSH terminal sees and uses it (issue 12 §5).

* the sandbox: the main view with the demo company's NIP and counts (the same as an in-process sandbox made by the
  same code says), KSeF settings, Diagnostics, a screen opened by its Polish name from the command palette, the
  company switcher; ctrl+q exits with 0 and the user's directories stay untouched;
* the line support staff send a customer: ``ksef-tui setup --env … --nip …`` against ``ksef-tui sim serve``, the
  token pasted (bracketed paste), ctrl+s verifies and saves into an encrypted file, the token never on the screen
  after saving nor in clear in any file; then ``profile list --json`` and ``doctor`` see the company.

Every wait polls the screen until a deadline; the deadlines are generous, the runs short (about 20 s in all).
Skipped only where tmux is not installed (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import json
import re
import select
import shlex
import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from ksef_tui import __version__
from ksef_tui.sandbox import open_sandbox_sync
from ksef_tui.services.overview import CompanyOverview, overview
from ksef_tui.settings import Settings
from ksef_tui.sim.seed import DEMO

from .tmuxkit import DEADLINE, KSEF_TUI, NO_TMUX, XDG, Terminal, Terminals, pretty, user_env, wait_exit

pytestmark = NO_TMUX

SIZE = (100, 30)


@pytest.fixture
def terminal_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Terminal]]:
    """Terminals of SIZE, ended and their sockets removed after the test."""
    terminals = Terminals(tmp_path)
    yield lambda env: terminals(env, SIZE)
    terminals.close()


# ----------------------------------------------------------------------------------------------- sandbox


def demo_overview(root: Path, monkeypatch: pytest.MonkeyPatch) -> CompanyOverview:
    """What the sandbox's main view must count: the same code opened in this process (its own directories)."""
    for name in XDG:
        monkeypatch.setenv(name, str(root / name.lower()))
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr("tempfile.tempdir", str(root))
    box = open_sandbox_sync(Settings(language="pl"))
    try:
        return overview(box.workspace, box.profile)
    finally:
        box.close()


def test_the_sandbox_in_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal_factory: Callable[[dict[str, str]], Terminal]
) -> None:
    home, scratch, exit_file = tmp_path / "home", tmp_path / "tmp", tmp_path / "exit"
    home.mkdir()
    scratch.mkdir()
    term = terminal_factory(user_env(home, TMPDIR=str(scratch)))
    term.start(f"{shlex.quote(str(KSEF_TUI))} sandbox; echo EXIT=$? > {shlex.quote(str(exit_file))}")
    (tmp_path / "oracle").mkdir()
    expected = demo_overview(tmp_path / "oracle", monkeypatch)  # made while the program starts
    assert expected.purchases and expected.unsent and expected.rejected  # the demo has all three

    # the main view: the badge, the demo company, its counts (in Polish, the default)
    home_screen = term.wait_for(lambda s: re.search(r"Faktury zakupu: \d", s) is not None, "main view")
    header = home_screen.splitlines()[0]
    assert header.strip().startswith("PIASKOWNICA"), header
    assert f"NIP {pretty(DEMO.nip)}" in header
    assert f"Firma: sandbox (NIP {pretty(DEMO.nip)})" in home_screen
    assert f"KSeF od: {expected.profile.start_date:%d.%m.%Y}" in home_screen
    for label, count in (
        ("Faktury zakupu", expected.purchases),
        ("Faktury sprzedaży do wysłania", expected.unsent),
        ("Odrzucone przez KSeF", expected.rejected),
    ):
        assert card_value(home_screen, label) == str(count), home_screen

    # KSeF settings (F3): the sandbox's company, its token kept in the vault and shown only by its fingerprint
    term.keys("F3")
    settings = term.wait_text("Sprawdzenie w KSeF", "Nazwa profilu")
    assert "Token zapisany w sejfie (odcisk" in settings
    assert DEMO.nip in settings
    assert "http://sandbox.ksef.invalid/v2" in settings

    # Diagnostics (F12): versions, the in-memory vault
    term.keys("F12")
    diagnostics = term.wait_for(
        lambda s: second_line(s) == "Diagnostyka" and "zbieranie danych" not in s and "MemoryKeyring" in s,
        "Diagnostics with its report (not only 'zbieranie danych…')",
    )
    assert re.search(rf"ksef-tui\s+{re.escape(__version__)}", diagnostics), diagnostics
    assert re.search(rf"Textual\s+{re.escape(version('textual'))}", diagnostics), diagnostics
    assert "MemoryKeyring" in diagnostics

    # back home (F2), then the command palette: a screen by its Polish name
    term.keys("F2")
    term.wait_for(lambda s: card_value(s, "Faktury zakupu") == str(expected.purchases), "the main view again")
    term.keys("C-p")
    term.wait_text("[F2 / Alt+H]")  # the palette lists the screens with their keys
    term.type("Ustawienia KSeF")
    term.wait_for(lambda s: "Token lub certyfikat" in s and "Wersje, sejf" not in s, "the palette narrowed")
    narrowed = term.wait_steady()  # the palette searches as one types: Enter once its list has settled
    assert "Token lub certyfikat" in narrowed and "Wersje, sejf" not in narrowed, narrowed
    term.keys("Enter")

    def opened(screen: str) -> bool:
        return second_line(screen).startswith("Ustawienia KSeF") and "[F3" not in screen

    if not term.poll(opened, timeout=5)[0]:
        # Known: the palette now and then ignores an Enter on its highlighted command (about 1 in 6 tries here,
        # most often on its first use); a person presses Enter again. Reported; drop this once fixed.
        term.keys("Enter")
    term.wait_for(opened, "KSeF settings from the palette")

    # the company switcher (ctrl+o): the one company, the current one
    term.keys("C-o")
    switcher = term.wait_text("Zmień firmę", "bieżąca firma")
    assert pretty(DEMO.nip) in switcher
    term.keys("Escape")
    term.wait_for(lambda s: "bieżąca firma" not in s, "the switcher closed")

    term.keys("C-q")
    assert wait_exit(term, exit_file) == "EXIT=0"
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []  # no XDG directory, nothing else
    assert sorted(p.name for p in scratch.iterdir()) == []  # the sandbox's own directory removed


def second_line(screen: str) -> str:
    lines = screen.splitlines()
    return lines[1].split("▏")[0].strip() if len(lines) > 1 else ""


def card_value(screen: str, label: str) -> str:
    """The value after ``label:`` in the home screen's company card."""
    found = re.search(rf"│ {re.escape(label)}: (\S+)", screen)
    return found.group(1) if found else ""


# --------------------------------------------------------------------------------------------------- setup


@pytest.fixture
def served_sim(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``ksef-tui sim serve --limits fast`` in a process of its own; its first line (address, NIP, tokens)."""
    process = subprocess.Popen(
        [str(KSEF_TUI), "sim", "serve", "--limits", "fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=user_env(tmp_path / "sim-home"),
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], DEADLINE)
        assert ready, "the simulator printed nothing"
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_async(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(KSEF_TUI), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fragments(secret: str, size: int = 12) -> list[str]:
    """Every ``size``-long piece of ``secret``: one of them shows even where a screen wraps the secret."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def test_setup_pastes_a_token_verifies_and_saves(
    tmp_path: Path, served_sim: dict[str, Any], terminal_factory: Callable[[dict[str, str]], Terminal]
) -> None:
    home, exit_file, master = tmp_path / "home", tmp_path / "exit", tmp_path / "master"
    home.mkdir()
    master.write_text("correct horse battery staple\n")
    master.chmod(0o600)
    env = user_env(home, KSEF_TUI_SECRET_BACKEND="encrypted-file", KSEF_TUI_MASTER_PASSWORD_FILE=str(master))
    base_url, nip, token = served_sim["base_url"], served_sim["nip"], served_sim["tokens"]["full"]
    secret = token.rsplit("|", 1)[-1]
    command = [str(KSEF_TUI), "setup", "--env", base_url, "--nip", nip, "--start-date", "2026-02-01"]
    command += ["--name", "firma"]

    term = terminal_factory(env)
    term.start(f"{shlex.join(command)}; echo EXIT=$? > {shlex.quote(str(exit_file))}")
    filled = re.compile(r"Nazwa profilu\s+▏?.*\n firma\s")  # the name field under its label
    term.wait_for(
        lambda s: (
            all(text in s for text in ("Sprawdzenie w KSeF", base_url, nip, "2026-02-01")) and bool(filled.search(s))
        ),
        "the wizard with the fields filled",
    )

    term.paste(token)  # into the token field, focused by `setup`
    pasted = term.wait_for(lambda s: "•" * 40 in s, "the pasted token, masked")
    assert token not in pasted and not any(piece in pasted for piece in fragments(secret))
    seen = len(term.screens)

    term.keys("C-s")
    steps = re.compile(r"✓ [^▏│\n]*?\s\d+ ms")
    saved = term.wait_for(lambda s: "Zapisano profil firma" in s and len(steps.findall(s)) == 5, "five ✓ steps")
    for name in ("postać tokena", "dostępność KSeF", "wyzwanie i zegar", "token przyjęty", "uprawnienia"):
        assert re.search(rf"✓ {name}\s+\d+ ms", saved), name
    assert "Token zapisany w sejfie (odcisk" in saved
    term.keys("C-q")
    assert wait_exit(term, exit_file) == "EXIT=0"
    after = term.screens[seen:]
    assert after and not any(token in s or any(piece in s for piece in fragments(secret)) for s in after)

    # the two commands at once (the doctor waits on KSeF and on the encrypted file's key derivation)
    doctor = run_async(env, "doctor", "--profile", "firma")
    listed = run_async(env, "profile", "list", "--json")
    listed_out, listed_err = listed.communicate(timeout=DEADLINE)
    doctor_out, doctor_err = doctor.communicate(timeout=DEADLINE * 2)
    assert listed.returncode == 0, listed_err
    (profile,) = json.loads(listed_out)
    assert (profile["name"], profile["nip"], profile["env"]) == ("firma", nip, base_url)
    assert (profile["start_date"], profile["secret_backend"]) == (date(2026, 2, 1).isoformat(), "encrypted-file")
    assert profile["credential"]["kind"] == "token"
    assert doctor.returncode == 0, doctor_out + doctor_err
    assert profile["credential"]["fingerprint"] in doctor_out

    written = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("secrets.") for p in written), written  # the encrypted file is in the user's home
    assert not [p for p in written if secret.encode() in p.read_bytes()]  # and holds no token in clear
