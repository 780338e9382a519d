"""Issue 8, Part C: the simulator held against what real KSeF (ASP.NET Core, System.Text.Json) accepts and
answers: case-insensitive enums and names, 400 for unknown enum values, 21001 for an unreadable body, the
export's compressionType, doubled and trailing slashes, ``; charset=utf-8``; and every use of the session
key checks the IV's length (Scope 6)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.sim import routes_invoices
from ksef_tui.sim.archive import COMPRESSION_TYPES
from ksef_tui.sim.auth import CONTEXT_TYPES
from ksef_tui.sim.seed import DEMO

from ..harness import Sim
from .sim_support import (
    FA3_FORM,
    SPEC_PATH,
    Api,
    aes_decrypt,
    aes_encrypt,
    b64,
    fixture_invoice,
    legacy_error,
    oaep,
    open_session,
    problem_error,
    sha_b64,
    start_export,
    unique_number,
    wait_export,
)

METADATA = "/invoices/query/metadata"
UNREADABLE = ("Nieczytelna treść.", 21001)


def _window(api: Api) -> dict[str, Any]:
    now = api.state.now()
    return {"dateType": "PermanentStorage", "from": (now - timedelta(days=85)).isoformat(), "to": now.isoformat()}


def _numbers(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["ksefNumber"] for item in response.json()["invoices"]]


# ----------------------------------------------------------------------------- 1. case-insensitive
def test_enum_values_property_and_parameter_names_in_any_letter_case(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    canonical = {"subjectType": "Subject2", "dateRange": _window(api)}
    expected = _numbers(api.call("POST", METADATA, token=access, json_body=canonical, params={"pageSize": 250}))
    assert len(expected) > 20
    descending = list(reversed(expected))
    # enum values as a client might spell them
    lower = {"subjectType": "subject2", "dateRange": {**_window(api), "dateType": "permanentstorage"}}
    assert (
        _numbers(api.call("POST", METADATA, token=access, json_body=lower, params={"pageSize": 250}, bad_request=True))
        == expected
    )
    # property names as a client might spell them
    pascal = {"SubjectType": "SUBJECT2", "DateRange": {key[0].upper() + key[1:]: v for key, v in _window(api).items()}}
    assert (
        _numbers(api.call("POST", METADATA, token=access, json_body=pascal, params={"pageSize": 250}, bad_request=True))
        == expected
    )
    # query: the enum value and the parameter names in any case, and they take effect
    page = api.call(
        "POST",
        METADATA,
        token=access,
        json_body=canonical,
        params={"sortOrder": "desc", "PageSize": 20},
        bad_request=True,
    )
    assert _numbers(page) == descending[:20] and page.json()["hasMore"] is True
    second = api.call(
        "POST",
        METADATA,
        token=access,
        json_body=canonical,
        params={"SORTORDER": "DESC", "pagesize": 20, "PAGEOFFSET": 1},
        bad_request=True,
    )
    assert _numbers(second) == descending[20:40]


def test_lower_case_context_type_authenticates(api: Api, shared_sim: Sim) -> None:
    started = api.start_auth(shared_sim.state.named_tokens["full"], context_type="nip")
    assert api.wait_auth(started)["status"]["code"] == 200


def test_other_enums_in_any_letter_case(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    sessions = api.call(
        "GET", "/sessions", token=access, params={"SessionType": "online", "pageSize": 10}, bad_request=True
    )
    assert sessions.status_code == 200, sessions.text
    tokens = api.call("GET", "/tokens", token=access, params={"Status": "active"}, bad_request=True)
    assert tokens.status_code == 200 and tokens.json()["tokens"]
    assert {t["status"] for t in tokens.json()["tokens"]} == {"Active"}
    grants = api.call(
        "POST",
        "/permissions/query/personal/grants",
        token=access,
        json_body={"permissionTypes": ["invoiceread"]},
        bad_request=True,
    )
    assert [g["permissionScope"] for g in grants.json()["permissions"]] == ["InvoiceRead"]


# ----------------------------------------------------------------------------- 2. unknown enum values
@pytest.mark.parametrize(
    ("filters", "detail"),
    [
        ({"currencyCodes": ["ZZZ"]}, "Nieprawidłowa wartość pola 'currencyCodes[0]': \"ZZZ\"."),
        ({"currencyCodes": ["EUR", "eur", "Zł"]}, "Nieprawidłowa wartość pola 'currencyCodes[2]': \"Zł\"."),
        ({"invoiceTypes": ["Foo"]}, "Nieprawidłowa wartość pola 'invoiceTypes[0]': \"Foo\"."),
        ({"formType": "FA3"}, "Nieprawidłowa wartość pola 'formType': \"FA3\"."),
        ({"invoicingMode": "Sometimes"}, "Nieprawidłowa wartość pola 'invoicingMode': \"Sometimes\"."),
        (
            {"buyerIdentifier": {"type": "Pesel", "value": "1"}},
            "Nieprawidłowa wartość pola 'buyerIdentifier.type': \"Pesel\".",
        ),
        ({"amount": {"type": "Gross", "from": 1}}, "Nieprawidłowa wartość pola 'amount.type': \"Gross\"."),
        ({"subjectType": "Subject9"}, "Nieprawidłowa wartość pola 'subjectType': \"Subject9\"."),
    ],
)
def test_an_unknown_enum_value_in_the_filters_is_400(
    api: Api, full_login: dict[str, str], filters: dict[str, Any], detail: str
) -> None:
    body = {"subjectType": "Subject2", "dateRange": _window(api), **filters}
    refused = api.call("POST", METADATA, token=full_login["access"], json_body=body, bad_request=True)
    assert refused.status_code == 400
    assert legacy_error(refused) == (21001, "Nieczytelna treść.", [detail])
    problem = api.call("POST", METADATA, token=full_login["access"], json_body=body, problem=True, bad_request=True)
    assert problem_error(problem) == (21001, "Nieczytelna treść.", [detail])


def test_known_enum_values_still_filter(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    everything = {"subjectType": "Subject2", "dateRange": _window(api)}
    all_numbers = _numbers(api.call("POST", METADATA, token=access, json_body=everything, params={"pageSize": 250}))
    corrections = {
        **everything,
        "currencyCodes": ["PLN"],
        "invoiceTypes": ["Kor"],
        "formType": "FA",
        "invoicingMode": "Online",
        "buyerIdentifier": {"type": "Nip", "value": DEMO.nip},
    }
    found = _numbers(api.call("POST", METADATA, token=access, json_body=corrections, params={"pageSize": 250}))
    expected = [n for n in all_numbers if api.state.invoices[n].facts.rodzaj == "KOR"]
    assert found == expected and 0 < len(found) < len(all_numbers)
    nobody = {**everything, "buyerIdentifier": {"type": "VatUe"}}
    assert _numbers(api.call("POST", METADATA, token=access, json_body=nobody)) == []


def test_the_simulators_enums_are_the_openapis() -> None:
    schemas = json.loads(Path(SPEC_PATH).read_text(encoding="utf-8"))["components"]["schemas"]
    assert tuple(schemas["CurrencyCode"]["enum"]) == routes_invoices.CURRENCY_CODES
    assert tuple(schemas["InvoiceType"]["enum"]) == routes_invoices.INVOICE_TYPES
    assert tuple(schemas["InvoiceQueryFormType"]["enum"]) == routes_invoices.FORM_TYPES
    assert tuple(schemas["InvoicingMode"]["enum"]) == routes_invoices.INVOICING_MODES
    assert tuple(schemas["BuyerIdentifierType"]["enum"]) == routes_invoices.BUYER_IDENTIFIER_TYPES
    assert tuple(schemas["InvoiceQuerySubjectType"]["enum"]) == routes_invoices.SUBJECT_TYPES
    assert tuple(schemas["InvoiceQueryDateType"]["enum"]) == routes_invoices.DATE_TYPES
    assert tuple(schemas["CompressionType"]["enum"]) == COMPRESSION_TYPES
    assert set(CONTEXT_TYPES) == set(schemas["AuthenticationContextIdentifierType"]["enum"])


# ----------------------------------------------------------------------------- 3. unreadable body: 21001
@pytest.mark.parametrize(
    "content",
    [
        b'{"subjectType": "Subject2", "dateRange": ',  # cut short
        b"{'subjectType': 'Subject2'}",  # not JSON
        b'["Subject2"]',  # not an object
        b'{"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": NaN}}',
    ],
)
def test_malformed_json_is_21001(api: Api, full_login: dict[str, str], content: bytes) -> None:
    refused = api.call("POST", METADATA, token=full_login["access"], content=content, bad_request=True)
    code, description, details = legacy_error(refused)
    assert (description, code) == UNREADABLE and len(details) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"subjectType": 2}, "Nieprawidłowa wartość pola 'subjectType': 2."),
        ({"dateRange": "last month"}, "Pole 'dateRange' musi być obiektem."),
        ({"hasAttachment": "yes"}, "Pole 'hasAttachment' musi mieć wartość true lub false."),
        ({"currencyCodes": "EUR"}, "Pole 'currencyCodes' musi być tablicą."),
        ({"invoiceNumber": 7}, "Pole 'invoiceNumber' musi być tekstem."),
        ({"amount": {"type": "Brutto", "from": "100"}}, "Pole 'amount.from' musi być liczbą."),
    ],
)
def test_a_value_of_the_wrong_type_is_21001(
    api: Api, full_login: dict[str, str], body: dict[str, Any], detail: str
) -> None:
    full = {"subjectType": "Subject2", "dateRange": _window(api), **body}
    refused = api.call("POST", METADATA, token=full_login["access"], json_body=full, bad_request=True)
    assert legacy_error(refused) == (21001, "Nieczytelna treść.", [detail])


def test_wrong_types_elsewhere_are_21001_and_rules_stay_21405(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    session = open_session(api, access)
    wrong = api.call(
        "POST",
        f"/sessions/online/{session.reference}/invoices",
        token=access,
        json_body={
            "invoiceHash": "x" * 44,
            "invoiceSize": "12",
            "encryptedInvoiceHash": "y" * 44,
            "encryptedInvoiceSize": 16,
            "encryptedInvoiceContent": b64(bytes(16)),
        },
        bad_request=True,
    )
    assert legacy_error(wrong) == (21001, "Nieczytelna treść.", ["Pole 'invoiceSize' musi być liczbą całkowitą."])
    # validation of readable values stays 21405
    missing = api.call("POST", METADATA, token=access, json_body={"dateRange": _window(api)}, bad_request=True)
    assert legacy_error(missing) == (21405, "Błąd walidacji danych wejściowych.", ["Pole 'subjectType' jest wymagane."])
    short = api.call(
        "POST",
        "/tokens",
        token=access,
        json_body={"permissions": ["InvoiceRead"], "description": "abc"},
        bad_request=True,
    )
    assert legacy_error(short) == (
        21405,
        "Błąd walidacji danych wejściowych.",
        ["Pole 'description' musi mieć od 5 do 256 znaków."],
    )
    unknown_permission = api.call(
        "POST",
        "/tokens",
        token=access,
        json_body={"permissions": ["Everything"], "description": "Token testowy"},
        bad_request=True,
    )
    assert legacy_error(unknown_permission) == (
        21001,
        "Nieczytelna treść.",
        ["Nieprawidłowa wartość pola 'permissions[0]': \"Everything\"."],
    )


# ----------------------------------------------------------------------------- 4. export compressionType
def _export(client: Api, access: str, **extra: Any) -> tuple[dict[str, Any], bytes, bytes]:
    filters = {"subjectType": "Subject2", "dateRange": _window(client)}
    spelled_as_the_spec = extra.get("compressionType", "Zip") in COMPRESSION_TYPES
    ref, key, iv = start_export(client, access, filters, bad_request=not spelled_as_the_spec, **extra)
    return wait_export(client, access, ref), key, iv


def _archive(client: Api, package: dict[str, Any], key: bytes, iv: bytes) -> bytes:
    return b"".join(aes_decrypt(key, iv, client.http.get(part["url"]).content) for part in package["parts"])


def test_the_export_status_says_which_compression_it_used(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    default, key, iv = _export(api, access)
    assert default["package"]["compressionType"] == "Zip"
    with zipfile.ZipFile(io.BytesIO(_archive(api, default["package"], key, iv))) as zipped:
        assert "_metadata.json" in zipped.namelist()
    tar, key, iv = _export(api, access, compressionType="targz")
    assert tar["package"]["compressionType"] == "TarGz"
    with tarfile.open(fileobj=io.BytesIO(_archive(api, tar["package"], key, iv)), mode="r:gz") as archive:
        assert "_metadata.json" in archive.getnames()
    assert tar["package"]["parts"][0]["partName"].endswith(".tar.gz.aes")


# ----------------------------------------------------------------------------- 5. slashes
def test_a_doubled_slash_works_and_a_trailing_slash_is_served(api: Api, full_login: dict[str, str]) -> None:
    access = {"Authorization": f"Bearer {full_login['access']}"}
    single = api.http.post("/v2/auth/challenge")
    doubled = api.http.post("/v2//auth/challenge")
    assert doubled.status_code == 200 and doubled.json().keys() == single.json().keys()
    session = open_session(api, full_login["access"])
    for path in (
        f"/v2//sessions/{session.reference}",
        f"/v2/sessions//{session.reference}",
        f"/v2/sessions/{session.reference}/",
        f"/v2//sessions/{session.reference}//",
    ):
        response = api.http.get(path, headers=access)
        assert response.status_code == 200, (path, response.status_code, response.headers.get("location"))
        assert response.json()["status"]["code"] == 100
    trailing = api.http.get("/v2/tokens/", headers=access)
    assert trailing.status_code == 200 and "tokens" in trailing.json()
    assert api.http.get("/v2//no/such/endpoint/").status_code == 404


# ----------------------------------------------------------------------------- 6. charset
def test_json_answers_say_utf_8(api: Api, full_login: dict[str, str]) -> None:
    ok = api.call("POST", "/auth/challenge")
    assert ok.headers["content-type"] == "application/json; charset=utf-8"
    legacy = api.call("GET", "/tokens", token=full_login["access"], headers={"x-continuation-token": "###"})
    assert legacy.headers["content-type"] == "application/json; charset=utf-8"
    problem = api.call(
        "GET", "/tokens", token=full_login["access"], headers={"x-continuation-token": "###"}, problem=True
    )
    assert problem.headers["content-type"] == "application/problem+json; charset=utf-8"
    unauthorized = api.call("GET", "/tokens")
    assert unauthorized.headers["content-type"] == "application/problem+json; charset=utf-8"
    # the bytes are UTF-8 (Polish letters unescaped)
    assert "nieprawidłowy format".encode() in legacy.content
    assert (
        "została".encode()
        in api.call("GET", "/sessions/20260101-SO-0000000000-0000000000-00", token=full_login["access"]).content
    )


# ----------------------------------------------------------------------------- Scope 6: the IV is checked
def _bad_iv_encryption(api: Api) -> tuple[bytes, dict[str, str]]:
    key = os.urandom(32)
    public, key_id = api.public_key("SymmetricKeyEncryption")
    return key, {
        "encryptedSymmetricKey": b64(oaep(public, key)),
        "initializationVector": b64(os.urandom(15)),
        "publicKeyId": key_id,
    }


def test_a_wrong_iv_length_makes_every_key_unusable(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    _, encryption = _bad_iv_encryption(api)
    # online session: 415 at once
    online = api.call(
        "POST", "/sessions/online", token=access, json_body={"formCode": FA3_FORM, "encryption": encryption}
    )
    assert online.status_code == 201
    status = api.call("GET", f"/sessions/{online.json()['referenceNumber']}", token=access).json()["status"]
    assert status == {"code": 415, "description": "Błąd odszyfrowania dostarczonego klucza"}
    # export: 415 when built
    started = api.call(
        "POST",
        "/invoices/exports",
        token=access,
        json_body={"encryption": encryption, "filters": {"subjectType": "Subject2", "dateRange": _window(api)}},
    )
    export = wait_export(api, access, started.json()["referenceNumber"])
    assert export["status"] == {"code": 415, "description": "Błąd odszyfrowania dostarczonego klucza"}
    # batch: 415 when processed
    key, encryption = _bad_iv_encryption(api)
    xml = fixture_invoice("FA3_example_1.xml", DEMO.nip, unique_number("IV"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", xml)
    plain = buffer.getvalue()
    part = aes_encrypt(key, os.urandom(16), plain)
    opened = api.call(
        "POST",
        "/sessions/batch",
        token=access,
        json_body={
            "formCode": FA3_FORM,
            "batchFile": {
                "fileSize": len(plain),
                "fileHash": sha_b64(plain),
                "fileParts": [{"ordinalNumber": 1, "fileSize": len(part), "fileHash": sha_b64(part)}],
            },
            "encryption": encryption,
        },
    )
    assert opened.status_code == 201, opened.text
    batch_ref = opened.json()["referenceNumber"]
    upload = opened.json()["partUploadRequests"][0]
    assert api.http.put(upload["url"], content=part, headers=upload["headers"]).status_code == 201
    assert api.call("POST", f"/sessions/batch/{batch_ref}/close", token=access).status_code == 204
    batch = api.until(
        lambda: dict(api.call("GET", f"/sessions/{batch_ref}", token=access).json()),
        lambda b: b["status"]["code"] not in (100, 150),
    )
    assert batch["status"] == {"code": 415, "description": "Błąd odszyfrowania dostarczonego klucza"}
