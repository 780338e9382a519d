"""Crash safety: a sync process killed with SIGKILL at random points never costs an imported invoice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ksef_tui.store.db import Store
from ksef_tui.store.purchases import PurchaseRepository, XmlStore

from ..conftest import Sim

SCRIPT = """
import asyncio, sys
from datetime import date
from pathlib import Path
from ksef_tui.domain.profile import Profile
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.services.purchase_sync import PurchaseSync
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import XmlStore

base, token, nip, root = sys.argv[1:5]

async def main() -> None:
    http = KsefHttp(base)
    async def get_token() -> str:
        return token
    api = KsefApi(http, TokenAuth(http, ksef_token=get_token, context_type="Nip", context_value=nip))
    profile = Profile("demo", nip, base, date(2026, 2, 1))
    with Store.open(Path(root) / "store.json") as store:
        result = await PurchaseSync(profile, api, store, XmlStore(Path(root) / "xml")).run()
    await http.aclose()
    print("DONE", result.new, flush=True)

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


def test_sigkill_at_random_points(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim(seed_purchases=150, export_row_cap=12, metadata_row_cap=12)
    seeded = sim.stats()["purchases_seeded"]
    script = tmp_path / "sync.py"
    script.write_text(SCRIPT)
    args = [sys.executable, str(script), sim.base_url, sim.tokens["full"], sim.nip, str(tmp_path)]
    rng = random.Random(2026)
    have: set[str] = set()
    kills = 0
    for _ in range(8):
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 2.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(10)
        now = imported(tmp_path)
        assert have <= now, "an imported invoice was lost"
        have = now
    assert kills >= 3
    final = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    assert final.stdout.startswith("DONE")
    assert len(imported(tmp_path)) == seeded
    assert not list(tmp_path.glob(".store.json.*.tmp"))
    assert not list((tmp_path / "xml").glob("*/*/.*.tmp"))  # leftovers of killed XML writes are cleaned
