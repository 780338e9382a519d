"""Purchase import at scale: 10,000 seeded purchases, the simulator with production rate limits.

Run: ``.venv/bin/python bench/sync.py [--purchases N] [--dir DIR]``. Prints the wall time of the first and of a second
sync, calls per rate-limit group (the scarce ones: invoiceMetadata 20/h, invoiceDownload 64/h,
invoiceExport 20/h) and the number of 429 answers. Target: at most 5 calls in the scarce groups, no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from multiprocessing.connection import Connection
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


def _serve_in_child(config: SimConfig, conn: Connection) -> None:
    app, state = create_app(config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    conn.send(describe(state, f"http://127.0.0.1:{port}"))
    conn.recv()  # until the bench is done
    server.should_exit = True
    thread.join(5)


def serve(config: SimConfig) -> tuple[dict[str, object], Callable[[], None]]:
    """The simulator in a process of its own, as KSeF is: its work (building and encrypting exports) must not
    share the client's GIL, or the bench measures the two together."""
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(target=_serve_in_child, args=(config, theirs), daemon=True)
    child.start()
    info = ours.recv()

    def stop() -> None:
        ours.send("stop")
        child.join(10)

    return info, stop


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
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the store is written (file creation cost differs by filesystem)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    info, stop = serve(SimConfig(limits="prod", seed_purchases=args.purchases, auth_delay=0.3))
    print(f"simulator with {args.purchases} purchases ready in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
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
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "xml" not in p.parts)
        files = sum(1 for p in (root / "xml").rglob("*.xml"))
        print(f"store: {size / 1e6:.1f} MB; XML files: {files}")
    stats = httpx.get(f"{info['admin_url']}/stats").json()
    print(f"429 answers: {stats['rate_limited']}; simulator calls: {stats['calls']}")
    stop()


if __name__ == "__main__":
    main()
