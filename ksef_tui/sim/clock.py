"""Clocks: the simulator never calls ``datetime.now`` directly so tests can move time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """Real time plus an adjustable offset: time flows, and tests can jump forward."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


class ManualClock:
    """Time stands still until :meth:`advance` is called."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


def iso(dt: datetime) -> str:
    """ISO-8601 with 7 fractional digits and an explicit offset (``2025-07-11T12:23:56.0154302+00:00``)."""
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def iso_ms_local(dt: datetime) -> str:
    """ISO-8601 with milliseconds in Warsaw time, as in UPO documents (``2025-09-16T11:05:40.841+02:00``)."""
    from zoneinfo import ZoneInfo

    local = dt.astimezone(ZoneInfo("Europe/Warsaw"))
    return local.isoformat(timespec="milliseconds")


def unix_ms(dt: datetime) -> int:
    """Unix milliseconds, truncated (never rounded)."""
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
