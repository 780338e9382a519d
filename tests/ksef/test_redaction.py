"""What the API log keeps of a request and a response: secrets by size only, XML and binary by type and size,
everything else as it was (support needs the challenge, reference numbers, expiry, error details)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from ksef_tui.ksef.apilog import ApiCall, ApiLog, HttpMessage
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.errors import ApiError
from ksef_tui.ksef.redaction import BODY_LIMIT, redact_body, redact_headers, redact_json, scrub_text

JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1MjY1ODc3NjM1In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_secret_fields_are_replaced_by_their_size() -> None:
    body = {
        "referenceNumber": "20251010-AU-2B8F9A1C3D-4E5F6A7B8C-9D",
        "authenticationToken": {"token": JWT, "validUntil": "2026-11-30T10:15:00Z"},
        "accessToken": {"token": JWT, "validUntil": "2026-11-30T10:15:00Z"},
        "refreshToken": {"token": JWT, "validUntil": "2026-12-07T10:00:00Z"},
        "encryptedToken": "QUJD" * 40,
        "encryption": {"encryptedSymmetricKey": "S0VZ" * 40, "initializationVector": "aXYtaXYtaXYtaXYh"},
        "encryptionKey": {"key": "a2V5", "iv": "aXY="},
        "token": "20251010-EC-2B8F9A1C3D-4E5F6A7B8C-9D|nip-5265877635|" + "ab" * 32,
        "certificatePassword": "hasło",
        "invoicePayload": {"encryptedInvoiceContent": "Q09OVEVOVA==", "invoiceHash": "aGFzaA=="},
        "status": {"code": 200, "description": "Sukces"},
        "isTokenRedeemed": True,
        "continuationToken": None,
    }
    kept = redact_json(body)
    text = json.dumps(kept)
    assert JWT not in text and "eyJ" not in text
    assert "QUJD" not in text and "S0VZ" not in text and "ab" * 32 not in text and "hasło" not in text
    assert "Q09OVEVOVA" not in text
    assert kept["authenticationToken"] == {
        "token": f"‹redacted, {len(JWT)} bytes›",
        "validUntil": "2026-11-30T10:15:00Z",
    }
    assert kept["refreshToken"]["validUntil"] == "2026-12-07T10:00:00Z"
    assert kept["encryption"]["initializationVector"] == "aXYtaXYtaXYtaXYh"  # an IV gives nothing away
    assert kept["encryptionKey"] == {"key": "‹redacted, 4 bytes›", "iv": "‹redacted, 4 bytes›"}
    assert kept["invoicePayload"]["invoiceHash"] == "‹redacted, 8 bytes›"
    assert kept["referenceNumber"] == body["referenceNumber"]
    assert kept["status"] == body["status"]
    assert kept["isTokenRedeemed"] is True
    assert kept["continuationToken"] is None


def test_any_field_loses_jwts_url_queries_and_long_base64() -> None:
    kept = redact_json(
        {
            "note": f"Bearer {JWT} was refused",
            "url": "https://storage.example/part/1?sv=2024&sig=SIGNATURE%3D",
            "items": [{"blob": "QUJD" * 100}],
        }
    )
    assert kept["note"] == f"Bearer ‹redacted, {len(JWT)} bytes› was refused"
    assert kept["url"] == "https://storage.example/part/1?…"
    assert kept["items"][0]["blob"] == "‹base64, 400 bytes›"
    assert scrub_text("see https://x.example/a?b=c#d") == "see https://x.example/a?…"


def test_bodies_by_type() -> None:
    assert redact_body(b"") == ""
    xml = b"<?xml version='1.0'?><Faktura>secret content</Faktura>"
    assert redact_body(xml, "application/xml") == f"‹application/xml, {len(xml)} bytes›"
    assert redact_body(b"\x00\x01zip", "application/octet-stream") == "‹application/octet-stream, 5 bytes›"
    assert redact_body(b"\x00\x01zip") == "‹binary, 5 bytes›"
    assert redact_body(b'{"token": "abc"}') == '{\n  "token": "‹redacted, 3 bytes›"\n}'  # sniffed as JSON
    assert redact_body(b"{not json", "application/json") == "‹application/json, 9 bytes›"
    problem = b'{"title": "Bad Request", "status": 400, "errors": [{"code": 21405, "description": "x"}]}'
    assert json.loads(redact_body(problem, "application/problem+json; charset=utf-8"))["errors"][0]["code"] == 21405
    assert redact_body(b"502 Bad Gateway", "text/plain") == "502 Bad Gateway"
    big = json.dumps({"items": [{"n": n, "name": "x" * 20} for n in range(500)]}).encode()
    shown = redact_body(big, "application/json")
    assert len(shown) < BODY_LIMIT + 100
    assert shown.endswith("more characters›")


def test_headers_keep_their_names_and_lose_credentials() -> None:
    kept = dict(
        redact_headers(
            [
                ("Authorization", f"Bearer {JWT}"),
                ("Cookie", "session=abc"),
                ("Set-Cookie", "x=y"),
                ("x-continuation-token", "opaque"),
                ("x-ms-blob-type", "BlockBlob"),
                ("Content-Type", "application/json"),
                ("Retry-After", "30"),
            ]
        )
    )
    assert kept["Authorization"] == f"Bearer ‹redacted, {len(JWT)} bytes›"
    assert kept["Cookie"] == "‹redacted, 11 bytes›"
    assert kept["Set-Cookie"] == "‹redacted, 3 bytes›"
    assert kept["x-continuation-token"] == "‹redacted, 6 bytes›"
    assert (kept["x-ms-blob-type"], kept["Content-Type"], kept["Retry-After"]) == (
        "BlockBlob",
        "application/json",
        "30",
    )


async def test_the_client_keeps_each_side_of_a_call_redacted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/fail"):
            return httpx.Response(
                400,
                json={"exception": {"exceptionDetailList": [{"exceptionCode": 21405, "exceptionDescription": "x"}]}},
            )
        return httpx.Response(200, json={"accessToken": {"token": JWT, "validUntil": "2026-11-30T10:15:00Z"}})

    http = KsefHttp("https://ksef.invalid/v2", transport=httpx.MockTransport(handler))
    await http.request("POST", "/auth/token/redeem", bearer=JWT, json={"encryptedToken": "QUJD"})
    with pytest.raises(ApiError):
        await http.request("POST", "/fail", json={"ok": 1})
    await http.aclose()
    first, failed = http.log.entries()
    assert first.request is not None and first.response is not None
    assert dict(first.request.headers)["authorization"].startswith("Bearer ‹redacted")
    assert json.loads(first.request.body) == {"encryptedToken": "‹redacted, 4 bytes›"}
    assert first.request.content_type == "application/json"
    assert json.loads(first.response.body)["accessToken"]["token"].startswith("‹redacted")
    assert failed.status == 400 and failed.codes == (21405,)
    assert failed.response is not None and "21405" in failed.response.body
    records = http.log.records()
    assert all("\n" not in record for record in records)
    assert JWT not in "".join(records) and "QUJD" not in "".join(records)
    assert [ApiCall.from_record(r) for r in records] == [first, failed]


def test_a_call_round_trips_through_its_record() -> None:
    call = ApiCall(
        datetime(2026, 11, 30, 9, 0, 5, 123000, tzinfo=UTC),
        "GET",
        "/upo/abc?…",
        None,
        3001,
        "other",
        note="timeout",
        request=HttpMessage((("accept", "application/xml"),), "", "", 0),
    )
    assert ApiCall.from_record(call.record()) == call
    log = ApiLog(size=2)
    for _ in range(3):
        log.add(call)
    assert len(log.records()) == 2
