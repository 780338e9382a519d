"""IP authorization policy, TE environment specifics and the unknown-field switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ksef_tui.sim.seed import DEMO

from .sim_support import Api, fixture_invoice, legacy_error, open_session, unique_number


def _auth_with_policy(client: Api, policy: dict[str, Any]) -> dict[str, str]:
    started = client.start_auth(client.state.named_tokens["full"], authorizationPolicy={"allowedIps": policy})
    client.wait_auth(started)
    tokens = client.call("POST", "/auth/token/redeem", token=started["authenticationToken"]["token"]).json()
    return {"access": tokens["accessToken"]["token"], "refresh": tokens["refreshToken"]["token"]}


def test_ip_policy(api: Api) -> None:
    allowed = _auth_with_policy(api, {"ip4Ranges": ["127.0.0.1-127.0.0.9"]})
    assert api.call("GET", "/tokens", token=allowed["access"]).status_code == 200
    blocked = _auth_with_policy(api, {"ip4Masks": ["10.0.0.0/8"], "ip4Addresses": ["192.168.0.1"]})
    refused = api.call("GET", "/tokens", token=blocked["access"])
    assert refused.status_code == 403
    body = refused.json()
    assert body["reasonCode"] == "ip-not-allowed" and body["security"] == {"clientIp": "127.0.0.1"}
    challenge = api.call("POST", "/auth/challenge").json()
    bad = api.call(
        "POST",
        "/auth/ksef-token",
        json_body={
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": DEMO.nip},
            "encryptedToken": api.encrypt_token(api.state.named_tokens["full"], challenge["timestampMs"]),
            "authorizationPolicy": {"allowedIps": {"ip4Masks": ["300.0.0.0/8"]}},
        },
        bad_request=True,
    )
    assert legacy_error(bad) == (
        21405,
        "Błąd walidacji danych wejściowych.",
        ["Nieprawidłowa wartość '300.0.0.0/8' w polu 'authorizationPolicy.allowedIps.ip4Masks'."],
    )


def test_te_environment_accepts_fa2_and_echoes_warnings(make_client: Callable[..., Api]) -> None:
    client = make_client(environment="TE", seed_purchases=0)
    echoed = client.call("POST", "/auth/challenge", headers={"X-Test-System-Warning": "[W1]: Proba lacznosci"})
    assert echoed.headers["x-system-warning"] == "[W1]: Proba lacznosci"
    tokens = client.login(client.state.named_tokens["full"])
    session = open_session(
        client, tokens["access"], form={"systemCode": "FA (2)", "schemaVersion": "1-0E", "value": "FA"}
    )
    fa2 = fixture_invoice("../fa2/FA2_podstawowa__FA_2_Przyklad_4.xml", DEMO.nip, unique_number("FA2"))
    status = session.wait_invoice(session.send(fa2).json()["referenceNumber"])
    assert status["status"]["code"] == 200, status


def test_prd_does_not_echo_warnings(api: Api) -> None:
    response = api.call("POST", "/auth/challenge", headers={"X-Test-System-Warning": "[W1]: x"})
    assert "x-system-warning" not in response.headers


def test_unknown_fields_switch(make_client: Callable[..., Api]) -> None:
    client = make_client(extra_fields=True, seed_purchases=0)
    body = client.call("POST", "/auth/challenge").json()  # still valid against the spec
    assert body["simulatorExtension"]["version"] == 1
