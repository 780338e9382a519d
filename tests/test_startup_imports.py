"""Start-up stays light: what the CLI and the TUI's first frame import loads no HTTP, JWT, crypto, keyring, XML,
database or locking library (nor Textual, outside the UI); those load when a command or a screen first needs
them (issue 9's start-up budget).

Each probe runs in a fresh interpreter, since this test session has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("httpx", "jwt", "cryptography", "keyring", "lxml", "tinydb", "filelock", "textual")

FIRST_FRAME = (
    "import ksef_tui.services.workspace, ksef_tui.settings, ksef_tui.i18n, ksef_tui.errors\n"
    "import pkgutil, importlib, ksef_tui.domain\n"
    "for info in pkgutil.iter_modules(ksef_tui.domain.__path__):\n"
    "    importlib.import_module(f'ksef_tui.domain.{info.name}')\n"
)

QUIET_CLI = "import contextlib, io\nfrom ksef_tui.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"


def heavy_modules_after(code: str, home: Path) -> list[str]:
    """The heavy top-level packages loaded once ``code`` has run in a fresh interpreter."""
    report = f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    probe = f"{code}\nimport json, sys\n{report}\n"
    env = {**os.environ, "KSEF_TUI_DEBUG": "1"}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(loaded, list)
    return [str(name) for name in loaded]


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import ksef_tui.cli", id="cli-import"),
        pytest.param(QUIET_CLI + "    assert main(['--version']) == 0", id="cli-version"),
        pytest.param(
            QUIET_CLI
            + "    try:\n        main(['--help'])\n    except SystemExit as done:\n        assert done.code == 0",
            id="cli-help",
        ),
        # ``ksef-tui`` alone outside a terminal: a clear refusal (2), nothing heavy loaded on the way
        pytest.param(QUIET_CLI + "    assert main([]) == 2", id="cli-tui-no-terminal"),
        pytest.param(QUIET_CLI + "    assert main(['profile', 'list']) == 0", id="cli-profile-list"),
        pytest.param(FIRST_FRAME, id="first-frame"),
        # Step and Verification (a setup screen shows them); the steps import the client when they run.
        pytest.param("from ksef_tui.services.verify import Step, Verification", id="verify"),
        # TokenMissing, api_log_path; open_api imports the client when it is called.
        pytest.param("from ksef_tui.services.connection import TokenMissing, api_log_path", id="connection"),
        pytest.param("from ksef_tui.ksef.errors import KsefError", id="ksef-errors"),
    ],
)
def test_starting_up_imports_no_heavy_module(code: str, tmp_path: Path) -> None:
    assert heavy_modules_after(code, tmp_path) == []


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The guard is not vacuous: the HTTP client does load httpx, and opening an API loads the client."""
    assert heavy_modules_after("import ksef_tui.ksef.client", tmp_path) == ["httpx"]
    opened = heavy_modules_after(
        "from ksef_tui.services.connection import open_api\n"
        "from ksef_tui.services.profiles import make_profile\n"
        "from ksef_tui.vault import MemoryKeyring, Vault\n"
        "profile = make_profile('firma', '5265877635', 'test', '2026-02-01')\n"
        "open_api(profile, Vault(MemoryKeyring()))\n",
        tmp_path,
    )
    assert {"httpx", "cryptography", "keyring"} <= set(opened)


TUI_FIRST_FRAME = """
import asyncio, json, sys
from ksef_tui.settings import Settings
from ksef_tui.services.workspace import Workspace
from ksef_tui.ui.app import KsefApp, make_app

HEAVY = {heavy!r}
seen = []

def start_work(self):
    seen.append(sorted({{m.split('.')[0] for m in sys.modules}} & HEAVY))
    self.exit()

KsefApp.start_work = start_work

async def main():
    app = make_app(Settings(), Workspace(Settings()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()

asyncio.run(main())
print(json.dumps(seen))
"""


def test_the_tui_paints_its_first_frame_before_loading_the_store_vault_or_client(tmp_path: Path) -> None:
    """The first frame needs Textual and our light modules only; the store (tinydb, filelock), the vault
    (keyring) and the KSeF client (httpx, jwt, cryptography) load in workers after it."""
    heavy = set(HEAVY) - {"textual"}
    env = {**os.environ}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / name.lower())
    done = subprocess.run(
        [sys.executable, "-c", TUI_FIRST_FRAME.format(heavy=heavy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[]]
