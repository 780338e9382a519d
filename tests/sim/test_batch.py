"""PROTOCOL §5.8: batch sessions (ZIP split into encrypted parts, pre-signed PUT uploads)."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

from ksef_tui.fa.validate import Schema, validate_bytes
from ksef_tui.sim.seed import DEMO

from ..harness import Sim
from .sim_support import FA3_FORM, Api, aes_encrypt, b64, fixture_invoice, legacy_error, oaep, sha_b64, unique_number


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _open(api: Api, access: str, archive: bytes, parts: int) -> tuple[str, list[dict[str, Any]], list[bytes]]:
    key, iv = os.urandom(32), os.urandom(16)
    public, key_id = api.public_key("SymmetricKeyEncryption")
    size = -(-len(archive) // parts)
    chunks = [aes_encrypt(key, iv, archive[i : i + size]) for i in range(0, len(archive), size)]
    body = {
        "formCode": FA3_FORM,
        "batchFile": {
            "fileSize": len(archive),
            "fileHash": sha_b64(archive),
            "fileParts": [
                {"ordinalNumber": n, "fileSize": len(c), "fileHash": sha_b64(c)} for n, c in enumerate(chunks, start=1)
            ],
        },
        "encryption": {
            "encryptedSymmetricKey": b64(oaep(public, key)),
            "initializationVector": b64(iv),
            "publicKeyId": key_id,
        },
    }
    response = api.call("POST", "/sessions/batch", token=access, json_body=body)
    assert response.status_code == 201, response.text
    opened = response.json()
    assert opened["referenceNumber"][9:11] == "SB"
    return opened["referenceNumber"], opened["partUploadRequests"], chunks


def _wait(api: Api, access: str, ref: str) -> dict[str, Any]:
    return api.until(
        lambda: dict(api.call("GET", f"/sessions/{ref}", token=access).json()),
        lambda body: body["status"]["code"] not in (100, 150),
    )


def test_batch_session_end_to_end(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    files = {
        "a.xml": fixture_invoice("FA3_example_1.xml", DEMO.nip, unique_number("BATCH")),
        "b.xml": fixture_invoice("FA3_example_1.xml", DEMO.nip, unique_number("BATCH")),
        "broken.xml": b"<Faktura/>",
    }
    archive = _zip(files)
    ref, uploads, chunks = _open(api, access, archive, 2)
    assert [u["method"] for u in uploads] == ["PUT", "PUT"]
    assert uploads[0]["headers"] == {"x-ms-blob-type": "BlockBlob"}
    # closing before the upload
    assert legacy_error(api.call("POST", f"/sessions/batch/{ref}/close", token=access)) == (
        21205,
        "Pakiet nie może być pusty.",
        ["Nie przesłano zadeklarowanej '1' części pliku."],
    )
    leaked = api.http.put(uploads[0]["url"], content=chunks[0], headers={"Authorization": f"Bearer {access}"})
    assert leaked.status_code == 403
    for upload, chunk in zip(uploads, chunks, strict=True):
        assert api.http.put(upload["url"], content=chunk, headers=upload["headers"]).status_code == 201
    assert api.call("GET", f"/sessions/{ref}", token=access).json()["status"] == {
        "code": 100,
        "description": "Sesja wsadowa rozpoczęta",
    }
    assert api.call("POST", f"/sessions/batch/{ref}/close", token=access).status_code == 204
    final = _wait(api, access, ref)
    assert final["status"] == {"code": 200, "description": "Sesja wsadowa przetworzona pomyślnie"}
    assert (final["invoiceCount"], final["successfulInvoiceCount"], final["failedInvoiceCount"]) == (3, 2, 1)
    invoices = api.call("GET", f"/sessions/{ref}/invoices", token=access).json()["invoices"]
    assert sorted(i["invoiceFileName"] for i in invoices) == ["a.xml", "b.xml", "broken.xml"]
    failed = api.call("GET", f"/sessions/{ref}/invoices/failed", token=access).json()["invoices"]
    assert [i["invoiceFileName"] for i in failed] == ["broken.xml"] and failed[0]["status"]["code"] == 450
    upo = api.http.get(final["upo"]["pages"][0]["downloadUrl"]).content
    assert validate_bytes(upo, expect=Schema.UPO).ok
    listing = api.call("GET", "/sessions", token=access, params={"sessionType": "Batch", "pageSize": 100}).json()
    assert ref in [s["referenceNumber"] for s in listing["sessions"]]


def test_batch_errors(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    archive = _zip({"x.xml": b"<x/>"})
    ref, uploads, chunks = _open(api, access, archive, 1)
    assert api.http.put(uploads[0]["url"], content=chunks[0] + b"\x00" * 16).status_code == 201
    assert legacy_error(api.call("POST", f"/sessions/batch/{ref}/close", token=access)) == (
        21157,
        "Nieprawidłowy rozmiar części pakietu.",
        ["Zadeklarowany rozmiar części '1' nie zgadza się z rzeczywistym."],
    )
    # a "ZIP" that is not one -> 430 after close
    junk = os.urandom(300)
    ref2, uploads2, chunks2 = _open(api, access, junk, 1)
    assert api.http.put(uploads2[0]["url"], content=chunks2[0]).status_code == 201
    assert api.call("POST", f"/sessions/batch/{ref2}/close", token=access).status_code == 204
    assert _wait(api, access, ref2)["status"] == {"code": 430, "description": "Błąd dekompresji pierwotnego archiwum"}
    # the online endpoints do not accept a batch session
    missing = api.call("POST", f"/sessions/online/{ref}/close", token=access)
    assert legacy_error(missing)[0] == 21173
