"""The terminal tests' kit: ``ksef-tui`` run by tmux on a private socket, read back with ``capture-pane`` and typed
at with ``send-keys`` and ``paste-buffer``; a user whose HOME and XDG directories are the test's own; the program's
end read from the status it wrote. Every wait polls the screen until a deadline (never a fixed sleep)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

KSEF_TUI = Path(sys.executable).parent / "ksef-tui"
#: Long enough for a busy 2-core machine; a healthy run takes a fraction of each.
DEADLINE = 45.0
XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
NO_TMUX = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


def pretty(nip: str) -> str:
    return f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}"


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A user with nothing of ours: HOME and the XDG directories in ``home`` (not created), a UTF-8 xterm, the
    program's defaults (no language, secret backend or theme from the test's own environment). No COLUMNS or
    LINES: pytest-xdist's workers export 80 and 24, and the app (``shutil.get_terminal_size``) would take them
    over the pane's own size."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KSEF_TUI_", "TEXTUAL", "XDG_", "TMUX", "PYTHON_KEYRING"))
        and key not in ("COLUMNS", "LINES")
    }
    env.update(HOME=str(home), TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.update({name: str(home / f".{name.removeprefix('XDG_').removesuffix('_HOME').lower()}") for name in XDG})
    env.update(extra)
    return env


class Terminal:
    """One program in its own tmux server (a private socket, none of the user's configuration), ``size`` cells.
    The pane stays after the program ends (``remain-on-exit``): what it printed last can still be read."""

    def __init__(self, env: dict[str, str], config: Path, size: tuple[int, int] = (100, 30)) -> None:
        self.env = env
        self.config = config
        self.size = size
        config.write_text("set -g remain-on-exit on\n")
        self.socket = f"ksef-test-{uuid.uuid4().hex[:12]}"
        self.screens: list[str] = []  # every screen read, in order

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["tmux", "-u", "-L", self.socket, "-f", str(self.config), *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, check=check, timeout=20)

    def start(self, command: str) -> None:
        width, height = self.size
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-e", "TERM=xterm-256color", command)

    def screen(self) -> str:
        done = self.tmux("capture-pane", "-p", check=False)
        text = done.stdout if done.returncode == 0 else ""
        self.screens.append(text)
        return text

    def poll(self, ready: Callable[[str], bool], timeout: float) -> tuple[bool, str]:
        """Read the screen until ``ready`` holds for it or ``timeout`` passes: (whether it did, the last screen)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if ready(text):
                return True, text
            if time.monotonic() > deadline:
                return False, text
            time.sleep(0.1)

    def wait_for(self, ready: Callable[[str], bool], what: str, timeout: float = DEADLINE) -> str:
        """The first screen for which ``ready`` holds; fails naming ``what``, with the last screen, at the deadline."""
        done, text = self.poll(ready, timeout)
        if not done:
            pytest.fail(f"no {what} within {timeout:.0f} s; the screen:\n{text}")
        return text

    def wait_steady(self, quiet: float = 0.5, timeout: float = DEADLINE) -> str:
        """The screen once it has not changed for ``quiet`` seconds (a search as you type has settled)."""
        deadline = time.monotonic() + timeout
        last, since = self.screen(), time.monotonic()
        while time.monotonic() - since < quiet:
            if time.monotonic() > deadline:
                pytest.fail(f"the screen kept changing for {timeout:.0f} s:\n{last}")
            time.sleep(0.1)
            text = self.screen()
            if text != last:
                last, since = text, time.monotonic()
        return last

    def wait_text(self, *texts: str, timeout: float = DEADLINE) -> str:
        return self.wait_for(lambda screen: all(text in screen for text in texts), repr(texts), timeout)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def paste(self, text: str) -> None:
        """As a terminal pastes: bracketed (``ESC [200~ … ESC [201~``), the program told it is a paste."""
        self.tmux("set-buffer", "-b", "paste", text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "paste")

    def close(self) -> None:
        self.tmux("kill-server", check=False)


class Terminals:
    """Makes terminals whose tmux sockets live in a short private directory (a socket's path is limited to about
    100 bytes, too few for pytest's temporary paths); :meth:`close` ends them all and removes the directory."""

    def __init__(self, configs: Path) -> None:
        self.configs = configs
        self.sockets = tempfile.mkdtemp(prefix="ksef-tmux-")
        self.made: list[Terminal] = []

    def __call__(self, env: dict[str, str], size: tuple[int, int] = (100, 30)) -> Terminal:
        config = self.configs / f"tmux-{len(self.made)}.conf"
        self.made.append(Terminal({**env, "TMUX_TMPDIR": self.sockets}, config, size))
        return self.made[-1]

    def close(self) -> None:
        for terminal in self.made:
            terminal.close()
        shutil.rmtree(self.sockets, ignore_errors=True)


def wait_exit(term: Terminal, path: Path, timeout: float = DEADLINE) -> str:
    """What ``sh -c '…; echo EXIT=$? > path'`` wrote once the program ended, after checking that the program
    printed no traceback when it left the screen (an error inside the app may still end with status 0)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().endswith("\n")):
        if time.monotonic() > deadline:
            pytest.fail(f"the program did not end within {timeout:.0f} s")
        time.sleep(0.05)
    while term.tmux("list-panes", "-F", "#{pane_dead}").stdout.strip() != "1":
        if time.monotonic() > deadline:
            pytest.fail(f"the pane did not end within {timeout:.0f} s")
        time.sleep(0.05)
    printed = term.tmux("capture-pane", "-p", "-S", "-").stdout  # with what scrolled off
    assert "Traceback" not in printed and "Error" not in printed, printed
    return path.read_text().strip()
