"""PROTOCOL §6.4 and §11 item 14: exports with encrypted parts and _metadata.json."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from datetime import timedelta

from .sim_support import Api, aes_decrypt, b64, legacy_error, oaep, sha_b64, start_export, wait_export


def test_export_package_parts_and_metadata(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=60, export_part_size=4000, export_row_cap=12)
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
    ref, key, iv = start_export(client, access, filters)
    assert ref[9:11] == "EH"
    assert client.call("GET", f"/invoices/exports/{ref}", token=access).json()["status"]["code"] == 100
    status = wait_export(client, access, ref)
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
        plain = aes_decrypt(key, iv, encrypted)
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
    ref2, key2, iv2 = start_export(client, access, filters, onlyMetadata=True)
    only = wait_export(client, access, ref2)["package"]
    data = b"".join(aes_decrypt(key2, iv2, client.http.get(p["url"]).content) for p in only["parts"])
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        assert zipped.namelist() == ["_metadata.json"]


def test_export_errors_and_retention(make_client: Callable[..., Api]) -> None:
    client = make_client(seed_purchases=0, export_concurrency=1, export_delay=30.0, export_retention=60.0)
    access = client.login(client.state.named_tokens["full"])["access"]
    filters = {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Invoicing", "from": "2026-06-01T00:00:00+02:00", "to": "2026-07-01T00:00:00+02:00"},
    }
    ref, _, _ = start_export(client, access, filters)
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
    client.sim.advance(61)
    expired = client.call("GET", f"/invoices/exports/{ref}", token=access)
    assert expired.status_code == 410
