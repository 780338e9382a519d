"""PROTOCOL §6 and §11 item 13: metadata queries and invoice download."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ksef_tui.sim.routes_invoices import parse_api_datetime, within_three_months
from ksef_tui.sim.seed import DEMO, OTHER, SUPPLIERS, Company, Line, invoice_xml

from ..harness import Sim, fixed_clock
from .sim_support import Api, legacy_error, unique_number


def _window(api: Api, days: int = 85) -> tuple[str, str]:
    """The last ``days`` days on the simulator's (fixed) calendar."""
    now = api.state.now()
    return (now - timedelta(days=days)).isoformat(), now.isoformat()


def _query(api: Api, access: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = api.call("POST", "/invoices/query/metadata", token=access, json_body=body, params=params or None)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_subject2_finds_seeded_purchases(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    start, end = _window(api)
    body = {"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": start, "to": end}}
    result = _query(api, full_login["access"], body, pageSize=250)
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    expected = sorted(
        inv.ksef_number
        for inv in shared_sim.state.invoices.values()
        if inv.facts.buyer_value == DEMO.nip and lo <= inv.permanent_storage <= hi
    )
    assert expected, "the seed should put purchases into the last 85 days"
    assert sorted(item["ksefNumber"] for item in result["invoices"]) == expected
    assert result["hasMore"] is False and result["isTruncated"] is False
    assert result["permanentStorageHwmDate"] is not None
    dates = [item["permanentStorageDate"] for item in result["invoices"]]
    assert dates == sorted(dates)
    for item in result["invoices"]:
        assert item["buyer"]["identifier"] == {"type": "Nip", "value": DEMO.nip}
        stored = shared_sim.state.invoices[item["ksefNumber"]]
        assert Decimal(str(item["grossAmount"])) == stored.facts.gross
        assert item["formCode"] == {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
    issue = _query(
        api, full_login["access"], {"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": start}}
    )
    assert issue["permanentStorageHwmDate"] is None


def test_eur_invoice_reports_vat_in_pln(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    eur = next(inv for inv in shared_sim.state.invoices.values() if inv.facts.currency == "EUR")
    moment = eur.permanent_storage
    body = {
        "subjectType": "Subject2",
        "dateRange": {
            "dateType": "PermanentStorage",
            "from": (moment - timedelta(minutes=1)).isoformat(),
            "to": (moment + timedelta(minutes=1)).isoformat(),
        },
        "currencyCodes": ["EUR"],
    }
    items = _query(api, full_login["access"], body)["invoices"]
    assert [item["ksefNumber"] for item in items] == [eur.ksef_number]
    assert items[0]["currency"] == "EUR"
    tax_pln = sum((Decimal(v.decode()) for v in re.findall(rb"<P_14_\dW>([^<]+)<", eur.xml)), Decimal(0))
    assert tax_pln > 0
    assert Decimal(str(items[0]["vatAmount"])) == tax_pln


def test_sort_desc_and_paging(make_client: Callable[..., Api]) -> None:
    # 30 purchases, all issued between 2026-02-01 and the simulator's "now" of 2026-04-30: one window holds them,
    # three full pages of ten (the last full page must say there is no more)
    client = make_client(seed_purchases=30, clock=fixed_clock(datetime(2026, 4, 30, 12, tzinfo=UTC)))
    access = client.login(client.state.named_tokens["full"])["access"]
    start = datetime(2026, 2, 1, tzinfo=UTC)
    body = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Invoicing", "from": start.isoformat(), "to": client.state.now().isoformat()},
    }
    everything = _query(client, access, body, pageSize=250, sortOrder="Desc")["invoices"]
    assert len(everything) == 30
    dates = [item["invoicingDate"] for item in everything]
    assert dates == sorted(dates, reverse=True)
    pages = [_query(client, access, body, pageSize=10, pageOffset=n, sortOrder="Desc") for n in range(4)]
    assert [(len(p["invoices"]), p["hasMore"]) for p in pages] == [(10, True), (10, True), (10, False), (0, False)]
    assert [i["ksefNumber"] for p in pages for i in p["invoices"]] == [i["ksefNumber"] for i in everything]


def test_query_validation(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    start, _ = _window(api, 30)
    body = {"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": start}}
    for size in (9, 251):
        response = api.call(
            "POST",
            "/invoices/query/metadata",
            token=access,
            json_body=body,
            params={"pageSize": size},
            bad_request=True,
        )
        assert legacy_error(response) == (
            21405,
            "Błąd walidacji danych wejściowych.",
            ["Parametr 'pageSize' musi mieć wartość od 10 do 250."],
        )
    too_long = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-06-10T00:00:00+02:00", "to": "2026-09-10T00:00:01+02:00"},
    }
    assert legacy_error(api.call("POST", "/invoices/query/metadata", token=access, json_body=too_long)) == (
        21405,
        "Błąd walidacji danych wejściowych.",
        ["Zakres dat 'dateRange' nie może przekraczać 3 miesięcy."],
    )
    exactly = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-06-10T00:00:00+02:00", "to": "2026-09-10T00:00:00+02:00"},
    }
    assert api.call("POST", "/invoices/query/metadata", token=access, json_body=exactly).status_code == 200
    # a second too long in Warsaw time, but within three months in UTC (the DST change) -> accepted
    either = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": "2026-02-01T00:00:00+01:00", "to": "2026-05-01T00:00:01+02:00"},
    }
    assert api.call("POST", "/invoices/query/metadata", token=access, json_body=either).status_code == 200
    future = (api.state.now() + timedelta(hours=1)).isoformat()
    hwm_body = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "PermanentStorage", "from": future, "restrictToPermanentStorageHwmDate": True},
    }
    assert legacy_error(api.call("POST", "/invoices/query/metadata", token=access, json_body=hwm_body)) == (
        21183,
        "Zakres filtrowania wykracza poza dostępny zakres danych.",
        [
            "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym "
            "restrictToPermanentStorageHwmDate."
        ],
    )
    # dates without an offset are Warsaw time (the spec's date-time format wants an offset, hence bad_request)
    naive = {"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": start[:19]}}
    response = api.call("POST", "/invoices/query/metadata", token=access, json_body=naive, bad_request=True)
    assert response.status_code == 200


def test_restrict_to_hwm_clamps_the_range(api: Api, full_login: dict[str, str]) -> None:
    start, _ = _window(api, 60)
    body = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "PermanentStorage", "from": start, "restrictToPermanentStorageHwmDate": True},
    }
    result = _query(api, full_login["access"], body, pageSize=250)
    hwm = result["permanentStorageHwmDate"]
    assert all(item["permanentStorageDate"] <= hwm for item in result["invoices"])
    # an older window: the HWM reported equals the window's upper bound, never the global HWM beyond it
    now = api.state.now()
    old_from, old_to = now - timedelta(days=80), now - timedelta(days=40)
    body["dateRange"] = {
        "dateType": "PermanentStorage",
        "from": old_from.isoformat(),
        "to": old_to.isoformat(),
        "restrictToPermanentStorageHwmDate": True,
    }
    older = _query(api, full_login["access"], body, pageSize=250)
    assert datetime.fromisoformat(older["permanentStorageHwmDate"]) == old_to


def test_warsaw_dates_and_three_month_rule() -> None:
    assert parse_api_datetime("2026-03-01T00:00:00", "x") == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert parse_api_datetime("2026-07-01T00:00:00", "x") == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert parse_api_datetime("2025-07-11T12:23:56.0154302+00:00", "x").microsecond == 15430
    a = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 2026-02-01 00:30 in Warsaw
    assert within_three_months(a, datetime(2026, 4, 30, 23, 30, tzinfo=UTC))
    assert not within_three_months(a, datetime(2026, 5, 2, 0, 0, tzinfo=UTC))


def test_truncation_at_the_row_cap(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=120, metadata_row_cap=15)
    tokens = client.login(client.state.named_tokens["full"])
    first_ps = min(inv.permanent_storage for inv in client.state.invoices.values())
    body: dict[str, Any] = {
        "subjectType": "Subject2",
        "dateRange": {
            "dateType": "PermanentStorage",
            "from": first_ps.isoformat(),
            "to": (first_ps + timedelta(days=88)).isoformat(),
        },
    }
    total = sum(
        1
        for inv in client.state.invoices.values()
        if first_ps <= inv.permanent_storage <= first_ps + timedelta(days=88)
    )
    assert total > 15
    page0 = _query(client, tokens["access"], body, pageSize=10, pageOffset=0)
    page1 = _query(client, tokens["access"], body, pageSize=10, pageOffset=1)
    assert (len(page0["invoices"]), page0["hasMore"], page0["isTruncated"]) == (10, True, False)
    assert (len(page1["invoices"]), page1["hasMore"], page1["isTruncated"]) == (5, True, True)
    # restart from the last date, as the docs say
    body["dateRange"]["from"] = page1["invoices"][-1]["permanentStorageDate"]
    again = _query(client, tokens["access"], body, pageSize=10, pageOffset=0)
    assert again["invoices"][0]["ksefNumber"] == page1["invoices"][-1]["ksefNumber"]


def test_download(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    stored = next(inv for inv in shared_sim.state.invoices.values() if inv.facts.buyer_value == DEMO.nip)
    response = api.call("GET", f"/invoices/ksef/{stored.ksef_number}", token=access)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.content == stored.xml
    assert response.headers["x-ms-meta-hash"] == base64.b64encode(hashlib.sha256(stored.xml).digest()).decode()
    unknown = "5265877635-20260301-0123456789AB-00"
    assert legacy_error(api.call("GET", f"/invoices/ksef/{unknown}", token=access)) == (
        21164,
        "Faktura o podanym identyfikatorze nie istnieje.",
        [f"Faktura o numerze KSeF {unknown} nie została znaleziona."],
    )


def _admin_invoice(api: Api, seller: Company, buyer: Company, number: str, delay: float) -> str:
    xml = invoice_xml(
        seller=seller,
        buyer=buyer,
        number=number,
        issue_date=api.state.now().date() - timedelta(days=1),
        lines=[Line("Usługa", "szt.", Decimal(1), Decimal("100.00"), "23")],
    )
    response = api.admin("POST", "/invoices", json={"xml": xml.decode(), "permanentStorageDelay": delay})
    assert response.status_code == 201, response.text
    return str(response.json()["ksefNumber"])


def test_not_yet_available_and_foreign_invoice(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    pending = _admin_invoice(api, SUPPLIERS[0], DEMO, unique_number("ADM"), 300.0)
    assert legacy_error(api.call("GET", f"/invoices/ksef/{pending}", token=access)) == (
        21165,
        "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
        [
            f"Faktura o numerze KSeF {pending} została przetworzona, ale nie jest jeszcze dostępna do pobrania. "
            "Spróbuj ponownie później."
        ],
    )
    foreign = _admin_invoice(api, OTHER, SUPPLIERS[1], unique_number("OBCA"), 0.0)
    refused = api.call("GET", f"/invoices/ksef/{foreign}", token=access)
    assert refused.status_code == 403
    assert refused.json()["reasonCode"] == "insufficient-resource-access"


@pytest.mark.parametrize("subject", ["Subject3", "SubjectAuthorized"])
def test_other_subject_types_are_empty_for_the_demo(api: Api, full_login: dict[str, str], subject: str) -> None:
    start, _ = _window(api, 30)
    body = {"subjectType": subject, "dateRange": {"dateType": "Issue", "from": start}}
    assert _query(api, full_login["access"], body)["invoices"] == []
