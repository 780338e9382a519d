"""Test-wide settings (time zone, language, fixtures folder) and the simulator fixtures: client tests run
against the simulator over real HTTP, uvicorn on 127.0.0.1 in a thread."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from ksef_tui.domain.profile import Profile
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import MemorySessionStore, SessionStore, TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.limits import PROD_LIMITS, RateLimiter
from ksef_tui.sim.app import create_app, describe
from ksef_tui.sim.clock import OffsetClock
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.keys import SYMMETRIC_USAGE, TOKEN_USAGE, PublicKeyCert, make_cert
from ksef_tui.sim.state import SimState

FAST: dict[str, Any] = {
    "limits": "fast",
    "seed_purchases": 5,
    "auth_delay": 0.2,
    "token_activation_delay": 0.3,
    "token_revocation_delay": 0.3,
}


@dataclass
class Sim:
    base_url: str
    admin_url: str
    nip: str
    tokens: dict[str, str]
    state: SimState

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.admin_url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "/stats")
        return result

    def profile(self, nip: str | None = None) -> Profile:
        return Profile("demo", nip or self.nip, self.base_url, date(2026, 2, 1))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(config: SimConfig, certs: list[PublicKeyCert]) -> Iterator[Sim]:
    app, state = create_app(config, certs=certs)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("simulator did not start")
        time.sleep(0.01)
    info = describe(state, f"http://127.0.0.1:{port}")
    try:
        yield Sim(info["base_url"], info["admin_url"], info["nip"], dict(info["tokens"]), state)
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture(scope="session")
def sim_certs() -> list[PublicKeyCert]:
    now = datetime.now().astimezone()
    return [make_cert(TOKEN_USAGE, now), make_cert(SYMMETRIC_USAGE, now)]


@pytest.fixture
def make_sim(sim_certs: list[PublicKeyCert]) -> Iterator[Callable[..., Sim]]:
    """``make_sim(**config)``: a private simulator (own counters, limits and clock) for one test."""
    with ExitStack() as stack:

        def factory(**overrides: Any) -> Sim:
            values = {"clock": OffsetClock(), **FAST, **overrides}
            return stack.enter_context(serve(SimConfig(**values), sim_certs))

        yield factory


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
def _english_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read messages in English unless they ask for Polish; the product default stays Polish."""
    monkeypatch.setenv("KSEF_TUI_LANG", "en")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
