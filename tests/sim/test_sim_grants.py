"""Permissions for an accounting office (CERTS_OFFLINE §4, §7 items 12–14): grants through the API and through
/testdata, their operations, revocation, the queries, and what they open at a XAdES login — over real HTTP,
every exchange checked against the OpenAPI (``/testdata`` against the TEST spec, the only one that has it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..harness import FIXED_NOW
from .sim_support import Api, legacy_error
from .xades_flow import Holder, login, nip, per, pesel, status
from .xades_signer import person_name, rsa_key, seal_name

Factory = Callable[..., Api]

CLIENT, OFFICE, STRANGER = nip(20), nip(21), nip(22)
EMPLOYEE = pesel(31)


def seal(value: str, slot: int = 0) -> Holder:
    return Holder.make(rsa_key(slot), seal_name(value), now=FIXED_NOW)


def employee(value: str = EMPLOYEE) -> Holder:
    return Holder.make(rsa_key(1), person_name(f"PNOPL-{value}"), now=FIXED_NOW)


@pytest.fixture
def te(make_client: Factory) -> Api:
    return make_client(environment="TE")


def wait_operation(api: Api, access: str, reference: str) -> dict[str, Any]:
    return api.until(
        lambda: dict(api.call("GET", f"/permissions/operations/{reference}", token=access).json()),
        lambda body: body["status"]["code"] != 100,
    )


def granted(api: Api, access: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a grant, check the 202 and the first status (100), return the final status."""
    response = api.call("POST", path, token=access, json_body=body)
    assert response.status_code == 202, response.text
    reference = response.json()["referenceNumber"]
    assert reference[9:11] == "EG"
    first = api.call("GET", f"/permissions/operations/{reference}", token=access).json()
    assert first["status"] == {"code": 100, "description": "Operacja przyjęta do realizacji"}
    return wait_operation(api, access, reference)


def entity_grant(
    office: str, *, can_delegate: bool = True, scopes: tuple[str, ...] = ("InvoiceRead", "InvoiceWrite")
) -> dict[str, Any]:
    return {
        "subjectIdentifier": {"type": "Nip", "value": office},
        "permissions": [{"type": scope, "canDelegate": can_delegate} for scope in scopes],
        "description": "Obsługa księgowa",
        "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."},
    }


def person_details() -> dict[str, Any]:
    return {"subjectDetailsType": "PersonByIdentifier", "personById": {"firstName": "Anna", "lastName": "Nowak"}}


def query(api: Api, access: str, path: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    response = api.call("POST", path, token=access, json_body=body or {}, params={"pageOffset": 0, "pageSize": 10})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["permissions"]
    return rows


def test_the_office_works_in_its_clients_context(te: Api) -> None:
    client = login(te, seal(CLIENT), CLIENT)
    final = granted(te, client["access"], "/permissions/entities/grants", entity_grant(OFFICE))
    assert final["status"] == {"code": 200, "description": "Operacja zakończona sukcesem"}

    # the office's own seal opens the client's context with exactly the granted rights
    office_in_client = login(te, seal(OFFICE, 2), CLIENT)
    rights = per(office_in_client["access"])
    assert {"InvoiceRead", "InvoiceWrite"} <= set(rights) and "Owner" not in rights
    mine = query(te, office_in_client["access"], "/permissions/query/personal/grants")
    assert sorted(r["permissionScope"] for r in mine) == ["InvoiceRead", "InvoiceWrite"]
    assert {r["contextIdentifier"]["value"] for r in mine} == {CLIENT}
    assert all(r["canDelegate"] and r["authorizedIdentifier"] == {"type": "Nip", "value": OFFICE} for r in mine)

    # in its own context the office finds its client list
    office = login(te, seal(OFFICE, 2), OFFICE)
    clients = query(te, office["access"], "/permissions/query/entities/grants")
    assert {(r["contextIdentifier"]["value"], r["permissionScope"]) for r in clients} == {
        (CLIENT, "InvoiceRead"),
        (CLIENT, "InvoiceWrite"),
    }
    assert (
        query(
            te,
            office["access"],
            "/permissions/query/entities/grants",
            {"contextIdentifier": {"type": "Nip", "value": STRANGER}},
        )
        == []
    )
    assert len(query(te, office["access"], "/permissions/query/personal/grants")) == 2  # the owner sees them too

    # a company that granted nothing stays closed
    assert status(te, seal(OFFICE, 2), STRANGER)["status"]["code"] == 415


def test_revoking_a_grant_narrows_new_and_refreshed_tokens(te: Api) -> None:
    client = login(te, seal(CLIENT), CLIENT)
    granted(te, client["access"], "/permissions/entities/grants", entity_grant(OFFICE))
    office = login(te, seal(OFFICE, 2), CLIENT)
    rows = query(
        te, client["access"], "/permissions/query/persons/grants", {"queryType": "PermissionsGrantedInCurrentContext"}
    )
    assert {r["authorIdentifier"]["value"] for r in rows} == {CLIENT}
    write = next(r for r in rows if r["permissionScope"] == "InvoiceWrite")
    response = te.call("DELETE", f"/permissions/common/grants/{write['id']}", token=client["access"])
    assert response.status_code == 202, response.text
    assert wait_operation(te, client["access"], response.json()["referenceNumber"])["status"]["code"] == 200
    assert per(login(te, seal(OFFICE, 2), CLIENT)["access"]) == ["InvoiceRead"]
    refreshed = te.call("POST", "/auth/token/refresh", token=office["refresh"]).json()
    assert per(refreshed["accessToken"]["token"]) == ["InvoiceRead"]
    # revoking what is not there: the operation fails
    again = te.call("DELETE", f"/permissions/common/grants/{write['id']}", token=client["access"])
    final = wait_operation(te, client["access"], again.json()["referenceNumber"])
    assert final["status"]["code"] == 400 and final["status"]["description"] == "Operacja zakończona niepowodzeniem"


def test_indirect_grants_through_the_office(te: Api) -> None:
    client = login(te, seal(CLIENT), CLIENT)
    granted(te, client["access"], "/permissions/entities/grants", entity_grant(OFFICE, scopes=("InvoiceRead",)))
    office = login(te, seal(OFFICE, 2), OFFICE)
    selective = {
        "subjectIdentifier": {"type": "Pesel", "value": EMPLOYEE},
        "targetIdentifier": {"type": "Nip", "value": CLIENT},
        "permissions": ["InvoiceRead"],
        "description": "Księgowa klienta",
        "subjectDetails": person_details(),
    }
    assert granted(te, office["access"], "/permissions/indirect/grants", selective)["status"]["code"] == 200
    assert per(login(te, employee(), CLIENT)["access"]) == ["InvoiceRead"]
    assert status(te, employee(), STRANGER)["status"]["code"] == 415  # a selective grant opens only its client
    # the client gave the office no InvoiceWrite to pass on, and the stranger gave nothing
    write = {**selective, "permissions": ["InvoiceWrite"]}
    assert granted(te, office["access"], "/permissions/indirect/grants", write)["status"]["code"] == 440
    other = {**selective, "targetIdentifier": {"type": "Nip", "value": STRANGER}}
    assert granted(te, office["access"], "/permissions/indirect/grants", other)["status"]["code"] == 440
    # a general grant covers every client that delegated to the office
    colleague = pesel(32)
    general = {
        **selective,
        "subjectIdentifier": {"type": "Pesel", "value": colleague},
        "targetIdentifier": {"type": "AllPartners"},
    }
    assert granted(te, office["access"], "/permissions/indirect/grants", general)["status"]["code"] == 200
    assert per(login(te, employee(colleague), CLIENT)["access"]) == ["InvoiceRead"]
    listed = query(
        te, office["access"], "/permissions/query/persons/grants", {"queryType": "PermissionsInCurrentContext"}
    )
    assert {r["authorizedIdentifier"]["value"] for r in listed} == {EMPLOYEE, colleague}


def test_person_grants_and_refusals(te: Api) -> None:
    client = login(te, seal(CLIENT), CLIENT)
    grant = {
        "subjectIdentifier": {"type": "Pesel", "value": EMPLOYEE},
        "permissions": ["InvoiceWrite", "CredentialsRead"],
        "description": "Pracownik działu faktur",
        "subjectDetails": person_details(),
    }
    assert granted(te, client["access"], "/permissions/persons/grants", grant)["status"]["code"] == 200
    worker = login(te, employee(), CLIENT)
    assert per(worker["access"]) == ["InvoiceWrite", "CredentialsRead"]
    rows = query(te, worker["access"], "/permissions/query/personal/grants", {"permissionTypes": ["CredentialsRead"]})
    assert [r["subjectPersonDetails"]["lastName"] for r in rows] == ["Nowak"]
    # CredentialsRead lets it read who works here, not grant
    listed = query(
        te, worker["access"], "/permissions/query/persons/grants", {"queryType": "PermissionsInCurrentContext"}
    )
    assert len(listed) == 2
    refused = te.call("POST", "/permissions/persons/grants", token=worker["access"], json_body=grant)
    assert refused.status_code == 403
    assert refused.json()["reasonCode"] == "missing-permissions"
    assert refused.json()["security"] == {
        "requiredAnyOfPermissions": ["CredentialsManage"],
        "presentPermissions": ["InvoiceWrite", "CredentialsRead"],
    }
    # the owner needs no grant (410); enforcement rights exist only in enforcement contexts (430)
    to_owner = {**grant, "subjectIdentifier": {"type": "Nip", "value": CLIENT}}
    assert granted(te, client["access"], "/permissions/persons/grants", to_owner)["status"]["code"] == 410
    enforcement = {**grant, "permissions": ["EnforcementOperations"]}
    assert granted(te, client["access"], "/permissions/persons/grants", enforcement)["status"]["code"] == 430
    short = te.call(
        "POST",
        "/permissions/persons/grants",
        token=client["access"],
        json_body={**grant, "description": "abc"},
        bad_request=True,
    )
    assert legacy_error(short)[0] == 21405
    unknown = te.call("GET", "/permissions/operations/20260515-EG-0000000000-0000000000-00", token=client["access"])
    assert legacy_error(unknown)[0] == 21405
    # an operation's status is kept 30 days
    reference = te.call("POST", "/permissions/persons/grants", token=client["access"], json_body=grant).json()
    te.sim.advance(31 * 86_400)
    later = login(te, seal(CLIENT), CLIENT)
    expired = te.call("GET", f"/permissions/operations/{reference['referenceNumber']}", token=later["access"])
    assert expired.status_code == 410


def test_testdata_grants_and_links(te: Api) -> None:
    body = {
        "contextIdentifier": {"type": "Nip", "value": CLIENT},
        "authorizedIdentifier": {"type": "Nip", "value": OFFICE},
        "permissions": [
            {"permissionType": "InvoiceRead", "description": "Odczyt faktur"},
            {"permissionType": "InvoiceWrite", "description": "Wystawianie faktur"},
        ],
    }
    assert te.call("POST", "/testdata/permissions", json_body=body).status_code == 200
    assert legacy_error(te.call("POST", "/testdata/permissions", json_body=body))[:2] == (
        30001,
        "Podmiot lub uprawnienie już istnieje.",
    )
    office_in_client = login(te, seal(OFFICE, 2), CLIENT)
    assert set(per(office_in_client["access"])) == {"InvoiceRead", "InvoiceWrite"}
    office = login(te, seal(OFFICE, 2), OFFICE)
    assert len(query(te, office["access"], "/permissions/query/entities/grants")) == 2
    client = login(te, seal(CLIENT), CLIENT)
    system = query(
        te,
        client["access"],
        "/permissions/query/persons/grants",
        {"queryType": "PermissionsInCurrentContext", "authorIdentifier": {"type": "System"}},
    )
    assert {r["authorIdentifier"]["type"] for r in system} == {"System"} and len(system) == 2
    revoke = {"contextIdentifier": body["contextIdentifier"], "authorizedIdentifier": body["authorizedIdentifier"]}
    assert te.call("POST", "/testdata/permissions/revoke", json_body=revoke).status_code == 200
    assert status(te, seal(OFFICE, 2), CLIENT)["status"]["code"] == 415
    # a linked PESEL owns the NIP's context until the link is removed
    link = {"nip": CLIENT, "pesel": EMPLOYEE, "isBailiff": True, "description": "Właściciel"}
    assert te.call("POST", "/testdata/person", json_body=link).status_code == 200
    assert legacy_error(te.call("POST", "/testdata/person", json_body=link))[0] == 30001
    assert per(login(te, employee(), CLIENT)["access"])[-1] == "EnforcementOperations"  # a bailiff
    assert te.call("POST", "/testdata/person/remove", json_body={"nip": CLIENT}).status_code == 200
    assert status(te, employee(), CLIENT)["status"]["code"] == 415


def test_prd_has_no_testdata(make_client: Factory) -> None:
    prd = make_client()
    response = prd.call("POST", "/testdata/person", json_body={}, validate=False)
    assert response.status_code == 404
