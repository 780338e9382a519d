"""Client-side rate limiting per KSeF rate-limit group (PROTOCOL.md §8.3), so we do not provoke 429s.

Sliding windows of 1 s, 60 s and 3600 s are enforced together, with the production values by default.
``other`` endpoints have a counter each (the group name carries the endpoint).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

WINDOWS = (1.0, 60.0, 3600.0)

PROD_LIMITS: dict[str, tuple[int, int, int]] = {
    "onlineSession": (10, 30, 120),
    "invoiceSend": (10, 30, 180),
    "batchSession": (10, 20, 60),
    "invoiceStatus": (30, 120, 1200),
    "sessionList": (5, 10, 60),
    "sessionInvoiceList": (10, 20, 200),
    "sessionMisc": (10, 120, 1200),
    "invoiceMetadata": (8, 16, 20),
    "invoiceExport": (8, 16, 20),
    "invoiceExportStatus": (10, 60, 600),
    "invoiceDownload": (8, 16, 64),
    "other": (10, 30, 120),
    "auth": (60, 3600, 216000),  # unauthenticated endpoints: 60 req/s per IP
}

#: Calls that are not rate-limited at all (pre-signed storage URLs).
UNLIMITED = "unlimited"

_RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/sessions/online$"), "onlineSession"),
    ("POST", re.compile(r"^/sessions/online/[^/]+/close$"), "onlineSession"),
    ("POST", re.compile(r"^/sessions/online/[^/]+/invoices$"), "invoiceSend"),
    ("POST", re.compile(r"^/sessions/batch$"), "batchSession"),
    ("POST", re.compile(r"^/sessions/batch/[^/]+/close$"), "batchSession"),
    ("GET", re.compile(r"^/sessions/[^/]+/invoices/[^/]+$"), "invoiceStatus"),
    ("GET", re.compile(r"^/sessions$"), "sessionList"),
    ("GET", re.compile(r"^/sessions/[^/]+/invoices(/failed)?$"), "sessionInvoiceList"),
    ("GET", re.compile(r"^/sessions/[^/]+(/upo/.*|/invoices/.+/upo|/invoices/ksef/.+/upo)?$"), "sessionMisc"),
    ("POST", re.compile(r"^/invoices/query/metadata$"), "invoiceMetadata"),
    ("POST", re.compile(r"^/invoices/exports$"), "invoiceExport"),
    ("GET", re.compile(r"^/invoices/exports/[^/]+$"), "invoiceExportStatus"),
    ("GET", re.compile(r"^/invoices/ksef/[^/]+$"), "invoiceDownload"),
    ("POST", re.compile(r"^/auth/(challenge|ksef-token|xades-signature|token/redeem|token/refresh)$"), "auth"),
    ("GET", re.compile(r"^/auth/[^/]+$"), "auth"),
    ("GET", re.compile(r"^/security/public-key-certificates$"), "auth"),
]


def group_for(method: str, path: str) -> str:
    """The rate-limit group of an API path (relative to ``/v2``, without the query)."""
    for rule_method, pattern, group in _RULES:
        if rule_method == method and pattern.match(path):
            if group == "auth" and path == "/auth/sessions":
                break
            return group
    # "other": one counter per endpoint; identifiers in the path are folded so /tokens/A and /tokens/B share it.
    template = re.sub(r"/\d{8}-[A-Z]{2}-[0-9A-F-]+", "/{ref}", path)
    return f"other:{method} {template}"


def limits_for(group: str, table: dict[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    return table.get(group) or table[group.split(":", 1)[0]]


@dataclass(frozen=True, slots=True)
class Wait:
    """A pause the UI can show as a countdown: why, for which group, how long."""

    group: str
    seconds: float
    reason: str  # "limiter" (our own budget) or "retry-after" (the server said 429)


WaitCallback = Callable[[Wait], None]


class RateLimiter:
    """Sliding-window limiter shared by every call of one profile."""

    def __init__(
        self,
        table: dict[str, tuple[int, int, int]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._table = table or PROD_LIMITS
        self._clock = clock
        self._sleep = sleep
        self._history: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()
        self.calls: dict[str, int] = {}

    def delay(self, group: str) -> float:
        """Seconds until one more call in ``group`` fits every window (0 when it fits now)."""
        history = self._history.get(group)
        if not history:
            return 0.0
        now = self._clock()
        while history and history[0] <= now - WINDOWS[-1]:
            history.popleft()
        wait = 0.0
        for window, limit in zip(WINDOWS, limits_for(group, self._table), strict=True):
            inside = [stamp for stamp in history if stamp > now - window]
            if len(inside) >= limit:
                wait = max(wait, inside[len(inside) - limit] + window - now)
        return wait

    async def acquire(self, group: str, on_wait: WaitCallback | None = None) -> None:
        if group == UNLIMITED:
            return
        async with self._lock:
            wait = self.delay(group)
            if wait > 0:
                if on_wait is not None:
                    on_wait(Wait(group, wait, "limiter"))
                await self._sleep(wait)
            self._history.setdefault(group, deque()).append(self._clock())
            base = group.split(":", 1)[0]
            self.calls[base] = self.calls.get(base, 0) + 1
