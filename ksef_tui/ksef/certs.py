"""KSeF certificates (CERTS_OFFLINE.md §3): limits, the request (CSR) and its status, retrieval, the list and
revocation. One KSeF call a function (plus :func:`wait_for_enrollment`, which polls), over :class:`KsefApi`.

They act on the *authenticated subject* (the person or company of the login certificate), whatever the context,
and only after a login with a signature (XAdES): after a KSeF-token login KSeF answers 25001/25002, raised as
:class:`TokenLoginCannotEnroll`. Other refusals of ``/certificates/*`` are :class:`CertificateRequestRefused`
with their reason.

The private key of a request is made here (:func:`new_key`, EC P-256 as MF recommends) and never leaves the
caller's hands but inside a :class:`SigningCredential` once the certificate is retrieved.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.client import field, parse_time
from ksef_tui.ksef.errors import (
    ApiError,
    EnrollmentFailed,
    EnrollmentPending,
    ProtocolViolation,
    certificate_refusal,
)
from ksef_tui.ksef.paging import all_pages, page
from ksef_tui.ksef.xades import PrivateKey, SigningCredential

AUTHENTICATION = "Authentication"  # XAdES login to KSeF
OFFLINE = "Offline"  # only for KOD II of offline invoices; cannot log in
CERTIFICATE_TYPES = (AUTHENTICATION, OFFLINE)
REVOCATION_REASONS = ("Unspecified", "Superseded", "KeyCompromise")
#: POST /certificates/retrieve takes 1..10 serial numbers; /certificates/query pages 10..50.
RETRIEVE_BATCH = 10
QUERY_PAGE = 50
QUERY = "/certificates/query"

ENROLLMENT_PENDING = 100
ENROLLMENT_DONE = 200


async def _json(api: KsefApi, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        return await api.call_json(method, path, **kwargs)
    except ApiError as exc:
        raise certificate_refusal(exc) from None


def _optional_time(value: object) -> datetime | None:
    return parse_time(value) if value else None


# ------------------------------------------------------------------------------------------------ limits


@dataclass(frozen=True, slots=True)
class CertificateLimits:
    can_request: bool
    enrollments_remaining: int
    enrollments_limit: int
    certificates_remaining: int
    certificates_limit: int


async def limits(api: KsefApi) -> CertificateLimits:
    """GET /certificates/limits: how many requests and active certificates the subject has left."""
    body = await _json(api, "GET", "/certificates/limits", idempotent=True)
    return CertificateLimits(
        can_request=bool(field(body, "canRequest")),
        enrollments_remaining=int(field(body, "enrollment", "remaining")),
        enrollments_limit=int(field(body, "enrollment", "limit")),
        certificates_remaining=int(field(body, "certificate", "remaining")),
        certificates_limit=int(field(body, "certificate", "limit")),
    )


# ------------------------------------------------------------------------------------------- the request


@dataclass(frozen=True, slots=True)
class EnrollmentData:
    """The subject KSeF wants in the CSR, exactly as returned (from the login certificate, §3.2)."""

    common_name: str
    country_name: str
    given_name: str | None = None
    surname: str | None = None
    serial_number: str | None = None
    unique_identifier: str | None = None
    organization_name: str | None = None
    organization_identifier: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EnrollmentData:
        def text(name: str) -> str | None:
            value = body.get(name)
            return str(value) if value else None

        return cls(
            common_name=str(field(body, "commonName")),
            country_name=str(field(body, "countryName")),
            given_name=text("givenName"),
            surname=text("surname"),
            serial_number=text("serialNumber"),
            unique_identifier=text("uniqueIdentifier"),
            organization_name=text("organizationName"),
            organization_identifier=text("organizationIdentifier"),
        )

    def name(self) -> x509.Name:
        """The subject in MF's order (CN, SN, GN, O, organizationIdentifier, C, serialNumber, uniqueIdentifier),
        one attribute per RDN, empty values left out; UTF8String but C and serialNumber (PrintableString), which
        are cryptography's defaults for these attributes."""
        order = [
            (NameOID.COMMON_NAME, self.common_name),
            (NameOID.SURNAME, self.surname),
            (NameOID.GIVEN_NAME, self.given_name),
            (NameOID.ORGANIZATION_NAME, self.organization_name),
            (NameOID.ORGANIZATION_IDENTIFIER, self.organization_identifier),
            (NameOID.COUNTRY_NAME, self.country_name),
            (NameOID.SERIAL_NUMBER, self.serial_number),
            (NameOID.X500_UNIQUE_IDENTIFIER, self.unique_identifier),
        ]
        return x509.Name([x509.RelativeDistinguishedName([x509.NameAttribute(oid, v)]) for oid, v in order if v])


async def enrollment_data(api: KsefApi) -> EnrollmentData:
    """GET /certificates/enrollments/data (after a XAdES login only: else :class:`TokenLoginCannotEnroll`)."""
    return EnrollmentData.from_json(await _json(api, "GET", "/certificates/enrollments/data", idempotent=True))


def new_key(algorithm: str = "ec") -> PrivateKey:
    """A new key for a request: ``ec`` (P-256, MF's recommendation) or ``rsa`` (2048 bits, the only RSA size)."""
    if algorithm == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key algorithm {algorithm!r}")


def make_csr(data: EnrollmentData, key: PrivateKey) -> bytes:
    """The PKCS#10 request (DER) for ``data``'s subject (§3.2): EC P-256 signed ECDSA-SHA256, or RSA-2048 signed
    RSASSA-PSS-SHA256 (salt 32, as MF's builder)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(data.name())
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        request = builder.sign(key, hashes.SHA256())
    elif isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
        request = builder.sign(key, hashes.SHA256(), rsa_padding=pss)
    else:
        raise ValueError("KSeF certifies only EC P-256 and RSA-2048 keys")
    return request.public_bytes(serialization.Encoding.DER)


async def enroll(
    api: KsefApi, name: str, certificate_type: str, csr: bytes, *, valid_from: datetime | None = None
) -> str:
    """POST /certificates/enrollments; returns the request's reference number. ``name`` is 5-100 letters
    (Polish too), digits, ``_``, ``-`` and spaces."""
    if certificate_type not in CERTIFICATE_TYPES:
        raise ValueError(f"unknown certificate type {certificate_type!r}")
    body: dict[str, Any] = {
        "certificateName": name,
        "certificateType": certificate_type,
        "csr": base64.b64encode(csr).decode("ascii"),
    }
    if valid_from is not None:
        body["validFrom"] = valid_from.isoformat(timespec="milliseconds")
    return str(field(await _json(api, "POST", "/certificates/enrollments", json=body), "referenceNumber"))


@dataclass(frozen=True, slots=True)
class EnrollmentStatus:
    code: int  # 100 in progress, 200 issued, 400 refused, 500, 550
    description: str
    details: tuple[str, ...]
    serial: str | None  # once issued
    request_date: datetime


async def enrollment_status(api: KsefApi, reference: str) -> EnrollmentStatus:
    """GET /certificates/enrollments/{ref}."""
    body = await _json(api, "GET", f"/certificates/enrollments/{reference}", idempotent=True)
    status = field(body, "status")
    serial = body.get("certificateSerialNumber")
    return EnrollmentStatus(
        code=int(field(status, "code")),
        description=str(status.get("description") or ""),
        details=tuple(str(d) for d in status.get("details") or ()),
        serial=str(serial) if serial else None,
        request_date=parse_time(field(body, "requestDate")),
    )


async def wait_for_enrollment(
    api: KsefApi,
    reference: str,
    *,
    max_wait: float = 120.0,
    first_wait: float = 0.5,
    max_delay: float = 5.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """Poll the request until KSeF issues the certificate: first after ``first_wait``, then doubling the pause up
    to ``max_delay``. Returns the serial number; :class:`EnrollmentFailed` for a status >= 400,
    :class:`EnrollmentPending` once ``max_wait`` seconds were spent waiting."""
    delay = first_wait
    waited = 0.0
    while True:
        await sleep(delay)
        waited += delay
        status = await enrollment_status(api, reference)
        if status.code == ENROLLMENT_DONE:
            if not status.serial:
                raise ProtocolViolation("certificate request done without certificateSerialNumber")
            return status.serial
        if status.code != ENROLLMENT_PENDING:
            raise EnrollmentFailed(status.code, status.description, status.details)
        if waited >= max_wait:
            raise EnrollmentPending(reference)
        delay = min(delay * 2, max_delay)


# ------------------------------------------------------------------------------------ issued certificates


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    serial: str
    name: str
    type: str  # Authentication | Offline
    der: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    def credential(self, key: PrivateKey) -> SigningCredential:
        """The certificate with the key its request was made with: ready to sign a login (Authentication)."""
        return SigningCredential.create(self.certificate, key)


async def retrieve(api: KsefApi, serials: list[str]) -> list[IssuedCertificate]:
    """POST /certificates/retrieve (ten serial numbers a call)."""
    result: list[IssuedCertificate] = []
    for start in range(0, len(serials), RETRIEVE_BATCH):
        batch = serials[start : start + RETRIEVE_BATCH]
        body = await _json(api, "POST", "/certificates/retrieve", json={"certificateSerialNumbers": batch})
        items = field(body, "certificates")
        if not isinstance(items, list):
            raise ProtocolViolation("certificates is not a list")
        for item in items:
            try:
                der = base64.b64decode(field(item, "certificate"), validate=True)
            except (ValueError, TypeError):
                raise ProtocolViolation("retrieved certificate is not base64") from None
            result.append(
                IssuedCertificate(
                    serial=str(field(item, "certificateSerialNumber")),
                    name=str(field(item, "certificateName")),
                    type=str(field(item, "certificateType")),
                    der=der,
                )
            )
    return result


@dataclass(frozen=True, slots=True)
class KsefCertificate:
    """One KSeF certificate of the subject as /certificates/query lists it."""

    serial: str
    name: str
    type: str  # Authentication | Offline
    common_name: str
    status: str  # Active | Blocked (being revoked) | Revoked | Expired
    subject_type: str  # Nip | Pesel | Fingerprint
    subject_value: str
    valid_from: datetime
    valid_to: datetime
    request_date: datetime
    last_use: datetime | None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> KsefCertificate:
        return cls(
            serial=str(field(item, "certificateSerialNumber")),
            name=str(field(item, "name")),
            type=str(field(item, "type")),
            common_name=str(field(item, "commonName")),
            status=str(field(item, "status")),
            subject_type=str(field(item, "subjectIdentifier", "type")),
            subject_value=str(field(item, "subjectIdentifier", "value")),
            valid_from=parse_time(field(item, "validFrom")),
            valid_to=parse_time(field(item, "validTo")),
            request_date=parse_time(field(item, "requestDate")),
            last_use=_optional_time(item.get("lastUseDate")),
        )


@dataclass(frozen=True, slots=True)
class CertificatePage:
    certificates: list[KsefCertificate]
    has_more: bool


@dataclass(frozen=True, slots=True)
class CertificateFilter:
    """The filters of /certificates/query, all optional (``name`` matches a part of the name)."""

    serial: str | None = None
    name: str | None = None
    certificate_type: str | None = None  # Authentication | Offline
    status: str | None = None  # Active | Blocked | Revoked | Expired
    expires_after: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        pairs = (
            ("certificateSerialNumber", self.serial),
            ("name", self.name),
            ("type", self.certificate_type),
            ("status", self.status),
        )
        for key, value in pairs:
            if value is not None:
                body[key] = value
        if self.expires_after is not None:
            body["expiresAfter"] = self.expires_after.isoformat(timespec="milliseconds")
        return body


async def query(
    api: KsefApi, filters: CertificateFilter | None = None, *, page_offset: int = 0, page_size: int = QUERY_PAGE
) -> CertificatePage:
    """POST /certificates/query, one page (``page_offset`` is its index), newest request first."""
    body = (filters or CertificateFilter()).to_json()
    try:
        items, more = await page(api, QUERY, body, "certificates", offset=page_offset, size=page_size)
    except ApiError as exc:
        raise certificate_refusal(exc) from None
    return CertificatePage([KsefCertificate.from_json(item) for item in items], more)


async def query_all(api: KsefApi, filters: CertificateFilter | None = None) -> list[KsefCertificate]:
    """Every page of :func:`query`."""
    body = (filters or CertificateFilter()).to_json()
    try:
        items = await all_pages(api, QUERY, body, "certificates", size=QUERY_PAGE)
    except ApiError as exc:
        raise certificate_refusal(exc) from None
    return [KsefCertificate.from_json(item) for item in items]


async def revoke(api: KsefApi, serial: str, reason: str = "Unspecified") -> None:
    """POST /certificates/{serial}/revoke (204); irreversible. ``reason``: Unspecified, Superseded, KeyCompromise."""
    if reason not in REVOCATION_REASONS:
        raise ValueError(f"unknown revocation reason {reason!r}")
    try:
        await api.call("POST", f"/certificates/{serial}/revoke", json={"revocationReason": reason})
    except ApiError as exc:
        raise certificate_refusal(exc) from None
