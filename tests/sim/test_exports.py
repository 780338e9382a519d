"""PROTOCOL §6.4 and §11 item 14: exports with encrypted parts and _metadata.json."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ksef_tui.sim.clock import OffsetClock

from .sim_support import Api, b64, legacy_error, oaep, sha_b64


def _decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _start(client: Api, access: str, filters: dict[str, Any], **extra: Any) -> tuple[str, bytes, bytes]:
    key, iv = os.urandom(32), os.urandom(16)
    public, key_id = client.public_key("SymmetricKeyEncryption")
    body = {
        "encryption": {
            "encryptedSymmetricKey": b64(oaep(public, key)),
            "initializationVector": b64(iv),
            "publicKeyId": key_id,
        },
        "filters": filters,
        **extra,
    }
    response = client.call("POST", "/invoices/exports", token=access, json_body=body)
    assert response.status_code == 201, response.text
    return str(response.json()["referenceNumber"]), key, iv


def _wait(client: Api, access: str, ref: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, Any] = client.call("GET", f"/invoices/exports/{ref}", token=access).json()
        if body["status"]["code"] != 100 or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_export_package_parts_and_metadata(make_sim: Callable[..., Api]) -> None:
    client = make_sim(seed_purchases=60, export_part_size=4000, export_row_cap=12)
    access = client.login(client.state.named_tokens["full"])["access"]
    first = min(inv.permanent_storage for inv in client.state.invoices.values())
    filters = {
        "subjectType": "Subject2",
        "dateRange": {
            "dateType": "PermanentStorage",
            "from": first.isoformat(),
            "to": (first + timedelta(days=88)).isoformat(),
            "restrictToPermanentStorageHwmDate": True,
        },
    }
    ref, key, iv = _start(client, access, filters)
    assert ref[9:11] == "EH"
    assert client.call("GET", f"/invoices/exports/{ref}", token=access).json()["status"]["code"] == 100
    status = _wait(client, access, ref)
    assert status["status"]["code"] == 200, status
    package = status["package"]
    assert package["invoiceCount"] == 12 and package["isTruncated"] is True
    assert package["lastPermanentStorageDate"] and package["permanentStorageHwmDate"]
    assert len(package["parts"]) > 1
    archive = b""
    for part in package["parts"]:
        assert client.http.get(part["url"], headers={"Authorization": f"Bearer {access}"}).status_code == 403
        encrypted = client.http.get(part["url"]).content
        assert len(encrypted) == part["encryptedPartSize"] and sha_b64(encrypted) == part["encryptedPartHash"]
        plain = _decrypt(key, iv, encrypted)
        assert len(plain) == part["partSize"] and sha_b64(plain) == part["partHash"]
        archive += plain
    assert len(archive) == package["size"]
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        names = sorted(zipped.namelist())
        metadata = json.loads(zipped.read("_metadata.json"))
        numbers = [item["ksefNumber"] for item in metadata["invoices"]]
        assert [*sorted(f"{n}.xml" for n in numbers), "_metadata.json"] == names
        for number in numbers:
            assert zipped.read(f"{number}.xml") == client.state.invoices[number].xml
    assert metadata["invoices"][-1]["permanentStorageDate"] == package["lastPermanentStorageDate"]
    # onlyMetadata: just the JSON file
    ref2, key2, iv2 = _start(client, access, filters, onlyMetadata=True)
    only = _wait(client, access, ref2)["package"]
    data = b"".join(_decrypt(key2, iv2, client.http.get(p["url"]).content) for p in only["parts"])
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        assert zipped.namelist() == ["_metadata.json"]


def test_export_errors_and_retention(make_sim: Callable[..., Api]) -> None:
    client = make_sim(seed_purchases=0, export_concurrency=1, export_delay=30.0, export_retention=60.0)
    access = client.login(client.state.named_tokens["full"])["access"]
    filters = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Invoicing", "from": "2026-06-01T00:00:00+02:00", "to": "2026-07-01T00:00:00+02:00"},
    }
    ref, _, _ = _start(client, access, filters)
    key, iv = os.urandom(32), os.urandom(16)
    public, _ = client.public_key("SymmetricKeyEncryption")
    again = client.call(
        "POST",
        "/invoices/exports",
        token=access,
        json_body={
            "encryption": {"encryptedSymmetricKey": b64(oaep(public, key)), "initializationVector": b64(iv)},
            "filters": filters,
        },
    )
    assert legacy_error(again) == (
        21182,
        "Osiągnięto limit trwających eksportów.",
        [
            "Dla uwierzytelnionego podmiotu w bieżącym kontekście osiągnięto maksymalny limit 1 równoczesnych "
            "eksportów faktur. Spróbuj ponownie później."
        ],
    )
    unknown = client.call("GET", "/invoices/exports/20260101-EH-0000000000-0000000000-00", token=access)
    assert legacy_error(unknown) == (21175, "Wynik zapytania o podanym identyfikatorze nie istnieje.", [])
    clock = client.state.config.clock
    assert isinstance(clock, OffsetClock)
    clock.advance(61)
    expired = client.call("GET", f"/invoices/exports/{ref}", token=access)
    assert expired.status_code == 410
