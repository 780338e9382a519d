"""Test-wide settings (time zone, language, fixtures folder) and the simulator fixtures, defined here once
over the one harness in ``tests/harness.py``:

``sim_certs``            session-wide simulator certificates (RSA generation is slow)
``make_sim(**config)``   a private simulator per call, over real HTTP (uvicorn on 127.0.0.1), stopped after the test
``make_sim_in_process``  the same without a server: ``sim.transport`` (``httpx.ASGITransport``) for async clients
``sim``                  ``make_sim()`` with the defaults
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.i18n import set_language
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import MemorySessionStore, SessionStore, TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.limits import PROD_LIMITS, RateLimiter
from ksef_tui.sim.keys import PublicKeyCert

from . import harness
from .harness import config, in_process, make_certs, serve

#: The suites annotate with it (``from ..conftest import Sim``).
Sim = harness.Sim


@pytest.fixture(scope="session")
def sim_certs() -> list[PublicKeyCert]:
    return make_certs()


@pytest.fixture
def make_sim(sim_certs: list[PublicKeyCert]) -> Iterator[Callable[..., Sim]]:
    """``make_sim(**config)``: a private simulator (own counters, limits and clock) for one test, over real HTTP.

    ``own_keys=True`` makes it generate its own certificates instead of sharing the session's."""
    with ExitStack() as stack:

        def factory(*, own_keys: bool = False, **overrides: Any) -> Sim:
            return stack.enter_context(serve(config(**overrides), None if own_keys else sim_certs))

        yield factory


@pytest.fixture
def make_sim_in_process(sim_certs: list[PublicKeyCert]) -> Callable[..., Sim]:
    """``make_sim_in_process(**config)``: like ``make_sim`` with no server (``sim.transport`` for async clients)."""

    def factory(*, own_keys: bool = False, **overrides: Any) -> Sim:
        return in_process(config(**overrides), None if own_keys else sim_certs)

    return factory


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim()


async def _no_sleep(seconds: float) -> None:
    return None


def make_api(
    base_url: str,
    token: str,
    nip: str,
    *,
    store: SessionStore | None = None,
    limiter: RateLimiter | None = None,
    **http_kwargs: Any,
) -> KsefApi:
    http = KsefHttp(base_url, limiter=limiter or RateLimiter(PROD_LIMITS), **http_kwargs)

    async def get_token() -> str:
        return token

    auth = TokenAuth(
        http, ksef_token=get_token, context_type="Nip", context_value=nip, store=store or MemorySessionStore()
    )
    return KsefApi(http, auth)


FIXTURES = Path(__file__).parent / "fixtures"

os.environ["TZ"] = "Europe/Warsaw"
time.tzset()


@pytest.fixture(autouse=True)
def _english_by_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests read messages in English unless they ask for Polish; the product default stays Polish. The
    process-wide language a test (or the command line, or an app) set is dropped after it, for the next."""
    monkeypatch.setenv("KSEF_TUI_LANG", "en")
    yield
    set_language(None)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
