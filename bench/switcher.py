"""The company switcher with an accounting office's client list: opening it, and keystrokes while it loads and after.

Run: ``.venv/bin/python bench/switcher.py [--profiles 200] [--sales 5] [--runs 3] [--dir DIR]``.

It builds ``--profiles`` token profiles through the real ``Workspace`` (an in-memory vault, XDG folders in a
temporary directory), each company with a store of ``--sales`` FA(3) sales invoices imported as a user imports
them (one in three then rejected) and a last import, then runs the app headless at 100×30 and prints:

* overviews alone: every company's overview read one after another in this thread, no UI (what the worker does)
* per run, from Ctrl+O:
  - rows: every company's row in the list (names, NIPs, environments: no overview yet), and the first frame
    painted with them
  - on screen read: the rows in view (the first 20) filled in (credential, last import, to send)
  - all read: every company's overview in its row
* filter while loading: "klient-19" typed right after Ctrl+O, one key at a time; then the time until the ten
  matching rows are filled in (they are read first)
* keystroke: each key of "klient-1" typed while the companies are still being read, and again once all are
  read: from the key event until the list is filtered (handled) and until the next frame is painted (frame),
  median and slowest
* move: Down, from the key event until the next frame, median

Keys go straight to the driver (Pilot's ``press`` waits for the whole process to look idle, which a reading
thread never does). Times are wall clock, on ``--dir``'s disk (the stores are read from it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input

from ksef_tui.domain.nip import nip_with_checksum
from ksef_tui.services.overview import overview
from ksef_tui.services.purchase_sync import CURSOR_KEY
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.cursors import Cursor, CursorRepository
from ksef_tui.store.sales import SalesRepository, SendState, SendStatus
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.switcher import CompanySwitcher, CompanyTable, matches
from ksef_tui.vault import MemoryKeyring, Vault

sys.path.insert(0, str(Path(__file__).parent.parent))
from bench.send import make_invoices  # FA(3) sales invoices of a seller, as files

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
IN_VIEW = 20  # rows of the list on a 100x30 terminal
TIMEOUT = 120.0


def set_home(root: Path) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(root / name.lower())


def nip(seed: int) -> str:
    for tail in range(1000):
        found = nip_with_checksum(f"52{seed:04d}{tail:03d}")
        if found:
            return found
    raise ValueError(seed)


def build_office(root: Path, profiles: int, sales: int) -> Workspace:
    """The workspace with ``profiles`` companies, each with its store: ``sales`` FA(3) invoices imported as a user
    imports them (one in three then rejected by KSeF) and a last import."""
    workspace = Workspace(Settings(theme="ksef-dark"), vault=Vault(MemoryKeyring()))
    for n in range(profiles):
        company = nip(n)
        token = f"20251010-EC-2B8F9A1C3D-4E5F6A7B8C-9D|nip-{company}|{secrets.token_hex(32)}"
        profile = workspace.add_profile(f"klient-{n:03d}", company, "test", "2026-02-01", token)
        files = root / "in" / str(n)
        files.mkdir(parents=True)
        with workspace.open_store(profile) as store:
            repo = SalesRepository(store)
            numbers = import_invoices(repo, sales_xml_root(store.path), profile, make_invoices(files, company, sales))
            rejected = SendStatus(SendState.REJECTED, NOW, error_code=450)
            repo.set_statuses({number: rejected for number in numbers.imported[2::3]})
            moment = NOW - timedelta(hours=n % 48)
            CursorRepository(store).set(Cursor(CURSOR_KEY, moment, None, moment))
    return workspace


class Probe:
    """The app with its frames timed: every screen update the compositor renders is stamped."""

    def __init__(self, workspace: Workspace) -> None:
        self.app: KsefApp = make_app(workspace.settings, workspace, clock=lambda: NOW)
        self.frames: list[float] = []
        display = self.app._display

        def stamped(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                self.frames.append(time.perf_counter())
            display(screen, renderable)

        self.app._display = stamped  # type: ignore[method-assign]

    @property
    def switcher(self) -> CompanySwitcher:
        screen = self.app.screen
        assert isinstance(screen, CompanySwitcher)
        return screen

    def send(self, key: str) -> float:
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        driver = self.app._driver
        assert driver is not None
        started = time.perf_counter()
        driver.send_message(events.Key(name, key if len(key) == 1 else None))
        return started

    async def until(self, check: Callable[[], bool], started: float) -> float:
        while not check():
            if time.perf_counter() - started > TIMEOUT:
                raise TimeoutError
            await asyncio.sleep(0.001)  # a busy loop here would starve the reading thread (GIL)
        return time.perf_counter() - started

    async def next_frame(self, started: float) -> float:
        """Seconds from ``started`` to the first frame painted from now on."""
        count = len(self.frames)
        await self.until(lambda: len(self.frames) > count, started)
        return self.frames[-1] - started

    async def key(self, key: str, handled: Callable[[], bool]) -> tuple[float, float]:
        """(handled, frame) seconds of one key."""
        started = self.send(key)
        done = await self.until(handled, started)
        return done, await self.next_frame(started)

    async def type(self, text: str) -> tuple[list[float], list[float]]:
        """Type ``text`` into the filter one key at a time; (handled, frame) seconds per key."""
        field = self.switcher.query_one(Input)
        handled, frames = [], []
        for end in range(1, len(text) + 1):
            typed = text[:end]

            def filtered(typed: str = typed) -> bool:
                expected = [name for name, row in self.switcher.rows.items() if matches(typed, row.text)]
                return field.value == typed and self.switcher.shown == expected

            done, frame = await self.key(text[end - 1], filtered)
            handled.append(done)
            frames.append(frame)
        return handled, frames

    async def open(self) -> float:
        app = self.app
        await app.workers.wait_for_complete()
        await asyncio.sleep(0.2)  # the home screen painted, the company loaded
        return self.send("ctrl+o")


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"


def spread(values: list[float]) -> str:
    return f"median {ms(statistics.median(values))}, slowest {ms(max(values))}"


async def one_run(workspace: Workspace, total: int) -> list[str]:
    lines = []
    probe = Probe(workspace)
    async with probe.app.run_test(size=(100, 30)):
        started = await probe.open()

        def listed() -> bool:
            screen = probe.app.screen
            tables = screen.query(CompanyTable) if isinstance(screen, CompanySwitcher) else None
            return bool(tables) and tables is not None and tables.first().row_count == total

        rows = await probe.until(listed, started)
        painted = await probe.next_frame(started)
        switcher = probe.switcher
        in_view = switcher.shown[:IN_VIEW]
        on_screen = await probe.until(lambda: all(switcher.rows[n].read for n in in_view), started)
        keys_loading, frames_loading = await probe.type("klient-1")
        loading_left = total - switcher.read_count
        read = await probe.until(lambda: switcher.read_count == total, started)
        await probe.app.workers.wait_for_complete()
        field = switcher.query_one(Input)
        field.value = ""
        await asyncio.sleep(0.1)
        keys, frames = await probe.type("klient-1")
        field.value = ""
        await asyncio.sleep(0.1)
        moves = []
        for _ in range(10):
            before = switcher.highlighted

            def moved(before: str | None = before) -> bool:
                return switcher.highlighted != before

            _, frame = await probe.key("down", moved)
            moves.append(frame)
        lines.append(
            f"  open: rows {ms(rows)} (painted {ms(painted)}); on screen read {ms(on_screen)}; all read {ms(read)}"
        )
        lines.append(
            f"  keystroke while loading ({loading_left} companies still unread after it): handled "
            f"{spread(keys_loading)}; frame {spread(frames_loading)}"
        )
        lines.append(f"  keystroke once loaded: handled {spread(keys)}; frame {spread(frames)}")
        lines.append(f"  move (Down): frame {spread(moves)}")

    probe = Probe(workspace)
    async with probe.app.run_test(size=(100, 30)):
        started = await probe.open()
        await probe.until(lambda: isinstance(probe.app.screen, CompanySwitcher) and probe.switcher.listed, started)
        await probe.type("klient-19")
        switcher = probe.switcher
        matched = await probe.until(lambda: all(switcher.rows[n].read for n in switcher.shown), started)
        read_then = switcher.read_count
        await probe.until(lambda: switcher.read_count == total, started)
        await probe.app.workers.wait_for_complete()
        lines.append(
            f"  filter while loading: the {len(switcher.shown)} matches of 'klient-19' filled in {ms(matched)} "
            f"after Ctrl+O ({read_then} of {total} companies read by then)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=200)
    parser.add_argument("--sales", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where the profiles and stores are written")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        set_home(Path(tmp))
        started = time.perf_counter()
        workspace = build_office(Path(tmp), args.profiles, args.sales)
        built = time.perf_counter() - started
        print(f"{args.profiles} companies, {args.sales} sales invoices each: built in {built:.1f} s")
        profiles = workspace.list_profiles()
        started = time.perf_counter()
        for profile in profiles:
            overview(workspace, profile)
        alone = time.perf_counter() - started
        print(f"overviews alone: {alone:.2f} s ({ms(alone / len(profiles))} a company)")
        for run in range(1, args.runs + 1):
            print(f"run {run}:")
            for line in asyncio.run(one_run(workspace, len(profiles))):
                print(line)


if __name__ == "__main__":
    main()
