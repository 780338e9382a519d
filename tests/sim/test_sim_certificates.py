"""KSeF certificates (CERTS_OFFLINE §3, §7 items 8–11): enrollment data, CSR checks, limits, the asynchronous
enrollment, retrieval, query, revocation and expiry, and logging in with an issued certificate — over real HTTP,
every exchange checked against the OpenAPI. CSRs are built here with cryptography from the enrollment data."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from ksef_tui.sim.clock import iso
from ksef_tui.sim.seed import DEMO

from ..harness import FIXED_NOW
from .sim_support import Api, legacy_error
from .xades_flow import Holder, claims, login, nip, start, status
from .xades_signer import certificate, ec_key, person_name, rsa_key, seal_name

Factory = Callable[..., Api]

OWNER = nip(40)
ATTRIBUTES = {
    "commonName": NameOID.COMMON_NAME,
    "surname": NameOID.SURNAME,
    "givenName": NameOID.GIVEN_NAME,
    "organizationName": NameOID.ORGANIZATION_NAME,
    "organizationIdentifier": NameOID.ORGANIZATION_IDENTIFIER,
    "countryName": NameOID.COUNTRY_NAME,
    "serialNumber": NameOID.SERIAL_NUMBER,
}


def csr(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    data: dict[str, Any],
    *,
    digest: hashes.SHA224 | hashes.SHA256 | None = None,
    pss: bool = False,
) -> str:
    """A PKCS#10 request for the enrollment ``data`` (MF's RDN order), DER in Base64."""
    name = x509.Name([x509.NameAttribute(oid, str(data[key_])) for key_, oid in ATTRIBUTES.items() if data.get(key_)])
    options: dict[str, Any] = {}
    if pss:
        options["rsa_padding"] = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, digest or hashes.SHA256(), **options)
    return base64.b64encode(request.public_bytes(serialization.Encoding.DER)).decode()


def enroll_body(
    request: str, *, kind: str = "Authentication", name: str = "Certyfikat testowy", **extra: Any
) -> dict[str, Any]:
    return {"certificateName": name, "certificateType": kind, "csr": request, **extra}


@pytest.fixture
def issuer() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A qualified trust service provider of the tests (PRD trusts it through ``trusted_issuers``)."""
    key = rsa_key(3)
    return key, certificate(key, seal_name(nip(90), "Kwalifikowany Dostawca"), now=FIXED_NOW, ca=True)


@pytest.fixture
def prd(make_client: Factory, issuer: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> Api:
    return make_client(trusted_issuers=[issuer[1]])


def qualified(issuer: tuple[rsa.RSAPrivateKey, x509.Certificate], serial: str = f"NIP-{OWNER}") -> Holder:
    key = rsa_key(1)
    return Holder(key, certificate(key, person_name(serial), now=FIXED_NOW, issuer=issuer))


def enrollment_data(api: Api, access: str) -> dict[str, Any]:
    response = api.call("GET", "/certificates/enrollments/data", token=access)
    assert response.status_code == 200, response.text
    return dict(response.json())


def issue(api: Api, access: str, body: dict[str, Any]) -> dict[str, Any]:
    """Enroll and wait; returns the final enrollment status."""
    response = api.call("POST", "/certificates/enrollments", token=access, json_body=body)
    assert response.status_code == 202, response.text
    reference = response.json()["referenceNumber"]
    first = api.call("GET", f"/certificates/enrollments/{reference}", token=access).json()
    assert first["status"] == {"code": 100, "description": "Wniosek przyjęty do realizacji"}
    return api.until(
        lambda: dict(api.call("GET", f"/certificates/enrollments/{reference}", token=access).json()),
        lambda body: body["status"]["code"] != 100,
    )


def retrieve(api: Api, access: str, serial: str) -> x509.Certificate:
    response = api.call(
        "POST", "/certificates/retrieve", token=access, json_body={"certificateSerialNumbers": [serial]}
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()["certificates"]
    assert item["certificateSerialNumber"] == serial
    return x509.load_der_x509_certificate(base64.b64decode(item["certificate"]))


def listed(api: Api, access: str, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    response = api.call("POST", "/certificates/query", token=access, json_body=body or {}, params=params or None)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_token_logins_have_no_enrollment_data(prd: Api) -> None:
    tokens = prd.login(prd.state.named_tokens["full"])
    data = prd.call("GET", "/certificates/enrollments/data", token=tokens["access"])
    assert legacy_error(data)[:2] == (
        25001,
        "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia.",
    )
    request = csr(ec_key(), {"commonName": "Demo", "countryName": "PL"})
    enroll = prd.call("POST", "/certificates/enrollments", token=tokens["access"], json_body=enroll_body(request))
    assert legacy_error(enroll)[0] == 25002
    limits = prd.call("GET", "/certificates/limits", token=tokens["access"]).json()
    assert limits == {
        "canRequest": True,
        "enrollment": {"remaining": 300, "limit": 300},
        "certificate": {"remaining": 100, "limit": 100},
    }
    revoke = prd.call("POST", "/certificates/0123456789ABCDEF/revoke", token=tokens["access"], json_body={})
    assert revoke.status_code == 403 and revoke.json()["reasonCode"] == "auth-method-not-allowed"


def test_enroll_retrieve_and_log_in_with_the_ksef_certificate(prd: Api, issuer: Any) -> None:
    tokens = login(prd, qualified(issuer), OWNER)
    data = enrollment_data(prd, tokens["access"])
    assert data == {
        "commonName": "Jan Kowalski",
        "countryName": "PL",
        "givenName": "Jan",
        "surname": "Kowalski",
        "serialNumber": f"TINPL-{OWNER}",  # the login certificate said NIP-…: normalised
    }
    key = ec_key()
    valid_from = FIXED_NOW + timedelta(hours=1)
    final = issue(prd, tokens["access"], enroll_body(csr(key, data), validFrom=iso(valid_from)))
    assert final["status"] == {"code": 200, "description": "Wniosek obsłużony (certyfikat wygenerowany)"}
    serial = final["certificateSerialNumber"]
    assert len(serial) == 16 and serial == serial.upper()
    issued = retrieve(prd, tokens["access"], serial)
    assert issued.serial_number == int(serial, 16)
    assert issued.issuer == prd.state.certificates.ca.certificate.subject
    assert issued.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert issued.not_valid_before_utc == valid_from
    assert issued.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == f"TINPL-{OWNER}"
    ksef = Holder(key, issued)
    early = status(prd, ksef, OWNER)
    assert (early["status"]["code"], early["status"]["details"]) == (460, ["Nieważny certyfikat"])  # not valid yet
    prd.sim.advance(3600)
    final_status = status(prd, ksef, OWNER)
    assert final_status["status"]["code"] == 200  # a KSeF certificate logs in on PRD
    assert final_status["authenticationMethod"] == "InternalCertificate"
    assert final_status["authenticationMethodInfo"] == {
        "category": "XadesSignature",
        "code": "xades.ksef-certificate",
        "displayName": "Certyfikat KSeF",
    }
    again = login(prd, ksef, OWNER)
    assert claims(again["access"])["aum"] == "InternalCertificate"
    (row,) = listed(prd, again["access"])["certificates"]
    assert row["certificateSerialNumber"] == serial and row["status"] == "Active"
    assert row["subjectIdentifier"] == {"type": "Nip", "value": OWNER}
    assert row["commonName"] == "Jan Kowalski" and row["lastUseDate"] is not None
    # enrollment data after a KSeF-certificate login: the same DN
    assert enrollment_data(prd, again["access"]) == data


def test_revoked_certificate_is_refused(prd: Api, issuer: Any) -> None:
    tokens = login(prd, qualified(issuer), OWNER)
    key = ec_key()
    serial = issue(prd, tokens["access"], enroll_body(csr(key, enrollment_data(prd, tokens["access"]))))[
        "certificateSerialNumber"
    ]
    ksef = Holder(key, retrieve(prd, tokens["access"], serial))
    revoke = prd.call(
        "POST",
        f"/certificates/{serial}/revoke",
        token=tokens["access"],
        json_body={"revocationReason": "KeyCompromise"},
    )
    assert revoke.status_code == 204
    assert listed(prd, tokens["access"])["certificates"][0]["status"] == "Blocked"
    again = prd.call("POST", f"/certificates/{serial}/revoke", token=tokens["access"], json_body={})
    assert legacy_error(again)[0] == 25009
    prd.sim.advance(1)
    assert listed(prd, tokens["access"], {"status": "Revoked"})["certificates"][0]["certificateSerialNumber"] == serial
    refused = status(prd, ksef, OWNER)
    assert (refused["status"]["code"], refused["status"]["details"]) == (460, ["Certyfikat odwołany"])
    unknown = prd.call("POST", "/certificates/0123456789ABCDEF/revoke", token=tokens["access"], json_body={})
    assert legacy_error(unknown)[:2] == (25008, "Certyfikat o podanym numerze seryjnym nie istnieje.")


def test_expiry_and_offline_certificates_on_te(make_client: Factory) -> None:
    te = make_client(environment="TE")
    holder = Holder.make(rsa_key(0), seal_name(DEMO.nip), now=FIXED_NOW)
    tokens = login(te, holder, DEMO.nip)
    data = enrollment_data(te, tokens["access"])
    limits = {"enrollment": {"maxEnrollments": 5}, "certificate": {"maxCertificates": 2}}
    assert (
        te.call("POST", "/testdata/limits/subject/certificate", token=tokens["access"], json_body=limits).status_code
        == 200
    )
    assert te.call("GET", "/limits/subject", token=tokens["access"]).json() == limits
    assert data["organizationIdentifier"] == f"VATPL-{DEMO.nip}" and "serialNumber" not in data
    key, offline_key = ec_key(), ec_key()
    serial = issue(te, tokens["access"], enroll_body(csr(key, data)))["certificateSerialNumber"]
    offline = issue(te, tokens["access"], enroll_body(csr(offline_key, data), kind="Offline", name="Podpis KOD II"))
    offline_cert = retrieve(te, tokens["access"], offline["certificateSerialNumber"])
    assert offline_cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    refused = status(te, Holder(offline_key, offline_cert), DEMO.nip)
    assert (refused["status"]["code"], refused["status"]["details"]) == (460, ["Niepoprawny certyfikat"])
    te.state.config.offline_certificate_login = "21115"  # the other reading of an open point (§8.3)
    assert legacy_error(start(te, Holder(offline_key, offline_cert), DEMO.nip))[0] == 21115
    ksef = Holder(key, retrieve(te, tokens["access"], serial))
    chained = status(te, ksef, DEMO.nip, params={"verifyCertificateChain": "true"})  # the simulator's CA is trusted
    assert chained["status"]["code"] == 200
    path = f"/testdata/certificates/{serial}"
    later = te.call("PUT", path, token=tokens["access"], json_body={"validTo": iso(FIXED_NOW + timedelta(days=3650))})
    assert legacy_error(later)[0] == 21405
    assert te.call("PUT", path, token=tokens["access"], json_body={"validTo": iso(FIXED_NOW)}).status_code == 200
    assert listed(te, tokens["access"], {"type": "Authentication"})["certificates"][0]["status"] == "Expired"
    expired = status(te, ksef, DEMO.nip)
    assert (expired["status"]["code"], expired["status"]["details"]) == (460, ["Nieważny certyfikat"])
    missing = te.call(
        "PUT", "/testdata/certificates/0123456789ABCDEF", token=tokens["access"], json_body={"validTo": iso(FIXED_NOW)}
    )
    assert legacy_error(missing)[0] == 25008
    assert te.call("DELETE", "/testdata/limits/subject/certificate", token=tokens["access"]).status_code == 200
    restored = te.call("GET", "/limits/subject", token=tokens["access"]).json()
    assert restored == {"enrollment": {"maxEnrollments": 300}, "certificate": {"maxCertificates": 100}}


def test_csr_checks(prd: Api, issuer: Any) -> None:
    tokens = login(prd, qualified(issuer), OWNER)
    access = tokens["access"]
    data = enrollment_data(prd, access)

    def refused(request: str) -> int:
        response = prd.call("POST", "/certificates/enrollments", token=access, json_body=enroll_body(request))
        return legacy_error(response)[0]

    assert refused(base64.b64encode(b"not a CSR").decode()) == 25004
    assert refused(csr(ec_key(), {**data, "commonName": "Ktoś Inny"})) == 25003
    assert refused(csr(rsa_key(9, 1024), data)) == 25010
    assert refused(csr(ec_key(ec.SECP384R1()), data)) == 25010
    assert refused(csr(ec_key(), data, digest=hashes.SHA224())) == 25011
    good = base64.b64decode(csr(ec_key(), data))
    assert refused(base64.b64encode(good[:-4] + bytes(4)).decode()) == 25004  # the signature broken
    assert (
        prd.call(
            "POST", "/certificates/enrollments", token=access, json_body=enroll_body(csr(rsa_key(0), data, pss=True))
        ).status_code
        == 202
    )
    bad_name = prd.call(
        "POST",
        "/certificates/enrollments",
        token=access,
        json_body=enroll_body(csr(ec_key(), data), name="x!"),
        bad_request=True,
    )
    assert legacy_error(bad_name)[0] == 21405
    unknown = prd.call("GET", "/certificates/enrollments/20260515-EH-0000000000-0000000000-00", token=access)
    assert legacy_error(unknown)[0] == 25005
    # an enrollment's status is kept 30 days
    reference = prd.call("POST", "/certificates/enrollments", token=access, json_body=enroll_body(csr(ec_key(), data)))
    prd.sim.advance(31 * 86_400)
    later = login(prd, qualified(issuer), OWNER)
    gone = prd.call("GET", f"/certificates/enrollments/{reference.json()['referenceNumber']}", token=later["access"])
    assert gone.status_code == 410


def test_limits_and_a_key_certified_for_another_subject(make_client: Factory, issuer: Any) -> None:
    prd = make_client(
        trusted_issuers=[issuer[1]],
        enrollment_limits={"Nip": 2, "Pesel": 12, "Fingerprint": 12},
        certificate_limits={"Nip": 1, "Pesel": 6, "Fingerprint": 6},
    )
    tokens = login(prd, qualified(issuer), OWNER)
    access = tokens["access"]
    data = enrollment_data(prd, access)
    key = ec_key()
    assert issue(prd, access, enroll_body(csr(key, data)))["status"]["code"] == 200
    limits = prd.call("GET", "/certificates/limits", token=access).json()
    assert limits == {
        "canRequest": False,
        "enrollment": {"remaining": 1, "limit": 2},
        "certificate": {"remaining": 0, "limit": 1},
    }
    over = prd.call("POST", "/certificates/enrollments", token=access, json_body=enroll_body(csr(ec_key(), data)))
    assert legacy_error(over)[:2] == (25007, "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.")
    # the same public key for another subject is refused when the request is processed
    other = nip(41)
    other_tokens = login(prd, qualified(issuer, f"TINPL-{other}"), other)
    taken = issue(prd, other_tokens["access"], enroll_body(csr(key, enrollment_data(prd, other_tokens["access"]))))
    assert taken["status"] == {
        "code": 400,
        "description": "Wniosek odrzucony",
        "details": ["Klucz publiczny został już certyfikowany przez inny podmiot."],
    }
    serial = listed(prd, access)["certificates"][0]["certificateSerialNumber"]
    assert prd.call("POST", f"/certificates/{serial}/revoke", token=access).status_code == 204
    second = issue(prd, access, enroll_body(csr(ec_key(), data)))  # revoking freed a certificate slot
    assert second["status"]["code"] == 200
    revoked = prd.call("POST", f"/certificates/{second['certificateSerialNumber']}/revoke", token=access)
    assert revoked.status_code == 204
    exhausted = prd.call("POST", "/certificates/enrollments", token=access, json_body=enroll_body(csr(ec_key(), data)))
    assert legacy_error(exhausted)[0] == 25006  # but no request: two were made


def test_query_pages_filters_and_order(make_client: Factory) -> None:
    te = make_client(environment="TE")
    tokens = login(te, Holder.make(rsa_key(0), seal_name(DEMO.nip), now=FIXED_NOW), DEMO.nip)
    access = tokens["access"]
    data = enrollment_data(te, access)
    for index in range(11):
        kind = "Offline" if index % 4 == 0 else "Authentication"
        body = enroll_body(csr(ec_key(), data), kind=kind, name=f"Certyfikat numer {index:02d}")
        assert te.call("POST", "/certificates/enrollments", token=access, json_body=body).status_code == 202
        te.sim.advance(1)
    first = listed(te, access, pageSize=10, pageOffset=0)
    assert len(first["certificates"]) == 10 and first["hasMore"] is True
    second = listed(te, access, pageSize=10, pageOffset=1)
    assert len(second["certificates"]) == 1 and second["hasMore"] is False
    dates = [row["requestDate"] for row in first["certificates"] + second["certificates"]]
    assert dates == sorted(dates, reverse=True)
    assert first["certificates"][0]["name"] == "Certyfikat numer 10"
    assert len(listed(te, access, {"type": "Offline"})["certificates"]) == 3
    assert [r["name"] for r in listed(te, access, {"name": "NUMER 07"})["certificates"]] == ["Certyfikat numer 07"]
    serial = second["certificates"][0]["certificateSerialNumber"]
    assert [
        r["certificateSerialNumber"] for r in listed(te, access, {"certificateSerialNumber": serial})["certificates"]
    ] == [serial]
    assert listed(te, access, {"expiresAfter": iso(FIXED_NOW + timedelta(days=3650))})["certificates"] == []
    small = te.call("POST", "/certificates/query", token=access, json_body={}, params={"pageSize": 5}, bad_request=True)
    assert legacy_error(small)[0] == 21405
    too_many = te.call(
        "POST",
        "/certificates/retrieve",
        token=access,
        json_body={"certificateSerialNumbers": [serial] * 11},
        bad_request=True,
    )
    assert legacy_error(too_many)[0] == 21405
