"""The harness's in-process simulator (``make_sim_in_process``): no server, the same answers."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from ..harness import Sim


async def test_an_async_client_reaches_the_in_process_simulator(make_sim_in_process: Callable[..., Sim]) -> None:
    sim = make_sim_in_process(seed_purchases=3)
    assert sim.transport is not None and sim.base_url.endswith("/v2")
    async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as client:
        keys = await client.get("/security/public-key-certificates")
        challenge = await client.post("/auth/challenge")
    assert keys.status_code == 200 and len(keys.json()) == 2
    assert challenge.status_code == 200 and challenge.json()["challenge"][9:11] == "CR"
    # the sync side (admin API, and what a sync client gets from sim.client()) works from inside the event loop
    assert sim.stats()["calls"]["public"] == 2
    assert sim.stats()["purchases_seeded"] == 3


def test_a_sync_client_reaches_the_in_process_simulator(make_sim_in_process: Callable[..., Sim]) -> None:
    sim = make_sim_in_process(seed_purchases=0)
    with sim.client() as http:
        doubled = http.post("/v2//auth/challenge/")
        missing = http.get("/v2/no/such/thing")
    assert doubled.status_code == 200
    assert doubled.headers["content-type"] == "application/json; charset=utf-8"
    assert missing.status_code == 404
    before = sim.state.now()
    sim.advance(60)
    assert (sim.state.now() - before).total_seconds() >= 60
