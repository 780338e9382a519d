"""The purchase screen at 100,000 purchases, side by side with the built-in DataTable and (when installed)
textual-fastdatatable holding the same rows, in the same run.

Run: ``.venv/bin/python bench/table.py [--rows 100000] [--dir DIR] [--skip-datatable]``.

A company profile is made in a temporary XDG home with ``--rows`` purchases in its store (``bench/store.py``'s
generator, written in sync-sized batches); its KSeF start date is ahead, so opening the screen asks KSeF nothing.
Then, each in a fresh headless app (``run_test``, 160x40), one after the other:

* ours: ``PurchasesScreen`` (the virtual table over ``PurchaseBrowser``): first paint = from pushing the screen to
  the first frame with rows in it (the store opened, its index read, the first query answered and painted);
  a filter keystroke = from a key typed into the search box (a letter that narrows the list) to the frame
  showing its answer; the median of the keystrokes typing "dostawca 4";
* DataTable: the built-in ``DataTable`` given the same display rows (``PurchaseBrowser.row`` for every row,
  built before the clock starts): first paint = ``add_rows`` + the first frame (Textual measures every cell on
  idle); a keystroke = ``clear()`` + ``add_rows`` of the rows the same search finds + the frame;
* fastdatatable: ``textual_fastdatatable.DataTable`` over an ``ArrowBackend`` of the same rows (a keystroke
  rebuilds the backend from the found rows, its documented way to change rows).

RSS: the process's resident memory after each (VmRSS, MB; the runs share one process, so each line includes
what the earlier ones left). Goals (issue 13): first paint <= 0.3 s, keystroke <= 50 ms; the numbers are
printed, not judged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZE = (160, 40)
TYPED = "dostawca 4"
BATCH = 10_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_company(rows: int) -> Any:
    """A workspace whose one profile has ``rows`` purchases; returns (workspace, settings)."""
    from bench.store import generate
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.settings import Settings
    from ksef_tui.store.purchases import PurchaseRepository
    from ksef_tui.vault import MemoryKeyring, Vault

    settings = Settings(theme="ksef-dark", language="en")
    workspace = Workspace(settings, vault=Vault(MemoryKeyring()), transport=lambda _p: None)
    token = "20251130-EC-0123456789-ABCDEF0123-45|nip-7740001454|" + "ab" * 32
    profile = workspace.add_profile("bench", "7740001454", "test", "2099-01-01", token)
    rng = random.Random(7)
    with workspace.open_store(profile) as store:
        repo = PurchaseRepository(store)
        for start in range(0, rows, BATCH):
            repo.upsert_many(generate(start, min(BATCH, rows - start), rng))
    return workspace, settings


async def wait_for(pilot: Any, done: Callable[[], bool], limit: float = 600.0) -> None:
    deadline = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the table never showed its rows")
        await pilot.pause(0.001)


async def ours(workspace: Any, settings: Any) -> dict[str, float]:
    from textual.strip import Strip
    from textual.widgets import Input

    from ksef_tui.ui.app import make_app
    from ksef_tui.ui.screens.purchases import PurchasesScreen
    from ksef_tui.ui.widgets.purchase_table import PurchaseTable

    painted: list[tuple[float, int]] = []  # (when, the query serial on screen) of each line painted with rows

    class Timed(PurchaseTable):
        def render_line(self, y: int) -> Strip:
            strip = super().render_line(y)
            if y == 1 and self.rows:
                painted.append((time.perf_counter(), screen.shown_serial))
            return strip

    import ksef_tui.ui.screens.purchases as module

    setattr(module, "PurchaseTable", Timed)  # noqa: B010 (the screen builds this one)
    app = make_app(settings, workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        screen = PurchasesScreen()
        started = time.perf_counter()
        await app.push_screen(screen)
        await wait_for(pilot, lambda: bool(painted))
        first = painted[0][0] - started
        await app.workers.wait_for_complete()
        await pilot.pause()
        search = screen.query_one("#purchases-search", Input)
        search.focus()
        await pilot.pause()
        keys: list[float] = []
        for char in TYPED:
            serial = screen.serial
            await app.workers.wait_for_complete()
            await pilot.pause()
            started = time.perf_counter()
            search.insert_text_at_cursor(char)  # what a typed key does, without the Pilot's own waits
            await wait_for(pilot, lambda s=serial: any(shown > s for _, shown in painted))  # type: ignore[misc]
            keys.append(next(when for when, shown in painted if shown > serial) - started)
        found = len(screen.query_one(PurchaseTable).rows)
    setattr(module, "PurchaseTable", PurchaseTable)  # noqa: B010
    return {"first": first, "key": statistics.median(keys), "key_max": max(keys), "found": found, "rss": rss_mb()}


def display_rows(workspace: Any) -> tuple[Any, list[int], list[tuple[str, ...]]]:
    """Every row as text cells (what a DataTable would be given), and the browser that made them."""
    from ksef_tui.services.purchases import PurchaseBrowser
    from ksef_tui.store.purchases import PurchaseRepository

    store = workspace.store(workspace.profile("bench"), read_only=True)
    browser = PurchaseBrowser(PurchaseRepository(store))
    order = browser.order()
    cells: list[tuple[str, ...]] = []
    for row in order:
        r = browser.row(row)
        cells.append(
            (
                r.received,
                r.ksef_number,
                r.kind,
                r.invoice_number,
                r.issue_date,
                r.seller_nip,
                r.seller_name,
                r.net,
                r.vat,
                r.gross,
                r.currency,
                r.booked,
            )
        )
    return browser, order, cells


HEADERS = ("received", "ksef", "type", "invoice", "issued", "nip", "seller", "net", "vat", "gross", "cur", "booked")


async def builtin(browser: Any, order: list[int], cells: list[tuple[str, ...]]) -> dict[str, float]:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    by_row = dict(zip(order, cells, strict=True))
    app = Bare()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        table.add_columns(*HEADERS)
        started = time.perf_counter()
        table.add_rows(cells)
        await pilot.pause()
        await wait_for(pilot, lambda: table.virtual_size.height > len(cells) // 2)
        await pilot.pause()
        first = time.perf_counter() - started
        keys = []
        for end in range(1, len(TYPED) + 1):
            started = time.perf_counter()
            found = browser.search(TYPED[:end])
            table.clear()
            table.add_rows([by_row[row] for row in found])
            await pilot.pause()
            await pilot.pause()
            keys.append(time.perf_counter() - started)
    return {"first": first, "key": statistics.median(keys), "key_max": max(keys), "found": len(found), "rss": rss_mb()}


async def fast(browser: Any, order: list[int], cells: list[tuple[str, ...]]) -> dict[str, float] | None:
    try:
        from textual_fastdatatable import ArrowBackend, DataTable
    except ImportError:
        return None
    from textual.app import App, ComposeResult

    by_row = dict(zip(order, cells, strict=True))

    def backend(rows: list[tuple[str, ...]]) -> Any:
        return ArrowBackend.from_records([HEADERS, *rows], has_header=True)

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(backend=backend(cells))

    app = Bare()
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = time.perf_counter() - started
        table = app.query_one(DataTable)
        keys = []
        found: list[int] = []
        for end in range(1, len(TYPED) + 1):
            started = time.perf_counter()
            found = browser.search(TYPED[:end])
            table.backend = backend([by_row[row] for row in found])
            table.refresh()
            await pilot.pause()
            keys.append(time.perf_counter() - started)
    return {"first": first, "key": statistics.median(keys), "key_max": max(keys), "found": len(found), "rss": rss_mb()}


def line(name: str, result: dict[str, float] | None) -> str:
    if result is None:
        return f"{name:<14} not installed (pip install textual-fastdatatable into the venv)"
    return (
        f"{name:<14} first paint {result['first']:7.3f} s   keystroke median {result['key'] * 1000:7.1f} ms"
        f" (slowest {result['key_max'] * 1000:7.1f} ms, {int(result['found'])} found)   RSS {result['rss']:6.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--skip-datatable", action="store_true", help="leave out the built-in DataTable (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="ksef-bench-table-") as tmp:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        os.environ["KSEF_TUI_LANG"] = "en"
        started = time.perf_counter()
        workspace, settings = make_company(args.rows)
        print(f"{args.rows} purchases stored in {time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB")
        print(line("ours (virtual)", asyncio.run(ours(workspace, settings))))
        browser, order, cells = display_rows(workspace)
        print(f"(display rows for the other tables built: RSS {rss_mb():.0f} MB)")
        print(line("fastdatatable", asyncio.run(fast(browser, order, cells))))
        if not args.skip_datatable:
            print(line("DataTable", asyncio.run(builtin(browser, order, cells))))
        print("goals: first paint <= 0.3 s, keystroke <= 50 ms")


if __name__ == "__main__":
    main()
