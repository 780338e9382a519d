"""Start-up cost: a bare Textual import against what the TUI's first frame needs, in fresh interpreters.

Run: ``.venv/bin/python bench/startup.py [--runs 7] [--top 10] [MODULE ...]``.

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
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per line (median)")
    parser.add_argument("--top", type=int, default=10, help="imports listed from -X importtime")
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


if __name__ == "__main__":
    main()
