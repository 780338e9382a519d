"""KSeF certificates (CERTS_OFFLINE §3, §7 items 8–11): limits, enrollment data, enrollments and their status,
retrieval, query and revocation, all acting on the authenticated subject (who signed the XAdES login; for a
token login, the token's author), whatever the login context.

Only a XAdES login has enrollment data (a token login: 25001; enrolling after one: 25002). A CSR is checked in
this order: readable PKCS#10 (25004), RSA-2048 or EC P-256 key (25010), RSA PKCS#1 v1.5 / PSS or ECDSA with
SHA-1/256/384/512 (25011), its own signature (25004), its subject equal to the enrollment data whatever the
order and string types (25003), then the limits (25006 requests, 25007 active certificates). Revoking is the
owner's (its own identifier or a NIP–PESEL-linked one), not after a token login (403 auth-method-not-allowed).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import SignatureAlgorithmOID
from starlette.responses import Response

from ksef_tui.sim.auth import AuthOp
from ksef_tui.sim.certificates import (
    CERTIFICATE_STATUSES,
    CERTIFICATE_TYPES,
    ENROLLMENT_DESCRIPTIONS,
    REVOCATION_REASONS,
    KsefCertificate,
)
from ksef_tui.sim.clock import iso
from ksef_tui.sim.errors import UNREADABLE, VALIDATION, ApiError, HttpProblem, gone
from ksef_tui.sim.http import (
    Ctx,
    Endpoint,
    JsonObject,
    need_enum,
    need_int,
    need_str,
    no_content,
    ok,
    opt_enum,
    opt_list,
    opt_obj,
    opt_str,
    query_int,
)
from ksef_tui.sim.identity import Identity, data_pairs, enrollment_data, name_pairs
from ksef_tui.sim.routes_invoices import parse_api_datetime

SERIAL = re.compile(r"^[0-9A-F]{16}$")
NAME = re.compile(r"^[a-zA-Z0-9_\- ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]+$")
CSR_ALGORITHMS = {
    SignatureAlgorithmOID.RSA_WITH_SHA1,
    SignatureAlgorithmOID.RSA_WITH_SHA256,
    SignatureAlgorithmOID.RSA_WITH_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512,
    SignatureAlgorithmOID.RSASSA_PSS,
    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}
CSR_HASHES = ("sha1", "sha256", "sha384", "sha512")


def _op(ctx: Ctx) -> AuthOp:
    return ctx.state.auths[ctx.bearer_or_fail().arn]


def _me(ctx: Ctx) -> Identity:
    return ctx.state.auths.subject_of(_op(ctx))


def _data(ctx: Ctx, code: int) -> dict[str, str]:
    """The enrollment data of a XAdES login; ``code`` (25001 or 25002) for any other login."""
    op = _op(ctx)
    if op.certificate is None or op.subject is None:
        raise ApiError(code)
    return enrollment_data(x509.load_der_x509_certificate(op.certificate), op.subject)


# ------------------------------------------------------------------ limits and enrollment
def limits(ctx: Ctx) -> Response:
    enroll_limit, made, cert_limit, active = ctx.state.certificates.limits(_me(ctx))
    enrollment = {"limit": enroll_limit, "remaining": max(enroll_limit - made, 0)}
    certificate = {"limit": cert_limit, "remaining": max(cert_limit - active, 0)}
    can = enrollment["remaining"] > 0 and certificate["remaining"] > 0
    return ok({"canRequest": can, "enrollment": enrollment, "certificate": certificate})


def subject_limits(ctx: Ctx) -> Response:
    """GET /limits/subject: the certificate limits in force for the authenticated subject."""
    enroll_limit, _, cert_limit, _ = ctx.state.certificates.limits(_me(ctx))
    return ok({"enrollment": {"maxEnrollments": enroll_limit}, "certificate": {"maxCertificates": cert_limit}})


def set_subject_limits(ctx: Ctx) -> Response:
    """TE: POST /testdata/limits/subject/certificate changes the subject's limits (DELETE restores them)."""
    body = ctx.json()
    values = []
    for key, name in (("enrollment", "maxEnrollments"), ("certificate", "maxCertificates")):
        part = opt_obj(body, key)
        value = None if part is None or part.get(name) is None else need_int(part, name, f"{key}.")
        if value is not None and value < 0:
            raise ApiError(VALIDATION, f"Pole '{key}.{name}' nie może być ujemne.")
        values.append(value)
    ctx.state.certificates.overrides[_me(ctx)] = (values[0], values[1])
    return Response(status_code=200)


def reset_subject_limits(ctx: Ctx) -> Response:
    ctx.state.certificates.overrides.pop(_me(ctx), None)
    return Response(status_code=200)


def enrollment_data_endpoint(ctx: Ctx) -> Response:
    return ok(_data(ctx, 25001))


def _read_csr(text: str) -> x509.CertificateSigningRequest:
    try:
        return x509.load_der_x509_csr(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(25004, "Nie można odczytać wniosku PKCS#10 (DER, Base64).") from exc


def _check_csr(csr: x509.CertificateSigningRequest) -> None:
    key = csr.public_key()
    rsa_ok = isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    ec_ok = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    if not (rsa_ok or ec_ok):
        raise ApiError(25010, "Dozwolone klucze: RSA 2048 bitów albo EC P-256.")
    try:
        digest = csr.signature_hash_algorithm
    except Exception as exc:  # cryptography: UnsupportedAlgorithm for an unknown signature algorithm
        raise ApiError(25011) from exc
    if csr.signature_algorithm_oid not in CSR_ALGORITHMS or digest is None or digest.name not in CSR_HASHES:
        raise ApiError(25011)
    if not csr.is_signature_valid:
        raise ApiError(25004, "Podpis wniosku PKCS#10 jest nieprawidłowy.")


def enroll(ctx: Ctx) -> Response:
    body = ctx.json()
    name = need_str(body, "certificateName")
    kind = need_enum(body, "certificateType", CERTIFICATE_TYPES)
    csr_text = need_str(body, "csr")
    valid_from_raw = body.get("validFrom")
    if not 5 <= len(name) <= 100 or not NAME.match(name):
        raise ApiError(VALIDATION, "Pole 'certificateName' musi mieć od 5 do 100 liter, cyfr, spacji, '_' lub '-'.")
    try:
        base64.b64decode(csr_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(UNREADABLE, "Pole 'csr' nie jest poprawnym ciągiem Base64.") from exc
    valid_from = None if valid_from_raw is None else parse_api_datetime(valid_from_raw, "validFrom")
    if valid_from is not None and valid_from < ctx.now - timedelta(minutes=5):
        raise ApiError(VALIDATION, "Pole 'validFrom' nie może wskazywać przeszłości.")
    data = _data(ctx, 25002)
    csr = _read_csr(csr_text)
    _check_csr(csr)
    if name_pairs(csr.subject) != data_pairs(data):
        raise ApiError(25003)
    me = _me(ctx)
    enroll_limit, made, cert_limit, active = ctx.state.certificates.limits(me)
    if made >= enroll_limit:
        raise ApiError(25006)
    if active >= cert_limit:
        raise ApiError(25007)
    enrollment = ctx.state.certificates.enroll(me, name, kind, csr, valid_from)
    return ok({"referenceNumber": enrollment.reference, "timestamp": iso(enrollment.requested)}, 202)


def enrollment_status(ctx: Ctx) -> Response:
    ref = ctx.params["referenceNumber"]
    enrollment = ctx.state.certificates.enrollments.get(ref)
    if enrollment is None or enrollment.subject != _me(ctx):
        raise ApiError(25005)
    if ctx.now > enrollment.requested + timedelta(seconds=ctx.state.config.operation_retention):
        raise gone()
    status: dict[str, Any] = {"code": enrollment.outcome, "description": ENROLLMENT_DESCRIPTIONS[enrollment.outcome]}
    if enrollment.details:
        status["details"] = list(enrollment.details)
    body: dict[str, Any] = {"requestDate": iso(enrollment.requested), "status": status}
    if enrollment.serial is not None:
        body["certificateSerialNumber"] = enrollment.serial
    return ok(body)


# ------------------------------------------------------------------ certificates
def _mine(ctx: Ctx) -> list[KsefCertificate]:
    me = _me(ctx)
    return [c for c in ctx.state.certificates.values() if c.subject == me]


def _serial(ctx: Ctx, name: str) -> str:
    serial = ctx.params[name]
    if not SERIAL.match(serial):
        raise ApiError(VALIDATION, f"Parametr '{name}' musi mieć 16 cyfr szesnastkowych (wielkie litery).")
    return serial


def retrieve(ctx: Ctx) -> Response:
    body = ctx.json()
    serials = opt_list(body, "certificateSerialNumbers")
    if not serials or len(serials) > 10:
        raise ApiError(VALIDATION, "Pole 'certificateSerialNumbers' musi zawierać od 1 do 10 numerów.")
    if not all(isinstance(s, str) and SERIAL.match(s) for s in serials):
        raise ApiError(VALIDATION, "Numer seryjny certyfikatu musi mieć 16 cyfr szesnastkowych (wielkie litery).")
    mine = {c.serial: c for c in _mine(ctx)}
    found = [mine[s] for s in dict.fromkeys(serials) if s in mine]
    return ok(
        {
            "certificates": [
                {
                    "certificate": base64.b64encode(c.der).decode("ascii"),
                    "certificateName": c.name,
                    "certificateSerialNumber": c.serial,
                    "certificateType": c.type,
                }
                for c in found
            ]
        }
    )


def query(ctx: Ctx) -> Response:
    size = query_int(ctx, "pageSize", 10, 10, 50)
    page_index = query_int(ctx, "pageOffset", 0, 0, None)
    body = ctx.json() if ctx.body.strip() else JsonObject()
    now = ctx.now
    found = _mine(ctx)
    serial = opt_str(body, "certificateSerialNumber")
    if serial is not None:
        found = [c for c in found if c.serial == serial]
    name = opt_str(body, "name")
    if name:
        found = [c for c in found if name.casefold() in c.name.casefold()]
    kind = opt_enum(body, "type", CERTIFICATE_TYPES)
    if kind is not None:
        found = [c for c in found if c.type == kind]
    state = opt_enum(body, "status", CERTIFICATE_STATUSES)
    if state is not None:
        found = [c for c in found if c.status(now) == state]
    if body.get("expiresAfter") is not None:
        after = parse_api_datetime(body["expiresAfter"], "expiresAfter")
        found = [c for c in found if c.valid_to > after]
    found.sort(key=lambda c: (c.requested, c.serial), reverse=True)
    start = page_index * size
    rows = [
        {
            "certificateSerialNumber": c.serial,
            "name": c.name,
            "type": c.type,
            "commonName": c.common_name,
            "status": c.status(now),
            "subjectIdentifier": c.subject.as_json(),
            "validFrom": iso(c.valid_from),
            "validTo": iso(c.valid_to),
            "lastUseDate": iso(c.last_use) if c.last_use else None,
            "requestDate": iso(c.requested),
        }
        for c in found[start : start + size]
    ]
    return ok({"certificates": rows, "hasMore": start + size < len(found)})


def revoke(ctx: Ctx) -> Response:
    serial = _serial(ctx, "certificateSerialNumber")
    reason = opt_enum(ctx.json(), "revocationReason", REVOCATION_REASONS) if ctx.body.strip() else None
    op = _op(ctx)
    if op.subject is None:
        raise HttpProblem(
            403,
            "Operacja nie jest dostępna dla podmiotu uwierzytelnionego tokenem KSeF.",
            reasonCode="auth-method-not-allowed",
            security={"authenticationMethodCategory": op.method[1]},
        )
    owners = {op.subject, *ctx.state.grants.linked(op.subject)}
    cert = ctx.state.certificates.get(serial)
    if cert is None or cert.subject not in owners:
        raise ApiError(25008)
    if cert.status(ctx.now) != "Active":
        raise ApiError(25009)
    ctx.state.certificates.revoke(cert, reason)
    return no_content()


def set_valid_to(ctx: Ctx) -> Response:
    """TE: PUT /testdata/certificates/{serialNumber} ``{"validTo"}``, only to an earlier date (to test expiry)."""
    serial = _serial(ctx, "serialNumber")
    body = ctx.json()
    valid_to = parse_api_datetime(body.get("validTo"), "validTo") if "validTo" in body else None
    if valid_to is None:
        raise ApiError(VALIDATION, "Pole 'validTo' jest wymagane.")
    cert = next((c for c in _mine(ctx) if c.serial == serial), None)
    if cert is None:
        raise ApiError(25008)
    if valid_to >= cert.valid_to:
        raise ApiError(VALIDATION, "Pole 'validTo' musi być wcześniejsze niż obecna data ważności certyfikatu.")
    cert.valid_to = valid_to
    return Response(status_code=200)


ENDPOINTS = [
    Endpoint("GET", "/limits/subject", "other", "access", (), subject_limits),
    Endpoint("GET", "/certificates/limits", "other", "access", (), limits),
    Endpoint("GET", "/certificates/enrollments/data", "other", "access", (), enrollment_data_endpoint),
    Endpoint("POST", "/certificates/enrollments", "other", "access", (), enroll),
    Endpoint("GET", "/certificates/enrollments/{referenceNumber}", "other", "access", (), enrollment_status),
    Endpoint("POST", "/certificates/retrieve", "other", "access", (), retrieve),
    Endpoint("POST", "/certificates/query", "other", "access", (), query),
    Endpoint("POST", "/certificates/{certificateSerialNumber}/revoke", "other", "access", (), revoke),
]
TESTDATA_ENDPOINTS = [
    Endpoint("PUT", "/testdata/certificates/{serialNumber}", "other", "access", (), set_valid_to),
    Endpoint("POST", "/testdata/limits/subject/certificate", "other", "access", (), set_subject_limits),
    Endpoint("DELETE", "/testdata/limits/subject/certificate", "other", "access", (), reset_subject_limits),
]
