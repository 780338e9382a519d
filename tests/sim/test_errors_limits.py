"""PROTOCOL §8 and §11 items 6, 16, 17: error envelopes, permission checks, rate limits, faults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ksef_tui.sim.clock import ManualClock
from ksef_tui.sim.limits import FAST_LIMITS, PROD_LIMITS, Limit, RateLimiter

from ..harness import FIXED_NOW, Sim
from .sim_support import Api, legacy_error, problem_error


def test_legacy_and_problem_details_envelopes(api: Api, full_login: dict[str, str]) -> None:
    garbage = {"x-continuation-token": "###"}
    legacy = api.call("GET", "/tokens", token=full_login["access"], headers=garbage)
    assert legacy.status_code == 400 and legacy.headers["content-type"] == "application/json; charset=utf-8"
    exception = legacy.json()["exception"]
    assert exception["serviceCode"] and exception["timestamp"].endswith("+00:00")
    assert legacy_error(legacy)[0] == 21418
    problem = api.call("GET", "/tokens", token=full_login["access"], headers=garbage, problem=True)
    assert problem.status_code == 400
    body = problem.json()
    assert (body["title"], body["status"], body["instance"], body["detail"]) == (
        "Bad Request",
        400,
        "/v2/tokens",
        "Żądanie jest nieprawidłowe.",
    )
    assert problem_error(problem) == (21418, "Przekazany token kontynuacji ma nieprawidłowy format.", [])
    assert len(body["traceId"]) == 32


def test_missing_permissions_403(api: Api, shared_sim: Sim) -> None:
    tokens = api.login(shared_sim.state.named_tokens["read_only"])
    response = api.call(
        "POST",
        "/sessions/online",
        token=tokens["access"],
        json_body={
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {"encryptedSymmetricKey": "AAAA", "initializationVector": "AAAAAAAAAAAAAAAAAAAAAA=="},
        },
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json; charset=utf-8"
    body = response.json()
    assert body["reasonCode"] == "missing-permissions"
    assert body["security"] == {
        "requiredAnyOfPermissions": ["InvoiceWrite", "PefInvoiceWrite", "EnforcementOperations"],
        "presentPermissions": ["InvoiceRead"],
    }
    writer = api.login(shared_sim.state.named_tokens["write_only"])
    metadata = api.call(
        "POST",
        "/invoices/query/metadata",
        token=writer["access"],
        json_body={"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": "2026-02-01T00:00:00+01:00"}},
    )
    assert metadata.status_code == 403
    assert metadata.json()["security"]["requiredAnyOfPermissions"] == ["InvoiceRead"]


def test_rate_limit_429_with_retry_after(make_client: Callable[..., Api]) -> None:
    # frozen time: the burst is inside one second however slow the machine is
    clock = ManualClock(FIXED_NOW)
    client = make_client(limits="prod", seed_purchases=0, clock=clock, auth_delay=0.0)
    tokens = client.login(client.state.named_tokens["full"])
    body = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-02-01T00:00:00+01:00", "to": "2026-03-01T00:00:00+01:00"},
    }
    statuses = []
    for _ in range(9):
        response = client.call("POST", "/invoices/query/metadata", token=tokens["access"], json_body=body)
        statuses.append(response.status_code)
    assert statuses[:8] == [200] * 8 and statuses[8] == 429
    assert response.headers["retry-after"].isdigit() and int(response.headers["retry-after"]) >= 1
    retry = response.headers["retry-after"]
    assert response.json() == {
        "status": {
            "code": 429,
            "description": "Too Many Requests",
            "details": [f"Przekroczono limit 8 żądań na sekundę. Spróbuj ponownie po {retry} sekundach."],
        }
    }
    problem = client.call("POST", "/invoices/query/metadata", token=tokens["access"], json_body=body, problem=True)
    assert problem.status_code == 429 and problem.headers["content-type"] == "application/problem+json; charset=utf-8"
    assert problem.json()["title"] == "Too Many Requests"
    # other groups keep their own counters
    assert client.call("GET", "/tokens", token=tokens["access"]).status_code == 200
    stats = client.admin("GET", "/stats").json()
    assert stats["rate_limited"] == 2
    assert stats["calls"]["invoiceMetadata"] == 10
    clock.advance(1)
    assert client.call("POST", "/invoices/query/metadata", token=tokens["access"], json_body=body).status_code == 200


def test_sliding_windows_unit() -> None:
    limiter = RateLimiter({"g": Limit(2, 3, 4)})
    t0 = datetime(2026, 3, 1, 12, 0, 0).astimezone()
    from datetime import timedelta

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    assert limiter.hit(("k",), "g", at(0)) is None
    assert limiter.hit(("k",), "g", at(0.1)) is None
    refusal = limiter.hit(("k",), "g", at(0.2))
    assert refusal is not None and refusal.retry_after == 1 and refusal.window_name == "sekundę"
    assert limiter.hit(("k",), "g", at(1.5)) is None
    minute = limiter.hit(("k",), "g", at(3.0))
    assert minute is not None and minute.window_name == "minutę" and minute.retry_after == 57
    assert limiter.hit(("other",), "g", at(3.0)) is None
    assert limiter.hit(("k",), "unknown-group", at(3.0)) is None
    assert FAST_LIMITS["invoiceMetadata"].per_hour == PROD_LIMITS["invoiceMetadata"].per_hour * 10
    assert PROD_LIMITS["invoiceDownload"] == Limit(8, 16, 64)


def test_faults_forced_429_and_maintenance(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0)
    assert client.admin("POST", "/faults", json={"spec": "force429=public"}).status_code == 200
    forced = client.call("POST", "/auth/challenge")
    assert forced.status_code == 429 and forced.headers["retry-after"] == "1"
    client.admin("POST", "/faults", json={"spec": "maintenance=1"})
    assert client.call("POST", "/auth/challenge", validate=False).status_code == 503
    bad = client.admin("POST", "/faults", json={"spec": "nonsense=1"})
    assert bad.status_code == 400
    client.admin("POST", "/faults", json={})
    assert client.call("POST", "/auth/challenge").status_code == 200
    assert client.admin("GET", "/stats").json()["faults_injected"] == 1
