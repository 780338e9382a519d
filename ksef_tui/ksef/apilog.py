"""A redacted log of API calls, kept as a ring buffer per profile (for support: what happened, when).

Entries hold method, path, status, duration and KSeF error codes. Never: bearer tokens, request or response
bodies (encrypted payloads, tokens), or the query of a pre-signed storage URL (its signature is a credential).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

DEFAULT_SIZE = 500


@dataclass(frozen=True, slots=True)
class ApiCall:
    at: datetime
    method: str
    path: str
    status: int | None  # None when no answer came (network failure)
    ms: int
    group: str
    codes: tuple[int, ...] = ()
    note: str = ""

    def line(self) -> str:
        status = str(self.status) if self.status is not None else "---"
        codes = f" codes={','.join(map(str, self.codes))}" if self.codes else ""
        note = f" {self.note}" if self.note else ""
        return (
            f"{self.at:%Y-%m-%d %H:%M:%S} {self.method:6} {self.path} {status} {self.ms}ms [{self.group}]{codes}{note}"
        )


def redact_url(url: str, *, base_path: str = "") -> str:
    """The path only: host, query and fragment dropped (pre-signed URLs carry their signature in the query)."""
    parts = urlsplit(url)
    path = parts.path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :] or "/"
    return path + ("?…" if parts.query else "")


class ApiLog:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[ApiCall] = deque(maxlen=size)

    def add(self, call: ApiCall) -> None:
        self._entries.append(call)

    def entries(self) -> list[ApiCall]:
        return list(self._entries)

    def lines(self) -> list[str]:
        return [entry.line() for entry in self._entries]

    def __len__(self) -> int:
        return len(self._entries)
