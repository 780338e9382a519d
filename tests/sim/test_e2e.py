"""The scripted end-to-end run: token auth -> online session -> FA(3) invoice -> KSeF number -> UPO ->
the invoice is found by a Subject1 metadata query."""

from __future__ import annotations

from datetime import timedelta

from ksef_tui.domain.ksef_number import is_valid_ksef_number
from ksef_tui.fa.validate import Schema, validate_bytes
from ksef_tui.sim.seed import DEMO

from ..harness import Sim
from .sim_support import Api, fixture_invoice, open_session, sha_b64, unique_number


def test_send_and_find_own_invoice(api: Api, shared_sim: Sim) -> None:
    tokens = api.login(shared_sim.state.named_tokens["full"])
    session = open_session(api, tokens["access"])
    # FA3_example_1 with the demo company as seller (P_2 made unique so reruns are not duplicates)
    xml = fixture_invoice("FA3_example_1.xml", DEMO.nip, unique_number("E2E"))
    sent = session.send(xml)
    assert sent.status_code == 202, sent.text
    status = session.wait_invoice(sent.json()["referenceNumber"])
    assert status["status"]["code"] == 200, status
    number = status["ksefNumber"]
    assert is_valid_ksef_number(number) and number.startswith(DEMO.nip)
    assert status["invoiceHash"] == sha_b64(xml)
    upo = api.http.get(status["upoDownloadUrl"])
    assert upo.status_code == 200
    assert validate_bytes(upo.content, expect=Schema.UPO).ok
    assert session.close().status_code == 204
    final = session.wait_closed()
    assert final["status"]["code"] == 200
    session_upo = api.http.get(final["upo"]["pages"][0]["downloadUrl"]).content
    assert validate_bytes(session_upo, expect=Schema.UPO).ok
    # Subject1 = the seller; wait until the invoice is permanently stored
    body = {
        "subjectType": "Subject1",
        "dateRange": {
            "dateType": "PermanentStorage",
            "from": (api.state.now() - timedelta(hours=1)).isoformat(),
            "restrictToPermanentStorageHwmDate": False,
        },
    }

    def query() -> list[dict[str, object]]:
        result = api.call(
            "POST", "/invoices/query/metadata", token=tokens["access"], json_body=body, params={"pageSize": 250}
        )
        return [item for item in result.json()["invoices"] if item["ksefNumber"] == number]

    found = api.until(query, bool)
    assert found, "the sent invoice did not show up as Subject1"
    assert found[0]["seller"] == {"nip": DEMO.nip, "name": "ABC AGD sp. z o. o."}
    assert found[0]["invoiceHash"] == sha_b64(xml)
    downloaded = api.call("GET", f"/invoices/ksef/{number}", token=tokens["access"])
    assert downloaded.content == xml
