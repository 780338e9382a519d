"""Judging a XAdES login (CERTS_OFFLINE §1.3, §1.4, §2, §7 items 3–7) once the document and its signature are
in order (:mod:`.xades`).

Synchronous (400): an unknown, used or expired challenge (21111); a certificate the environment does not trust
(PRD: only the simulator's CA and ``trusted_issuers``; 21115); no usable identity in it (21115); an identity type
the context type cannot take (21117: ``NipVatUe`` contexts take fingerprints, ``PeppolId`` contexts a subject).

Asynchronous (GET /auth/{ref} after ``auth_delay`` + ``xades_delay``), checked in this order: the certificate
(460: outside its validity window "Nieważny certyfikat", a revoked or blocked KSeF certificate "Certyfikat
odwołany", an ``Offline`` KSeF certificate "Niepoprawny certyfikat", TE with ``verifyCertificateChain=true`` and
an untrusted issuer "Niezaufany łańcuch certyfikatów") after a blocked context (480, TE: /testdata/context/block),
a deceased test person (470), then the rights: the
context's owner or a holder of a grant there gets 200 and those rights in ``per``, anyone else 415.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.auth import BLOCKED, AuthOp, IpRule
from ksef_tui.sim.certificates import KsefCertificate
from ksef_tui.sim.core import secs
from ksef_tui.sim.errors import VALIDATION, ApiError
from ksef_tui.sim.identity import Identity, der_of, fingerprint, is_seal, subject_identity
from ksef_tui.sim.xades import INVALID_CERTIFICATE, AuthRequest

if TYPE_CHECKING:
    from ksef_tui.sim.state import SimState

BAD_CHALLENGE = 21111
WRONG_IDENTIFIER_FOR_CONTEXT = 21117

KSEF_CERTIFICATE = ("InternalCertificate", "XadesSignature", "xades.ksef-certificate", "Certyfikat KSeF")
QUALIFIED_SEAL = ("QualifiedSeal", "XadesSignature", "xades.qualified-seal", "Pieczęć kwalifikowana")
QUALIFIED_SIGNATURE = ("QualifiedSignature", "XadesSignature", "xades.qualified-signature", "Podpis kwalifikowany")

INVALID = "Nieważny certyfikat"
REVOKED = "Certyfikat odwołany"
UNTRUSTED = "Niezaufany łańcuch certyfikatów"
WRONG = "Niepoprawny certyfikat"
DECEASED = "Próba wykorzystania metod autoryzacyjnych osoby zmarłej"
NO_PERMISSIONS = "Brak przypisanych uprawnień"


def trusted_issuer(issuers: list[x509.Certificate], cert: x509.Certificate) -> bool:
    for issuer in issuers:
        if cert.issuer != issuer.subject:
            continue
        try:
            cert.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def _subject(request: AuthRequest, ksef: KsefCertificate | None) -> Identity:
    if request.subject_type == "certificateFingerprint":
        return Identity.of("Fingerprint", fingerprint(request.certificate))
    if ksef is not None:
        return ksef.subject
    found = subject_identity(request.certificate)
    if found is None:
        raise ApiError(INVALID_CERTIFICATE, "Certyfikat nie zawiera identyfikatora NIP ani PESEL podmiotu.")
    return found


def _fits_context(request: AuthRequest) -> None:
    fingerprint_only = request.context_type == "NipVatUe"
    subject_only = request.context_type == "PeppolId"
    if (fingerprint_only and request.subject_type != "certificateFingerprint") or (
        subject_only and request.subject_type != "certificateSubject"
    ):
        raise ApiError(WRONG_IDENTIFIER_FOR_CONTEXT)


def _certificate_problem(
    cert: x509.Certificate, ksef: KsefCertificate | None, trusted: bool, verify_chain: bool, now: datetime
) -> str | None:
    if ksef is not None:
        status = ksef.status(now)
        if ksef.type == "Offline":
            return WRONG
        if status in ("Blocked", "Revoked"):
            return REVOKED
        if status == "Expired" or now < ksef.valid_from:
            return INVALID
        return None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return INVALID
    if verify_chain and not trusted:
        return UNTRUSTED
    return None


def start_xades_auth(state: SimState, request: AuthRequest, *, verify_chain: bool, client_ip: str) -> AuthOp:
    """Run the synchronous checks (raising :class:`ApiError`) and record the operation with its outcome."""
    config = state.config
    now = state.now()
    challenge = state.auths.take_challenge(request.challenge)
    if challenge is None or now > challenge.created + secs(config.challenge_ttl):
        raise ApiError(BAD_CHALLENGE)
    cert = request.certificate
    ksef = state.certificates.ours(cert)
    trusted = ksef is not None or trusted_issuer(config.trusted_issuers, cert)
    if not trusted and config.environment != "TE":
        raise ApiError(INVALID_CERTIFICATE, "Certyfikat nie pochodzi od zaufanego wystawcy.")
    if ksef is not None and ksef.type == "Offline" and config.offline_certificate_login == "21115":
        raise ApiError(INVALID_CERTIFICATE, "Certyfikat KSeF typu Offline nie służy do uwierzytelniania.")
    subject = _subject(request, ksef)
    _fits_context(request)
    try:
        rules = [IpRule.parse(kind, text) for kind, text in request.allowed_ips] if request.allowed_ips else None
    except ValueError as exc:
        raise ApiError(VALIDATION, f"Nieprawidłowa reguła AuthorizationPolicy: {exc}.") from exc

    outcome, details, permissions = 200, [], []
    problem = _certificate_problem(cert, ksef, trusted, verify_chain, now)
    person = state.grants.person(subject)
    if (request.context_type, request.context_value) in state.auths.blocked:
        outcome, details = 480, [BLOCKED]
    elif problem is not None:
        outcome, details = 460, [problem]
    elif person is not None and person.deceased:
        outcome, details = 470, [DECEASED]
    else:
        permissions = state.grants.access(subject, request.context_type, request.context_value).permissions
        if not permissions:
            outcome, details = 415, [NO_PERMISSIONS]
    if outcome == 200 and ksef is not None:
        ksef.last_use = now
    op = AuthOp(
        reference=state.new_reference(ReferenceType.AUTHENTICATION),
        started=now,
        context_type=request.context_type,
        context_value=request.context_value,
        ready_at=now + secs(config.auth_delay + config.xades_delay),
        outcome=outcome,
        details=details,
        token_ref=None,
        permissions=permissions,
        client_ip=client_ip,
        allowed_ips=rules,
        method=KSEF_CERTIFICATE if ksef is not None else QUALIFIED_SEAL if is_seal(cert) else QUALIFIED_SIGNATURE,
        subject=subject,
        certificate=der_of(cert),
        ksef_certificate=ksef.serial if ksef is not None else None,
    )
    state.auths.add(op)
    return op
