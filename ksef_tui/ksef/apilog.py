"""A redacted log of API calls, kept as a ring buffer per profile (for support: what happened, when).

Each entry holds method, path, status, duration and KSeF error codes, and the request and response as
:mod:`ksef_tui.ksef.redaction` leaves them: headers without credentials, JSON bodies with every secret-bearing
field replaced by its size, XML and binary bodies summarised by type and size. Never: bearer tokens, KSeF or
session tokens, keys, invoice content, or the query of a pre-signed storage URL (its signature is a credential).

On disk an entry is one JSON object a line (:meth:`ApiCall.record`); :meth:`ApiCall.from_record` reads those and
the one-line text format written before them (:meth:`ApiCall.line`), so an older log stays readable.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

DEFAULT_SIZE = 500
RECORD_VERSION = 2


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """One side of a call as the log keeps it: already redacted (see :mod:`ksef_tui.ksef.redaction`)."""

    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""  # redacted JSON or text, or "‹type, N bytes›"; "" when there was none
    content_type: str = ""
    size: int = 0  # the body's length in bytes as it travelled

    def to_json(self) -> dict[str, Any]:
        return {
            "headers": [list(pair) for pair in self.headers],
            "body": self.body,
            "content_type": self.content_type,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: object) -> HttpMessage | None:
        if not isinstance(data, dict):
            return None
        headers = data.get("headers")
        pairs = tuple(
            (str(pair[0]), str(pair[1]))
            for pair in (headers if isinstance(headers, list) else [])
            if isinstance(pair, list) and len(pair) == 2
        )
        size = data.get("size")
        return cls(
            headers=pairs,
            body=str(data.get("body") or ""),
            content_type=str(data.get("content_type") or ""),
            size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
        )


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
    request: HttpMessage | None = None  # None: not recorded (a log line written before requests were kept)
    response: HttpMessage | None = None  # None: no answer came, or not recorded

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 400

    def line(self) -> str:
        status = str(self.status) if self.status is not None else "---"
        codes = f" codes={','.join(map(str, self.codes))}" if self.codes else ""
        note = f" {self.note}" if self.note else ""
        return (
            f"{self.at:%Y-%m-%d %H:%M:%S} {self.method:6} {self.path} {status} {self.ms}ms [{self.group}]{codes}{note}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "at": self.at.isoformat(),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "ms": self.ms,
            "group": self.group,
            "codes": list(self.codes),
            "note": self.note,
            "request": self.request.to_json() if self.request else None,
            "response": self.response.to_json() if self.response else None,
        }

    def record(self) -> str:
        """The entry as one line of the log file (JSON, no newline inside)."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_record(cls, text: str) -> ApiCall | None:
        """An entry from a line of the log file (JSON, or the older text line); ``None`` for a line that is
        neither (a damaged file is read as far as it can be)."""
        text = text.strip()
        if not text:
            return None
        if text.startswith("{"):
            try:
                return cls._from_json(json.loads(text))
            except (ValueError, TypeError, KeyError):
                return None
        return cls._from_line(text)

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> ApiCall | None:
        at = datetime.fromisoformat(str(data["at"]))
        status = data.get("status")
        ms = data.get("ms")
        codes = data.get("codes") or []
        return cls(
            at=at if at.tzinfo else at.replace(tzinfo=UTC),
            method=str(data["method"]),
            path=str(data["path"]),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            ms=ms if isinstance(ms, int) and not isinstance(ms, bool) else 0,
            group=str(data.get("group") or ""),
            codes=tuple(int(code) for code in codes if isinstance(code, int)),
            note=str(data.get("note") or ""),
            request=HttpMessage.from_json(data.get("request")),
            response=HttpMessage.from_json(data.get("response")),
        )

    @classmethod
    def _from_line(cls, text: str) -> ApiCall | None:
        match = _LINE.match(text)
        if match is None:
            return None
        status = match["status"]
        return cls(
            at=datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC),
            method=match["method"],
            path=match["path"],
            status=None if status == "---" else int(status),
            ms=int(match["ms"]),
            group=match["group"],
            codes=tuple(int(code) for code in match["codes"].split(",")) if match["codes"] else (),
            note=match["note"] or "",
        )


#: The text line of :meth:`ApiCall.line` (the log's format before requests and responses were kept).
_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<method>\S+)\s+(?P<path>\S+) (?P<status>\d{3}|---) "
    r"(?P<ms>\d+)ms \[(?P<group>[^\]]*)\](?: codes=(?P<codes>[\d,]+))?(?: (?P<note>.*))?$"
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

    def records(self) -> list[str]:
        """The entries as lines of the log file (JSON)."""
        return [entry.record() for entry in self._entries]

    def __len__(self) -> int:
        return len(self._entries)


def read_records(lines: list[str]) -> list[ApiCall]:
    """The entries of a log file's lines, oldest first; lines that are neither format are skipped."""
    return [call for call in map(ApiCall.from_record, lines) if call is not None]
