"""What every book of the simulator needs: the configuration, the clock, the random source, reference
numbers and the counters shown at ``/sim/stats``."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from ksef_tui.domain.ksef_number import ReferenceType, make_reference_number
from ksef_tui.sim.config import SimConfig


def secs(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@dataclass
class Stats:
    calls: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    duplicates: int = 0
    accepted: int = 0
    rejected: int = 0
    purchases_seeded: int = 0
    faults_injected: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": dict(sorted(self.calls.items())),
            "rate_limited": self.rate_limited,
            "duplicates": self.duplicates,
            "invoices": {"accepted": self.accepted, "rejected": self.rejected},
            "purchases_seeded": self.purchases_seeded,
            "faults_injected": self.faults_injected,
        }


class Core:
    """The shared basics; :class:`~ksef_tui.sim.state.SimState` is one, and hands itself to its books."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.stats = Stats()

    def now(self) -> datetime:
        return self.config.clock.now().astimezone(UTC)

    def new_reference(self, kind: ReferenceType, when: datetime | None = None) -> str:
        day = (when or self.now()).astimezone(UTC).date()
        return make_reference_number(day, kind, f"{self.rng.getrandbits(80):020X}")


Record = TypeVar("Record")


class Book(Mapping[str, Record]):
    """One concern of the simulator's world: its records by key (reference or number), read like a mapping;
    only the book's own methods change them."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._records: dict[str, Record] = {}

    def __getitem__(self, key: str) -> Record:
        return self._records[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)
