"""User settings, read once: ``config.toml`` in the config directory, then ``KSEF_TUI_*`` variables, then flags.

```toml
language = "pl"                       # pl | en  (KSEF_TUI_LANG, --lang)
ascii = false                         # ASCII glyphs instead of ✓/✗ (KSEF_TUI_ASCII=1)
theme = "ansi-dark"                   # any Textual theme; ansi-* follow the terminal's own palette (KSEF_TUI_THEME)

[keys]                                # remap a binding by its id (see the command palette: "Keys")
"wizard.update" = "ctrl+s"
"goto.diagnostics" = "f12,alt+d"

[secrets]
backend = "encrypted-file"            # system | encrypted-file | plaintext-file | environment | memory
file = "/home/me/.local/share/ksef-tui/secrets.cryptfile.cfg"   # optional
password_file = "/home/me/.config/ksef-tui/master"              # optional, mode 600, for cron
```

``KSEF_TUI_DEBUG=1`` shows tracebacks of internal errors. Nothing here is a secret.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ksef_tui import paths
from ksef_tui.domain.profile import BackendChoice
from ksef_tui.errors import Category, UserError

LANGUAGES = ("pl", "en")


class SettingsError(UserError):
    """The config file or a ``KSEF_TUI_*`` variable holds something we cannot use."""

    key = "settings.error"
    category = Category.CONFIG


@dataclass(frozen=True, slots=True)
class SecretSettings:
    backend: BackendChoice | None = None
    file: Path | None = None
    password_file: Path | None = None
    password_fd: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the faces and services read from the user's configuration, in one typed object."""

    language: str = "pl"
    ascii: bool = False
    debug: bool = False
    secrets: SecretSettings = field(default_factory=SecretSettings)
    config_path: Path | None = None
    theme: str | None = None  # None: the app's default for the terminal
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, e.g. {"wizard.update": "ctrl+s"}

    def with_secrets(
        self,
        *,
        backend: str | None = None,
        password_file: str | None = None,
        password_fd: int | None = None,
    ) -> Settings:
        """These settings with the command line's secret options on top (flags beat everything)."""
        current = self.secrets
        return replace(
            self,
            secrets=SecretSettings(
                backend=_choice(backend, "--secret-backend") if backend else current.backend,
                file=current.file,
                password_file=Path(password_file).expanduser() if password_file else current.password_file,
                password_fd=password_fd if password_fd is not None else current.password_fd,
            ),
        )


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


def _choice(value: object, where: str) -> BackendChoice:
    try:
        return BackendChoice(str(value))
    except ValueError:
        options = ", ".join(c.value for c in BackendChoice)
        raise SettingsError("settings.bad_backend", where=where, value=value, options=options) from None


def _flag(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on", "tak"}


def _read_toml(source: Path) -> dict[str, object]:
    try:
        with source.open("rb") as handle:
            return tomllib.load(handle)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("settings.bad_file", path=source, detail=str(exc)) from None
    except OSError as exc:
        raise SettingsError("settings.bad_file", path=source, detail=exc.strerror or type(exc).__name__) from None


def load_settings(
    *,
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    language: str | None = None,
) -> Settings:
    """Read the config file and the environment once. ``language`` is the ``--lang`` flag."""
    env = os.environ if environ is None else environ
    source = path or config_file()
    data = _read_toml(source)
    raw_secrets = data.get("secrets", {})
    secrets = raw_secrets if isinstance(raw_secrets, dict) else {}

    lang = language or env.get("KSEF_TUI_LANG", "")[:2].lower() or str(data.get("language", "pl"))
    if lang not in LANGUAGES:
        lang = "pl"
    chosen = env.get("KSEF_TUI_SECRET_BACKEND") or secrets.get("backend")
    pw_file = env.get("KSEF_TUI_MASTER_PASSWORD_FILE") or secrets.get("password_file")
    file = secrets.get("file")
    raw_keys = data.get("keys", {})
    if not isinstance(raw_keys, dict) or not all(isinstance(v, str) for v in raw_keys.values()):
        raise SettingsError("settings.bad_keys", path=source)
    theme = env.get("KSEF_TUI_THEME") or data.get("theme")
    return Settings(
        language=lang,
        ascii=_flag(env.get("KSEF_TUI_ASCII", data.get("ascii", ""))),
        debug=_flag(env.get("KSEF_TUI_DEBUG", "")),
        secrets=SecretSettings(
            backend=_choice(chosen, str(source)) if chosen else None,
            file=Path(str(file)).expanduser() if file else None,
            password_file=Path(str(pw_file)).expanduser() if pw_file else None,
        ),
        config_path=source,
        theme=str(theme) if theme else None,
        keys={str(k): str(v) for k, v in raw_keys.items()},
    )
