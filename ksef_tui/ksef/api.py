"""Protected KSeF calls on top of :class:`KsefHttp` and a :class:`SessionAuth` (a KSeF token or XAdES).

A 401 on a protected call means the access token died early (revoked session, server restart): the access
token is dropped and the call is repeated once with a refreshed or new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ksef_tui.domain.session import SessionTokens
from ksef_tui.ksef.auth import SessionAuth
from ksef_tui.ksef.client import KsefHttp, field, json_object, parse_time
from ksef_tui.ksef.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class TokenStatus:
    reference: str
    status: str
    permissions: tuple[str, ...]
    description: str
    created: datetime | None
    last_use: datetime | None


class KsefApi:
    """The protected API of one context; ``async with`` closes its connection."""

    def __init__(self, http: KsefHttp, auth: SessionAuth) -> None:
        self.http = http
        self.auth = auth

    async def __aenter__(self) -> KsefApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def host(self) -> str:
        return self.http.host

    def calls(self) -> dict[str, int]:
        """Calls made so far per rate-limit group (a copy)."""
        return dict(self.http.limiter.calls)

    def log_lines(self) -> list[str]:
        """The redacted call log of this connection, a line a call."""
        return self.http.log.lines()

    def log_records(self) -> list[str]:
        """The redacted call log of this connection with each call's redacted request and response: the lines
        of the profile's log file (JSON)."""
        return self.http.log.records()

    async def stored_session(self) -> SessionTokens | None:
        """The session kept between runs, if any (the verifier proves it alive before reusing it)."""
        return await self.auth.store.load()

    async def forget_session(self) -> None:
        await self.auth.store.clear()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in (1, 2):
            bearer = await self.auth.access_token()
            try:
                return await self.http.request(method, path, bearer=bearer, **kwargs)
            except Unauthorized:
                if attempt == 2:
                    raise
                await self.auth.invalidate_access()
        raise AssertionError("unreachable")  # pragma: no cover

    async def call_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.call(method, path, **kwargs)
        return json_object(response.content, f"{method} {path}")

    async def token_status(self, reference: str) -> TokenStatus:
        body = await self.call_json("GET", f"/tokens/{reference}", idempotent=True)
        created = body.get("dateCreated")
        last_use = body.get("lastUseDate")
        return TokenStatus(
            reference=str(field(body, "referenceNumber")),
            status=str(field(body, "status")),
            permissions=tuple(str(p) for p in body.get("requestedPermissions") or ()),
            description=str(body.get("description") or ""),
            created=parse_time(created) if created else None,
            last_use=parse_time(last_use) if last_use else None,
        )
