"""The one simulator harness of the test suite (its fixtures are in ``tests/conftest.py``).

A :class:`Sim` is a running simulator, reached one of two ways:

* over real HTTP (the default): uvicorn on 127.0.0.1 in a thread, so timeouts, retries and connection errors
  are real (``serve``);
* in process (``in_process``): no socket and no server; clients reach the app through ``sim.transport``
  (``httpx.ASGITransport``) for async clients and ``sim.client()`` for sync ones.
  Meant for fast tests of screens and services that need a KSeF but not the network.

Either way ``sim.base_url`` is the ``/v2`` base to give a client, ``sim.transport`` is what to pass as its
transport (``None`` over real HTTP), and ``sim.state`` is the simulator's world.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from ksef_tui.domain.profile import Profile
from ksef_tui.sim.app import create_app, describe
from ksef_tui.sim.clock import ManualClock, OffsetClock
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.keys import SYMMETRIC_USAGE, TOKEN_USAGE, PublicKeyCert, make_cert
from ksef_tui.sim.state import SimState

#: The configuration every simulator of the suite starts from (``make_sim(**overrides)`` changes it):
#: a clock that flows and can be moved, the ``fast`` limits, a few purchases and short delays.
DEFAULTS: dict[str, Any] = {
    "limits": "fast",
    "seed_purchases": 5,
    "auth_delay": 0.2,
    "token_activation_delay": 0.3,
    "token_revocation_delay": 0.3,
}

#: A fixed day for tests that want a calendar that does not move with the real one (see ``fixed_clock``).
FIXED_NOW = datetime(2026, 5, 15, 10, 0, tzinfo=UTC)

IN_PROCESS_ROOT = "http://ksef-sim.test"


def fixed_clock(start: datetime = FIXED_NOW) -> ManualClock:
    """A clock that stands at ``start`` until a test moves it: the seed, every date a test sees and every
    delay the simulator models are the same whatever day and however fast the suite runs."""
    return ManualClock(start)


def make_certs() -> list[PublicKeyCert]:
    """One certificate per usage, valid from before :data:`FIXED_NOW` (and a month before today) for two years
    from today, so simulators on the real and on the fixed calendar can share them (RSA generation is slow)."""
    now = datetime.now(UTC)
    age = max((now - FIXED_NOW).days, 0) + 30
    return [make_cert(TOKEN_USAGE, now, age_days=age), make_cert(SYMMETRIC_USAGE, now, age_days=age)]


def config(**overrides: Any) -> SimConfig:
    values: dict[str, Any] = {"clock": OffsetClock(), **DEFAULTS, **overrides}
    return SimConfig(**values)


class Sim:
    """A running simulator (see the module's docstring for the two ways to reach it)."""

    def __init__(self, app: Starlette, state: SimState, root: str, *, in_process: bool = False) -> None:
        self.app = app
        self.state = state
        self.root = root
        self.in_process = in_process
        info = describe(state, root)
        self.base_url: str = info["base_url"]
        self.admin_url: str = info["admin_url"]
        #: Latarnia, KSeF's status service, as the simulator serves it (``{root}/latarnia``).
        self.latarnia_url: str = info["latarnia_url"]
        self.nip: str = info["nip"]
        self.tokens: dict[str, str] = dict(info["tokens"])
        #: What an async httpx client passes as ``transport=`` (``None``: the real network).
        self.transport: httpx.AsyncBaseTransport | None = httpx.ASGITransport(app=app) if in_process else None

    @property
    def config(self) -> SimConfig:
        return self.state.config

    def client(self, **kwargs: Any) -> httpx.Client:
        """A sync client rooted at the simulator (``/v2/...``, ``/sim/...``, ``/storage/...``)."""
        kwargs.setdefault("timeout", 30)
        if self.in_process:
            kwargs["transport"] = SyncASGITransport(self.app)
        return httpx.Client(base_url=self.root, **kwargs)

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the admin API (``/sim/...``) and return its JSON; raises for an error status."""
        with self.client() as http:
            response = http.request(method, f"/sim{path}", json=body)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "/stats")
        return result

    def profile(self, nip: str | None = None) -> Profile:
        return Profile("demo", nip or self.nip, self.base_url, date(2026, 2, 1))

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (its clock must be movable)."""
        move = getattr(self.config.clock, "advance", None)
        if move is None:
            raise TypeError("this simulator's clock cannot be moved")
        move(seconds)


class SyncASGITransport(httpx.BaseTransport):
    """A sync httpx transport to an ASGI app: each request runs on its own event loop in a helper thread (the
    caller may be inside a running loop, as async tests are)."""

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=request.read())

        async def exchange() -> httpx.Response:
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, exchange()).result()


@contextmanager
def serve(sim_config: SimConfig, certs: list[PublicKeyCert] | None) -> Iterator[Sim]:
    """A simulator over real HTTP: uvicorn on a free port of 127.0.0.1, in a thread, for the ``with`` block."""
    app, state = create_app(sim_config, certs=certs)
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only for sockets that say they are TCP; with protocol 0 every
    # request to the simulator waited ~40 ms for the delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        # uvicorn has no callback for "listening": poll its flag (a condition, bounded).
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        yield Sim(app, state, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def in_process(sim_config: SimConfig, certs: list[PublicKeyCert] | None) -> Sim:
    """A simulator without a server: requests go straight to the ASGI app."""
    app, state = create_app(sim_config, certs=certs)
    return Sim(app, state, IN_PROCESS_ROOT, in_process=True)
