"""KSeF certificates (CERTS_OFFLINE §3): the CSR checked with cryptography (subject order and string types, key,
signature), each call against a scripted KSeF, and the whole life of a certificate against the simulator over
real HTTP: XAdES login (RSA and EC), request, issue, login with the new certificate, list, revoke."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from ksef_tui.errors import Category, report
from ksef_tui.ksef import certs
from ksef_tui.ksef.certs import AUTHENTICATION, OFFLINE, CertificateFilter, EnrollmentData, make_csr, new_key
from ksef_tui.ksef.errors import (
    CertificateRefused,
    CertificateRequestRefused,
    EnrollmentFailed,
    EnrollmentPending,
    TokenLoginCannotEnroll,
)
from ksef_tui.ksef.xades import CertificateIdentity, SigningCredential

from ..conftest import Sim, make_api
from .certkit import (
    answer,
    certificate,
    ec_key,
    ksef_error,
    no_sleep,
    person_name,
    rsa_key,
    scripted_api,
    seal_name,
    sim_serves,
    xades_api,
)

PERSON = EnrollmentData(
    common_name="Jan Kowalski",
    country_name="PL",
    given_name="Jan",
    surname="Kowalski",
    serial_number="TINPL-5265877635",
)
SEAL = EnrollmentData(
    common_name="Firma Testowa sp. z o.o.",
    country_name="PL",
    organization_name="Firma Testowa sp. z o.o.",
    organization_identifier="VATPL-5265877635",
    unique_identifier="a1b2c3",
)
SERIAL = "0123456789ABCDEF"


# --------------------------------------------------------------------------------------------- the CSR


def attributes(csr: x509.CertificateSigningRequest) -> list[tuple[str, str, _ASN1Type]]:
    result = []
    for rdn in csr.subject.rdns:
        (attribute,) = list(rdn)  # one attribute per RDN
        result.append((attribute.oid.dotted_string, str(attribute.value), attribute._type))
    return result


def test_a_person_csr_has_mf_order_and_string_types_ec_p256() -> None:
    key = new_key()
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    csr = x509.load_der_x509_csr(make_csr(PERSON, key))
    assert attributes(csr) == [
        ("2.5.4.3", "Jan Kowalski", _ASN1Type.UTF8String),
        ("2.5.4.4", "Kowalski", _ASN1Type.UTF8String),
        ("2.5.4.42", "Jan", _ASN1Type.UTF8String),
        ("2.5.4.6", "PL", _ASN1Type.PrintableString),
        ("2.5.4.5", "TINPL-5265877635", _ASN1Type.PrintableString),
    ]
    assert csr.is_signature_valid
    assert csr.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    public = csr.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert public.public_numbers() == key.public_key().public_numbers()


def test_a_seal_csr_with_rsa_2048_signed_pss() -> None:
    key = new_key("rsa")
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    der = make_csr(SEAL, key)
    csr = x509.load_der_x509_csr(der)
    assert attributes(csr) == [
        ("2.5.4.3", "Firma Testowa sp. z o.o.", _ASN1Type.UTF8String),
        ("2.5.4.10", "Firma Testowa sp. z o.o.", _ASN1Type.UTF8String),
        ("2.5.4.97", "VATPL-5265877635", _ASN1Type.UTF8String),
        ("2.5.4.6", "PL", _ASN1Type.PrintableString),
        ("2.5.4.45", "a1b2c3", _ASN1Type.UTF8String),
    ]
    assert csr.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS
    public = csr.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    public.verify(
        csr.signature,
        csr.tbs_certrequest_bytes,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    # what KSeF receives: base64 of the DER
    assert x509.load_der_x509_csr(base64.b64decode(base64.b64encode(der))).subject == csr.subject


@pytest.mark.parametrize("key", [rsa_key(3072), ec.generate_private_key(ec.SECP384R1())], ids=["rsa-3072", "ec-p384"])
def test_keys_ksef_does_not_certify_are_refused(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(ValueError, match="P-256 and RSA-2048"):
        make_csr(PERSON, key)
    with pytest.raises(ValueError):
        new_key("dsa")


def test_enrollment_data_reads_every_field_and_skips_empty_ones() -> None:
    data = EnrollmentData.from_json(
        {
            "commonName": "Jan Kowalski",
            "countryName": "PL",
            "givenName": "Jan",
            "surname": "Kowalski",
            "serialNumber": "TINPL-5265877635",
            "organizationName": None,
            "uniqueIdentifier": "",
        }
    )
    assert data == PERSON
    assert [a.oid for a in data.name()] == [
        NameOID.COMMON_NAME,
        NameOID.SURNAME,
        NameOID.GIVEN_NAME,
        NameOID.COUNTRY_NAME,
        NameOID.SERIAL_NUMBER,
    ]


# ------------------------------------------------------------------------------- calls, scripted KSeF


async def test_limits_request_status_and_retrieve() -> None:
    key = new_key()
    issued = certificate(key, person_name(), days=730)
    polls: list[int] = []
    seen: list[httpx.Request] = []

    def ksef(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path.removeprefix("/v2")
        if path == "/certificates/limits":
            return answer(
                200,
                {
                    "canRequest": True,
                    "enrollment": {"remaining": 11, "limit": 12},
                    "certificate": {"remaining": 5, "limit": 6},
                },
            )
        if path == "/certificates/enrollments":
            return answer(
                202, {"referenceNumber": "20260515-CE-0000000001-0000000001-01", "timestamp": "2026-05-15T10:00:00Z"}
            )
        if path.startswith("/certificates/enrollments/"):
            polls.append(1)
            done = len(polls) >= 3
            status = (
                {"code": 200, "description": "Wniosek obsłużony (certyfikat wygenerowany)"}
                if done
                else {"code": 100, "description": "Wniosek przyjęty do realizacji"}
            )
            body = {"requestDate": "2026-05-15T10:00:00Z", "status": status}
            return answer(200, {**body, "certificateSerialNumber": SERIAL} if done else body)
        if path == "/certificates/retrieve":
            wanted = json.loads(request.content)["certificateSerialNumbers"]
            return answer(
                200,
                {
                    "certificates": [
                        {
                            "certificate": base64.b64encode(issued.public_bytes(serialization.Encoding.DER)).decode(),
                            "certificateName": "Mój certyfikat",
                            "certificateSerialNumber": s,
                            "certificateType": "Authentication",
                        }
                        for s in wanted
                    ]
                },
            )
        return answer(404, {"status": 404})

    api = scripted_api(ksef)
    limits = await certs.limits(api)
    assert limits == certs.CertificateLimits(True, 11, 12, 5, 6)
    start = datetime(2026, 5, 16, tzinfo=UTC)
    reference = await certs.enroll(api, "Mój certyfikat", AUTHENTICATION, make_csr(PERSON, key), valid_from=start)
    sent = json.loads(seen[-1].content)
    assert sent["certificateName"] == "Mój certyfikat" and sent["certificateType"] == "Authentication"
    assert sent["validFrom"] == "2026-05-16T00:00:00.000+00:00"
    assert x509.load_der_x509_csr(base64.b64decode(sent["csr"])).is_signature_valid
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    assert await certs.wait_for_enrollment(api, reference, first_wait=0.5, max_delay=1.5, sleep=sleep) == SERIAL
    assert waits == [0.5, 1.0, 1.5]
    got = await certs.retrieve(api, [f"{n:016X}" for n in range(12)])
    assert len(got) == 12
    batches = [json.loads(r.content)["certificateSerialNumbers"] for r in seen if r.url.path.endswith("/retrieve")]
    assert [len(b) for b in batches] == [10, 2]
    credential = got[0].credential(key)
    assert isinstance(credential, SigningCredential)
    assert credential.identity == CertificateIdentity("Nip", "5265877635")
    with pytest.raises(ValueError):
        await certs.enroll(api, "Mój certyfikat", "Signature", b"")


@pytest.mark.parametrize(
    ("status", "details", "error"),
    [
        (
            {"code": 400, "description": "Wniosek odrzucony"},
            ["Klucz publiczny został już certyfikowany przez inny podmiot."],
            EnrollmentFailed,
        ),
        ({"code": 100, "description": "Wniosek przyjęty do realizacji"}, [], EnrollmentPending),
    ],
)
async def test_a_refused_or_slow_request(status: dict[str, object], details: list[str], error: type[Exception]) -> None:
    def ksef(request: httpx.Request) -> httpx.Response:
        return answer(200, {"requestDate": "2026-05-15T10:00:00Z", "status": {**status, "details": details}})

    with pytest.raises(error) as caught:
        await certs.wait_for_enrollment(scripted_api(ksef), "ref", max_wait=3, sleep=no_sleep)
    shown = report(caught.value)
    assert shown.hint and (not details or details[0] in shown.message)


async def test_a_token_login_cannot_request_certificates() -> None:
    def ksef(request: httpx.Request) -> httpx.Response:
        return ksef_error(25001, "Metoda uwierzytelnienia nie pozwala na wnioskowanie o certyfikat.")

    with pytest.raises(TokenLoginCannotEnroll) as caught:
        await certs.enrollment_data(scripted_api(ksef))
    assert caught.value.category is Category.AUTH
    assert "not with a KSeF token" in report(caught.value).message


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (25003, "subject"),
        (25006, "enrollment_limit"),
        (25007, "certificate_limit"),
        (25009, "already_revoked"),
        (25010, "key"),
    ],
)
async def test_certificate_refusals_name_their_reason(code: int, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def ksef(request: httpx.Request) -> httpx.Response:
        return ksef_error(code, "Błąd.", "Szczegół od KSeF.")

    api = scripted_api(ksef)
    with pytest.raises(CertificateRequestRefused) as caught:
        if reason == "already_revoked":
            await certs.revoke(api, SERIAL)
        else:
            await certs.enroll(api, "Mój certyfikat", OFFLINE, make_csr(PERSON, new_key()))
    error = caught.value
    assert error.reason == reason and error.key == f"ksef.err.certs.{reason}" and error.has_code(code)
    assert "Szczegół od KSeF." in report(error).message
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    assert "Szczegół od KSeF." in report(error).message


async def test_query_pages_and_filters() -> None:
    requests: list[httpx.Request] = []

    def item(n: int) -> dict[str, object]:
        return {
            "certificateSerialNumber": f"{n:016X}",
            "name": f"cert {n}",
            "type": "Offline",
            "commonName": "Jan",
            "status": "Active",
            "subjectIdentifier": {"type": "Pesel", "value": "85031200011"},
            "validFrom": "2026-05-15T10:00:00Z",
            "validTo": "2028-05-15T10:00:00Z",
            "requestDate": "2026-05-15T09:59:00.1234567+00:00",
        }

    def ksef(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        offset = int(request.url.params["pageOffset"])
        return answer(
            200,
            {
                "certificates": [item(offset * 2), item(offset * 2 + 1)] if offset < 2 else [item(9)],
                "hasMore": offset < 2,
            },
        )

    api = scripted_api(ksef)
    filters = CertificateFilter(
        status="Active", certificate_type=OFFLINE, expires_after=datetime(2027, 1, 1, tzinfo=UTC)
    )
    first = await certs.query(api, filters, page_size=10)
    assert first.has_more and [c.serial for c in first.certificates] == [f"{0:016X}", f"{1:016X}"]
    assert json.loads(requests[0].content) == {
        "type": "Offline",
        "status": "Active",
        "expiresAfter": "2027-01-01T00:00:00.000+00:00",
    }
    assert requests[0].url.params["pageSize"] == "10"
    everything = await certs.query_all(api, filters)
    assert len(everything) == 5 and everything[-1].serial == f"{9:016X}"
    assert everything[0].subject_type == "Pesel" and everything[0].last_use is None
    assert everything[0].valid_to - everything[0].valid_from == timedelta(days=731)


# ---------------------------------------------------------------------------- against the simulator

SIM_CERTIFICATES = sim_serves(
    ("POST", "/auth/xades-signature"),
    ("GET", "/certificates/limits"),
    ("GET", "/certificates/enrollments/data"),
    ("POST", "/certificates/enrollments"),
    ("GET", "/certificates/enrollments/{referenceNumber}"),
    ("POST", "/certificates/retrieve"),
    ("POST", "/certificates/query"),
    ("POST", "/certificates/{certificateSerialNumber}/revoke"),
)
needs_sim = pytest.mark.skipif(
    not SIM_CERTIFICATES,
    reason="the simulator has no XAdES login and /certificates/* endpoints yet (ksef_tui/sim, issue 11 part 1)",
)


def te_sim(make_sim: Callable[..., Sim]) -> Sim:
    """A TEST-environment simulator (self-signed certificates log in) with short delays."""
    return make_sim(environment="TE", certificate_delay=0.2, certificate_revocation_delay=0.2, permission_delay=0.1)


@needs_sim
@pytest.mark.parametrize("algorithm", ["rsa", "ec"])
async def test_xades_login_with_a_self_signed_certificate(make_sim: Callable[..., Sim], algorithm: str) -> None:
    sim = te_sim(make_sim)
    key = rsa_key() if algorithm == "rsa" else ec_key()
    credential = SigningCredential.create(certificate(key, person_name(f"TINPL-{sim.nip}")), key)
    async with xades_api(sim.base_url, credential, sim.nip) as api:
        limits = await certs.limits(api)
        assert limits.can_request
        assert api.auth.authentications == 1
        # the session is the shared one: a second call reuses it
        await certs.limits(api)
        assert api.auth.authentications == 1


@needs_sim
async def test_a_seal_logs_in_too(make_sim: Callable[..., Sim]) -> None:
    sim = te_sim(make_sim)
    key = ec_key()
    credential = SigningCredential.create(certificate(key, seal_name(sim.nip)), key)
    async with xades_api(sim.base_url, credential, sim.nip) as api:
        data = await certs.enrollment_data(api)
    assert data.organization_identifier == f"VATPL-{sim.nip}" and data.given_name is None


@needs_sim
async def test_the_life_of_a_ksef_certificate(make_sim: Callable[..., Sim]) -> None:
    sim = te_sim(make_sim)
    login_key = rsa_key()
    qualified = SigningCredential.create(certificate(login_key, person_name(f"TINPL-{sim.nip}")), login_key)
    async with xades_api(sim.base_url, qualified, sim.nip) as api:
        data = await certs.enrollment_data(api)
        assert data.serial_number == f"TINPL-{sim.nip}" and data.common_name == "Jan Kowalski"
        key = new_key()
        reference = await certs.enroll(api, "Certyfikat do logowania", AUTHENTICATION, make_csr(data, key))
        serial = await certs.wait_for_enrollment(api, reference, first_wait=0.1)
        assert len(serial) == 16
        (issued,) = await certs.retrieve(api, [serial])
        assert issued.serial == serial and issued.type == AUTHENTICATION
        ksef_certificate = issued.credential(key)
        assert ksef_certificate.identity == CertificateIdentity("Nip", sim.nip)
        listed = await certs.query_all(api, CertificateFilter(serial=serial))
        assert [(c.serial, c.type, c.status) for c in listed] == [(serial, AUTHENTICATION, "Active")]
        assert listed[0].subject_type == "Nip" and listed[0].subject_value == sim.nip

    # the new certificate logs in, its chain trusted (the simulator's CA stands for KSeF's)
    async with xades_api(sim.base_url, ksef_certificate, sim.nip, verify_chain=True) as api:
        assert (await certs.limits(api)).can_request
        await certs.revoke(api, serial, "Superseded")
        (revoked,) = await certs.query_all(api, CertificateFilter(serial=serial))
        assert revoked.status in {"Blocked", "Revoked"}

    # revoked: the login ends in status 460
    async with xades_api(sim.base_url, ksef_certificate, sim.nip) as api:
        with pytest.raises(CertificateRefused) as caught:
            await certs.limits(api)
    assert caught.value.reason in {"revoked", "suspended"} and caught.value.status.code == 460


@needs_sim
async def test_after_a_token_login_no_certificate_can_be_requested(make_sim: Callable[..., Sim]) -> None:
    sim = te_sim(make_sim)
    async with make_api(sim.base_url, sim.tokens["full"], sim.nip) as api:
        with pytest.raises(TokenLoginCannotEnroll):
            await certs.enrollment_data(api)
        with pytest.raises(TokenLoginCannotEnroll):
            await certs.enroll(api, "Certyfikat do logowania", AUTHENTICATION, make_csr(PERSON, new_key()))
