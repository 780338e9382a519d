"""PROTOCOL §4 and §11 item 7: KSeF token management."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ksef_tui.domain.ksef_number import reference_checksum_ok
from ksef_tui.sim.seed import DEMO

from ..harness import Sim
from .sim_support import Api, legacy_error, problem_error

TOKEN_RE = re.compile(r"^\d{8}-EC-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}\|nip-\d{10}\|[0-9a-f]{64}$")


def _wait_status(api: Api, access: str, ref: str, wanted: str) -> dict[str, Any]:
    return api.until(
        lambda: dict(api.call("GET", f"/tokens/{ref}", token=access).json()), lambda body: body["status"] == wanted
    )


def test_seeded_tokens_have_the_documented_format(shared_sim: Sim) -> None:
    for token in shared_sim.state.named_tokens.values():
        assert TOKEN_RE.match(token), token
        assert reference_checksum_ok(token.split("|")[0])


def test_create_activate_use_and_revoke(make_client: Callable[..., Api]) -> None:
    api = make_client(token_activation_delay=30.0, token_revocation_delay=30.0, seed_purchases=0)
    access = api.login(api.state.named_tokens["full"])["access"]
    created = api.call(
        "POST",
        "/tokens",
        token=access,
        json_body={"permissions": ["InvoiceRead"], "description": "Token do testów odczytu"},
    )
    assert created.status_code == 202, created.text
    body = created.json()
    token, ref = body["token"], body["referenceNumber"]
    assert TOKEN_RE.match(token) and token.startswith(ref + f"|nip-{DEMO.nip}|")
    first = api.call("GET", f"/tokens/{ref}", token=access).json()
    assert first["status"] == "Pending"
    assert first["requestedPermissions"] == ["InvoiceRead"]
    assert first["contextIdentifier"] == {"type": "Nip", "value": DEMO.nip}
    # Pending tokens cannot authenticate yet
    status = api.wait_auth(api.start_auth(token))
    assert status["status"]["details"] == ["Token nieaktywny"]
    api.sim.advance(30)
    assert _wait_status(api, access, ref, "Active")["status"] == "Active"
    tokens = api.login(token)
    assert api.call("GET", f"/tokens/{ref}", token=access).json()["lastUseDate"] is not None
    assert api.call("DELETE", f"/tokens/{ref}", token=access).status_code == 204
    assert api.call("GET", f"/tokens/{ref}", token=access).json()["status"] == "Revoking"
    api.sim.advance(30)
    assert _wait_status(api, access, ref, "Revoked")["status"] == "Revoked"
    refused = api.call("POST", "/auth/token/refresh", token=tokens["refresh"])
    assert legacy_error(refused) == (21301, "Brak autoryzacji.", ["Token KSeF został unieważniony."])


def test_cannot_grant_more_than_you_have(api: Api, shared_sim: Sim) -> None:
    tokens = api.login(shared_sim.state.named_tokens["read_only"])
    response = api.call(
        "POST",
        "/tokens",
        token=tokens["access"],
        json_body={"permissions": ["InvoiceRead", "InvoiceWrite"], "description": "Więcej niż mam"},
    )
    assert legacy_error(response) == (
        26001,
        "Nie można nadać tokenowi uprawnień których nie posiadasz.",
        ["Brakujące uprawnienia: InvoiceWrite."],
    )
    short = api.call(
        "POST",
        "/tokens",
        token=tokens["access"],
        json_body={"permissions": ["InvoiceRead"], "description": "abc"},
        bad_request=True,
    )
    assert (
        problem_error(
            api.call("POST", "/tokens", token=tokens["access"], json_body={}, problem=True, bad_request=True)
        )[0]
        == 21405
    )
    assert legacy_error(short)[0] == 21405


def test_list_tokens_pagination_and_visibility(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    for n in range(11):
        api.call(
            "POST",
            "/tokens",
            token=access,
            json_body={"permissions": ["InvoiceRead"], "description": f"Stronicowanie {n:02d}"},
        )
    first = api.call("GET", "/tokens", token=access, params={"pageSize": 10})
    body = first.json()
    assert len(body["tokens"]) == 10 and body["continuationToken"]
    dates = [item["dateCreated"] for item in body["tokens"]]
    assert dates == sorted(dates, reverse=True)
    second = api.call(
        "GET",
        "/tokens",
        token=access,
        params={"pageSize": 10},
        headers={"x-continuation-token": body["continuationToken"]},
    ).json()
    refs = {t["referenceNumber"] for t in body["tokens"]}
    assert refs.isdisjoint(t["referenceNumber"] for t in second["tokens"])
    filtered = api.call("GET", "/tokens", token=access, params={"description": "stronicowanie", "pageSize": 100})
    assert len(filtered.json()["tokens"]) >= 11
    revoked = api.call("GET", "/tokens", token=access, params=[("status", "Revoked"), ("status", "Failed")]).json()
    assert all(t["status"] in ("Revoked", "Failed") for t in revoked["tokens"]) and revoked["tokens"]
    garbage = api.call("GET", "/tokens", token=access, headers={"x-continuation-token": "!!not-base64!!"})
    assert legacy_error(garbage) == (21418, "Przekazany token kontynuacji ma nieprawidłowy format.", [])
    bad_size = api.call("GET", "/tokens", token=access, params={"pageSize": 5}, bad_request=True)
    assert legacy_error(bad_size)[0] == 21405
    # a token login without Credentials* sees only its own token
    write_only = shared_sim.state.named_tokens["write_only"]
    own = api.login(write_only)
    visible = api.call("GET", "/tokens", token=own["access"]).json()["tokens"]
    assert [t["referenceNumber"] for t in visible] == [write_only.split("|")[0]]
    other_ref = shared_sim.state.named_tokens["full"].split("|")[0]
    hidden = api.call("GET", f"/tokens/{other_ref}", token=own["access"])
    assert legacy_error(hidden)[0] == 21405
