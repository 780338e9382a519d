"""The KSeF availability service "Latarnia" (CERTS_OFFLINE.md §6): an async client of its two calls.

Latarnia is documented only by MF's own clients: an unauthenticated host beside KSeF (TEST
``https://api-latarnia-test.ksef.mf.gov.pl/``, PRD ``https://api-latarnia.ksef.mf.gov.pl/``; no DEMO one) with

* ``GET /status`` -> ``{"status": "AVAILABLE|MAINTENANCE|FAILURE|TOTAL_FAILURE", "messages": [Message] | null}``;
* ``GET /messages`` -> ``[Message]``, ``Message`` = ``{id, eventId, category, type, title, text, start, end,
  version, published}`` (camelCase; ``end`` null while unknown).

No schema and no sample are published, so the reading is tolerant: unknown fields are ignored, ``messages: null``
is no messages, a message that cannot be read (no ``eventId``, a date that is not one) is left out rather than
failing the answer. What cannot be read at all (not JSON, not an object, no status or one this client does not
know) is a :class:`LatarniaError` of kind ``answer``; an HTTP error status one of kind ``status``; no answer one of
kind ``unreachable``. Never anything else: the caller falls back to learning KSeF's state from its failures.

The calls go through a short-timeout ``httpx.AsyncClient`` (the transport can be an in-process simulator's, as for
:class:`~ksef_tui.ksef.client.KsefHttp`) and are kept in an :class:`~ksef_tui.ksef.apilog.ApiLog` with group
``latarnia``, redacted the same way as KSeF's calls.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ksef_tui.domain.profile import ENVIRONMENTS
from ksef_tui.errors import Category
from ksef_tui.ksef.apilog import ApiCall, ApiLog, HttpMessage, redact_url
from ksef_tui.ksef.client import USER_AGENT, parse_time
from ksef_tui.ksef.errors import KsefError, ProtocolViolation, transport_failure
from ksef_tui.ksef.redaction import redact_body, redact_headers

#: Latarnia's host per KSeF environment (MF's clients: ``LighthouseEnvironmentsUris``); DEMO has none.
LATARNIA_URLS: dict[str, str | None] = {
    "test": "https://api-latarnia-test.ksef.mf.gov.pl",
    "demo": None,
    "prod": "https://api-latarnia.ksef.mf.gov.pl",
}
#: Where a KSeF at an URL of its own (the simulator) serves Latarnia: its root (the base without ``/v2``) + this.
URL_PATH = "/latarnia"
#: Latarnia is asked often and in the background: it answers quickly or is taken as unreachable.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
LOG_GROUP = "latarnia"

E = TypeVar("E", bound=StrEnum)


class LatarniaState(StrEnum):
    AVAILABLE = "AVAILABLE"
    MAINTENANCE = "MAINTENANCE"
    FAILURE = "FAILURE"
    TOTAL_FAILURE = "TOTAL_FAILURE"


class MessageCategory(StrEnum):
    """A message's ``category``: what kind of event it is about."""

    FAILURE = "FAILURE"
    TOTAL_FAILURE = "TOTAL_FAILURE"
    MAINTENANCE = "MAINTENANCE"


class MessageType(StrEnum):
    FAILURE_START = "FAILURE_START"
    FAILURE_END = "FAILURE_END"
    MAINTENANCE_ANNOUNCEMENT = "MAINTENANCE_ANNOUNCEMENT"


@dataclass(frozen=True, slots=True)
class LatarniaMessage:
    """One message; ``event_id`` groups one event's messages (a failure's start and end). ``category`` and
    ``type`` are ``None`` when Latarnia says something this client does not know."""

    id: str
    event_id: int
    category: MessageCategory | None
    type: MessageType | None
    title: str
    text: str
    start: datetime | None
    end: datetime | None
    version: int
    published: datetime | None


@dataclass(frozen=True, slots=True)
class LatarniaStatus:
    state: LatarniaState
    messages: tuple[LatarniaMessage, ...] = ()


class LatarniaError(KsefError):
    """Latarnia could not say KSeF's state: ``kind`` is ``unreachable`` (no answer), ``status`` (an HTTP error
    status) or ``answer`` (an answer that is not Latarnia's)."""

    category = Category.NETWORK

    def __init__(self, kind: str, url: str, detail: str) -> None:
        super().__init__(f"Latarnia {kind} at {url}: {detail}", url=url, detail=detail)
        self.kind = kind
        self.url = url
        self.detail = detail
        self.key = f"latarnia.err.{kind}"


def latarnia_url(environment: str) -> str | None:
    """Latarnia's base URL for a profile's environment: MF's host for ``test`` and ``prod``, ``None`` for ``demo``
    (and any name it does not know); for a KSeF at an URL (the simulator), that URL's root (``/v2`` taken off)
    followed by ``/latarnia``."""
    name = environment.strip().lower()
    if name in LATARNIA_URLS or name in ENVIRONMENTS:
        return LATARNIA_URLS.get(name)
    parts = urlsplit(environment.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    root = environment.strip().rstrip("/")
    if root.endswith("/v2"):
        root = root[: -len("/v2")]
    return root + URL_PATH


class LatarniaClient:
    """``GET /status`` and ``GET /messages`` of one Latarnia (``base_url`` as :func:`latarnia_url` gives it)."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        log: ApiLog | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or self.base_url
        self.log = log if log is not None else ApiLog()
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> LatarniaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def status(self) -> LatarniaStatus:
        body = await self._get("/status")
        if not isinstance(body, dict):
            raise self._odd("/status", "not a JSON object")
        raw = body.get("status")
        try:
            state = LatarniaState(str(raw).upper()) if isinstance(raw, str) else None
        except ValueError:
            state = None
        if state is None:
            raise self._odd("/status", f"status {raw!r} is not one Latarnia documents")
        messages = body.get("messages")
        if messages is not None and not isinstance(messages, list):
            raise self._odd("/status", "messages is neither a list nor null")
        return LatarniaStatus(state, read_messages(messages or []))

    async def messages(self) -> tuple[LatarniaMessage, ...]:
        body = await self._get("/messages")
        if body is None:
            return ()
        if not isinstance(body, list):
            raise self._odd("/messages", "not a JSON list")
        return read_messages(body)

    def _odd(self, path: str, detail: str) -> LatarniaError:
        return LatarniaError("answer", self.base_url + path, detail)

    async def _get(self, path: str) -> Any:
        url = self.base_url + path
        started = time.perf_counter()
        request = self._http.build_request("GET", url)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            failure = transport_failure(exc, self.host)
            self._record(request, None, started, note=failure.kind)
            raise LatarniaError("unreachable", url, str(failure)) from None
        except httpx.HTTPError as exc:  # an odd URL or protocol: never a crash
            self._record(request, None, started, note=type(exc).__name__)
            raise LatarniaError("unreachable", url, type(exc).__name__) from None
        if response.is_error or response.status_code != 200:
            self._record(request, response, started, note="")
            raise LatarniaError("status", url, f"HTTP {response.status_code}")
        try:
            body = json.loads(response.content) if response.content.strip() else None
        except ValueError:
            self._record(request, response, started, note="not JSON")
            raise self._odd(path, "body is not JSON") from None
        self._record(request, response, started, note="")
        return body

    def _record(self, request: httpx.Request, response: httpx.Response | None, started: float, *, note: str) -> None:
        self.log.add(
            ApiCall(
                at=datetime.now(UTC),
                method=request.method,
                path=redact_url(str(request.url)),
                status=response.status_code if response is not None else None,
                ms=int((time.perf_counter() - started) * 1000),
                group=LOG_GROUP,
                note=note,
                request=_kept(request.headers, request.content),
                response=_kept(response.headers, response.content) if response is not None else None,
            )
        )


def _kept(headers: httpx.Headers, content: bytes) -> HttpMessage:
    content_type = headers.get("content-type", "")
    return HttpMessage(
        headers=redact_headers(headers.items()),
        body=redact_body(content, content_type),
        content_type=content_type,
        size=len(content),
    )


def read_messages(items: list[Any]) -> tuple[LatarniaMessage, ...]:
    """The messages that can be read (see the module's docstring); the others are left out."""
    kept = []
    for item in items:
        message = read_message(item)
        if message is not None:
            kept.append(message)
    return tuple(kept)


def read_message(item: object) -> LatarniaMessage | None:
    """One ``Message``, or ``None`` when it has no usable ``eventId`` or a date that is not one."""
    if not isinstance(item, dict):
        return None
    event_id = _integer(item.get("eventId"))
    if event_id is None:
        return None
    try:
        start, end, published = (_moment(item.get(name)) for name in ("start", "end", "published"))
    except ProtocolViolation:
        return None
    version = _integer(item.get("version"))
    return LatarniaMessage(
        id=str(item.get("id") or ""),
        event_id=event_id,
        category=_enum(MessageCategory, item.get("category")),
        type=_enum(MessageType, item.get("type")),
        title=_text(item.get("title")),
        text=_text(item.get("text")),
        start=start,
        end=end,
        version=version if version is not None else 1,
        published=published,
    )


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _moment(value: object) -> datetime | None:
    return None if value is None or value == "" else parse_time(value)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _enum(kind: type[E], value: object) -> E | None:
    if not isinstance(value, str):
        return None
    try:
        return kind(value.strip().upper())
    except ValueError:
        return None


__all__ = [
    "LATARNIA_URLS",
    "LatarniaClient",
    "LatarniaError",
    "LatarniaMessage",
    "LatarniaState",
    "LatarniaStatus",
    "MessageCategory",
    "MessageType",
    "latarnia_url",
    "read_messages",
]
