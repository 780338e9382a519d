"""Exactly once, whatever fails: a send killed with SIGKILL again and again, and a send through a faulty KSeF.

The crash test sends 300 invoices from a child process and kills it at least ten times: right after KSeF took
an invoice or closed a batch but before the answer was journaled (the worst moment: KSeF has it, the register
does not know), and at random moments after journal writes. Runs alternate between online and batch sessions.
At the end KSeF's own counters must show every invoice accepted exactly once and no duplicate, and the store
must have opened (writable) after every kill.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ksef_tui.ksef.limits import PROD_LIMITS, RateLimiter
from ksef_tui.services.sending import SendMode
from ksef_tui.sim.limits import Limit
from ksef_tui.store.db import Store
from ksef_tui.store.sales import SalesRepository, SendState

from ..conftest import Sim, make_api
from .sending_kit import FAST, QUICK, company, sale_xml, sender

#: Generous limits on both sides: the test is about crashes and faults, not pacing.
ROOMY_CLIENT = {group: (s * 100, m * 100, h * 100) for group, (s, m, h) in PROD_LIMITS.items()}
ROOMY_SIM = {group: Limit(s * 100, m * 100, h * 100) for group, (s, m, h) in PROD_LIMITS.items()}
ROOMY_SIM["public"] = Limit(6000, 360_000, 21_600_000)

SCRIPT = """
import asyncio, sys, time
from datetime import date
from pathlib import Path
from ksef_tui.domain.profile import Profile
from ksef_tui.ksef import send as ksef_send
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.limits import PROD_LIMITS, RateLimiter
from ksef_tui.services import sending
from ksef_tui.services.sending import Sender, SendMode, SendOptions
from ksef_tui.store.db import Store
from ksef_tui.store.sales import SalesRepository, SendState

base, token, nip, root, count, mode, hold = sys.argv[1:8]
hold_where, _, hold_at = hold.partition(":")  # "send:N" / "close:N": stop after KSeF answered; "none"
steps = {"send": 0, "close": 0}

def marker(text):
    print(text, flush=True)

def held(name, call):
    async def wrapper(*args, **kwargs):
        result = await call(*args, **kwargs)
        steps[name] += 1
        if hold_where == name and steps[name] == int(hold_at):
            marker("HOLD")  # KSeF has done it; the journal does not know yet: the parent kills us here
            time.sleep(600)
        return result
    return wrapper

ksef_send.send_invoice = held("send", ksef_send.send_invoice)
sending.close_batch_session = held("close", sending.close_batch_session)

update = SalesRepository.update_statuses
def journaled(self, numbers, change):
    result = update(self, numbers, change)
    marker("J")
    return result
SalesRepository.update_statuses = journaled

async def main():
    table = {g: (s * 100, m * 100, h * 100) for g, (s, m, h) in PROD_LIMITS.items()}
    http = KsefHttp(base, limiter=RateLimiter(table))
    async def get_token():
        return token
    api = KsefApi(http, TokenAuth(http, ksef_token=get_token, context_type="Nip", context_value=nip))
    profile = Profile("firma", nip, base, date(2026, 1, 1))
    options = SendOptions(mode=SendMode(mode), batch_max=15, poll_first=0.05, poll_max_delay=0.2)
    with Store.open(Path(root) / "store.json") as store:
        numbers = None  # "all": every queued invoice; else at most that many of them, so each run has work left
        if count != "all":
            numbers = [s.record.number for s in SalesRepository(store).list(state=SendState.QUEUED)][: int(count)]
        report = await Sender(profile, api, store, options=options).send(numbers)
    await http.aclose()
    marker(f"DONE {len(report.accepted)} {len(report.pending)} {len(report.rejected)}")

asyncio.run(main())
"""


@dataclass
class Run:
    killed: bool
    journaled: int
    done: str | None


def run_child(args: list[str], hold: str, kill_after: int | None, delay: float, log: Path) -> Run:
    with log.open("ab") as errors:
        process = subprocess.Popen([*args, hold], stdout=subprocess.PIPE, stderr=errors, text=True)
        assert process.stdout is not None
        journaled, done, trigger = 0, None, False
        for line in process.stdout:
            word = line.strip()
            if word == "J":
                journaled += 1
                trigger = kill_after is not None and journaled >= kill_after
            elif word == "HOLD":
                trigger = True
            elif word.startswith("DONE"):
                done = word
            if trigger:
                if delay:
                    time.sleep(delay)  # a random moment after a journal write
                break
        killed = trigger and process.poll() is None
        if killed:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(60)
        process.stdout.close()
    return Run(killed, journaled, done)


def states(root: Path) -> dict[str, SendState]:
    with Store.open(root / "store.json") as store:  # writable: the kill released the lock
        return {sale.record.number: sale.status.state for sale in SalesRepository(store).list()}


def test_sigkill_during_a_send_never_sends_an_invoice_twice(make_sim: Callable[..., Sim], tmp_path: Path) -> None:
    sim = make_sim(limits=ROOMY_SIM, **QUICK)
    with company(sim, tmp_path) as firm:
        numbers = firm.add(*(sale_xml(sim.nip) for _ in range(300)))
    script = tmp_path / "send.py"
    script.write_text(SCRIPT)
    base = [sys.executable, str(script), sim.base_url, sim.tokens["full"], sim.nip, str(tmp_path), "30"]
    rng = random.Random(2610)
    kills: list[str] = []
    for round_ in range(40):
        mode = ("online", "batch")[round_ % 2]
        kind = ("net", "random", "random")[round_ % 3]
        if kind == "net":
            hold = f"send:{rng.randint(1, 8)}" if mode == "online" else "close:1"
            run = run_child([*base, mode], hold, None, 0.0, tmp_path / "child.log")
        else:
            after = rng.randint(1, 12 if mode == "online" else 5)
            run = run_child([*base, mode], "none", after, rng.uniform(0, 0.05), tmp_path / "child.log")
        now = states(tmp_path)
        assert set(now) == set(numbers)
        if run.killed and run.journaled:
            kills.append(f"{mode}/{kind}")
        if len(kills) >= 12:
            break
    assert len(kills) >= 10, kills
    assert {"online/net", "batch/net"} <= set(kills), kills
    final = subprocess.run(
        [*base[:-1], "all", "batch", "none"], capture_output=True, text=True, timeout=300, check=True
    )
    assert final.stdout.splitlines()[-1].split()[2:] == ["0", "0"], final.stdout  # nothing pending or rejected
    assert set(states(tmp_path).values()) == {SendState.ACCEPTED}
    stats = sim.stats()
    assert stats["duplicates"] == 0, stats
    assert stats["invoices"] == {"accepted": 300, "rejected": 0}, stats
    with Store.open(tmp_path / "store.json") as store:
        sales = SalesRepository(store).list()
        assert len({s.status.ksef_number for s in sales}) == 300
        assert not [s for s in sales if s.status.duplicate]


async def test_a_faulty_ksef_still_gets_every_invoice_exactly_once(
    make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    """10 % 5xx, 5 % dropped connections (half of them after KSeF did the work) and 429 bursts, on every call of
    the send (authentication first, without faults)."""
    sim = make_sim(limits=ROOMY_SIM, **QUICK)
    with company(sim, tmp_path) as firm:
        batch = firm.add(*(sale_xml(sim.nip) for _ in range(300)))
        online = firm.add(*(sale_xml(sim.nip) for _ in range(40)))
        api = make_api(sim.base_url, sim.tokens["full"], sim.nip, limiter=RateLimiter(ROOMY_CLIENT))
        async with api:
            await api.auth.access_token()
            await api.auth.certificates()
            sim.admin("POST", "/faults", {"spec": "error500=0.1,drop=0.05,burst429=0.02,burst_length=3"})
            runs = 0
            for mode, wanted in ((SendMode.BATCH, batch), (SendMode.ONLINE, online)):
                for _ in range(6):  # what a user (or cron) does after a send that KSeF cut short
                    runs += 1
                    report = await sender(firm, api, replace(FAST, mode=mode, batch_max=1000)).send(
                        [n for n in wanted if firm.sale(n).status.state is not SendState.ACCEPTED]
                    )
                    if not report.pending:
                        break
            sim.admin("POST", "/faults", {})
        assert {firm.sale(n).status.state for n in batch + online} == {SendState.ACCEPTED}
    stats = sim.stats()
    assert stats["faults_injected"] >= 10, stats
    assert stats["duplicates"] == 0, stats
    assert stats["invoices"] == {"accepted": 340, "rejected": 0}, stats
