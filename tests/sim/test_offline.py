"""Offline invoices in the simulator (CERTS_OFFLINE §5, §7 items 15–17; PROTOCOL §5.3, §5.8, §10): the offline flag
on online and batch sends, automatic offline marking by the Warsaw calendar day, the technical correction of a
rejected offline invoice, and the verification of KOD I and KOD II links — over real HTTP, every /v2 exchange
checked against the OpenAPI. Links and signatures are built here with ``cryptography`` from the documents."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from ksef_tui.fa.validate import UPO_NS, Schema, validate_bytes
from ksef_tui.sim.clock import iso
from ksef_tui.sim.qr import verify_link
from ksef_tui.sim.seed import DEMO, OTHER

from ..harness import FIXED_NOW, fixed_clock
from .sim_support import (
    FA3_FORM,
    Api,
    OnlineSession,
    aes_encrypt,
    b64,
    fixture_invoice,
    legacy_error,
    oaep,
    open_session,
    sha_b64,
    unique_number,
)
from .test_sim_certificates import csr, enroll_body, enrollment_data, issue, retrieve
from .xades_flow import Holder, login
from .xades_signer import ec_key, rsa_key, seal_name

Factory = Callable[..., Api]
WARSAW = ZoneInfo("Europe/Warsaw")
QR_TEST = "https://qr-test.ksef.mf.gov.pl"


# ------------------------------------------------------------------ invoices and sending
def warsaw_today(api: Api) -> date:
    return api.state.now().astimezone(WARSAW).date()


def invoice(seller: str = DEMO.nip, *, issued: date, number: str | None = None, broken: bool = False) -> bytes:
    """A fixture FA(3) invoice of ``seller`` with P_1 = ``issued``; ``broken``: with an element the schema refuses
    (KSeF rejects it, 450: a technical reason)."""
    root = etree.fromstring(fixture_invoice("FA3_example_1.xml", seller, number or unique_number("OFF")))
    ns = {"f": etree.QName(root).namespace or ""}
    p1 = root.find("f:Fa/f:P_1", ns)
    assert p1 is not None
    p1.text = issued.isoformat()
    if broken:
        p1.addnext(etree.Element(f"{{{ns['f']}}}NieznanyElement"))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def send(session: OnlineSession, xml: bytes, *, offline: bool | None, corrected: str | None = None) -> httpx.Response:
    """POST an invoice; ``offline=None`` leaves ``offlineMode`` out (its default is false)."""
    encrypted = aes_encrypt(session.key, session.iv, xml)
    body: dict[str, Any] = {
        "invoiceHash": sha_b64(xml),
        "invoiceSize": len(xml),
        "encryptedInvoiceHash": sha_b64(encrypted),
        "encryptedInvoiceSize": len(encrypted),
        "encryptedInvoiceContent": b64(encrypted),
    }
    if offline is not None:
        body["offlineMode"] = offline
    if corrected is not None:
        body["hashOfCorrectedInvoice"] = corrected
    return session.api.call(
        "POST", f"/sessions/online/{session.reference}/invoices", token=session.access, json_body=body
    )


def sent(session: OnlineSession, xml: bytes, **options: Any) -> dict[str, Any]:
    """Send and wait for the final status."""
    response = send(session, xml, **options)
    assert response.status_code == 202, response.text
    return session.wait_invoice(response.json()["referenceNumber"])


def mode_in_upo(session: OnlineSession, invoice_ref: str) -> str:
    response = session.api.call(
        "GET", f"/sessions/{session.reference}/invoices/{invoice_ref}/upo", token=session.access
    )
    assert response.status_code == 200, response.text
    assert validate_bytes(response.content, expect=Schema.UPO).ok
    modes = etree.fromstring(response.content).findall(f".//{{{UPO_NS}}}TrybWysylki")
    assert len(modes) == 1
    return str(modes[0].text)


def metadata(api: Api, access: str, ksef_number: str) -> dict[str, Any]:
    """The invoice's metadata as a seller sees it (waits for its permanent storage)."""
    now = api.state.now()
    body = {
        "subjectType": "Subject1",
        "dateRange": {
            "dateType": "Invoicing",
            "from": iso(now - timedelta(hours=2)),
            "to": iso(now + timedelta(hours=2)),
        },
        "ksefNumber": ksef_number,
    }

    def query() -> list[dict[str, Any]]:
        response = api.call("POST", "/invoices/query/metadata", token=access, json_body=body)
        assert response.status_code == 200, response.text
        return list(response.json()["invoices"])

    (row,) = api.until(query, lambda rows: len(rows) == 1)
    return row


# ------------------------------------------------------------------ offlineMode and automatic offline
def test_offline_mode_on_an_online_send(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    session = open_session(api, access)
    today = warsaw_today(api)
    declared = send(session, invoice(issued=today), offline=True)
    assert declared.status_code == 202, declared.text
    pending = session.invoice_status(declared.json()["referenceNumber"])
    assert pending["invoicingMode"] == "Offline"  # already while queued: it was declared
    online = sent(session, invoice(issued=today), offline=False)
    default = sent(session, invoice(issued=today), offline=None)
    offline = session.wait_invoice(declared.json()["referenceNumber"])
    assert [s["status"]["code"] for s in (offline, online, default)] == [200, 200, 200]
    assert [s["invoicingMode"] for s in (offline, online, default)] == ["Offline", "Online", "Online"]
    assert mode_in_upo(session, offline["referenceNumber"]) == "Offline"
    assert mode_in_upo(session, online["referenceNumber"]) == "Online"
    row = metadata(api, access, offline["ksefNumber"])
    assert row["invoicingMode"] == "Offline" and "hashOfCorrectedInvoice" not in row
    assert metadata(api, access, online["ksefNumber"])["invoicingMode"] == "Online"
    # the session UPO lists each invoice with its mode
    assert session.close().status_code == 204
    closed = session.wait_closed()
    page = api.http.get(closed["upo"]["pages"][0]["downloadUrl"]).content
    documents = etree.fromstring(page).findall(f"{{{UPO_NS}}}Dokument")
    modes = {d.findtext(f"{{{UPO_NS}}}NumerKSeFDokumentu"): d.findtext(f"{{{UPO_NS}}}TrybWysylki") for d in documents}
    assert modes == {offline["ksefNumber"]: "Offline", online["ksefNumber"]: "Online", default["ksefNumber"]: "Online"}


def test_invoices_issued_before_the_day_they_reach_ksef_are_offline(api: Api, full_login: dict[str, str]) -> None:
    """PROTOCOL §10: P_1's calendar day earlier than invoicingDate's day -> Offline, whatever the flag says."""
    session = open_session(api, full_login["access"])
    yesterday = warsaw_today(api) - timedelta(days=1)
    late = sent(session, invoice(issued=yesterday), offline=False)
    assert (late["status"]["code"], late["invoicingMode"]) == (200, "Offline")
    assert mode_in_upo(session, late["referenceNumber"]) == "Offline"


def test_the_calendar_day_is_warsaw_time(make_client: Factory) -> None:
    """22:30 UTC on 15 May is 00:30 on 16 May in Warsaw (CERTS_OFFLINE §8 item 11: Europe/Warsaw taken)."""
    client = make_client(clock=fixed_clock(datetime(2026, 5, 15, 22, 30, tzinfo=UTC)), seed_purchases=0)
    access = client.login(client.state.named_tokens["full"])["access"]
    session = open_session(client, access)
    previous_day = sent(session, invoice(issued=date(2026, 5, 15)), offline=False)
    same_day = sent(session, invoice(issued=date(2026, 5, 16)), offline=False)
    tomorrow = sent(session, invoice(issued=date(2026, 5, 17)), offline=True)
    assert (previous_day["status"]["code"], previous_day["invoicingMode"]) == (200, "Offline")
    assert (same_day["status"]["code"], same_day["invoicingMode"]) == (200, "Online")
    assert tomorrow["status"]["code"] == 450  # issued later than received: refused, offline or not


# ------------------------------------------------------------------ batch
def send_batch(api: Api, access: str, files: dict[str, bytes], *, offline: bool | None) -> list[dict[str, Any]]:
    """A batch session of ``files`` (one part) to the end; its invoices."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    package = buffer.getvalue()
    key, iv = os.urandom(32), os.urandom(16)
    public, key_id = api.public_key("SymmetricKeyEncryption")
    part = aes_encrypt(key, iv, package)
    body: dict[str, Any] = {
        "formCode": FA3_FORM,
        "batchFile": {
            "fileSize": len(package),
            "fileHash": sha_b64(package),
            "fileParts": [{"ordinalNumber": 1, "fileSize": len(part), "fileHash": sha_b64(part)}],
        },
        "encryption": {
            "encryptedSymmetricKey": b64(oaep(public, key)),
            "initializationVector": b64(iv),
            "publicKeyId": key_id,
        },
    }
    if offline is not None:
        body["offlineMode"] = offline
    opened = api.call("POST", "/sessions/batch", token=access, json_body=body)
    assert opened.status_code == 201, opened.text
    ref = opened.json()["referenceNumber"]
    (upload,) = opened.json()["partUploadRequests"]
    assert api.http.put(upload["url"], content=part, headers=upload["headers"]).status_code == 201
    assert api.call("POST", f"/sessions/batch/{ref}/close", token=access).status_code == 204
    final = api.until(
        lambda: dict(api.call("GET", f"/sessions/{ref}", token=access).json()),
        lambda status: status["status"]["code"] not in (100, 150),
    )
    assert final["status"]["code"] in (200, 445), final  # 445: no invoice accepted
    listed = api.call("GET", f"/sessions/{ref}/invoices", token=access, params={"pageSize": 100})
    return sorted(listed.json()["invoices"], key=lambda item: item["invoiceFileName"])


def test_offline_mode_on_a_batch_session(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    today = warsaw_today(api)
    declared = send_batch(api, access, {"a.xml": invoice(issued=today), "b.xml": invoice(issued=today)}, offline=True)
    assert [(i["status"]["code"], i["invoicingMode"]) for i in declared] == [(200, "Offline"), (200, "Offline")]
    plain = send_batch(
        api,
        access,
        {"today.xml": invoice(issued=today), "yesterday.xml": invoice(issued=today - timedelta(days=1))},
        offline=None,
    )
    assert [(i["invoiceFileName"], i["invoicingMode"]) for i in plain] == [
        ("today.xml", "Online"),
        ("yesterday.xml", "Offline"),
    ]
    assert metadata(api, access, declared[0]["ksefNumber"])["invoicingMode"] == "Offline"


# ------------------------------------------------------------------ technical correction
def test_technical_correction_of_a_rejected_offline_invoice(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    session = open_session(api, access)
    today = warsaw_today(api)
    number = unique_number("KT")
    original = invoice(issued=today, number=number, broken=True)
    rejected = sent(session, original, offline=True)
    assert (rejected["status"]["code"], rejected["invoicingMode"]) == (450, "Offline")
    fixed = invoice(issued=today, number=number)
    corrected = sent(session, fixed, offline=True, corrected=sha_b64(original))
    assert (corrected["status"]["code"], corrected["invoicingMode"]) == (200, "Offline")
    assert corrected["invoiceNumber"] == number  # same number, new hash
    assert corrected["invoiceHash"] == sha_b64(fixed) != sha_b64(original)
    assert mode_in_upo(session, corrected["referenceNumber"]) == "Offline"
    row = metadata(api, access, corrected["ksefNumber"])
    assert row["hashOfCorrectedInvoice"] == sha_b64(original) and row["invoicingMode"] == "Offline"
    # at most one accepted technical correction
    again = send(session, invoice(issued=today, number=unique_number("KT")), offline=True, corrected=sha_b64(original))
    assert legacy_error(again) == (
        21166,
        "Korekta techniczna niedostępna.",
        ["Faktura posiada już przetworzoną prawidłowo korektę techniczną."],
    )
    # an accepted invoice has nothing to correct
    accepted = send(session, invoice(issued=today), offline=True, corrected=sha_b64(fixed))
    assert legacy_error(accepted) == (
        21167,
        "Status faktury nie pozwala na korektę techniczną.",
        ["Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury."],
    )
    # KOD I of the rejected original leads to the correction
    link = kod1(DEMO.nip, today, original)
    verdict = api.admin("POST", "/qr/verify", json={"url": link}).json()
    assert verdict["kind"] == "invoice" and verdict["valid"] is False
    assert verdict["technicalCorrection"]["ksefNumber"] == corrected["ksefNumber"]
    assert verdict["technicalCorrection"]["hashOfCorrectedInvoice"] == sha_b64(original)
    good = api.admin("POST", "/qr/verify", json={"url": kod1(DEMO.nip, today, fixed)}).json()
    assert good["valid"] is True and good["invoice"]["ksefNumber"] == corrected["ksefNumber"]


def test_technical_correction_refusals(api: Api, full_login: dict[str, str]) -> None:
    access = full_login["access"]
    session = open_session(api, access)
    today = warsaw_today(api)
    unknown = send(session, invoice(issued=today), offline=True, corrected=sha_b64(os.urandom(8)))
    code, description, details = legacy_error(unknown)
    assert (code, description) == (21167, "Status faktury nie pozwala na korektę techniczną.")
    assert details[0].startswith("Nie odnaleziono odrzuconej faktury o skrócie ")
    # the hash without offlineMode: refused as invalid input (the simulator's reading of an open point)
    original = invoice(issued=today, broken=True)
    assert sent(session, original, offline=True)["status"]["code"] == 450
    for flag in (False, None):
        online = send(session, invoice(issued=today), offline=flag, corrected=sha_b64(original))
        assert legacy_error(online) == (
            21405,
            "Błąd walidacji danych wejściowych.",
            ["Korekta techniczna (hashOfCorrectedInvoice) wymaga offlineMode = true."],
        )
    # an original still being processed
    pending = invoice(issued=today, broken=True)
    assert send(session, pending, offline=True).status_code == 202
    early = send(session, invoice(issued=today), offline=True, corrected=sha_b64(pending))
    assert legacy_error(early)[0] == 21167
    # an original rejected for want of rights (seller not the context: 410) is not corrected technically
    foreign = invoice(OTHER.nip, issued=today)
    assert sent(session, foreign, offline=True)["status"]["code"] == 410
    rights = send(session, invoice(issued=today), offline=True, corrected=sha_b64(foreign))
    assert legacy_error(rights) == (
        21167,
        "Status faktury nie pozwala na korektę techniczną.",
        ["Korekta techniczna nie dotyczy faktury odrzuconej z powodu braku uprawnień."],
    )
    # another context does not see this context's rejected invoice
    other = api.login(api.state.named_tokens["other_nip"])["access"]
    elsewhere = send(
        open_session(api, other), invoice(OTHER.nip, issued=today), offline=True, corrected=sha_b64(original)
    )
    assert legacy_error(elsewhere)[0] == 21167


def test_two_corrections_in_flight_one_wins(api: Api, full_login: dict[str, str]) -> None:
    """Both are accepted for processing (none is processed yet); the later is a duplicate of the accepted one."""
    session = open_session(api, full_login["access"])
    today = warsaw_today(api)
    number = unique_number("KT2")
    original = invoice(issued=today, number=number, broken=True)
    assert sent(session, original, offline=True)["status"]["code"] == 450
    first = send(session, invoice(issued=today, number=number), offline=True, corrected=sha_b64(original))
    fixed_again = invoice(issued=today, number=number).replace(b"?>", b"?>\n", 1)  # same invoice, other bytes
    second = send(session, fixed_again, offline=True, corrected=sha_b64(original))
    assert first.status_code == second.status_code == 202
    one = session.wait_invoice(first.json()["referenceNumber"])
    two = session.wait_invoice(second.json()["referenceNumber"])
    assert one["status"]["code"] == 200
    assert two["status"]["code"] == 440 and two["status"]["extensions"]["originalKsefNumber"] == one["ksefNumber"]


def test_a_correction_of_an_invoice_rejected_in_a_batch(api: Api, full_login: dict[str, str]) -> None:
    """The original may have been rejected in a batch session; the correction goes online (CERTS_OFFLINE §5.2)."""
    access = full_login["access"]
    today = warsaw_today(api)
    number = unique_number("KTB")
    original = invoice(issued=today, number=number, broken=True)
    (rejected,) = send_batch(api, access, {"f.xml": original}, offline=True)
    assert rejected["status"]["code"] == 450
    session = open_session(api, access)
    corrected = sent(session, invoice(issued=today, number=number), offline=True, corrected=sha_b64(original))
    assert (corrected["status"]["code"], corrected["invoicingMode"]) == (200, "Offline")


# ------------------------------------------------------------------ KOD I and KOD II
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kod1(seller: str, issued: date, xml: bytes) -> str:
    return f"{QR_TEST}/invoice/{seller}/{issued.strftime('%d-%m-%Y')}/{b64url(hashlib.sha256(xml).digest())}"


def kod2(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    serial: str,
    xml: bytes,
    *,
    context: tuple[str, str] = ("Nip", DEMO.nip),
    seller: str = DEMO.nip,
    der: bool = False,
) -> str:
    """KOD II as CERTS_OFFLINE §5.3 prescribes: the link without its scheme is signed."""
    unsigned = (
        f"{QR_TEST}/certificate/{context[0]}/{context[1]}/{seller}/{serial}/{b64url(hashlib.sha256(xml).digest())}"
    )
    message = unsigned.removeprefix("https://").encode()
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = key.sign(message, pss, hashes.SHA256())
    else:
        signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
        if not der:
            r, s = decode_dss_signature(signature)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{unsigned}/{b64url(signature)}"


def verify(api: Api, url: str) -> dict[str, Any]:
    response = api.admin("POST", "/qr/verify", json={"url": url})
    assert response.status_code == 200, response.text
    return dict(response.json())


def failed(verdict: dict[str, Any]) -> list[str]:
    return [check["name"] for check in verdict["checks"] if not check["ok"]]


def test_kod2_verification(make_client: Factory) -> None:
    te = make_client(environment="TE", seed_purchases=0)
    holder = Holder.make(rsa_key(0), seal_name(DEMO.nip), now=FIXED_NOW)
    access = login(te, holder, DEMO.nip)["access"]
    data = enrollment_data(te, access)
    keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {
        "ec": ec_key(),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "auth": ec_key(),
    }
    serials: dict[str, str] = {}
    for name, key in keys.items():
        kind = "Authentication" if name == "auth" else "Offline"
        final = issue(te, access, enroll_body(csr(key, data), kind=kind, name=f"Certyfikat {name}"))
        assert final["status"]["code"] in (200, 445), final  # 445: no invoice accepted
        serials[name] = final["certificateSerialNumber"]
        assert retrieve(te, access, serials[name]).serial_number == int(serials[name], 16)
    xml = invoice(issued=date(2026, 5, 15))
    # the three signature forms a verifier must accept
    for url in (
        kod2(keys["ec"], serials["ec"], xml),
        kod2(keys["ec"], serials["ec"], xml, der=True),
        kod2(keys["rsa"], serials["rsa"], xml),
    ):
        verdict = verify(te, url)
        assert verdict["valid"] is True, verdict
        assert verdict["kind"] == "certificate" and verdict["certificate"]["type"] == "Offline"
        assert [c["name"] for c in verdict["checks"]] == [
            "format",
            "certificate",
            "type",
            "status",
            "signature",
            "permission",
            "seller",
        ]
    good = kod2(keys["ec"], serials["ec"], xml)
    assert verify_link(te.state, good).valid  # in process too
    # another invoice's hash under this signature; a signature by another key
    other_hash = good.split("/")
    other_hash[-2] = b64url(hashlib.sha256(b"inna faktura").digest())
    assert failed(verify(te, "/".join(other_hash))) == ["signature"]
    assert failed(verify(te, kod2(keys["rsa"], serials["ec"], xml))) == ["signature"]
    # an Authentication certificate must never sign KOD II
    assert failed(verify(te, kod2(keys["auth"], serials["auth"], xml))) == ["type"]
    # a context where the certificate's subject has no rights, issuing for its own seller
    foreign = verify(te, kod2(keys["ec"], serials["ec"], xml, context=("Nip", OTHER.nip), seller=OTHER.nip))
    assert failed(foreign) == ["permission"]
    # a context that may not issue for that seller
    assert failed(verify(te, kod2(keys["ec"], serials["ec"], xml, seller=OTHER.nip))) == ["seller"]
    # malformed and unknown
    assert failed(verify(te, good.replace("/Nip/", "/Regon/"))) == ["format"]
    assert failed(verify(te, kod2(keys["ec"], "0123456789ABCDEF", xml))) == ["certificate"]
    assert verify(te, f"{QR_TEST}/certificate/Nip")["kind"] == "unknown"
    # revoked at scan time: the link no longer verifies (CERTS_OFFLINE §8 item 12)
    revoke = te.call("POST", f"/certificates/{serials['ec']}/revoke", token=access, json_body={})
    assert revoke.status_code == 204
    blocked = verify(te, good)
    assert failed(blocked) == ["status"] and blocked["certificate"]["status"] == "Blocked"
    te.sim.advance(1)
    assert verify(te, good)["certificate"]["status"] == "Revoked"
    assert te.admin("POST", "/qr/verify", json={}).status_code == 400


def test_kod1_of_an_accepted_and_an_unsent_invoice(api: Api, full_login: dict[str, str]) -> None:
    session = open_session(api, full_login["access"])
    today = warsaw_today(api)
    xml = invoice(issued=today)
    accepted = sent(session, xml, offline=True)
    verdict = verify(api, kod1(DEMO.nip, today, xml))
    assert verdict["valid"] is True and verdict["invoice"]["ksefNumber"] == accepted["ksefNumber"]
    assert verdict["invoice"]["invoicingMode"] == "Offline"
    assert failed(verify(api, kod1(DEMO.nip, today - timedelta(days=1), xml))) == ["issueDate"]
    assert failed(verify(api, kod1(DEMO.nip, today, invoice(issued=today)))) == ["invoice"]
    assert failed(verify(api, kod1(DEMO.nip, today, xml).replace(DEMO.nip, "1234567890"))) == ["format"]
