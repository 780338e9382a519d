"""FA(3) throughput: build + validate, and parse, on 1,000 generated invoices.

Run: ``.venv/bin/python bench/fa_xml.py [--count N] [--seed S] [--threads T]``. Prints invoices per second for
each phase (single thread), then validation from ``--threads`` threads at once (a fresh pool, as a burst of
worker threads would), and one validation in a thread of its own (a Textual thread worker: a new thread per
job), in milliseconds. The XSD compile (``xml_schema`` in a new thread, median of 5) is reported on its own.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import build_xml
from ksef_tui.fa.parse import parse_invoice
from ksef_tui.fa.validate import Schema, validate_bytes, xml_schema

RATES = [VatRate.R23, VatRate.R23, VatRate.R8, VatRate.R5, VatRate.ZERO_WDT, VatRate.REVERSE_CHARGE]
NIPS = ["9999999999", "1111111111", "7740001454", "5261040828"]


def generate(count: int, seed: int) -> list[SalesInvoice]:
    rng = random.Random(seed)
    seller = Seller("5265877635", "Demo sp. z o.o.", Address("ul. Prosta 1", "00-850 Warszawa"))
    result = []
    for index in range(count):
        lines = tuple(
            InvoiceLine(
                f"Pozycja {n} towaru {rng.randrange(10_000)}",
                Decimal(rng.randrange(1, 5000)) / 100,
                Decimal(rng.randrange(1, 10_000_000)) / 100,
                rng.choice(RATES),
            )
            for n in range(rng.randrange(1, 20))
        )
        result.append(
            SalesInvoice(
                f"FV/{index + 1}/2026",
                date(2026, 2, 1) + timedelta(days=rng.randrange(300)),
                seller,
                Buyer(f"Klient {index}", tax_id=rng.choice(NIPS), address=Address("ul. Krótka 2")),
                lines,
            )
        )
    return result


def in_new_thread(job: Callable[[], object]) -> float:
    """Seconds to start a thread that runs ``job``, and join it."""
    started = time.perf_counter()
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    compile_s = statistics.median(in_new_thread(lambda: xml_schema(Schema.FA3)) for _ in range(5))

    invoices = generate(args.count, args.seed)
    stamp = datetime(2026, 3, 1, tzinfo=UTC)

    started = time.perf_counter()
    documents = [build_xml(invoice, created_at=stamp) for invoice in invoices]
    build_s = time.perf_counter() - started

    validate_bytes(documents[0])  # the compile is reported on its own
    started = time.perf_counter()
    invalid = sum(not validate_bytes(doc).ok for doc in documents)
    validate_s = time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        threaded_invalid = sum(not result.ok for result in pool.map(validate_bytes, documents))
    threaded_s = time.perf_counter() - started

    alone_s = statistics.median(in_new_thread(functools.partial(validate_bytes, doc)) for doc in documents[:50])

    started = time.perf_counter()
    parsed = [parse_invoice(doc) for doc in documents]
    parse_s = time.perf_counter() - started

    lines = sum(len(p.lines) for p in parsed)
    size = sum(len(d) for d in documents)
    print(f"invoices: {args.count}  lines: {lines}  bytes: {size}  invalid: {invalid}")
    print(f"xsd compile:        {compile_s * 1000:8.1f} ms (in a new thread, median of 5)")
    print(f"build:              {args.count / build_s:8.0f} invoices/s")
    print(f"validate:           {args.count / validate_s:8.0f} invoices/s")
    print(f"build+validate:     {args.count / (build_s + validate_s):8.0f} invoices/s")
    print(f"validate, {args.threads} threads: {args.count / threaded_s:8.0f} invoices/s (a fresh pool)")
    print(f"validate in a new thread: {alone_s * 1000:5.2f} ms an invoice (median of 50)")
    print(f"parse:              {args.count / parse_s:8.0f} invoices/s")
    if invalid or threaded_invalid:
        raise SystemExit(f"{invalid} generated invoices did not validate")


if __name__ == "__main__":
    main()
