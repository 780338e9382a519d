"""The documentation screenshots: every main screen of the sandbox app, in Polish and in English.

Run from the repository (after ``pip install -e .``): ``python screenshots/make_screenshots.py [--only home,setup]``.

It drives ``ksef-tui sandbox``'s app headless, built as the command builds it (``create_sandbox`` + ``make_app``
with the sandbox's demo data prepared after the first frame), at 120×34, and writes ``NAME.LANG.svg`` into this
folder, plus ``NAME.LANG.png`` beside each when ``rsvg-convert`` is on PATH (Debian: ``librsvg2-bin``):

home, setup (KSeF settings), diagnostics, api-log (the KSeF communication log), api-call (one call of it),
switcher (the company switcher), palette (the command palette).

Kept the same from run to run where the app allows: the dark theme, no cursor blink, a clock that stands still
(the moment the script starts; the sandbox's invoices and KSeF's answers are dated by the real clock, so dates
and times on the screens are those of the day it runs), the time zone Europe/Warsaw, the terminal's name, and
the sandbox's directory (``ksef-tui-sandbox-screenshots`` in the temporary directory, removed after). The user's own
configuration and profiles are never read: the sandbox lives in a temporary directory with an in-memory vault.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the working tree's ksef_tui, installed or not

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from ksef_tui.i18n import set_language  # noqa: E402
from ksef_tui.sandbox import create_sandbox  # noqa: E402
from ksef_tui.settings import Settings  # noqa: E402
from ksef_tui.ui.app import KsefApp, make_app  # noqa: E402

SIZE = (120, 34)
LANGUAGES = ("pl", "en")
SHOTS = ("home", "setup", "diagnostics", "api-log", "api-call", "switcher", "palette")
#: From the home screen: the keys pressed, the screen they lead to, the screenshot taken there ("": none).
TOUR: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("f3",), "SetupWizardScreen", "setup"),
    (("f12",), "DiagnosticsScreen", "diagnostics"),
    (("l",), "ApiLogScreen", "api-log"),
    (("enter",), "ApiCallDialog", "api-call"),
    (("escape", "escape", "f2"), "HomeScreen", ""),
    (("ctrl+o",), "CompanySwitcher", "switcher"),
    (("escape",), "HomeScreen", ""),
    (("ctrl+p",), "CommandPalette", "palette"),
)
#: How long one screen may take to settle (the sandbox's demo data: a few seconds).
SETTLE_TIMEOUT = 60.0


async def settle(app: KsefApp, pilot: Pilot[int], ready: Callable[[], bool] = lambda: True) -> None:
    """Until ``ready()`` holds, no worker runs and the screen has been refreshed."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.05)
        if ready() and not any(worker.is_running for worker in app.workers):
            await pilot.pause()
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the screen {app.screen!r} did not settle in {SETTLE_TIMEOUT:.0f} s")


def showing(app: KsefApp, screen: str) -> bool:
    return type(app.screen).__name__ == screen


async def shoot(language: str, only: set[str], out: Path) -> list[Path]:
    """The screenshots in one language; returns the SVGs written."""
    set_language(language)
    settings = Settings(language=language, theme="ksef-dark")
    now = datetime.now(UTC)
    written: list[Path] = []
    root = Path(tempfile.gettempdir()) / "ksef-tui-sandbox-screenshots"  # the same paths on Diagnostics every run
    shutil.rmtree(root, ignore_errors=True)
    sandbox = create_sandbox(settings, root=root)
    try:
        app = make_app(
            settings,
            sandbox.workspace,
            clock=lambda: now,
            sandbox=sandbox.base_url,
            prepare=sandbox.seed,
            profile_name=sandbox.profile.name,
        )

        def save(name: str) -> None:
            if name in only:
                filename = f"{name}.{language}.svg"
                app.save_screenshot(filename, path=str(out))
                written.append(out / filename)

        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot, lambda: app.overview is not None)
            save("home")
            for keys, screen, name in TOUR:
                await pilot.press(*keys)
                await settle(app, pilot, functools.partial(showing, app, screen))
                if screen == "CommandPalette":
                    await pilot.pause(0.3)  # the palette gathers its commands in a task of its own
                if name:
                    save(name)
    finally:
        sandbox.close()
        shutil.rmtree(root, ignore_errors=True)
    return written


def to_png(svg: Path) -> Path:
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", "--background-color", "#121212", "-o", str(png), str(svg)], check=True)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default=",".join(SHOTS), help=f"screens to take (of {', '.join(SHOTS)})")
    parser.add_argument("--lang", default=",".join(LANGUAGES), help="languages (pl, en)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the files go (default: this folder)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    unknown = only - set(SHOTS)
    if unknown:
        parser.error(f"unknown screens: {', '.join(sorted(unknown))}")
    # Diagnostics shows these: the same on every machine that makes the screenshots
    os.environ.update(TZ="Europe/Warsaw", TERM="xterm-256color", COLORTERM="truecolor")
    for name in ("TMUX", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        os.environ.pop(name, None)
    time.tzset()
    Input.cursor_blink = False  # type: ignore[assignment]  # a class default: every Input, steady
    args.out.mkdir(parents=True, exist_ok=True)
    converter = shutil.which("rsvg-convert")
    for language in args.lang.split(","):
        for svg in asyncio.run(shoot(language, only, args.out)):
            print(svg)
            if converter:
                print(to_png(svg))
    if not converter:
        print("rsvg-convert is not on PATH: SVGs only (Debian: apt-get install librsvg2-bin)")


if __name__ == "__main__":
    main()
