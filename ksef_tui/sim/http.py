"""Plumbing shared by the route modules: request context, endpoint table, reading requests.

Requests are read as KSeF's ASP.NET Core server reads them (System.Text.Json with the web defaults): property
names, query parameter names and enum values match case-insensitively (``"type":"nip"``, ``?PageSize=20``,
``?sortOrder=desc``). A body that cannot be read into the request's types (malformed JSON, a value of the
wrong type, an unknown enum value) is 21001 "Nieczytelna treść."; rules about readable values (required,
lengths, ranges) are 21405.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ksef_tui.sim.auth import Bearer
from ksef_tui.sim.errors import UNREADABLE, VALIDATION, ApiError, json_response
from ksef_tui.sim.state import SimState


class JsonObject(dict[str, Any]):
    """A JSON object whose property names match case-insensitively (``PropertyNameCaseInsensitive``)."""

    def _key(self, key: str) -> str:
        if dict.__contains__(self, key):
            return key
        folded = key.casefold()
        return next((name for name in self if name.casefold() == folded), key)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(self._key(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, self._key(key))

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(self._key(key), default)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_object(body: bytes) -> JsonObject:
    """The request body as a JSON object; raises ``ApiError`` 21405 when empty, 21001 when unreadable."""
    if not body.strip():
        raise ApiError(VALIDATION, "Treść żądania jest wymagana.")
    try:
        value = json.loads(body, object_hook=JsonObject, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(UNREADABLE, f"Nieprawidłowy format JSON: {exc}.") from exc
    if not isinstance(value, JsonObject):
        raise ApiError(UNREADABLE, "Treść żądania musi być obiektem JSON.")
    return value


class Query:
    """The query string with case-insensitive parameter names (ASP.NET Core model binding)."""

    def __init__(self, params: QueryParams) -> None:
        self._items = [(name.casefold(), value) for name, value in params.multi_items()]

    def get(self, name: str) -> str | None:
        folded = name.casefold()
        return next((value for key, value in self._items if key == folded), None)

    def getlist(self, name: str) -> list[str]:
        folded = name.casefold()
        return [value for key, value in self._items if key == folded]


@dataclass
class Ctx:
    request: Request
    state: SimState
    now: datetime
    body: bytes
    bearer: Bearer | None = None
    _json: JsonObject | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.request.path_params.items()}

    @property
    def query(self) -> Query:
        return Query(self.request.query_params)

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "127.0.0.1"

    @property
    def base_url(self) -> str:
        """Scheme and host the client called (pre-signed URLs live on the same host)."""
        return str(self.request.base_url).rstrip("/")

    def json(self) -> JsonObject:
        if self._json is None:
            self._json = parse_json_object(self.body)
        return JsonObject(self._json)

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


# ------------------------------------------------------------------ reading values
def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def need(obj: dict[str, Any], key: str, where: str = "") -> Any:
    if key not in obj or obj[key] is None:
        raise ApiError(VALIDATION, f"Pole '{where}{key}' jest wymagane.")
    return obj[key]


def need_str(obj: dict[str, Any], key: str, where: str = "") -> str:
    value = need(obj, key, where)
    if not isinstance(value, str):
        raise ApiError(UNREADABLE, f"Pole '{where}{key}' musi być tekstem.")
    return value


def opt_str(obj: dict[str, Any], key: str, where: str = "") -> str | None:
    return None if obj.get(key) is None else need_str(obj, key, where)


def need_obj(obj: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = need(obj, key, where)
    if not isinstance(value, dict):
        raise ApiError(UNREADABLE, f"Pole '{where}{key}' musi być obiektem.")
    return value


def opt_obj(obj: dict[str, Any], key: str, where: str = "") -> dict[str, Any] | None:
    return None if obj.get(key) is None else need_obj(obj, key, where)


def need_int(obj: dict[str, Any], key: str, where: str = "") -> int:
    value = need(obj, key, where)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(UNREADABLE, f"Pole '{where}{key}' musi być liczbą całkowitą.")
    return value


def opt_bool(obj: dict[str, Any], key: str, where: str = "") -> bool | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(UNREADABLE, f"Pole '{where}{key}' musi mieć wartość true lub false.")
    return value


def opt_list(obj: dict[str, Any], key: str, where: str = "") -> list[Any] | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, list):
        raise ApiError(UNREADABLE, f"Pole '{where}{key}' musi być tablicą.")
    return value


def enum_value(value: Any, allowed: Iterable[str], name: str) -> str:
    """A string enum read as System.Text.Json reads it: any letter case, returned in its canonical spelling;
    anything else makes the body unreadable (21001)."""
    if isinstance(value, str):
        folded = value.casefold()
        for option in allowed:
            if option.casefold() == folded:
                return option
    raise ApiError(UNREADABLE, f"Nieprawidłowa wartość pola '{name}': {_shown(value)}.")


def need_enum(obj: dict[str, Any], key: str, allowed: Iterable[str], where: str = "") -> str:
    return enum_value(need(obj, key, where), allowed, where + key)


def opt_enum(obj: dict[str, Any], key: str, allowed: Iterable[str], where: str = "") -> str | None:
    value = obj.get(key)
    return None if value is None else enum_value(value, allowed, where + key)


def opt_enum_list(obj: dict[str, Any], key: str, allowed: Iterable[str], where: str = "") -> list[str] | None:
    values = opt_list(obj, key, where)
    if values is None:
        return None
    options = tuple(allowed)
    return [enum_value(value, options, f"{where}{key}[{index}]") for index, value in enumerate(values)]


def b64decode_field(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(VALIDATION, f"Pole '{name}' nie jest poprawnym ciągiem Base64.") from exc


@dataclass(frozen=True)
class EncryptionInfo:
    """``EncryptionInfo`` of a session or an export: the RSA-encrypted AES key, the IV and the key's id."""

    encrypted_key: bytes
    iv: bytes
    key_id: str | None

    def key(self, state: SimState) -> bytes | None:
        """The AES key, or ``None`` when it cannot be used (reported as status 415)."""
        return state.keys.symmetric_key(self.encrypted_key, self.iv, self.key_id)


def read_encryption(ctx: Ctx, body: dict[str, Any]) -> EncryptionInfo:
    encryption = need_obj(body, "encryption")
    encrypted_key = b64decode_field(
        need_str(encryption, "encryptedSymmetricKey", "encryption."), "encryptedSymmetricKey"
    )
    iv = b64decode_field(need_str(encryption, "initializationVector", "encryption."), "initializationVector")
    key_id = opt_str(encryption, "publicKeyId", "encryption.")
    if key_id is not None and key_id not in ctx.state.keys.known_key_ids():
        raise ApiError(21470, f"Klucz o identyfikatorze {key_id} nie jest wspierany.")
    return EncryptionInfo(encrypted_key, iv, key_id)


# ------------------------------------------------------------------ query string
def query_int(ctx: Ctx, name: str, default: int, low: int, high: int | None) -> int:
    raw = ctx.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(VALIDATION, f"Parametr '{name}' musi być liczbą całkowitą.") from exc
    if value < low or (high is not None and value > high):
        bound = f"od {low} do {high}" if high is not None else f"co najmniej {low}"
        raise ApiError(VALIDATION, f"Parametr '{name}' musi mieć wartość {bound}.")
    return value


def query_enum(ctx: Ctx, name: str, allowed: Iterable[str]) -> str | None:
    """An enum in the query string, any letter case (model binding: a bad value is 21405)."""
    raw = ctx.query.get(name)
    return None if raw is None else query_enum_value(raw, allowed, name)


def query_enum_value(raw: str, allowed: Iterable[str], name: str) -> str:
    options = tuple(allowed)
    folded = raw.casefold()
    for option in options:
        if option.casefold() == folded:
            return option
    raise ApiError(VALIDATION, f"Parametr '{name}' musi mieć jedną z wartości: {', '.join(options)}.")


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
