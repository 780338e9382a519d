"""Fixtures of the simulator's own suite, on the one harness (``tests/harness.py``, fixtures in
``tests/conftest.py``): one shared simulator for the whole suite and a factory of private ones, both with a
fixed clock (``fixed_clock``: it stands at a fixed day until a test, or a wait, moves it), so nothing depends on
the calendar or on how fast the machine is. Every exchange through :class:`Api` is checked against the
official OpenAPI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from ksef_tui.sim.keys import PublicKeyCert
from ksef_tui.sim.limits import PROD_LIMITS, Limit

from ..harness import Sim, config, fixed_clock, serve
from .sim_support import Api

#: The suite's simulators: shorter delays than the harness defaults, and enough purchases to page through.
SUITE: dict[str, Any] = {
    "seed_purchases": 30,
    "auth_delay": 0.15,
    "invoice_queue_delay": 0.1,
    "invoice_processing_delay": 0.15,
    "permanent_storage_delay": 0.4,
    "session_close_delay": 0.1,
    "export_delay": 0.2,
    "hwm_lag": 0.2,
}


#: The shared simulator's clock only moves when told, so every request of the run falls into the same rate
#: windows: it does not limit (429s are tested on private simulators).
NO_LIMITS = {group: Limit(1_000_000, 1_000_000, 1_000_000) for group in PROD_LIMITS}


@pytest.fixture(scope="session")
def shared_sim(sim_certs: list[PublicKeyCert]) -> Iterator[Sim]:
    """One simulator for the tests that only add to its world (their own sessions, invoices, tokens)."""
    with serve(config(clock=fixed_clock(), **{**SUITE, "limits": NO_LIMITS}), sim_certs) as server:
        yield server


@pytest.fixture
def api(shared_sim: Sim) -> Iterator[Api]:
    client = Api(shared_sim)
    yield client
    client.close()


@pytest.fixture(scope="session")
def full_login(shared_sim: Sim) -> dict[str, str]:
    """One login with the ``full`` demo token shared by read-only tests."""
    client = Api(shared_sim)
    try:
        tokens: dict[str, str] = client.login(shared_sim.state.named_tokens["full"])
        return tokens
    finally:
        client.close()


@pytest.fixture
def make_client(make_sim: Callable[..., Sim]) -> Iterator[Callable[..., Api]]:
    """``make_client(**config)``: a private simulator on the suite's configuration (``make_sim``) and a
    checked client for it."""
    with ExitStack() as stack:

        def factory(**overrides: Any) -> Api:
            client = Api(make_sim(**{"clock": fixed_clock(), **SUITE, **overrides}))
            stack.callback(client.close)
            return client

        yield factory
