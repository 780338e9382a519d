"""Rate limits (PROTOCOL.md §8.3): per-group sliding windows of 1 s, 60 s and 3600 s.

Counted per (context, client IP); the group ``other`` keeps a separate counter per endpoint. The
unauthenticated endpoints share the ``public`` group (60 requests per second per IP).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Limit:
    per_second: int
    per_minute: int
    per_hour: int


PROD_LIMITS: dict[str, Limit] = {
    "onlineSession": Limit(10, 30, 120),
    "batchSession": Limit(10, 20, 60),
    "invoiceSend": Limit(10, 30, 180),
    "invoiceStatus": Limit(30, 120, 1200),
    "sessionList": Limit(5, 10, 60),
    "sessionInvoiceList": Limit(10, 20, 200),
    "sessionMisc": Limit(10, 120, 1200),
    "invoiceMetadata": Limit(8, 16, 20),
    "invoiceExport": Limit(8, 16, 20),
    "invoiceExportStatus": Limit(10, 60, 600),
    "invoiceDownload": Limit(8, 16, 64),
    "other": Limit(10, 30, 120),
    "public": Limit(60, 3600, 216_000),
}

# Meant for local work and test suites: every window ten times wider than production (the old TEST
# environment multiplier), so only deliberate hammering hits a 429.
FAST_LIMITS: dict[str, Limit] = {
    name: Limit(lim.per_second * 10, lim.per_minute * 10, lim.per_hour * 10) for name, lim in PROD_LIMITS.items()
}

PROFILES: dict[str, dict[str, Limit]] = {"prod": PROD_LIMITS, "fast": FAST_LIMITS}

_WINDOWS = ((1.0, "per_second", "sekundę"), (60.0, "per_minute", "minutę"), (3600.0, "per_hour", "godzinę"))


@dataclass(frozen=True, slots=True)
class Refusal:
    retry_after: int
    limit: int
    window_name: str

    @property
    def message(self) -> str:
        return (
            f"Przekroczono limit {self.limit} żądań na {self.window_name}. "
            f"Spróbuj ponownie po {self.retry_after} sekundach."
        )


class RateLimiter:
    def __init__(self, limits: dict[str, Limit]) -> None:
        self.limits = dict(limits)
        self._hits: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: tuple[str, ...], group: str, now: datetime) -> Refusal | None:
        """Record one request; return a refusal (and do not count it) when a window is full."""
        limit = self.limits.get(group)
        if limit is None:
            return None
        t = now.timestamp()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= t - 3600.0:
                hits.popleft()
            for seconds, attr, name in _WINDOWS:
                allowed = int(getattr(limit, attr))
                inside = [h for h in hits if h > t - seconds] if seconds < 3600.0 else list(hits)
                if len(inside) >= allowed:
                    # The window frees up when its oldest counted hit leaves it.
                    oldest = inside[len(inside) - allowed]
                    retry = max(1, math.ceil(oldest + seconds - t))
                    return Refusal(retry, allowed, name)
            hits.append(t)
        return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
