"""Sending at scale: 1,000 sales invoices to the simulator with production rate limits and its default delays.

Run: ``.venv/bin/python bench/send.py [--invoices N] [--dir DIR]``. Prints the wall time until the last KSeF
number is in the register and until the send is done (UPOs saved), the calls per rate-limit group, the 429
answers, and what the one-by-one online way would need under the same limits.
Target: at most 5 rate-limited calls, no 429, every KSeF number in under 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
from ksef_tui.domain.profile import Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import build_xml
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import TokenAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.limits import PROD_LIMITS
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.services.sending import Sender, SendProgress, SendReport
from ksef_tui.sim.config import SimConfig
from ksef_tui.store.db import Store
from ksef_tui.store.sales import SalesRepository

sys.path.insert(0, str(Path(__file__).parent.parent))
from bench.sync import serve  # the simulator in a process of its own, as for the sync bench

#: Groups that are not rate-limited per context: authentication (per IP) and pre-signed downloads/uploads.
NOT_COUNTED = ("public", "unlimited")


def make_invoices(root: Path, nip: str, count: int) -> list[Path]:
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    seller = Seller(nip, "Sprzedawca sp. z o.o.", Address("ul. Długa 1", "00-001 Warszawa"))
    paths = []
    for n in range(count):
        invoice = SalesInvoice(
            f"FV/{n + 1}/{uuid.uuid4().hex[:6]}/2026",
            today,
            seller,
            Buyer("Klient sp. z o.o.", tax_id="9999999999"),
            (InvoiceLine("usługa", Decimal(n % 7 + 1), Decimal("10.50"), VatRate.R23),),
        )
        path = root / f"{n}.xml"
        path.write_bytes(build_xml(invoice, created_at=datetime.now(UTC)))
        paths.append(path)
    return paths


async def send(info: dict[str, object], root: Path, marks: dict[str, float]) -> SendReport:
    base, nip = str(info["base_url"]), str(info["nip"])
    tokens = info["tokens"]
    assert isinstance(tokens, dict)
    http = KsefHttp(base)

    async def token() -> str:
        return str(tokens["full"])

    def progress(step: SendProgress) -> None:
        if step.phase == "upo" and "numbers" not in marks:  # written right after the KSeF numbers are journaled
            marks["numbers"] = time.perf_counter()

    api = KsefApi(http, TokenAuth(http, ksef_token=token, context_type="Nip", context_value=nip))
    profile = Profile("bench", nip, base, date(2026, 2, 1))
    with Store.open(root / "store.json") as store:
        await api.auth.access_token()  # sign in first: the bench measures the send
        marks["start"] = time.perf_counter()
        report = await Sender(profile, api, store, progress=progress).send()
        marks["done"] = time.perf_counter()
    await http.aclose()
    return report


def one_by_one(count: int) -> str:
    """Calls and time the online way needs: one send per invoice (invoiceSend), an open and a close
    (onlineSession), and at least one status list per 1,000 (sessionInvoiceList); the time is that of the sends
    alone at the fastest pace the three sliding windows allow."""
    limits = PROD_LIMITS["invoiceSend"]
    sent: list[float] = []
    moment = 0.0
    for _ in range(count):
        for window, limit in zip((1.0, 60.0, 3600.0), limits, strict=True):
            if len(sent) >= limit:
                moment = max(moment, sent[-limit] + window)
        sent.append(moment)
    calls = count + 2 + math.ceil(count / 1000)
    hours, rest = divmod(int(moment), 3600)
    return f"{calls} rate-limited calls, the sends alone at least {hours} h {rest // 60} min {rest % 60} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None, help="where the register is written")
    args = parser.parse_args()
    info, stop = serve(SimConfig(limits="prod", seed_purchases=0, auth_delay=0.3))
    try:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            root = Path(tmp)
            (root / "in").mkdir()
            started = time.perf_counter()
            paths = make_invoices(root / "in", str(info["nip"]), args.invoices)
            profile = Profile("bench", str(info["nip"]), str(info["base_url"]), date(2026, 2, 1))
            with Store.open(root / "store.json") as store:
                result = import_invoices(SalesRepository(store), sales_xml_root(store.path), profile, paths)
            print(f"{len(result.imported)} invoices built and imported in {time.perf_counter() - started:.1f} s")
            marks: dict[str, float] = {}
            report = asyncio.run(send(info, root, marks))
            numbers = marks.get("numbers", marks["done"]) - marks["start"]
            print(
                f"every KSeF number in the register after {numbers:.1f} s; send done (UPOs saved) after "
                f"{marks['done'] - marks['start']:.1f} s"
            )
            print(
                f"accepted {len(report.accepted)}, rejected {len(report.rejected)}, pending {len(report.pending)}, "
                f"UPOs {report.upo_saved}"
            )
            limited = {g: n for g, n in report.calls.items() if g not in NOT_COUNTED}
            print(f"rate-limited calls: {sum(limited.values())} {dict(sorted(limited.items()))}")
            print(f"all calls: {dict(sorted(report.calls.items()))}")
        stats = httpx.get(f"{info['admin_url']}/stats").json()
        print(
            f"429 answers: {stats['rate_limited']}; simulator: accepted {stats['invoices']['accepted']}, "
            f"duplicates {stats['duplicates']}"
        )
        print(f"the one-by-one online way: {one_by_one(args.invoices)}")
    finally:
        stop()


if __name__ == "__main__":
    main()
