"""User settings: ``config.toml`` in the config directory, overridden by ``KSEF_TUI_*`` variables and flags.

```toml
[secrets]
backend = "encrypted-file"            # system | encrypted-file | plaintext-file | environment | memory
file = "/home/me/.local/share/ksef-tui/secrets.cryptfile.cfg"   # optional
password_file = "/home/me/.config/ksef-tui/master"              # optional, mode 600, for cron
```
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ksef_tui import paths
from ksef_tui.vault import BackendChoice


class SettingsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SecretSettings:
    backend: BackendChoice | None = None
    file: Path | None = None
    password_file: Path | None = None
    password_fd: int | None = None


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


def _choice(value: object, where: str) -> BackendChoice:
    try:
        return BackendChoice(str(value))
    except ValueError:
        options = ", ".join(c.value for c in BackendChoice)
        raise SettingsError(f"{where}: unknown secret backend {value!r} (choose {options})") from None


def load_secret_settings(
    *,
    backend: str | None = None,
    password_file: str | None = None,
    password_fd: int | None = None,
    path: Path | None = None,
) -> SecretSettings:
    """Flags > environment (``KSEF_TUI_SECRET_BACKEND``, ``KSEF_TUI_MASTER_PASSWORD_FILE``) > config.toml."""
    source = path or config_file()
    data: dict[str, object] = {}
    try:
        with source.open("rb") as handle:
            loaded = tomllib.load(handle).get("secrets", {})
        data = loaded if isinstance(loaded, dict) else {}
    except FileNotFoundError:
        pass
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise SettingsError(f"{source}: {exc}") from None
    chosen = backend or os.environ.get("KSEF_TUI_SECRET_BACKEND") or data.get("backend")
    pw_file = password_file or os.environ.get("KSEF_TUI_MASTER_PASSWORD_FILE") or data.get("password_file")
    file = data.get("file")
    return SecretSettings(
        backend=_choice(chosen, str(source)) if chosen else None,
        file=Path(str(file)).expanduser() if file else None,
        password_file=Path(str(pw_file)).expanduser() if pw_file else None,
        password_fd=password_fd,
    )
