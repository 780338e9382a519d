"""Test-wide settings: a fixed time zone and language, and the fixtures folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

os.environ["TZ"] = "Europe/Warsaw"
time.tzset()


@pytest.fixture(autouse=True)
def _english_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read messages in English unless they ask for Polish; the product default stays Polish."""
    monkeypatch.setenv("KSEF_TUI_LANG", "en")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
