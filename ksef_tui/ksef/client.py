"""The low-level KSeF 2.0 HTTP client: one ``httpx.AsyncClient`` per profile.

It adds the headers every call needs (``X-Error-Format: problem-details``, the bearer), keeps the client-side
rate limiter, honours ``Retry-After`` (reported through a callback the UI shows as a countdown), retries only
where it is safe, maps errors to typed exceptions and writes the redacted API log.

Retry policy:
* 429: the server did not process the call, so waiting as told and repeating is safe for every call; at most
  ``max_429_retries`` times, then :class:`RateLimited` is raised (never an endless loop).
* network failures and 5xx: repeated only for calls marked ``idempotent`` (GETs, the challenge); never for a
  send, a session open/close or a token redeem, whose effect may have happened already.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from ksef_tui.ksef.apilog import ApiCall, ApiLog, HttpMessage, redact_url
from ksef_tui.ksef.errors import (
    ApiError,
    ProtocolViolation,
    RateLimited,
    error_from_response,
    retry_after_seconds,
    transport_failure,
)
from ksef_tui.ksef.limits import UNLIMITED, RateLimiter, Wait, WaitCallback, group_for
from ksef_tui.ksef.redaction import redact_body, redact_headers

USER_AGENT = "ksef-tui"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class KsefHttp:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        log: ApiLog | None = None,
        on_wait: WaitCallback | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_429_retries: int = 3,
        max_retries: int = 2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path
        self.host = urlsplit(self.base_url).hostname or self.base_url
        self.limiter = limiter or RateLimiter()
        self.log = log if log is not None else ApiLog()
        self.on_wait = on_wait
        self.max_429_retries = max_429_retries
        self.max_retries = max_retries
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "X-Error-Format": "problem-details", "Accept": "application/json"},
            follow_redirects=False,
        )
        self.counts: dict[str, int] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> KsefHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _wait(self, wait: Wait) -> None:
        if self.on_wait is not None:
            self.on_wait(wait)

    async def request(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = False,
        absolute: bool = False,
    ) -> httpx.Response:
        """One API call (``path`` relative to ``/v2`` unless ``absolute``, e.g. a pre-signed URL)."""
        url = path if absolute else f"{self.base_url}{path}"
        group = UNLIMITED if absolute else group_for(method, path)
        send_headers = dict(headers or {})
        if bearer is not None:
            send_headers["Authorization"] = f"Bearer {bearer}"
        if absolute:
            # Pre-signed storage URLs must never see our headers' credentials.
            send_headers.pop("Authorization", None)
        rate_limited = 0
        failures = 0
        while True:
            await self.limiter.acquire(group, self._wait)
            started = time.perf_counter()
            request = self._http.build_request(
                method, url, json=json, params=params, content=content, headers=send_headers
            )
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                failure = transport_failure(exc, self.host)
                self._record(method, url, None, started, group, note=failure.kind, request=request)
                if idempotent and failures < self.max_retries:
                    failures += 1
                    await self._sleep(0.5 * 2**failures)
                    continue
                raise failure from None
            error = error_from_response(response) if response.is_error else None
            self._record(
                method,
                url,
                response.status_code,
                started,
                group,
                codes=error.codes if error else (),
                request=request,
                response=response,
            )
            if error is None:
                return response
            if isinstance(error, RateLimited):
                if rate_limited >= self.max_429_retries:
                    raise error
                rate_limited += 1
                seconds = retry_after_seconds(response)
                self._wait(Wait(group, seconds, "retry-after"))
                await self._sleep(seconds)
                continue
            if response.status_code >= 500 and idempotent and failures < self.max_retries:
                failures += 1
                await self._sleep(0.5 * 2**failures)
                continue
            raise error

    def _record(
        self,
        method: str,
        url: str,
        status: int | None,
        started: float,
        group: str,
        *,
        codes: tuple[int, ...] = (),
        note: str = "",
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        ms = int((time.perf_counter() - started) * 1000)
        self.log.add(
            ApiCall(
                at=datetime.now(UTC),
                method=method,
                path=redact_url(url, base_path=self._base_path),
                status=status,
                ms=ms,
                group=group.split(":", 1)[0],
                codes=codes,
                note=note,
                request=_kept(request.headers, request.content) if request is not None else None,
                response=_kept(response.headers, response.content) if response is not None else None,
            )
        )

    async def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call whose answer must be a JSON object."""
        response = await self.request(method, path, **kwargs)
        return json_object(response.content, f"{method} {path}")


def _kept(headers: httpx.Headers, content: bytes) -> HttpMessage:
    """What the API log keeps of one side of a call: redacted headers and body (see ``ksef.redaction``)."""
    content_type = headers.get("content-type", "")
    return HttpMessage(
        headers=redact_headers(headers.items()),
        body=redact_body(content, content_type),
        content_type=content_type,
        size=len(content),
    )


def json_object(content: bytes, where: str) -> dict[str, Any]:
    """A JSON object from KSeF; numbers with a fraction become ``Decimal`` (money never passes through float)."""
    try:
        body = json.loads(content, parse_float=Decimal)
    except ValueError:
        raise ProtocolViolation(f"{where}: body is not JSON") from None
    if not isinstance(body, dict):
        raise ProtocolViolation(f"{where}: body is not a JSON object")
    return body


def field(body: dict[str, Any], *path: str) -> Any:
    """``body[a][b]...``, or :class:`ProtocolViolation` naming what is missing."""
    value: Any = body
    for name in path:
        if not isinstance(value, dict) or name not in value:
            raise ProtocolViolation(f"missing field {'.'.join(path)}")
        value = value[name]
    return value


def parse_time(text: object) -> datetime:
    """ISO-8601 with up to 7 fractional digits and an offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(text, str):
        raise ProtocolViolation(f"not a date-time: {text!r}")
    value = text.strip()
    if "." in value:
        head, _, rest = value.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolViolation(f"not a date-time: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["ApiError", "KsefHttp", "field", "parse_time"]
