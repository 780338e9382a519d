"""Plumbing shared by the route modules: request context, endpoint table, validation helpers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ksef_tui.sim.errors import ApiError, json_response
from ksef_tui.sim.state import Bearer, SimState


@dataclass
class Ctx:
    request: Request
    state: SimState
    now: datetime
    body: bytes
    bearer: Bearer | None = None
    _json: Any = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.request.path_params.items()}

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "127.0.0.1"

    @property
    def base_url(self) -> str:
        """Scheme and host the client called (pre-signed URLs live on the same host)."""
        return str(self.request.base_url).rstrip("/")

    def json(self) -> dict[str, Any]:
        if self._json is None:
            if not self.body.strip():
                raise ApiError(21405, "Treść żądania jest wymagana.")
            try:
                value = json.loads(self.body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(21405, f"Nieprawidłowy format JSON: {exc}.") from exc
            if not isinstance(value, dict):
                raise ApiError(21405, "Treść żądania musi być obiektem JSON.")
            self._json = value
        return dict(self._json)

    def bearer_or_fail(self) -> Bearer:
        assert self.bearer is not None
        return self.bearer


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    group: str
    auth: str  # none | auth | access | refresh | access_or_refresh
    perms: tuple[str, ...]
    handler: Handler


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(jsonable(body), status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money stays Decimal inside; JSON numbers are doubles at the boundary (spec: format double).
        return float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# ------------------------------------------------------------------ validation helpers
def need(obj: dict[str, Any], key: str, where: str = "") -> Any:
    if key not in obj or obj[key] is None:
        raise ApiError(21405, f"Pole '{where}{key}' jest wymagane.")
    return obj[key]


def need_str(obj: dict[str, Any], key: str, where: str = "") -> str:
    value = need(obj, key, where)
    if not isinstance(value, str):
        raise ApiError(21405, f"Pole '{where}{key}' musi być tekstem.")
    return value


def need_obj(obj: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = need(obj, key, where)
    if not isinstance(value, dict):
        raise ApiError(21405, f"Pole '{where}{key}' musi być obiektem.")
    return value


def need_int(obj: dict[str, Any], key: str, where: str = "") -> int:
    value = need(obj, key, where)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(21405, f"Pole '{where}{key}' musi być liczbą całkowitą.")
    return value


def b64decode_field(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(21405, f"Pole '{name}' nie jest poprawnym ciągiem Base64.") from exc


def query_int(ctx: Ctx, name: str, default: int, low: int, high: int | None) -> int:
    raw = ctx.request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(21405, f"Parametr '{name}' musi być liczbą całkowitą.") from exc
    if value < low or (high is not None and value > high):
        bound = f"od {low} do {high}" if high is not None else f"co najmniej {low}"
        raise ApiError(21405, f"Parametr '{name}' musi mieć wartość {bound}.")
    return value


def encode_continuation(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_continuation(ctx: Ctx) -> int:
    raw = ctx.request.headers.get("x-continuation-token")
    if not raw:
        return 0
    try:
        value = json.loads(base64.b64decode(raw, validate=True))
        offset = value["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ApiError(21418) from exc


def page(items: list[Any], offset: int, size: int) -> tuple[list[Any], str | None]:
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    return chunk, encode_continuation(offset + size) if more else None
