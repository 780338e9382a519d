"""Crash safety: a sync process killed with SIGKILL inside the import never costs an invoice.

The child reports each save of a window on stdout (``SAVE n`` when a batch starts, ``SAVED n`` when its headers
are in the store), so the kills land where they matter: at the start of a save (the window fetched, nothing of
it written), between the XML files and the headers, and at random moments after saves have begun. A cursor
moved before its window is saved fails here: the next run starts after the window and its invoices never come.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository, XmlStore

from ..conftest import Sim

SCRIPT = """
import asyncio, sys, time
from datetime import date
from pathlib import Path
from ksef_tui.domain.profile import Profile
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.services import purchase_sync
from ksef_tui.services.purchase_sync import PurchaseSync
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository, XmlStore

base, token, nip, root, hold = sys.argv[1:6]
hold_where, _, hold_at = hold.partition(":")  # "save:N" / "headers:N": stop inside the N-th save; "none"
saves = 0

def marker(text: str) -> None:
    print(text, flush=True)

save = PurchaseSync._save
def counted_save(self, metas, xml):
    global saves
    saves += 1
    marker(f"SAVE {saves}")
    if hold_where == "save" and saves == int(hold_at):
        marker("HOLD")  # the window is fetched and nothing of it written: the parent kills us here
        time.sleep(600)
    save(self, metas, xml)
    marker(f"SAVED {saves}")
PurchaseSync._save = counted_save

upsert = PurchaseRepository.upsert_many
def held_upsert(self, records):
    if hold_where == "headers" and saves == int(hold_at):
        marker("HOLD")  # the XML files are written, the headers not yet
        time.sleep(600)
    return upsert(self, records)
PurchaseRepository.upsert_many = held_upsert

async def main() -> None:
    http = KsefHttp(base)
    async def get_token() -> str:
        return token
    api = KsefApi(http, TokenAuth(http, ksef_token=get_token, context_type="Nip", context_value=nip))
    profile = Profile("demo", nip, base, date(2026, 2, 1))
    with Store.open(Path(root) / "store.json") as store:
        result = await PurchaseSync(profile, api, store, XmlStore(Path(root) / "xml")).run()
    await http.aclose()
    marker(f"DONE {result.new}")

asyncio.run(main())
"""


def imported(root: Path) -> set[str]:
    with Store.open(root / "store.json") as store:  # writable: proves the lock was released by the kill
        repo = PurchaseRepository(store)
        xml = XmlStore(root / "xml")
        for record in repo.all():  # every stored header with XML has an intact file
            if record.xml_path and record.xml_sha256:
                xml.get(record.xml_path, record.xml_sha256)
        return repo.ksef_numbers()


@dataclass
class Run:
    killed: bool
    saves_started: int  # SAVE markers seen before the end (or the kill)
    done: bool


def run_child(args: list[str], hold: str, kill_after_saved: int | None, delay: float, log: Path) -> Run:
    """One sync run: killed at a HOLD marker, or ``delay`` seconds after the ``kill_after_saved``-th SAVED
    marker; otherwise it runs to the end."""
    with log.open("ab") as errors:
        process = subprocess.Popen([*args, hold], stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdout is not None
        saves_started, saved, done, trigger = 0, 0, False, False
        for line in process.stdout:  # ends at EOF: the child finished or died
            word = line.split()[0] if line.split() else ""
            if word == "SAVE":
                saves_started += 1
            elif word == "SAVED":
                saved += 1
                trigger = kill_after_saved is not None and saved >= kill_after_saved
            elif word == "HOLD":
                trigger = True
            elif word == "DONE":
                done = True
            if trigger:
                if delay:
                    time.sleep(delay)  # not a wait for anything: a random moment inside the import
                break
        killed = trigger and process.poll() is None  # at EOF the child is ending on its own: not a kill
        if killed:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        process.stdout.close()
    return Run(killed, saves_started, done)


def test_sigkill_inside_the_import_loses_nothing(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim(seed_purchases=150, export_row_cap=12, metadata_row_cap=12)
    seeded = sim.stats()["purchases_seeded"]
    script = tmp_path / "sync.py"
    script.write_text(SCRIPT)
    args = [sys.executable, str(script), sim.base_url, sim.tokens["full"], sim.nip, str(tmp_path)]
    rng = random.Random(2026)
    have: set[str] = set()
    kills: list[str] = []  # how each kill landed; only kills after this run's first save are counted
    for round_ in range(40):
        kind = ("save", "headers", "random")[round_ % 3]
        if kind == "random":
            run = run_child(args, "none", rng.randint(1, 2), rng.uniform(0.0, 0.3), tmp_path / "child.log")
        else:
            run = run_child(args, f"{kind}:{rng.randint(2, 3)}", None, 0.0, tmp_path / "child.log")
        now = imported(tmp_path)
        assert have <= now, "an imported invoice was lost"
        have = now
        if run.killed and run.saves_started:
            kills.append(kind)
        if run.done:
            break
    else:
        raise AssertionError("the import never finished")
    assert len(imported(tmp_path)) == seeded, "a window's invoices were skipped: the cursor ran ahead of a save"
    # The kills landed inside the import, in each way, not before the first save.
    assert len(kills) >= 5, kills
    assert {"save", "headers", "random"} <= set(kills), kills
    final = subprocess.run([*args, "none"], capture_output=True, text=True, timeout=120, check=True)
    assert final.stdout.splitlines()[-1] == "DONE 0"
    assert len(imported(tmp_path)) == seeded
    assert not list(tmp_path.glob(".store.json.*.tmp"))
    assert not list((tmp_path / "xml").glob("*/*/.*.tmp"))  # leftovers of killed XML writes are cleaned
