"""Admin API at ``/sim/...`` (outside /v2): subjects, tokens, supplier invoices, faults, clock, stats, KSeF's
availability and the QR-link verifier.

Availability (:mod:`.availability`; every call answers the view of GET ``/sim/availability``:
``{status, apiAvailable, retryAfter, reason, outage, latarniaUp, events: [{eventId, category, start, end,
inForce}]}``, plus ``messages`` published by the call):

* POST ``/sim/availability/down`` ``{"retryAfter"?: s}``: KSeF unavailable now, unannounced (Latarnia unchanged);
* POST ``/sim/availability/maintenance`` ``{"start"?: iso (default now), "end": iso | "durationSeconds": s,
  "title"?, "text"?, "eventId"?}``: announce (or re-announce) maintenance; the API is down inside the window;
* POST ``/sim/availability/failure`` ``{"total"?: bool, "title"?, "text"?}``: FAILURE_START, the API is down;
* POST ``/sim/availability/failure/end`` ``{"eventId"?: int, "text"?}``: FAILURE_END (default: every open failure);
* POST ``/sim/availability/available`` ``{}``: back to AVAILABLE (failures ended, a maintenance on now ended,
  the outage off);
* POST ``/sim/availability/latarnia`` ``{"up": bool}``: Latarnia itself reachable or answering 503.

Dates without an offset are Europe/Warsaw time. POST ``/sim/qr/verify`` ``{"url": "..."}`` judges a KOD I or
KOD II link (:mod:`.qr`). Errors answer ``400 {"error": "..."}``; nothing here is rate
limited or authenticated.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.sim.checks import check_invoice
from ksef_tui.sim.clock import iso
from ksef_tui.sim.config import Faults, parse_faults
from ksef_tui.sim.errors import json_response
from ksef_tui.sim.limits import PROFILES, Limit
from ksef_tui.sim.qr import verify_link
from ksef_tui.sim.seed import Company
from ksef_tui.sim.state import SimState
from ksef_tui.sim.tokens import ALL_TOKEN_PERMISSIONS, TOKEN_STATUSES


class AdminError(Exception):
    pass


def _body(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError as exc:
        raise AdminError(f"invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise AdminError("expected a JSON object")
    return value


AdminHandler = Callable[[SimState, Request, bytes], Response]


def _wrap(state: SimState, handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        with state.lock:
            state.advance()
            try:
                return handler(state, request, raw)
            except AdminError as exc:
                return json_response({"error": str(exc)}, 400)

    return endpoint


def stats(state: SimState, request: Request, raw: bytes) -> Response:
    return json_response(state.stats.as_json())


def info(state: SimState, request: Request, raw: bytes) -> Response:
    from ksef_tui.sim.app import describe

    return json_response(describe(state, str(request.base_url).rstrip("/")))


def add_subject(state: SimState, request: Request, raw: bytes) -> Response:
    body = _body(raw)
    nip = str(body.get("nip", ""))
    if not is_valid_nip(nip):
        raise AdminError(f"invalid NIP {nip!r}")
    company = Company(nip, str(body.get("name") or f"Podmiot {nip}"), "ul. Testowa 1", "00-001 Warszawa")
    state.subjects[nip] = company
    return json_response({"nip": nip, "name": company.name}, 201)


def add_token(state: SimState, request: Request, raw: bytes) -> Response:
    body = _body(raw)
    nip = str(body.get("nip", ""))
    if nip not in state.subjects:
        raise AdminError(f"unknown subject {nip!r} (POST /sim/subjects first)")
    permissions = body.get("permissions", [])
    if not isinstance(permissions, list) or any(p not in ALL_TOKEN_PERMISSIONS for p in permissions):
        raise AdminError(f"permissions must be a list of {', '.join(ALL_TOKEN_PERMISSIONS)}")
    status = str(body.get("status", "Active"))
    if status not in TOKEN_STATUSES:
        raise AdminError(f"status must be one of {', '.join(TOKEN_STATUSES)}")
    activate_after = body.get("activateAfter")
    token = state.tokens.add(
        nip,
        [str(p) for p in permissions],
        str(body.get("description") or "Token utworzony przez administratora"),
        status=status,
        activate_after=float(activate_after) if activate_after is not None else None,
    )
    return json_response({"referenceNumber": token.reference, "token": token.token, "status": token.status}, 201)


def add_invoice(state: SimState, request: Request, raw: bytes) -> Response:
    """Body: the invoice XML (``application/xml``) or ``{"xml": "...", "permanentStorageDelay": s}``."""
    delay = 0.0
    if request.headers.get("content-type", "").startswith("application/json"):
        body = _body(raw)
        xml = str(body.get("xml", "")).encode("utf-8")
        delay = float(body.get("permanentStorageDelay", 0.0))
    else:
        xml = raw
    verdict = check_invoice(xml)
    if not verdict.ok:
        raise AdminError("invalid invoice: " + "; ".join(verdict.details[:5]))
    now = state.now()
    reference = state.new_reference(ReferenceType.ONLINE_SESSION)
    stored = state.invoices.store(
        xml, invoicing=now, acquisition=now, permanent_storage=now + timedelta(seconds=delay), session_ref=reference
    )
    state.sessions.sent_elsewhere(stored, reference)
    return json_response(
        {
            "ksefNumber": stored.ksef_number,
            "acquisitionDate": iso(stored.acquisition),
            "permanentStorageDate": iso(stored.permanent_storage),
        },
        201,
    )


def set_faults(state: SimState, request: Request, raw: bytes) -> Response:
    """``{"spec": "latency=0.1,error503=0.2"}`` or ``{}`` to clear."""
    body = _body(raw)
    try:
        state.config.faults = parse_faults(str(body.get("spec", ""))) if body.get("spec") else Faults()
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    faults = state.config.faults
    return json_response(
        {
            "latency": faults.latency,
            "error500": faults.error500,
            "error503": faults.error503,
            "force429": sorted(faults.force429),
            "maintenance": faults.maintenance,
            "drop": faults.drop,
            "burst429": faults.burst429,
            "burst_length": faults.burst_length,
        }
    )


def set_limits(state: SimState, request: Request, raw: bytes) -> Response:
    """``{"profile": "prod"|"fast"}`` and/or ``{"table": {"invoiceMetadata": [1, 2, 3]}}`` (merged).

    Always resets the counters."""
    body = _body(raw)
    if "profile" in body:
        profile = str(body["profile"])
        if profile not in PROFILES:
            raise AdminError(f"unknown profile {profile!r}")
        state.limiter.limits = dict(PROFILES[profile])
    table = body.get("table") or {}
    if not isinstance(table, dict):
        raise AdminError("table must be an object")
    for group, values in table.items():
        if not isinstance(values, list) or len(values) != 3:
            raise AdminError("each limit is [perSecond, perMinute, perHour]")
        state.limiter.limits[str(group)] = Limit(int(values[0]), int(values[1]), int(values[2]))
    state.limiter.reset()
    return json_response({k: [v.per_second, v.per_minute, v.per_hour] for k, v in state.limiter.limits.items()})


def advance_clock(state: SimState, request: Request, raw: bytes) -> Response:
    body = _body(raw)
    advance = getattr(state.config.clock, "advance", None)
    if advance is None:
        raise AdminError("the clock of this simulator cannot be moved")
    advance(float(body.get("seconds", 0)))
    state.advance()
    return json_response({"now": iso(state.now())})


# ----------------------------------------------------------------- availability
def _moment(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise AdminError(f"{key} must be an ISO-8601 date-time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo("Europe/Warsaw"))
    return parsed.astimezone(UTC)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdminError(f"{key} must be an integer")
    return value


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value is None else str(value)


def _availability_view(state: SimState, **extra: Any) -> Response:
    return json_response({**state.availability.admin_json(state.now()), **extra})


def availability_view(state: SimState, request: Request, raw: bytes) -> Response:
    return _availability_view(state)


def availability_down(state: SimState, request: Request, raw: bytes) -> Response:
    retry_after = _optional_int(_body(raw), "retryAfter")
    if retry_after is not None and retry_after < 1:
        raise AdminError("retryAfter must be at least 1")
    state.availability.go_down(retry_after)
    return _availability_view(state)


def availability_maintenance(state: SimState, request: Request, raw: bytes) -> Response:
    body = _body(raw)
    start = _moment(body, "start") or state.now()
    end = _moment(body, "end")
    duration = body.get("durationSeconds")
    if end is None:
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
            raise AdminError("give end (ISO-8601) or durationSeconds (> 0)")
        end = start + timedelta(seconds=float(duration))
    try:
        message = state.availability.announce_maintenance(
            start,
            end,
            title=_optional_text(body, "title"),
            text=_optional_text(body, "text"),
            event_id=_optional_int(body, "eventId"),
        )
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    return _availability_view(state, messages=[message.as_json()])


def availability_failure(state: SimState, request: Request, raw: bytes) -> Response:
    body = _body(raw)
    message = state.availability.start_failure(
        total=bool(body.get("total", False)), title=_optional_text(body, "title"), text=_optional_text(body, "text")
    )
    return _availability_view(state, messages=[message.as_json()])


def availability_failure_end(state: SimState, request: Request, raw: bytes) -> Response:
    body = _body(raw)
    try:
        messages = state.availability.end_failure(_optional_int(body, "eventId"), text=_optional_text(body, "text"))
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    return _availability_view(state, messages=[m.as_json() for m in messages])


def availability_available(state: SimState, request: Request, raw: bytes) -> Response:
    _body(raw)
    state.availability.available()
    return _availability_view(state)


def availability_latarnia(state: SimState, request: Request, raw: bytes) -> Response:
    up = _body(raw).get("up")
    if not isinstance(up, bool):
        raise AdminError("up must be true or false")
    state.availability.set_latarnia(up)
    return _availability_view(state)


# ----------------------------------------------------------------- QR links
def verify_qr(state: SimState, request: Request, raw: bytes) -> Response:
    """``{"url": "<KOD I or KOD II link>"}`` -> the verdict of :func:`.qr.verify_link` at the simulator's now."""
    url = _body(raw).get("url")
    if not isinstance(url, str) or not url:
        raise AdminError("url (a KOD I or KOD II link) is required")
    return json_response(verify_link(state, url).as_json(state.now()))


def routes(state: SimState) -> list[BaseRoute]:
    table: list[tuple[str, str, AdminHandler]] = [
        ("/stats", "GET", stats),
        ("/info", "GET", info),
        ("/subjects", "POST", add_subject),
        ("/tokens", "POST", add_token),
        ("/invoices", "POST", add_invoice),
        ("/faults", "POST", set_faults),
        ("/limits", "POST", set_limits),
        ("/clock/advance", "POST", advance_clock),
        ("/availability", "GET", availability_view),
        ("/availability/down", "POST", availability_down),
        ("/availability/maintenance", "POST", availability_maintenance),
        ("/availability/failure", "POST", availability_failure),
        ("/availability/failure/end", "POST", availability_failure_end),
        ("/availability/available", "POST", availability_available),
        ("/availability/latarnia", "POST", availability_latarnia),
        ("/qr/verify", "POST", verify_qr),
    ]
    return [Route(path, _wrap(state, handler), methods=[method]) for path, method, handler in table]
