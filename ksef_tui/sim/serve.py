"""``ksef-tui sim serve``: run the simulator with uvicorn and print where it is (first stdout line, JSON)."""

from __future__ import annotations

import argparse
import json
import socket
import sys

import uvicorn

from ksef_tui.sim.app import create_app, describe
from ksef_tui.sim.config import SimConfig, parse_faults


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ksef-tui sim serve", description="Run the local KSeF 2.0 simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed-purchases", type=int, default=24, help="purchase invoices of the demo company")
    parser.add_argument("--seed", type=int, default=1, help="seed of all generated data")
    parser.add_argument("--limits", choices=("prod", "fast"), default="prod", help="rate-limit profile")
    parser.add_argument("--faults", default="", help="e.g. latency=0.2,error503=0.1,force429=invoiceMetadata")
    parser.add_argument(
        "--environment",
        choices=("PRD", "TE"),
        default="PRD",
        help="TE: self-signed certificates log in with XAdES, /testdata is served",
    )
    return parser


def serve_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        print(f"--faults: {exc}", file=sys.stderr)
        return 2
    config = SimConfig(
        seed=args.seed,
        seed_purchases=args.seed_purchases,
        limits=args.limits,
        faults=faults,
        environment=args.environment,
    )
    app, state = create_app(config)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        # Listening before the line that says where: a client that connects the moment it reads it waits in the
        # backlog until uvicorn accepts, instead of being refused (seen under load in CI).
        sock.listen(128)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(json.dumps(describe(state, f"http://{host}:{port}"), ensure_ascii=False), flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(serve_main(sys.argv[1:]))
