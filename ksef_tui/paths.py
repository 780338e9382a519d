"""Where ksef-tui keeps its files (platformdirs; honours XDG_*). Directories are created lazily, never at import."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "ksef-tui"


def config_dir() -> Path:
    return platformdirs.user_config_path(APP)


def data_dir() -> Path:
    return platformdirs.user_data_path(APP)


def log_dir() -> Path:
    return platformdirs.user_log_path(APP)


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
