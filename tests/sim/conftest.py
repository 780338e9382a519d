"""Fixtures for the simulator suite: one shared server (fast delays, ``fast`` limits, movable clock)
and a factory for private servers when a test needs its own clock or limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import pytest

from ksef_tui.sim.clock import OffsetClock
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.keys import SYMMETRIC_USAGE, TOKEN_USAGE, PublicKeyCert, make_cert

from .sim_support import Api, SimServer, running

FAST = {
    "auth_delay": 0.15,
    "token_activation_delay": 0.3,
    "token_revocation_delay": 0.3,
    "invoice_queue_delay": 0.1,
    "invoice_processing_delay": 0.15,
    "permanent_storage_delay": 0.4,
    "session_close_delay": 0.1,
    "export_delay": 0.2,
    "hwm_lag": 0.2,
}


@pytest.fixture(scope="session")
def certs() -> list[PublicKeyCert]:
    now = datetime.now().astimezone()
    return [make_cert(TOKEN_USAGE, now), make_cert(SYMMETRIC_USAGE, now)]


def fast_config(**overrides: Any) -> SimConfig:
    values: dict[str, Any] = {"clock": OffsetClock(), "limits": "fast", "seed_purchases": 30, **FAST}
    values.update(overrides)
    return SimConfig(**values)


@pytest.fixture(scope="session")
def sim(certs: list[PublicKeyCert]) -> Iterator[SimServer]:
    with running(fast_config(), certs) as server:
        yield server


@pytest.fixture
def api(sim: SimServer) -> Iterator[Api]:
    client = Api(sim)
    yield client
    client.close()


@pytest.fixture(scope="session")
def full_login(sim: SimServer) -> dict[str, str]:
    """One login with the ``full`` demo token shared by read-only tests."""
    client = Api(sim)
    try:
        tokens: dict[str, str] = client.login(sim.state.named_tokens["full"])
        return tokens
    finally:
        client.close()


@pytest.fixture
def make_sim(certs: list[PublicKeyCert]) -> Iterator[Callable[..., Api]]:
    """``make_sim(**config)`` starts a private simulator and returns a client for it.

    ``own_keys=True`` makes it generate its own certificates instead of sharing the session's."""
    with ExitStack() as stack:

        def factory(*, own_keys: bool = False, **overrides: Any) -> Api:
            server = stack.enter_context(running(fast_config(**overrides), None if own_keys else certs))
            client = Api(server)
            stack.callback(client.close)
            return client

        yield factory
