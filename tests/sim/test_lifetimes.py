"""Time-driven behaviour on private simulators with a movable clock: challenge expiry, session auto-close,
token activation, auth-session management, limits endpoints, latency and 5xx faults."""

from __future__ import annotations

import time
from collections.abc import Callable

from ksef_tui.sim.seed import DEMO

from .sim_support import Api, open_session


def test_expired_challenge_fails_with_450(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0)
    token = client.state.named_tokens["full"]
    challenge = client.call("POST", "/auth/challenge").json()
    client.sim.advance(601)
    body = {
        "challenge": challenge["challenge"],
        "contextIdentifier": {"type": "Nip", "value": DEMO.nip},
        "encryptedToken": client.encrypt_token(token, challenge["timestampMs"]),
    }
    started = client.call("POST", "/auth/ksef-token", json_body=body)
    assert started.status_code == 202
    status = client.wait_auth(started.json())
    assert status["status"]["code"] == 450
    assert status["status"]["details"] == ["Nieprawidłowe wyzwanie autoryzacyjne"]


def test_online_session_auto_closes_after_12_hours(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0, access_token_ttl=24 * 3600.0)
    tokens = client.login(client.state.named_tokens["full"])
    session = open_session(client, tokens["access"])
    client.sim.advance(12 * 3600 + 1)
    status = session.wait_closed()
    assert status["status"] == {"code": 440, "description": "Sesja anulowana", "details": ["Nie przesłano faktur"]}


def test_admin_token_activation_and_auth_session_management(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0)
    created = client.admin(
        "POST",
        "/tokens",
        json={"nip": DEMO.nip, "permissions": ["InvoiceRead"], "status": "Pending", "activateAfter": 100},
    ).json()
    assert created["status"] == "Pending"
    assert client.wait_auth(client.start_auth(created["token"]))["status"]["details"] == ["Token nieaktywny"]
    client.sim.advance(101)
    first = client.login(created["token"])
    second = client.login(client.state.named_tokens["full"])
    listing = client.call("GET", "/auth/sessions", token=second["access"]).json()["items"]
    assert {item["referenceNumber"] for item in listing} >= {first["reference"], second["reference"]}
    assert client.call("DELETE", f"/auth/sessions/{first['reference']}", token=second["access"]).status_code == 204
    refused = client.call("POST", "/auth/token/refresh", token=first["refresh"])
    assert (
        refused.status_code == 400 and refused.json()["exception"]["exceptionDetailList"][0]["exceptionCode"] == 21301
    )


def test_limit_endpoints(make_client: Callable[..., Api]) -> None:
    client = make_client(limits="fast", seed_purchases=0)
    access = client.login(client.state.named_tokens["full"])["access"]
    limits = client.call("GET", "/rate-limits", token=access).json()
    assert limits["invoiceMetadata"] == {"perSecond": 80, "perMinute": 160, "perHour": 200}  # the fast profile
    context = client.call("GET", "/limits/context", token=access).json()
    assert context["onlineSession"]["maxInvoiceSizeInMB"] == 1


def test_latency_and_server_errors(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0)
    client.admin("POST", "/faults", json={"spec": "latency=0.3"})
    began = time.monotonic()
    assert client.call("POST", "/auth/challenge").status_code == 200
    assert time.monotonic() - began >= 0.3
    client.admin("POST", "/faults", json={"spec": "error500=1"})
    failed = client.call("POST", "/auth/challenge", validate=False)
    assert failed.status_code == 500
    assert (
        failed.json()["exception"]["exceptionDetailList"][0]["exceptionDescription"] == "Wystąpił nieoczekiwany błąd."
    )
    client.admin("POST", "/faults", json={"spec": "error503=1"})
    assert client.call("POST", "/auth/challenge", validate=False).status_code == 503
