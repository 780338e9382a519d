"""POST /permissions/query/personal/grants (PROTOCOL §4.4 item 3), validated against the OpenAPI."""

from __future__ import annotations

from ksef_tui.sim.seed import DEMO

from ..harness import Sim
from .sim_support import Api


def test_personal_grants_list_the_token_permissions(api: Api, shared_sim: Sim) -> None:
    login = api.login(shared_sim.state.named_tokens["read_only"])
    path = "/permissions/query/personal/grants"
    response = api.call("POST", path, token=login["access"], json_body={}, params={"pageOffset": 0, "pageSize": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [g["permissionScope"] for g in body["permissions"]] == ["InvoiceRead"]
    grant = body["permissions"][0]
    assert grant["contextIdentifier"] == {"type": "Nip", "value": DEMO.nip}
    assert grant["permissionState"] == "Active"
    assert len(grant["id"]) == 36
    assert body["hasMore"] is False
    # filters: another permission type finds nothing, and the state filter applies
    none = api.call("POST", path, token=login["access"], json_body={"permissionTypes": ["InvoiceWrite"]})
    assert none.json() == {"permissions": [], "hasMore": False}
    inactive = api.call("POST", path, token=login["access"], json_body={"permissionState": "Inactive"})
    assert inactive.json()["permissions"] == []


def test_personal_grants_paging_and_validation(api: Api, shared_sim: Sim) -> None:
    login = api.login(shared_sim.state.named_tokens["full"])
    path = "/permissions/query/personal/grants"
    first = api.call("POST", path, token=login["access"], json_body={}, params={"pageSize": 10})
    assert first.status_code == 200
    scopes = {g["permissionScope"] for g in first.json()["permissions"]}
    assert {"InvoiceRead", "InvoiceWrite"} <= scopes
    bad = api.call("POST", path, token=login["access"], json_body={}, params={"pageSize": 5}, bad_request=True)
    assert bad.status_code == 400
    no_auth = api.call("POST", path, json_body={})
    assert no_auth.status_code == 401
