"""The Starlette application: ``create_app(config) -> (app, state)``.

``/v2/...`` is the KSeF API, ``/storage/...`` the pre-signed downloads (no Authorization allowed),
``/sim/...`` the admin API for tests and demos, ``/latarnia/...`` KSeF's availability service (``availability``).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from ksef_tui.sim import (
    admin,
    availability,
    exports,
    routes_auth,
    routes_batch,
    routes_certificates,
    routes_invoices,
    routes_permissions,
    routes_sessions,
    routes_testdata,
)
from ksef_tui.sim.auth import Bearer
from ksef_tui.sim.clock import iso
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.errors import (
    JSON,
    ApiError,
    HttpProblem,
    forbidden_missing,
    gone,
    json_response,
    render_api_error,
    render_problem,
    render_server_error,
    render_too_many,
    unauthorized,
)
from ksef_tui.sim.http import Ctx, Endpoint, ok
from ksef_tui.sim.keys import PublicKeyCert, sha256_b64
from ksef_tui.sim.state import SimState


def _limits_endpoint(ctx: Ctx) -> Response:
    table = ctx.state.limiter.limits
    return ok(
        {
            name: {"perSecond": lim.per_second, "perMinute": lim.per_minute, "perHour": lim.per_hour}
            for name, lim in table.items()
            if name != "public"
        }
    )


def _context_limits(ctx: Ctx) -> Response:
    one = {"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10_000}
    return ok({"onlineSession": one, "batchSession": dict(one)})


EXTRA = [
    Endpoint("GET", "/rate-limits", "other", "access", (), _limits_endpoint),
    Endpoint("GET", "/limits/context", "other", "access", (), _context_limits),
]

TYPES = {"auth": {"AuthenticationToken"}, "refresh": {"RefreshToken"}, "access": {"ContextToken"}}
TYPES["access_or_refresh"] = TYPES["access"] | TYPES["refresh"]


def _authenticate(ep: Endpoint, ctx: Ctx) -> Bearer | None:
    if ep.auth == "none":
        return None
    header = ctx.request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise unauthorized()
    bearer = ctx.state.auths.read_jwt(raw.strip())
    if bearer is None or bearer.arn not in ctx.state.auths:
        raise unauthorized()
    op = ctx.state.auths[bearer.arn]
    if ep.auth == "auth" and ctx.now > op.started + timedelta(seconds=ctx.state.config.auth_retention):
        raise gone()
    if ctx.now.timestamp() >= bearer.exp:
        raise unauthorized()
    if ep.auth != "auth" and not op.ip_allowed(ctx.client_ip):
        raise HttpProblem(
            403,
            "Adres IP nie jest dozwolony dla tej sesji uwierzytelnienia.",
            reasonCode="ip-not-allowed",
            security={"clientIp": ctx.client_ip},
        )
    if bearer.typ not in TYPES[ep.auth]:
        if bearer.typ == "AuthenticationToken" and ep.auth == "access":
            # Before redeem the authentication token carries no permissions (issue #129: 403).
            raise forbidden_missing(list(ep.perms), [])
        raise unauthorized()
    return bearer


class DroppedConnection(Response):
    """A fault: the status line goes out, then the connection is cut before the body (uvicorn closes the socket
    when the application fails after the response started), so the client sees the connection drop."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        raise ConnectionAbortedError("simulated dropped connection")


def _dispatch(state: SimState, ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    fault_rng = random.Random(state.config.seed ^ 0x5EED)
    bursts: dict[str, int] = {}  # rate-limit group -> 429 answers left in the current burst

    async def endpoint(request: Request) -> Response:
        faults = state.config.faults
        drop = fault_rng.random() < faults.drop if faults.drop > 0 else False
        if drop and fault_rng.random() < 0.5:
            with state.lock:
                state.stats.faults_injected += 1
            return DroppedConnection()
        response = await respond(request)
        if drop:
            with state.lock:
                state.stats.faults_injected += 1
            return DroppedConnection()
        warning = request.headers.get("x-test-system-warning")
        if warning and state.config.environment == "TE":
            # TE echoes the test header (ASCII-folded); PRD never does (PROTOCOL §1).
            response.headers["X-System-Warning"] = _ascii_fold(warning)
        if (
            state.config.extra_fields
            and 200 <= response.status_code < 300
            and (response.media_type or "").startswith(JSON)
        ):
            response = _with_extra_field(response)
        return response

    async def respond(request: Request) -> Response:
        faults = state.config.faults
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        body = await request.body()
        with state.lock:
            state.advance()
            now = state.now()
            ctx = Ctx(request, state, now, body)
            problem = request.headers.get("x-error-format", "").lower() == "problem-details"
            path = request.url.path
            state.stats.calls[ep.group] = state.stats.calls.get(ep.group, 0) + 1
            try:
                if faults.maintenance:
                    state.stats.faults_injected += 1
                    return render_server_error(503, now=now)
                down = state.availability.refusal(now)
                if down is not None:  # KSeF down: announced or not (CERTS_OFFLINE §6, availability.py)
                    return render_server_error(503, now=now, details=[down.detail], retry_after=down.retry_after)
                roll = fault_rng.random()
                if roll < faults.error500:
                    state.stats.faults_injected += 1
                    return render_server_error(500, now=now)
                if roll < faults.error500 + faults.error503:
                    state.stats.faults_injected += 1
                    return render_server_error(503, now=now)
                ctx.bearer = _authenticate(ep, ctx)
                context = ctx.bearer.context_value if ctx.bearer is not None else "-"
                key = (context, ctx.client_ip, ep.group) + ((ep.method, ep.path) if ep.group == "other" else ())
                forced = ep.group in faults.force429 or "*" in faults.force429
                burst = ep.group in state.limiter.limits and (
                    bursts.get(ep.group, 0) > 0 or (faults.burst429 > 0 and fault_rng.random() < faults.burst429)
                )
                if forced or burst:
                    if burst:
                        left = bursts.get(ep.group, 0)
                        bursts[ep.group] = left - 1 if left > 0 else faults.burst_length - 1
                        state.stats.faults_injected += 1
                    state.stats.rate_limited += 1
                    note = " (wymuszone przez symulator)" if forced else ""
                    return render_too_many(
                        f"Przekroczono limit żądań{note}. Spróbuj ponownie po 1 sekundach.",
                        1,
                        problem=problem,
                        path=path,
                        now=now,
                    )
                refusal = state.limiter.hit(key, ep.group, now)
                if refusal is not None:
                    state.stats.rate_limited += 1
                    return render_too_many(refusal.message, refusal.retry_after, problem=problem, path=path, now=now)
                if ep.perms and ctx.bearer is not None and not set(ep.perms) & set(ctx.bearer.permissions):
                    raise forbidden_missing(list(ep.perms), ctx.bearer.permissions)
                return ep.handler(ctx)
            except ApiError as err:
                return render_api_error(err, problem=problem, path=path, now=now)
            except HttpProblem as err:
                return render_problem(err, path=path, now=now)

    return endpoint


def _ascii_fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return folded.encode("ascii", "ignore").decode("ascii")


def _with_extra_field(response: Response) -> Response:
    """Add a property the spec does not know: clients must ignore unknown fields (PROTOCOL §2)."""
    body = json.loads(bytes(response.body))
    if not isinstance(body, dict):
        return response
    body["simulatorExtension"] = {"note": "unknown properties must be ignored", "version": 1}
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    return json_response(body, response.status_code, headers=headers)


def _storage(state: SimState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        with state.lock:
            state.advance()
            if "authorization" in request.headers:
                # Azure Blob SAS URLs: the bearer must never be sent to storage (PROTOCOL §11.11).
                return Response(
                    '<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code>'
                    "<Message>Authorization header is not allowed with a SAS URL.</Message></Error>",
                    status_code=403,
                    media_type="application/xml",
                )
            path = request.url.path
            q = request.query_params
            if not state.check_url(path, q.get("se", ""), q.get("sig", "")):
                return Response(
                    '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                    "<Message>Signature did not match or the URL expired.</Message></Error>",
                    status_code=403,
                    media_type="application/xml",
                )
            kind = request.path_params["kind"]
            session = state.sessions.get(request.path_params["session"])
            item = request.path_params["item"]
            if request.method == "PUT":
                if kind != "batch-part":
                    return Response(status_code=405)
                return Response(status_code=state.sessions.upload_part(request.path_params["session"], item, body))
            if kind == "batch-part":
                return Response(status_code=405)
            data: bytes | None = None
            if session is not None and kind == "upo":
                data = next((p.xml for p in session.upo_pages if p.reference == item), None)
            elif session is not None and kind == "invoice-upo":
                data = next((inv.upo for inv in session.invoices if inv.reference == item), None)
            elif kind == "export":
                data = exports.part_bytes(state, request.path_params["session"], item)
                if data is not None:
                    return Response(
                        data,
                        media_type="application/octet-stream",
                        headers={"x-ms-meta-hash": sha256_b64(data)},
                    )
            if data is None:
                return Response(status_code=404)
            return routes_sessions.xml_response(data)

    return endpoint


def create_app(
    config: SimConfig | None = None, *, certs: list[PublicKeyCert] | None = None
) -> tuple[Starlette, SimState]:
    """Build the simulator. ``certs`` lets tests reuse already generated keys (RSA generation is slow)."""
    state = SimState(config or SimConfig(), certs)
    exports.install(state)
    endpoints = [
        *routes_auth.ENDPOINTS,
        *routes_batch.ENDPOINTS,
        *routes_sessions.ENDPOINTS,
        *routes_invoices.ENDPOINTS,
        *exports.ENDPOINTS,
        *routes_permissions.ENDPOINTS,
        *routes_certificates.ENDPOINTS,
        *EXTRA,
    ]
    if state.config.environment == "TE":  # PRD has no /testdata
        endpoints += routes_testdata.ENDPOINTS
    v2: list[BaseRoute] = [Route(ep.path, _dispatch(state, ep), methods=[ep.method]) for ep in endpoints]
    routes: list[BaseRoute] = [
        Mount("/v2", routes=v2),
        Route("/storage/{kind}/{session}/{item}", _storage(state), methods=["GET", "PUT"]),
        Mount("/sim", routes=admin.routes(state)),
        Mount(availability.LATARNIA_PREFIX, routes=availability.routes(state)),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(CanonicalPath)])
    for router in (app.router, *(route.app for route in routes if isinstance(route, Mount))):
        if isinstance(router, Router):
            router.redirect_slashes = False
    app.state.sim = state
    return app, state


class CanonicalPath:
    """ASGI middleware: a doubled slash reads as one and a trailing slash is ignored (``/v2//sessions/`` is
    ``/v2/sessions``), served in place as ASP.NET Core routing does, never redirected."""

    _SLASHES = re.compile("/{2,}")
    _RAW_SLASHES = re.compile(b"/{2,}")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope["path"])
            canonical = self._SLASHES.sub("/", path)
            canonical = canonical.rstrip("/") or "/"
            if canonical != path:
                raw = bytes(scope.get("raw_path") or path.encode())
                scope = {**scope, "path": canonical, "raw_path": self._RAW_SLASHES.sub(b"/", raw).rstrip(b"/") or b"/"}
        await self.app(scope, receive, send)


def describe(state: SimState, base: str) -> dict[str, Any]:
    """What ``serve_main`` prints first: where the API is, the admin API, the Latarnia status service (a client
    reads ``{latarnia_url}/status`` and ``{latarnia_url}/messages``), the demo NIP and ready tokens."""
    from ksef_tui.sim.seed import DEMO

    return {
        "base_url": f"{base}/v2",
        "admin_url": f"{base}/sim",
        "latarnia_url": f"{base}{availability.LATARNIA_PREFIX}",
        "nip": DEMO.nip,
        "tokens": dict(state.named_tokens),
        "started": iso(state.now()),
    }
