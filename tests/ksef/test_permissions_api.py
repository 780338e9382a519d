"""Grant queries (CERTS_OFFLINE §4.3): the office's client list (entities/grants) and one's own grants
(personal/grants), against a scripted KSeF and, over real HTTP, against the simulator in the accounting-office
walkthrough of §4.2: the office logs in to a client that granted it nothing (415, read as such), the client
grants, the office finds the client in its list and then works in the client's context."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ksef_tui.errors import Category, report
from ksef_tui.ksef import certs
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.errors import NoPermissionsInContext
from ksef_tui.ksef.permissions import (
    EntityGrant,
    GrantingCompany,
    Identifier,
    entity_grants,
    granting_companies,
    personal_grants,
)
from ksef_tui.ksef.xades import SigningCredential

from ..conftest import Sim
from .certkit import answer, certificate, ec_key, own_nip, scripted_api, seal_name, sim_serves, xades_api


def grant(n: int, nip: str, scope: str, *, delegate: bool = False) -> dict[str, Any]:
    return {
        "id": f"{n:08d}-0000-0000-0000-000000000000",
        "contextIdentifier": {"type": "Nip", "value": nip},
        "permissionScope": scope,
        "description": "Obsługa księgowa",
        "startDate": f"2026-05-{15 - n:02d}T10:00:00Z",
        "canDelegate": delegate,
    }


async def test_entity_grants_reads_every_page_and_groups_by_company() -> None:
    pages = [
        [grant(1, "5265877635", "InvoiceRead", delegate=True), grant(2, "5265877635", "InvoiceWrite")],
        [grant(3, "9512345675", "InvoiceRead")],
    ]
    requests: list[httpx.Request] = []

    def ksef(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        offset = int(request.url.params["pageOffset"])
        return answer(200, {"permissions": pages[offset], "hasMore": offset + 1 < len(pages)})

    found = await entity_grants(scripted_api(ksef), page_size=10)
    assert [g.id[:8] for g in found] == ["00000001", "00000002", "00000003"]
    assert found[0] == EntityGrant(
        found[0].id, Identifier("Nip", "5265877635"), "InvoiceRead", "Obsługa księgowa", found[0].start_date, True
    )
    assert [r.url.params["pageOffset"] for r in requests] == ["0", "1"]
    assert {r.url.params["pageSize"] for r in requests} == {"10"}
    assert json.loads(requests[0].content) == {}
    assert granting_companies(found) == [
        GrantingCompany(Identifier("Nip", "5265877635"), ("InvoiceRead", "InvoiceWrite"), ("InvoiceRead",)),
        GrantingCompany(Identifier("Nip", "9512345675"), ("InvoiceRead",), ()),
    ]
    await entity_grants(scripted_api(ksef), grantor=Identifier("Nip", "5265877635"))
    assert json.loads(requests[-1].content) == {"contextIdentifier": {"type": "Nip", "value": "5265877635"}}


async def test_personal_grants_sends_its_filters_and_reads_the_details() -> None:
    requests: list[httpx.Request] = []
    item = {
        "id": "00000001-0000-0000-0000-000000000000",
        "contextIdentifier": {"type": "Nip", "value": "5265877635"},
        "targetIdentifier": {"type": "AllPartners"},
        "permissionScope": "InvoiceWrite",
        "description": "Wystawianie faktur",
        "subjectEntityDetails": {"subjectDetailsType": "EntityByIdentifier", "fullName": "Biuro Rachunkowe"},
        "permissionState": "Active",
        "startDate": "2026-05-15T10:00:00Z",
        "canDelegate": False,
    }

    def ksef(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answer(200, {"permissions": [item], "hasMore": False})

    (found,) = await personal_grants(
        scripted_api(ksef),
        context=Identifier("Nip", "5265877635"),
        target=Identifier("AllPartners", None),
        permission_types=["InvoiceWrite"],
        state="Active",
    )
    assert json.loads(requests[0].content) == {
        "contextIdentifier": {"type": "Nip", "value": "5265877635"},
        "targetIdentifier": {"type": "AllPartners"},
        "permissionTypes": ["InvoiceWrite"],
        "permissionState": "Active",
    }
    assert found.permission == "InvoiceWrite" and found.state == "Active" and not found.can_delegate
    assert found.target == Identifier("AllPartners", None) and found.authorized is None
    assert found.subject_name == "Biuro Rachunkowe"


# ---------------------------------------------------------------------------- against the simulator

needs_sim = pytest.mark.skipif(
    not sim_serves(
        ("POST", "/auth/xades-signature"),
        ("POST", "/permissions/entities/grants"),
        ("GET", "/permissions/operations/{referenceNumber}"),
        ("POST", "/permissions/query/entities/grants"),
        ("POST", "/permissions/query/personal/grants"),
    ),
    reason="the simulator has no XAdES login, entity grants or their query yet (ksef_tui/sim, issue 11 part 1)",
)


def seal(nip: str, name: str) -> SigningCredential:
    key = ec_key()
    return SigningCredential.create(certificate(key, seal_name(nip, name)), key)


async def grant_to_office(api: KsefApi, office_nip: str) -> None:
    """The client's owner grants the office InvoiceRead (to pass on) and InvoiceWrite, and waits for it."""
    body = {
        "subjectIdentifier": {"type": "Nip", "value": office_nip},
        "permissions": [{"type": "InvoiceRead", "canDelegate": True}, {"type": "InvoiceWrite", "canDelegate": False}],
        "description": "Obsługa księgowa przez biuro",
        "subjectDetails": {"fullName": "Biuro Rachunkowe Test"},
    }
    reference = (await api.call_json("POST", "/permissions/entities/grants", json=body))["referenceNumber"]
    for _ in range(100):
        status = await api.call_json("GET", f"/permissions/operations/{reference}")
        if status["status"]["code"] != 100:
            assert status["status"]["code"] == 200, status
            return
        await asyncio.sleep(0.05)
    raise AssertionError("grant still in progress")


@needs_sim
async def test_the_office_walkthrough(make_sim: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch) -> None:
    sim = make_sim(environment="TE", permission_delay=0.1)
    client_nip = sim.nip
    office_nip = own_nip(1)
    office = seal(office_nip, "Biuro Rachunkowe Test")
    client = seal(client_nip, "Demo Sp. z o.o.")

    # 1. the office in the client's context before any grant: status 415, read as "granted you nothing"
    async with xades_api(sim.base_url, office, client_nip) as api:
        with pytest.raises(NoPermissionsInContext) as caught:
            await certs.limits(api)
    refused = report(caught.value)
    assert caught.value.category is Category.PERMISSIONS and refused.exit_code == 5
    assert f"NIP {client_nip}" in refused.message and f"NIP {office_nip}" in refused.message
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert "nie nadała uprawnień" in report(caught.value).message
    monkeypatch.setenv("KSEF_TUI_LANG", "en")

    # 2. in its own context the office has no clients yet
    async with xades_api(sim.base_url, office, office_nip) as api:
        assert await entity_grants(api) == []

    # 3. the client's owner grants the office
    async with xades_api(sim.base_url, client, client_nip) as api:
        await grant_to_office(api, office_nip)

    # 4. the office's client list, in its own context
    async with xades_api(sim.base_url, office, office_nip) as api:
        grants = await entity_grants(api)
        companies = granting_companies(grants)
        assert companies == [
            GrantingCompany(Identifier("Nip", client_nip), ("InvoiceRead", "InvoiceWrite"), ("InvoiceRead",))
        ]
        only = await entity_grants(api, grantor=Identifier("Nip", client_nip))
        assert {g.id for g in only} == {g.id for g in grants}
        assert await entity_grants(api, grantor=Identifier("Nip", "9512345675")) == []

    # 5. now the office works in the client's context and sees the grants it has there
    async with xades_api(sim.base_url, office, client_nip) as api:
        mine = await personal_grants(api)
        assert {g.permission for g in mine} >= {"InvoiceRead", "InvoiceWrite"}
        assert all(g.state == "Active" for g in mine)
