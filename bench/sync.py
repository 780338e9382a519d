"""Purchase import at scale: 10,000 seeded purchases, the simulator with production rate limits.

Run: ``.venv/bin/python bench/sync.py [--purchases N]``. Prints the wall time of the first and of a second
sync, calls per rate-limit group (the scarce ones: invoiceMetadata 20/h, invoiceDownload 64/h,
invoiceExport 20/h) and the number of 429 answers. Target: at most 5 calls in the scarce groups, no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import uvicorn

from ksef_tui.domain.profile import Profile
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.services.purchase_sync import PurchaseSync, SyncResult
from ksef_tui.sim.app import create_app, describe
from ksef_tui.sim.config import SimConfig
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import XmlStore

SCARCE = ("invoiceMetadata", "invoiceDownload", "invoiceExport")


def serve(config: SimConfig) -> tuple[dict[str, object], uvicorn.Server]:
    app, state = create_app(config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return describe(state, f"http://127.0.0.1:{port}"), server


async def one_sync(info: dict[str, object], root: Path) -> SyncResult:
    base, nip = str(info["base_url"]), str(info["nip"])
    tokens = info["tokens"]
    assert isinstance(tokens, dict)
    http = KsefHttp(base)

    async def token() -> str:
        return str(tokens["full"])

    api = KsefApi(http, TokenAuth(http, ksef_token=token, context_type="Nip", context_value=nip))
    with Store.open(root / "store.json") as store:
        result = await PurchaseSync(
            Profile("bench", nip, base, date(2026, 2, 1)), api, store, XmlStore(root / "xml")
        ).run()
    await http.aclose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--purchases", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    info, server = serve(SimConfig(limits="prod", seed_purchases=args.purchases, auth_delay=0.3))
    print(f"simulator with {args.purchases} purchases ready in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label in ("first sync", "second sync"):
            started = time.perf_counter()
            result = asyncio.run(one_sync(info, root))
            wall = time.perf_counter() - started
            scarce = sum(result.calls.get(g, 0) for g in SCARCE)
            print(
                f"{label}: {wall:.1f} s, new {result.new}, corrections {result.corrections}, windows {result.windows}"
            )
            print(f"  calls: {dict(sorted(result.calls.items()))}; scarce groups: {scarce}")
        size = (root / "store.json").stat().st_size
        print(f"store: {size / 1e6:.1f} MB")
    stats = httpx.get(f"{info['admin_url']}/stats").json()
    print(f"429 answers: {stats['rate_limited']}; simulator calls: {stats['calls']}")
    server.should_exit = True


if __name__ == "__main__":
    main()
