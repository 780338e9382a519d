"""PROTOCOL §5 and §11 items 8-12: online sessions, invoice processing, UPO."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from lxml import etree

from ksef_tui.domain.ksef_number import is_valid_ksef_number, reference_checksum_ok
from ksef_tui.fa.validate import Schema, validate_bytes
from ksef_tui.sim.seed import DEMO

from ..harness import Sim
from .sim_support import FIXTURES, Api, fixture_invoice, legacy_error, open_session, unique_number


def unique_invoice(name: str = "FA3_example_1.xml") -> bytes:
    return fixture_invoice(name, DEMO.nip, unique_number("SIM"))


def test_open_session_shape_and_form_codes(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    assert reference_checksum_ok(session.reference) and session.reference[9:11] == "SO"
    status = session.status()
    assert status["status"] == {"code": 100, "description": "Sesja interaktywna otwarta"}
    assert "upo" not in status and status["invoiceCount"] is None
    key_id = api.public_key("SymmetricKeyEncryption")[1]
    body = {
        "formCode": {"systemCode": "FA (2)", "schemaVersion": "1-0E", "value": "FA"},
        "encryption": {
            "encryptedSymmetricKey": base64.b64encode(b"x" * 256).decode(),
            "initializationVector": base64.b64encode(b"y" * 16).decode(),
            "publicKeyId": key_id,
        },
    }
    refused = api.call("POST", "/sessions/online", token=full_login["access"], json_body=body)
    assert legacy_error(refused) == (
        21405,
        "Błąd walidacji danych wejściowych.",
        ["Wskazany kod formularza nie jest wspierany."],
    )


def test_session_with_undecryptable_key_is_415(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"], bad_key=True)
    status = session.status()
    assert status["status"] == {"code": 415, "description": "Błąd odszyfrowania dostarczonego klucza"}
    response = session.send(unique_invoice())
    assert legacy_error(response) == (
        21180,
        "Status sesji nie pozwala na wykonanie operacji.",
        ["Status sesji 415 uniemożliwia wysyłkę faktur."],
    )


def test_synchronous_send_checks(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    assert legacy_error(session.send(unique_invoice(), tamper="size")) == (
        21402,
        "Nieprawidłowy rozmiar pliku.",
        ["Długość treści nie zgadza się z rozmiarem pliku."],
    )
    assert legacy_error(session.send(unique_invoice(), tamper="hash")) == (
        21403,
        "Nieprawidłowy skrót pliku.",
        ["Skrót treści nie zgadza się ze skrótem pliku."],
    )
    ghost = "20260101-SO-0000000000-0000000000-00"
    missing = api.call(
        "POST",
        f"/sessions/online/{ghost}/invoices",
        token=full_login["access"],
        json_body={
            "invoiceHash": base64.b64encode(bytes(32)).decode(),
            "invoiceSize": 1,
            "encryptedInvoiceHash": base64.b64encode(bytes(32)).decode(),
            "encryptedInvoiceSize": 16,
            "encryptedInvoiceContent": base64.b64encode(bytes(16)).decode(),
        },
    )
    assert legacy_error(missing) == (
        21173,
        "Brak sesji o wskazanym numerze referencyjnym.",
        [f"Sesja o numerze referencyjnym {ghost} nie została odnaleziona."],
    )
    assert session.close().status_code == 204
    assert legacy_error(session.send(unique_invoice())) == (
        21180,
        "Status sesji nie pozwala na wykonanie operacji.",
        ["Status sesji 170 uniemożliwia wysyłkę faktur."],
    )
    assert legacy_error(session.close()) == (
        21180,
        "Status sesji nie pozwala na wykonanie operacji.",
        ["Status sesji 170 uniemożliwia jej zamknięcie."],
    )
    final = session.wait_closed()
    assert final["status"] == {"code": 440, "description": "Sesja anulowana", "details": ["Nie przesłano faktur"]}


def test_asynchronous_rejections(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    not_xml = b"<Faktura>unclosed"
    fa2 = fixture_invoice_fa2()
    other_seller = fixture_invoice("FA3_example_1.xml", "7771234567", unique_number("OTHER"))
    sent = {
        "cipher": session.send(unique_invoice(), tamper="cipher"),
        "plain-size": session.send(unique_invoice(), tamper="plain-size"),
        "plain-hash": session.send(unique_invoice(), tamper="plain-hash"),
        "not-xml": session.send(not_xml),
        "fa2": session.send(fa2),
        "seller": session.send(other_seller),
    }
    refs = {}
    for name, response in sent.items():
        assert response.status_code == 202, (name, response.text)
        refs[name] = response.json()["referenceNumber"]
        assert refs[name][9:11] == "EE" and reference_checksum_ok(refs[name])
    results = {name: session.wait_invoice(ref)["status"] for name, ref in refs.items()}
    assert results["cipher"] == {
        "code": 435,
        "description": "Błąd odszyfrowania pliku",
        "details": ["Plik niepoprawnie zaszyfrowany"],
    }
    assert results["plain-size"]["code"] == 430
    assert results["plain-size"]["description"] == "Błąd weryfikacji pliku faktury"
    assert results["plain-size"]["details"][0].startswith(
        "Rozmiar przesłanego pliku faktury nie zgadza się z zadeklarowaną wartością: "
    )
    assert results["plain-hash"]["code"] == 430
    # the parser's own words, seen by parsing here (not through the validator the simulator uses)
    with pytest.raises(etree.XMLSyntaxError) as unparsable:
        etree.fromstring(not_xml)
    assert results["not-xml"] == {
        "code": 450,
        "description": "Błąd weryfikacji semantyki dokumentu faktury",
        "details": [unparsable.value.msg],
    }
    assert "Faktura" in unparsable.value.msg
    assert results["fa2"]["code"] == 450
    assert "nie jest zgodny z kodem formularza sesji (FA (3) 1-0E FA)" in results["fa2"]["details"][0]
    assert results["seller"]["code"] == 410
    assert session.close().status_code == 204
    final = session.wait_closed()
    assert final["status"] == {"code": 445, "description": "Błąd weryfikacji, brak poprawnych faktur"}
    assert final["failedInvoiceCount"] == 6 and final["successfulInvoiceCount"] is None
    failed = api.call("GET", f"/sessions/{session.reference}/invoices/failed", token=full_login["access"]).json()
    assert len(failed["invoices"]) == 6


def fixture_invoice_fa2() -> bytes:
    return (FIXTURES / "fa2" / "FA2_podstawowa__FA_2_Przyklad_4.xml").read_bytes()


def test_xsd_invalid_invoice_reports_validator_message(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    broken = unique_invoice().replace(b"<RodzajFaktury>VAT</RodzajFaktury>", b"<RodzajFaktury>XYZ</RodzajFaktury>")
    status = session.wait_invoice(session.send(broken).json()["referenceNumber"])["status"]
    # KSeF passes on its XSD validator's own text; the simulator passes on libxml2's, which reads:
    assert status == {
        "code": 450,
        "description": "Błąd weryfikacji semantyki dokumentu faktury",
        "details": [
            "Element '{http://crd.gov.pl/wzor/2025/06/25/13775/}RodzajFaktury': [facet 'enumeration'] The value "
            "'XYZ' is not an element of the set {'VAT', 'KOR', 'ZAL', 'ROZ', 'UPR', 'KOR_ZAL', 'KOR_ROZ'}."
        ],
    }


def test_duplicate_is_440_with_extensions(api: Api, shared_sim: Sim, full_login: dict[str, str]) -> None:
    xml = unique_invoice()
    first = open_session(api, full_login["access"])
    ok = first.wait_invoice(first.send(xml).json()["referenceNumber"])
    assert ok["status"]["code"] == 200
    second = open_session(api, full_login["access"])
    dup = second.wait_invoice(second.send(xml).json()["referenceNumber"])
    assert dup["status"] == {
        "code": 440,
        "description": "Duplikat faktury",
        "details": [
            f"Duplikat faktury. Faktura o numerze KSeF: {ok['ksefNumber']} została już prawidłowo "
            f"przesłana do systemu w sesji: {first.reference}"
        ],
        "extensions": {"originalSessionReferenceNumber": first.reference, "originalKsefNumber": ok["ksefNumber"]},
    }
    assert dup["invoiceNumber"] is not None
    stats = api.admin("GET", "/stats").json()
    assert stats["duplicates"] >= 1


def test_success_numbers_dates_upo_and_presigned_urls(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    xml = unique_invoice()
    ref = session.send(xml).json()["referenceNumber"]
    status = session.wait_invoice(ref)
    assert status["status"] == {"code": 200, "description": "Sukces"}
    number = status["ksefNumber"]
    assert is_valid_ksef_number(number) and number.startswith(DEMO.nip + "-")
    assert status["invoiceHash"] == base64.b64encode(hashlib.sha256(xml).digest()).decode()
    assert status["acquisitionDate"] >= status["invoicingDate"]
    # permanent storage comes a little later; until then the invoice cannot be downloaded
    if status["permanentStorageDate"] is None:
        early = api.call("GET", f"/invoices/ksef/{number}", token=full_login["access"])
        assert legacy_error(early)[0] == 21165
    stored = api.until(lambda: session.invoice_status(ref), lambda body: body["permanentStorageDate"] is not None)
    assert stored["permanentStorageDate"] > status["acquisitionDate"]
    # per-invoice UPO: Bearer endpoints and pre-signed URL (which refuses Authorization)
    by_ref = api.call("GET", f"/sessions/{session.reference}/invoices/{ref}/upo", token=full_login["access"])
    by_number = api.call("GET", f"/sessions/{session.reference}/invoices/ksef/{number}/upo", token=full_login["access"])
    assert by_ref.content == by_number.content
    assert by_ref.headers["content-type"] == "application/xml"
    assert by_ref.headers["x-ms-meta-hash"] == base64.b64encode(hashlib.sha256(by_ref.content).digest()).decode()
    assert validate_bytes(by_ref.content, expect=Schema.UPO).ok
    url = status["upoDownloadUrl"]
    assert api.http.get(url).content == by_ref.content
    leaked = api.http.get(url, headers={"Authorization": f"Bearer {full_login['access']}"})
    assert leaked.status_code == 403
    assert api.http.get(url.replace("sig=", "sig=x")).status_code == 403
    # session UPO after close
    assert session.close().status_code == 204
    final = session.wait_closed()
    assert final["status"] == {"code": 200, "description": "Sesja interaktywna przetworzona pomyślnie"}
    assert (final["invoiceCount"], final["successfulInvoiceCount"], final["failedInvoiceCount"]) == (1, 1, None)
    upo_page = final["upo"]["pages"][0]
    assert upo_page["referenceNumber"][9:11] == "EU"
    session_upo = api.http.get(upo_page["downloadUrl"]).content
    assert validate_bytes(session_upo, expect=Schema.UPO).ok
    via_api = api.call(
        "GET", f"/sessions/{session.reference}/upo/{upo_page['referenceNumber']}", token=full_login["access"]
    )
    assert via_api.content == session_upo
    doc = etree.fromstring(session_upo)
    ns = {"u": "http://upo.schematy.mf.gov.pl/KSeF/v4-3"}
    assert doc.findtext("u:NazwaPodmiotuPrzyjmujacego", namespaces=ns) == "Ministerstwo Finansów"
    assert doc.findtext("u:Dokument/u:NumerKSeFDokumentu", namespaces=ns) == number
    missing = api.call(
        "GET", f"/sessions/{session.reference}/upo/20260101-EU-0000000000-0000000000-00", token=full_login["access"]
    )
    assert legacy_error(missing)[0] == 21178


def test_session_listing(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    listing = api.call(
        "GET", "/sessions", token=full_login["access"], params={"sessionType": "Online", "pageSize": 100}
    ).json()
    assert session.reference in [item["referenceNumber"] for item in listing["sessions"]]
    invoices = api.call("GET", f"/sessions/{session.reference}/invoices", token=full_login["access"]).json()
    assert invoices["invoices"] == []
    garbage = api.call(
        "GET",
        f"/sessions/{session.reference}/invoices",
        token=full_login["access"],
        headers={"x-continuation-token": "e30="},  # base64 of "{}": decodes, but is not ours
    )
    assert legacy_error(garbage)[0] == 21418


def test_session_invoice_limit(make_client: Callable[..., Api]) -> None:
    client = make_client(session_invoice_limit=1, seed_purchases=0)
    tokens = client.login(client.state.named_tokens["full"])
    session = open_session(client, tokens["access"])
    assert session.send(unique_invoice()).status_code == 202
    assert legacy_error(session.send(unique_invoice())) == (
        21155,
        "Przekroczono dozwoloną liczbę faktur w sesji.",
        [f"Sesja o numerze referencyjnym {session.reference} osiągnęła dozwolony limit liczby faktur 1."],
    )


def test_invoice_status_progression(make_client: Callable[..., Api]) -> None:
    client = make_client(invoice_queue_delay=30.0, invoice_processing_delay=30.0, seed_purchases=0)
    tokens = client.login(client.state.named_tokens["full"])
    session = open_session(client, tokens["access"])
    ref = session.send(unique_invoice()).json()["referenceNumber"]
    assert session.invoice_status(ref)["status"] == {
        "code": 100,
        "description": "Faktura przyjęta do dalszego przetwarzania",
    }
    client.sim.advance(30)
    assert session.invoice_status(ref)["status"] == {"code": 150, "description": "Trwa przetwarzanie"}
    client.sim.advance(30)
    final = session.invoice_status(ref)
    assert final["status"]["code"] == 200 and final["ksefNumber"]


def test_an_invoice_sent_by_another_program_is_a_duplicate_whose_upo_can_be_fetched(
    api: Api, full_login: dict[str, str]
) -> None:
    """The demo API's "issued elsewhere" invoice lives in a finished session of its own, as one sent by another
    program would: the 440 names that session, and the original's UPO is there (the sandbox's duplicate)."""
    xml = unique_invoice()
    elsewhere = api.admin("POST", "/invoices", content=xml, headers={"content-type": "application/xml"}).json()
    session = open_session(api, full_login["access"])
    dup = session.wait_invoice(session.send(xml).json()["referenceNumber"])
    assert dup["status"]["code"] == 440
    original = dup["status"]["extensions"]["originalSessionReferenceNumber"]
    assert dup["status"]["extensions"]["originalKsefNumber"] == elsewhere["ksefNumber"]
    path = f"/sessions/{original}/invoices/ksef/{elsewhere['ksefNumber']}/upo"
    upo = api.call("GET", path, token=full_login["access"])
    assert upo.status_code == 200, upo.text
    assert elsewhere["ksefNumber"].encode() in upo.content
    status = api.call("GET", f"/sessions/{original}", token=full_login["access"]).json()
    assert status["status"]["code"] == 200 and status["successfulInvoiceCount"] == 1
