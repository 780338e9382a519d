"""Seed data (valid FA(3), deterministic), the admin API and ``serve_main``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ksef_tui.domain.ksef_number import is_valid_ksef_number
from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.fa.validate import validate_bytes
from ksef_tui.sim.clock import ManualClock
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.keys import PublicKeyCert
from ksef_tui.sim.seed import DEMO, OTHER, SUPPLIERS
from ksef_tui.sim.state import SimState

from ..harness import Sim
from .sim_support import Api


def test_seed_is_valid_varied_and_deterministic(sim_certs: list[PublicKeyCert]) -> None:
    clock = ManualClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    one = SimState(SimConfig(clock=clock, seed=7, seed_purchases=25), sim_certs)
    two = SimState(SimConfig(clock=clock, seed=7, seed_purchases=25), sim_certs)
    other = SimState(SimConfig(clock=clock, seed=8, seed_purchases=25), sim_certs)
    assert sorted(one.invoices) == sorted(two.invoices)
    assert one.named_tokens == two.named_tokens
    assert sorted(one.invoices) != sorted(other.invoices)
    assert one.stats.purchases_seeded == 25
    rates: set[str] = set()
    kinds: set[str] = set()
    for inv in one.invoices.values():
        assert validate_bytes(inv.xml).ok, [str(f) for f in validate_bytes(inv.xml).findings]
        assert is_valid_ksef_number(inv.ksef_number)
        assert inv.facts.buyer_value == DEMO.nip
        assert datetime(2026, 2, 1, tzinfo=UTC) <= inv.acquisition <= clock.now()
        assert inv.permanent_storage > inv.acquisition
        kinds.add(inv.facts.rodzaj)
        rates.update(r.decode() for r in __import__("re").findall(rb"<P_12>([^<]+)</P_12>", inv.xml))
    assert kinds == {"VAT", "KOR"}
    assert {"23", "8", "5"} <= rates
    assert [inv for inv in one.invoices.values() if inv.facts.currency == "EUR" and b"P_14_1W" in inv.xml]
    for company in (DEMO, OTHER, *SUPPLIERS):
        assert is_valid_nip(company.nip)


def test_admin_subject_token_and_stats(api: Api, shared_sim: Sim) -> None:
    nip = "1134567895"
    assert api.admin("POST", "/subjects", json={"nip": nip, "name": "Nowy klient"}).status_code == 201
    assert api.admin("POST", "/subjects", json={"nip": "1234567890"}).status_code == 400
    created = api.admin("POST", "/tokens", json={"nip": nip, "permissions": ["InvoiceRead"], "status": "Active"}).json()
    tokens = api.login(created["token"])
    assert api.call("GET", f"/tokens/{created['referenceNumber']}", token=tokens["access"]).json()["status"] == "Active"
    assert api.admin("POST", "/tokens", json={"nip": "9999999999"}).status_code == 400
    stats = api.admin("GET", "/stats").json()
    assert stats["purchases_seeded"] == 30
    assert stats["calls"]["public"] > 0
    assert set(stats["invoices"]) == {"accepted", "rejected"}
    info = api.admin("GET", "/info").json()
    assert info["base_url"] == shared_sim.base_url and info["nip"] == DEMO.nip


def test_admin_clock_and_limits(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0)
    before = client.admin("POST", "/clock/advance", json={"seconds": 0}).json()["now"]
    after = client.admin("POST", "/clock/advance", json={"seconds": 3600}).json()["now"]
    assert after > before
    table = client.admin("POST", "/limits", json={"profile": "prod", "table": {"public": [1, 100, 1000]}}).json()
    assert table["public"] == [1, 100, 1000] and table["invoiceMetadata"] == [8, 16, 20]
    assert client.call("POST", "/auth/challenge").status_code == 200
    assert client.call("POST", "/auth/challenge").status_code == 429


def test_serve_main_prints_json_first(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from ksef_tui.sim.serve import serve_main; sys.exit(serve_main(sys.argv[1:]))",
            "--port",
            "0",
            "--seed-purchases",
            "3",
            "--limits",
            "fast",
            "--faults",
            "latency=0",
            "--environment",
            "TE",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert set(first) >= {"base_url", "admin_url", "nip", "tokens"}
        assert first["base_url"].endswith("/v2") and ":0/" not in first["base_url"]
        assert set(first["tokens"]) == {"full", "read_only", "write_only", "other_nip", "revoked", "inactive"}
        response = httpx.post(first["base_url"] + "/auth/challenge", timeout=10)
        assert response.status_code == 200
        stats = httpx.get(first["admin_url"] + "/stats", timeout=10).json()
        assert stats["purchases_seeded"] == 3
        testdata = httpx.post(first["base_url"] + "/testdata/person", json={}, timeout=10)
        assert testdata.status_code == 400  # served (TE), the empty body refused
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - diagnostics only
            proc.kill()
            proc.wait()
