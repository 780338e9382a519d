"""The book of KSeF certificates (CERTS_OFFLINE §3, §7 items 8–11): the simulator's own certification
authority, certificate requests (enrollments) and the certificates issued from them.

* The CA is an RSA key (``rsa_key_size``) in a self-signed certificate, made when first needed.
* An enrollment stays at 100 for ``certificate_delay``; then it is refused (400) when the public key is already
  certified for another subject or the subject reached its limit of active certificates, else a certificate
  is issued (200): a 16-hex-digit serial, the CSR's subject, the type's key usage (``Authentication``:
  digitalSignature, ``Offline``: nonRepudiation), valid from ``validFrom`` (default: the issue time) for
  ``certificate_validity_days``. After ``operation_retention`` the enrollment's status is gone (410).
* Revoking makes a certificate ``Blocked`` at once and ``Revoked`` after ``certificate_revocation_delay``; one
  past its ``validTo`` is ``Expired`` (TE: PUT ``/testdata/certificates/{serialNumber}`` moves ``validTo``).
* Limits per subject (requests ever made / active certificates): NIP 300/100, PESEL and fingerprint 12/6
  (``enrollment_limits`` and ``certificate_limits`` in the configuration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.core import Book, Core, secs
from ksef_tui.sim.identity import Identity, der_of

CERTIFICATE_TYPES = ("Authentication", "Offline")
CERTIFICATE_STATUSES = ("Active", "Blocked", "Revoked", "Expired")
REVOCATION_REASONS = ("Unspecified", "Superseded", "KeyCompromise")
ENROLLMENT_DESCRIPTIONS = {
    100: "Wniosek przyjęty do realizacji",
    200: "Wniosek obsłużony (certyfikat wygenerowany)",
    400: "Wniosek odrzucony",
}
KEY_TAKEN = "Klucz publiczny został już certyfikowany przez inny podmiot."
LIMIT_REACHED = "Osiągnięto dopuszczalny limit posiadanych certyfikatów."


@dataclass
class KsefCertificate:
    serial: str  # 16 upper-case hex digits
    name: str
    type: str  # Authentication | Offline
    subject: Identity
    der: bytes
    public_key: bytes  # SubjectPublicKeyInfo DER
    valid_from: datetime
    valid_to: datetime
    requested: datetime
    blocked_at: datetime | None = None
    revoke_at: datetime | None = None
    revocation_reason: str | None = None
    last_use: datetime | None = None

    @property
    def common_name(self) -> str:
        names = x509.load_der_x509_certificate(self.der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        value = names[0].value if names else ""
        return value if isinstance(value, str) else value.decode("utf-8", "replace")

    def status(self, now: datetime) -> str:
        if self.revoke_at is not None:
            return "Revoked" if now >= self.revoke_at else "Blocked"
        return "Expired" if now >= self.valid_to else "Active"


@dataclass
class Enrollment:
    reference: str
    subject: Identity
    name: str
    type: str
    csr: x509.CertificateSigningRequest
    valid_from: datetime | None
    requested: datetime
    ready_at: datetime
    outcome: int = 100
    details: tuple[str, ...] = ()
    serial: str | None = None


def spki(key: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class SimCA:
    """The simulator's certification authority ("KSeF"): every KSeF certificate is issued by it."""

    def __init__(self, now: datetime, key_size: int) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ministerstwo Finansów (symulator)"),
                x509.NameAttribute(NameOID.COMMON_NAME, "KSeF simulator CA"),
            ]
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=365))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def issued(self, cert: x509.Certificate) -> bool:
        """``cert`` carries this CA's signature."""
        if cert.issuer != self.certificate.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.certificate)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True

    def issue(
        self, csr: x509.CertificateSigningRequest, serial: str, kind: str, valid_from: datetime, valid_to: datetime
    ) -> bytes:
        authentication = kind == "Authentication"
        usage = x509.KeyUsage(authentication, not authentication, False, False, False, False, False, False, False)
        cert = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(int(serial, 16))
            .not_valid_before(valid_from)
            .not_valid_after(valid_to)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return der_of(cert)


class CertificateBook(Book[KsefCertificate]):
    """KSeF certificates by serial number; enrollments by reference number."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.enrollments: dict[str, Enrollment] = {}
        #: TE: a subject's own limits (POST /testdata/limits/subject/certificate): (requests, certificates).
        self.overrides: dict[Identity, tuple[int | None, int | None]] = {}
        self._ca: SimCA | None = None

    @property
    def ca(self) -> SimCA:
        if self._ca is None:
            self._ca = SimCA(self.core.now(), self.core.config.rsa_key_size)
        return self._ca

    def ours(self, cert: x509.Certificate) -> KsefCertificate | None:
        """The KSeF certificate ``cert`` is, when our CA issued it."""
        if self._ca is None or not self._ca.issued(cert):
            return None
        return self._records.get(f"{cert.serial_number:016X}")

    # ----------------------------------------------------------------- limits
    def limits(self, subject: Identity) -> tuple[int, int, int, int]:
        """(enrollment limit, enrollments made, certificate limit, active certificates) of ``subject``."""
        config = self.core.config
        now = self.core.now()
        made = sum(1 for e in self.enrollments.values() if e.subject == subject)
        active = sum(1 for c in self._records.values() if c.subject == subject and c.status(now) == "Active")
        enrollments, certificates = self.overrides.get(subject, (None, None))
        if enrollments is None:
            enrollments = config.enrollment_limits[subject.type]
        if certificates is None:
            certificates = config.certificate_limits[subject.type]
        return enrollments, made, certificates, active

    # ----------------------------------------------------------------- enrollment
    def enroll(
        self,
        subject: Identity,
        name: str,
        kind: str,
        csr: x509.CertificateSigningRequest,
        valid_from: datetime | None,
    ) -> Enrollment:
        now = self.core.now()
        enrollment = Enrollment(
            # The spec's example enrollment reference has the export type code, EH (CERTS_OFFLINE §8.9).
            reference=self.core.new_reference(ReferenceType.EXPORT),
            subject=subject,
            name=name,
            type=kind,
            csr=csr,
            valid_from=valid_from,
            requested=now,
            ready_at=now + secs(self.core.config.certificate_delay),
        )
        self.enrollments[enrollment.reference] = enrollment
        return enrollment

    def _new_serial(self) -> str:
        while True:
            serial = f"{self.core.rng.getrandbits(63) | (1 << 60):016X}"
            if serial not in self._records:
                return serial

    def _settle(self, enrollment: Enrollment, now: datetime) -> None:
        key = spki(enrollment.csr)
        if any(c.public_key == key and c.subject != enrollment.subject for c in self._records.values()):
            enrollment.outcome, enrollment.details = 400, (KEY_TAKEN,)
            return
        _, _, limit, active = self.limits(enrollment.subject)
        if active >= limit:
            enrollment.outcome, enrollment.details = 400, (LIMIT_REACHED,)
            return
        serial = self._new_serial()
        valid_from = (enrollment.valid_from or now).replace(microsecond=0)
        valid_to = valid_from + timedelta(days=self.core.config.certificate_validity_days)
        der = self.ca.issue(enrollment.csr, serial, enrollment.type, valid_from, valid_to)
        self._records[serial] = KsefCertificate(
            serial=serial,
            name=enrollment.name,
            type=enrollment.type,
            subject=enrollment.subject,
            der=der,
            public_key=key,
            valid_from=valid_from,
            valid_to=valid_to,
            requested=enrollment.requested,
        )
        enrollment.outcome, enrollment.serial = 200, serial

    def tick(self, now: datetime) -> None:
        for enrollment in self.enrollments.values():
            if enrollment.outcome == 100 and now >= enrollment.ready_at:
                self._settle(enrollment, now)

    # ----------------------------------------------------------------- revocation
    def revoke(self, cert: KsefCertificate, reason: str | None) -> None:
        now = self.core.now()
        cert.blocked_at = now
        cert.revoke_at = now + secs(self.core.config.certificate_revocation_delay)
        cert.revocation_reason = reason or "Unspecified"
