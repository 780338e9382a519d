"""Every vault test: XDG dirs in tmp_path, no keyring configuration, no DBus, a memory keyring as keyring's
default, and getpass and stdin booby-trapped (keyring must never prompt)."""

from __future__ import annotations

import getpass
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from ksef_tui.vault import MemoryKeyring

from .support import MakeReadOnly, read_only_paths


class GetpassCalled(AssertionError):
    pass


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MemoryKeyring]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)

    prompts: list[str] = []

    def no_prompt(prompt: str = "", stream: Any = None) -> str:
        prompts.append(prompt)
        raise GetpassCalled(f"getpass was called: {prompt!r}")

    monkeypatch.setattr(getpass, "getpass", no_prompt)
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdin", closed)
    previous, kr = keyring.get_keyring(), MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)
    assert prompts == [], "keyring asked for a password on the terminal"


@pytest.fixture
def read_only() -> Iterator[MakeReadOnly]:
    """``read_only(path)``: the file or folder is read-only for the rest of the test (even for root)."""
    with read_only_paths() as make:
        yield make
