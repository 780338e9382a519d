"""The HTTP layer: envelopes, Retry-After, the limiter, retries and the redacted log."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ksef_tui.ksef.apilog import DEFAULT_SIZE, ApiCall, ApiLog, redact_url
from ksef_tui.ksef.client import KsefHttp, parse_time
from ksef_tui.ksef.errors import (
    ApiError,
    Forbidden,
    RateLimited,
    ServerError,
    TransportFailure,
    Unauthorized,
    error_from_response,
)
from ksef_tui.ksef.limits import PROD_LIMITS, RateLimiter, Wait, group_for

from ..conftest import Sim, make_api


def response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


def test_legacy_envelope() -> None:
    error = error_from_response(
        response(
            400,
            {
                "exception": {
                    "exceptionDetailList": [
                        {
                            "exceptionCode": 21405,
                            "exceptionDescription": "Błąd walidacji danych wejściowych.",
                            "details": ["x"],
                        }
                    ],
                    "serviceCode": "00-abc",
                }
            },
        )
    )
    assert type(error) is ApiError
    assert error.codes == (21405,)
    assert error.exceptions[0].details == ("x",)


def test_problem_details_envelopes() -> None:
    error = error_from_response(
        response(
            400, {"title": "Bad Request", "status": 400, "errors": [{"code": 21183, "description": "d", "details": []}]}
        )
    )
    assert error.codes == (21183,)
    forbidden = error_from_response(
        response(
            403,
            {
                "title": "Forbidden",
                "status": 403,
                "reasonCode": "missing-permissions",
                "security": {"requiredAnyOfPermissions": ["InvoiceWrite"], "presentPermissions": ["InvoiceRead"]},
            },
        )
    )
    assert isinstance(forbidden, Forbidden)
    assert (forbidden.reason_code, forbidden.required_permissions, forbidden.present_permissions) == (
        "missing-permissions",
        ("InvoiceWrite",),
        ("InvoiceRead",),
    )
    assert isinstance(error_from_response(response(401, {"status": 401})), Unauthorized)
    limited = error_from_response(
        response(429, {"status": {"code": 429, "details": ["za dużo"]}}, {"Retry-After": "30"})
    )
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 30
    assert isinstance(error_from_response(httpx.Response(503, content=b"<html>maintenance</html>")), ServerError)
    assert isinstance(error_from_response(httpx.Response(403, content=b"")), Forbidden)  # DEMO's empty 403


def test_groups_follow_the_protocol_table() -> None:
    assert group_for("POST", "/invoices/query/metadata") == "invoiceMetadata"
    assert group_for("GET", "/invoices/ksef/5265877635-20260301-0100001AF629-AF") == "invoiceDownload"
    assert group_for("POST", "/sessions/online/20260301-SO-0000000000-0000000000-00/invoices") == "invoiceSend"
    assert group_for("GET", "/sessions/20260301-SO-0000000000-0000000000-00") == "sessionMisc"
    assert (
        group_for("GET", "/sessions/20260301-SO-0000000000-0000000000-00/invoices/20260301-EE-0000000000-0000000000-00")
        == "invoiceStatus"
    )
    assert group_for("POST", "/auth/challenge") == "auth"
    a = group_for("GET", "/tokens/20261123-EC-D8F191B758-4A2265B1F5-BD")
    b = group_for("GET", "/tokens/20261123-EC-AAAAAAAAAA-4A2265B1F5-BD")
    assert a == b == "other:GET /tokens/{ref}"
    assert group_for("GET", "/tokens") != a


async def test_limiter_waits_for_the_hourly_window() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(PROD_LIMITS, clock=lambda: now[0], sleep=sleep)
    waits: list[Wait] = []
    for _ in range(20):  # invoiceMetadata: 8/s, 16/min, 20/h
        await limiter.acquire("invoiceMetadata", waits.append)
        now[0] += 0.01
    assert limiter.delay("invoiceMetadata") > 3000  # the 21st call must wait for the hour window
    await limiter.acquire("invoiceMetadata", waits.append)
    assert waits[-1].reason == "limiter"
    assert waits[-1].seconds > 3000
    assert limiter.calls["invoiceMetadata"] == 21
    # per second and per minute windows forced earlier waits too
    assert any(0 < w.seconds <= 1.0 for w in waits)
    assert any(1.0 < w.seconds <= 60.0 for w in waits)


async def test_retry_after_is_honoured_reported_and_bounded() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(429, json={"title": "Too Many Requests", "status": 429}, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"ok": True})

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    waits: list[Wait] = []
    http = KsefHttp(
        "https://ksef.invalid/v2", transport=httpx.MockTransport(handler), on_wait=waits.append, sleep=sleep
    )
    assert await http.json("POST", "/sessions/online", json={}) == {"ok": True}
    assert slept == [7.0, 7.0]
    assert [(w.reason, w.seconds) for w in waits] == [("retry-after", 7.0), ("retry-after", 7.0)]
    calls.clear()

    def always(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "2"})

    http = KsefHttp("https://ksef.invalid/v2", transport=httpx.MockTransport(always), sleep=sleep)
    with pytest.raises(RateLimited):
        await http.request("GET", "/tokens")
    assert len(calls) == 4  # the first try and three retries, then it gives up: never an endless loop


async def test_only_idempotent_calls_are_retried_after_5xx_or_network_failure() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503)

    async def sleep(seconds: float) -> None:
        return None

    http = KsefHttp("https://ksef.invalid/v2", transport=httpx.MockTransport(handler), sleep=sleep)
    with pytest.raises(ServerError):
        await http.request("POST", "/sessions/online/x/invoices", json={})
    assert calls == ["POST"]
    calls.clear()
    with pytest.raises(ServerError):
        await http.request("GET", "/sessions/x", idempotent=True)
    assert calls == ["GET", "GET", "GET"]

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    http = KsefHttp("https://ksef.invalid/v2", transport=httpx.MockTransport(broken), sleep=sleep)
    with pytest.raises(TransportFailure) as info:
        await http.request("POST", "/auth/token/redeem")
    assert info.value.kind == "refused"
    assert len(http.log) == 1


def test_redaction_of_presigned_urls() -> None:
    assert redact_url("https://storage.example/upo/abc?sv=2024&sig=SECRET", base_path="/v2") == "/upo/abc?…"
    assert redact_url("https://api.ksef.mf.gov.pl/v2/auth/challenge", base_path="/v2") == "/auth/challenge"
    assert redact_url("https://api.ksef.mf.gov.pl/v2", base_path="/v2") == "/"
    assert redact_url("https://storage.example/x/y?sig=S#frag") == "/x/y?…"  # no base path: the whole path
    assert redact_url("https://storage.example/x/y#frag") == "/x/y"


def test_log_lines_say_what_happened_and_nothing_more() -> None:
    at = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    ok = ApiCall(at, "GET", "/tokens", 200, 41, "other")
    refused = ApiCall(at, "POST", "/invoices/exports", 400, 7, "invoiceExport", codes=(21405, 21183))
    offline = ApiCall(at, "POST", "/auth/challenge", None, 3001, "auth", note="refused")
    assert ok.line() == "2026-03-01 12:30:05 GET    /tokens 200 41ms [other]"
    assert refused.line() == "2026-03-01 12:30:05 POST   /invoices/exports 400 7ms [invoiceExport] codes=21405,21183"
    assert offline.line() == "2026-03-01 12:30:05 POST   /auth/challenge --- 3001ms [auth] refused"


def test_the_log_is_a_ring_of_the_latest_calls() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    log = ApiLog(size=3)
    for status in range(200, 205):
        log.add(ApiCall(at, "GET", "/tokens", status, 1, "other"))
    assert len(log) == 3
    assert [entry.status for entry in log.entries()] == [202, 203, 204]
    assert len(log.lines()) == 3
    big = ApiLog()
    for _ in range(DEFAULT_SIZE + 10):
        big.add(ApiCall(at, "GET", "/tokens", 200, 1, "other"))
    assert len(big) == DEFAULT_SIZE


def test_time_parsing() -> None:
    value = parse_time("2025-07-11T12:23:56.0154302+00:00")
    assert (value.microsecond, value.utcoffset()) == (15430, __import__("datetime").timedelta(0))
    assert parse_time("2025-07-11T12:23:56Z").tzinfo is not None


@dataclass(frozen=True)
class Exchange:
    """One request as it went over the wire and its answer, with the client's monotonic clock."""

    method: str
    url: httpx.URL
    sent: float
    answered: float
    status: int
    retry_after: str | None
    authorization: str | None
    request_body: bytes
    response_body: bytes


class Recording(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping every exchange: when a request left, when its answer came, what it carried."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append(
            Exchange(
                request.method,
                request.url,
                sent,
                time.monotonic(),
                response.status_code,
                response.headers.get("retry-after"),
                request.headers.get("authorization"),
                request.content,
                body,
            )
        )
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_server_429_is_waited_out_as_told_then_succeeds(sim: Sim) -> None:
    """Against the simulator: our limiter allows bursts, the server's table does not. The repeat leaves no
    earlier than the 429's Retry-After, measured on the wire, and the server is not hit again in between."""
    sim.admin("POST", "/limits", {"table": {"other": [1, 100, 1000]}})
    waits: list[Wait] = []
    wire = Recording()
    generous = RateLimiter({**PROD_LIMITS, "other": (100, 1000, 10000)})
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip, limiter=generous, on_wait=waits.append, transport=wire)
    reference = sim.tokens["full"].split("|")[0]
    first = await api.token_status(reference)
    second = await api.token_status(reference)
    await api.aclose()
    assert first.status == second.status == "Active"
    calls = [e for e in wire.exchanges if e.url.path.endswith(f"/tokens/{reference}")]
    assert [e.status for e in calls] == [200, 429, 200]
    refused, repeat = calls[1], calls[2]
    assert refused.retry_after is not None
    told = float(refused.retry_after)
    assert told >= 1
    # The repeat left no earlier than told (10 ms for the event loop's clock resolution), and not much later.
    assert told - 0.01 <= repeat.sent - refused.answered < told + 1.0
    assert [(w.reason, w.seconds) for w in waits] == [("retry-after", told)]
    assert sim.stats()["rate_limited"] == 1  # the server saw no early retry
    assert any(" 429 " in line for line in api.log_lines())


def fragments(secret: str) -> set[str]:
    """What would give a secret away: the whole, its last 16 characters (a truncated copy), and a JWT's
    payload and signature (its header is the same in every token)."""
    parts = secret.split(".")
    return {secret, secret[-16:], *(parts[1:] if len(parts) == 3 else [])}


def leaks(secrets: dict[str, str], texts: list[str]) -> set[str]:
    """The names of the secrets of which any fragment appears in any of ``texts``."""
    return {name for name, secret in secrets.items() for text in texts if any(f in text for f in fragments(secret))}


async def test_the_api_log_holds_none_of_the_credentials_that_travelled(sim: Sim) -> None:
    """Every credential the client sent or received on the wire (the KSeF token and its encrypted form, the
    ``token|timestamp`` plaintext, the authentication, access and refresh JWTs, a pre-signed URL's signature)
    is collected, and none of them is in the API log; a planted one is found, so the check can fail."""
    from ksef_tui.ksef.crypto import SymmetricKey
    from ksef_tui.ksef.receive import date_range, download_package, start_export, wait_for_export

    wire = Recording()
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip, transport=wire)
    tokens = await api.auth.tokens()
    await api.auth.refresh(tokens)  # the refresh token travels as a bearer too
    key = SymmetricKey.generate()
    now = datetime.now(UTC)
    filters = {
        "subjectType": "Subject2",
        "dateRange": date_range("PermanentStorage", now - timedelta(days=30), now, restrict_to_hwm=True),
    }
    package = await wait_for_export(api, await start_export(api, filters, key), first_wait=0.6)
    await download_package(api, package, key)
    await api.aclose()

    ksef_token = sim.tokens["full"]
    secrets = {"ksef token": ksef_token, "token secret": ksef_token.split("|")[2]}
    for exchange in wire.exchanges:
        if exchange.authorization:
            secrets[f"bearer of {exchange.method} {exchange.url.path}"] = exchange.authorization.removeprefix("Bearer ")
        if exchange.url.params.get("sig"):
            secrets[f"signature of {exchange.url.path}"] = exchange.url.params["sig"]
        body = json.loads(exchange.response_body) if exchange.response_body.startswith(b"{") else {}
        for name in ("authenticationToken", "accessToken", "refreshToken"):
            if isinstance(body.get(name), dict):
                secrets[f"{name} answered to {exchange.url.path}"] = body[name]["token"]
        if exchange.url.path.endswith("/auth/challenge"):
            secrets["token|timestamp"] = f"{ksef_token}|{body['timestampMs']}"
        if exchange.url.path.endswith("/auth/ksef-token"):
            secrets["encrypted token"] = json.loads(exchange.request_body)["encryptedToken"]
    found = {name.split(" ", 1)[0] for name in secrets}
    assert {"bearer", "signature", "authenticationToken", "accessToken", "refreshToken"} <= found, secrets.keys()
    assert {"token|timestamp", "encrypted token", "token secret"} <= secrets.keys()
    assert tokens.refresh_token in secrets.values()
    assert all(len(value) >= 16 for value in secrets.values())

    entries = api.http.log.entries()
    log = api.log_lines() + api.log_records() + [repr(entry) for entry in entries]
    assert len(entries) == len(wire.exchanges)  # the log has every call: an empty log would prove nothing
    assert leaks(secrets, log) == set()
    for name, secret in secrets.items():  # the check finds each one where it would leak, whole or cut short
        assert name in leaks(secrets, [*log, f"GET /x?{secret} 200"])
        assert name in leaks(secrets, [*log, f"GET /x 200 ...{secret[-20:]}"])


async def test_the_log_check_catches_a_client_that_logs_whole_urls(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    """A realistic leak, planted: a client logging the whole pre-signed URL puts its signature in the log."""
    from ksef_tui.ksef import client
    from ksef_tui.ksef.crypto import SymmetricKey
    from ksef_tui.ksef.receive import date_range, download_package, start_export, wait_for_export

    monkeypatch.setattr(client, "redact_url", lambda url, base_path="": url)
    wire = Recording()
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip, transport=wire)
    key = SymmetricKey.generate()
    now = datetime.now(UTC)
    filters = {
        "subjectType": "Subject2",
        "dateRange": date_range("PermanentStorage", now - timedelta(days=30), now, restrict_to_hwm=True),
    }
    package = await wait_for_export(api, await start_export(api, filters, key), first_wait=0.6)
    await download_package(api, package, key)
    await api.aclose()
    signatures = {str(e.url): e.url.params["sig"] for e in wire.exchanges if e.url.params.get("sig")}
    assert signatures
    assert leaks(signatures, api.log_lines()) == set(signatures)
