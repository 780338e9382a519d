"""Start-up cost: a bare Textual import against what the TUI's first frame needs, in fresh interpreters; then
the first frame itself, ``ksef-tui`` with 50,000 invoices in the store against a bare Textual app, in a real
pseudo-terminal.

Run: ``.venv/bin/python bench/startup.py [--runs 7] [--top 10] [--frame-runs 7] [--invoices 50000]
[--vault plaintext-file|encrypted-file] [--dir DIR] [--no-frame] [MODULE ...]``.

Each line is the median wall time of ``--runs`` fresh ``python -c "..."`` processes (interpreter start-up
included, the runs of all lines interleaved) and its ratio to the bare Textual import:

* interpreter: ``pass``, the floor under every line
* textual: ``import textual.app``
* first frame: textual plus ``ksef_tui.services.workspace``, ``settings``, ``i18n`` and ``errors``
* + store.db: the first frame plus ``ksef_tui.store.db`` (the purchase table's store), on its own line
* + MODULE: the first frame plus each module named on the command line

Then, from ``-X importtime`` on the "+ store.db" line (median of ``--runs``), the ``--top`` most expensive
imports ksef_tui causes beyond what Textual loaded: each ksef_tui module's own time, and each outside module
it pulls in, whole (its cumulative time), named with the ksef_tui module that imported it.

Issue 9's budget is first frame <= 1.2x textual; the numbers are printed, not judged.

The first frame (issue 12: ksef-tui <= 1.5x a bare Textual app, with 50,000 invoices in the store): a company
profile with ``--invoices`` purchases is made once in a temporary XDG home (under ``--dir``), the secret in a
plaintext file or an encrypted one (master password from a 0600 file), so the app starts without asking. Then
``--frame-runs`` times, interleaved, each program is spawned on a new pseudo-terminal (``pty.fork``, 100x30,
``TERM=xterm-256color``) and timed from the fork to the first appearance of a marker in what it writes to the
terminal, then killed:

* bare textual: ``App`` with one ``Label``; the marker is the label's text
* ksef-tui frame: ``ksef-tui``; the first frame, marked by its footer's Quit key (before any store work)
* ksef-tui company: the header showing the company's name (the profiles read; the headline number)
* ksef-tui overview: the home screen's count of purchase invoices (the 50,000-row store opened and counted)

Each line is the median and its ratio to the bare app; no network is used (the profile's KSeF address is a
closed local port, and nothing at start-up calls it).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TEXTUAL = "import textual.app"
FIRST_FRAME = "import ksef_tui.services.workspace, ksef_tui.settings, ksef_tui.i18n, ksef_tui.errors"


def wall_ms(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - started) * 1000


@dataclass
class Node:
    depth: int
    name: str
    self_us: int
    cumulative_us: int
    children: list[Node] = field(default_factory=list)


def import_tree(stderr: str) -> list[Node]:
    """The top-level imports of a ``-X importtime`` report, with their children (the report is post-order)."""
    pending: list[Node] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        node = Node(depth, name.strip(), int(self_us), int(cumulative_us))
        while pending and pending[-1].depth > depth:
            node.children.insert(0, pending.pop())
        pending.append(node)
    return pending


def ksef_tui_costs(roots: list[Node]) -> dict[tuple[str, str], int]:
    """(module, imported by) -> microseconds: a ksef_tui module's own time, an outside module's whole subtree."""
    costs: dict[tuple[str, str], int] = {}

    def walk(node: Node, importer: str) -> None:
        if node.name.startswith("ksef_tui"):
            costs[(node.name, "own code")] = node.self_us
            for child in node.children:
                walk(child, node.name)
        else:
            costs[(node.name, importer)] = node.cumulative_us

    for root in roots:
        if root.name.startswith("ksef_tui"):
            walk(root, "-")
    return costs


# ------------------------------------------------------------------------------------------- first frame

COLUMNS, ROWS = 100, 30
PROFILE = "bench-company"
#: The buyer of ``bench/store.py``'s purchases: the company whose store they fill.
NIP = "7740001454"
#: A token of the right shape (never sent anywhere: nothing at start-up calls KSeF).
TOKEN = f"20261130-EC-D8F191B758-4A2265B1F5-F4|nip-{NIP}|{'5a' * 32}"
#: KSeF at a closed local port: a call made by mistake fails at once, off this machine never.
KSEF_URL = "http://127.0.0.1:9/v2"
BARE_LABEL = "bare textual frame"
BARE_APP = f"""
from textual.app import App, ComposeResult
from textual.widgets import Label


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Label({BARE_LABEL!r})


Bare().run()
"""
FRAME_TIMEOUT = 60.0


def xdg_env(home: Path, vault: str) -> dict[str, str]:
    """The environment of a user whose home is ``home``: our XDG directories, the vault chosen, English."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KSEF_TUI_", "XDG_", "TEXTUAL", "TMUX"))}
    env.update(HOME=str(home), TERM="xterm-256color", LANG="C.UTF-8", KSEF_TUI_LANG="en")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home / name.lower())
    env["KSEF_TUI_SECRET_BACKEND"] = vault
    if vault == "encrypted-file":
        env["KSEF_TUI_MASTER_PASSWORD_FILE"] = str(home / "master-password")
    return env


def build_company(home: Path, invoices: int, vault: str) -> None:
    """The profile and its store with ``invoices`` purchases (``bench/store.py``'s), through the store's
    repositories, in batches as a sync writes them. Runs in a child process: the XDG variables are its own."""
    if vault == "encrypted-file":
        password = home / "master-password"
        password.write_text("bench master password\n")
        password.chmod(0o600)
    code = f"""
import random, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from bench.store import BATCH, generate
from ksef_tui.services.workspace import Workspace
from ksef_tui.store.purchases import PurchaseRepository

workspace = Workspace()
profile = workspace.add_profile({PROFILE!r}, {NIP!r}, {KSEF_URL!r}, "2025-01-01", {TOKEN!r})
records = generate(0, {invoices}, random.Random({invoices}))
workspace.store_path(profile).parent.mkdir(parents=True, exist_ok=True)
with workspace.open_store(profile) as store:
    repo = PurchaseRepository(store)
    for start in range(0, len(records), BATCH):
        repo.upsert_many(records[start : start + BATCH])
    print(repo.count())
"""
    done = subprocess.run(
        [sys.executable, "-c", code], env=xdg_env(home, vault), capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or done.stdout.split() != [str(invoices)]:
        raise SystemExit(f"could not build the store: {done.stdout}{done.stderr}")


def first_frame_ms(argv: list[str], env: dict[str, str], markers: dict[str, bytes]) -> dict[str, float]:
    """Spawn ``argv`` on a new pseudo-terminal; the milliseconds from the fork to each marker's first appearance
    in its output (every marker waited for); then kill it."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a COLUMNS x ROWS terminal, then the program
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        os.execve(argv[0], argv, env)
    seen: dict[str, float] = {}
    output = bytearray()
    try:
        deadline = started + FRAME_TIMEOUT
        while len(seen) < len(markers):
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.perf_counter()))
            if not ready:
                tail = output[-600:].decode("utf-8", "replace")
                raise SystemExit(f"{argv[-1]}: no {sorted(set(markers) - set(seen))} in {FRAME_TIMEOUT:.0f} s: {tail}")
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:  # the program ended (EIO on Linux)
                chunk = b""
            if not chunk:
                raise SystemExit(f"{argv[-1]} ended before {sorted(set(markers) - set(seen))}: {output[-600:]!r}")
            now = time.perf_counter()
            output += chunk
            for name, marker in markers.items():
                if name not in seen and marker in output:
                    seen[name] = (now - started) * 1000
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return seen


def first_frames(args: argparse.Namespace) -> None:
    ksef_tui = str(Path(sys.executable).parent / "ksef-tui")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="ksef-tui-startup-") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        build_company(home, args.invoices, args.vault)
        built = time.perf_counter() - started
        print(f"\nfirst frame in a {COLUMNS}x{ROWS} pseudo-terminal, median of {args.frame_runs} runs")
        print(f"(a store of {args.invoices:,} purchases, built in {built:.1f} s; the vault: {args.vault})")
        env = xdg_env(home, args.vault)
        programs: dict[str, tuple[list[str], dict[str, bytes]]] = {
            "bare": ([sys.executable, "-c", BARE_APP], {"bare textual": BARE_LABEL.encode()}),
            "ksef-tui": (
                [ksef_tui],
                {
                    "ksef-tui frame": b"Quit",
                    "ksef-tui company": PROFILE.encode(),
                    "ksef-tui overview": f"Purchase invoices: {args.invoices}".encode(),
                },
            ),
        }
        for argv, markers in programs.values():  # warm the file cache (not counted)
            first_frame_ms(argv, env, markers)
        times: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.frame_runs):
            for argv, markers in programs.values():
                for name, ms in first_frame_ms(argv, env, markers).items():
                    times[name].append(ms)
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["bare textual"]
    for name, ms in medians.items():
        spread = f"{min(times[name]):.0f}-{max(times[name]):.0f}"
        print(f"{name:<18} {ms:7.1f} ms  {ms / base:5.2f}x bare textual   (runs {spread} ms)")
    ratio = medians["ksef-tui company"] / base
    print(f"ratio, ksef-tui's first frame with its company / bare Textual app: {ratio:.2f} (goal <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per line (median)")
    parser.add_argument("--top", type=int, default=10, help="imports listed from -X importtime")
    parser.add_argument("--frame-runs", type=int, default=7, help="first-frame runs of each program (median)")
    parser.add_argument("--invoices", type=int, default=50_000, help="purchases in the store for the first frame")
    parser.add_argument("--vault", choices=("plaintext-file", "encrypted-file"), default="plaintext-file")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary home with the store is made")
    parser.add_argument("--no-frame", action="store_true", help="the import times only")
    parser.add_argument("modules", nargs="*", help="more modules, each timed on top of the first frame")
    args = parser.parse_args()

    cases = {
        "interpreter": "pass",
        "textual": TEXTUAL,
        "first frame": f"{TEXTUAL}; {FIRST_FRAME}",
        "+ store.db": f"{TEXTUAL}; {FIRST_FRAME}; import ksef_tui.store.db",
    }
    for module in args.modules:
        cases[f"+ {module}"] = f"{TEXTUAL}; {FIRST_FRAME}; import {module}"

    wall_ms("pass")  # warm the file cache once
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.runs):
        for label, code in cases.items():
            times[label].append(wall_ms(code))
    medians = {label: statistics.median(values) for label, values in times.items()}
    base = medians["textual"]
    width = max(len(label) for label in cases)
    print(f"median wall time of {args.runs} fresh processes ({sys.executable})")
    for label, ms in medians.items():
        print(f"{label:<{width}}  {ms:7.1f} ms  {ms / base:5.2f}x textual")

    samples: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _ in range(args.runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", cases["+ store.db"]],
            capture_output=True,
            text=True,
            check=True,
        )
        for key, us in ksef_tui_costs(import_tree(done.stderr)).items():
            samples[key].append(us)
    costs = {key: statistics.median(values) for key, values in samples.items()}
    total = sum(costs.values())
    print(f"\nimports caused by ksef_tui after textual (+ store.db line, -X importtime): {total / 1000:.1f} ms in all")
    for (module, importer), cost in sorted(costs.items(), key=lambda item: -item[1])[: args.top]:
        print(f"{cost / 1000:7.1f} ms  {module:<36} {importer}")

    if not args.no_frame:
        first_frames(args)


if __name__ == "__main__":
    main()
