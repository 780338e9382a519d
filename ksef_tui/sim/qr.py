"""The verification of an invoice's QR links (PROTOCOL §9, CERTS_OFFLINE §5.2, §5.3, §7 item 17), as KSeF's
verification page does when a link is opened: at scan time, against what the simulator holds then. The page's
answers are not specified (CERTS_OFFLINE §8 item 12), so the verdict is the simulator's own: a list of named checks.

KOD II ``{qrBase}/certificate/{ctxType}/{ctxValue}/{sellerNip}/{certSerial}/{invoiceHashB64Url}/{signatureB64Url}``:

* ``format``: a context type KSeF knows (``Nip``, ``InternalId``, ``NipVatUe``, ``PeppolId``), a valid seller NIP,
  a 16-hex-digit serial, a 32-byte hash and a signature in Base64URL without padding;
* ``certificate``: a KSeF certificate the simulator issued with that serial; ``type``: of type ``Offline`` (an
  ``Authentication`` one must never sign a KOD II); ``status``: ``Active`` now (not blocked, revoked, expired or
  not yet valid);
* ``signature``: over the UTF-8 link without its scheme, its signature segment and a trailing ``/``; RSA:
  RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 bytes; EC P-256: ECDSA SHA-256 as IEEE P1363 ``r‖s`` (64 bytes) or
  DER (RFC 3279), both accepted;
* ``permission``: the certificate's identity holds ``InvoiceWrite`` in the context now (as owner or by a grant);
* ``seller``: the context may issue invoices for the seller: the simulator models no self-invoicing, tax
  representation or VAT group, so a ``Nip`` context must be the seller's NIP (an ``InternalId`` one must begin with it).

KOD I ``{qrBase}/invoice/{sellerNip}/{DD-MM-YYYY}/{invoiceHashB64Url}``: ``invoice``: KSeF holds an invoice of that
seller with that hash and issue date (``P_1``); an invoice KSeF rejected and that was corrected technically is
reported as such, with the correction's KSeF number (``technicalCorrection``), as the page leads the buyer to it.

Any host (and path prefix) before ``/certificate/`` or ``/invoice/`` is accepted: the signature covers it as given.
Reached in process with :func:`verify_link` and over HTTP with POST ``/sim/qr/verify`` ``{"url": "..."}``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.sim.certificates import KsefCertificate
from ksef_tui.sim.invoices import StoredInvoice

if TYPE_CHECKING:
    from ksef_tui.sim.state import SimState

CONTEXT_TYPES = ("Nip", "InternalId", "NipVatUe", "PeppolId")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SERIAL = re.compile(r"^[0-9A-F]{16}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
PSS_SALT = 32


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class LinkVerdict:
    kind: str  # certificate (KOD II) | invoice (KOD I) | unknown
    checks: list[Check] = field(default_factory=list)
    certificate: KsefCertificate | None = None
    invoice: StoredInvoice | None = None
    correction: StoredInvoice | None = None

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def as_json(self, now: datetime) -> dict[str, Any]:
        cert = self.certificate
        return {
            "kind": self.kind,
            "valid": self.valid,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "certificate": None
            if cert is None
            else {
                "certificateSerialNumber": cert.serial,
                "type": cert.type,
                "status": cert.status(now),
                "subjectIdentifier": cert.subject.as_json(),
            },
            "invoice": _invoice_json(self.invoice),
            "technicalCorrection": _invoice_json(self.correction),
        }


def _invoice_json(inv: StoredInvoice | None) -> dict[str, Any] | None:
    if inv is None:
        return None
    return {
        "ksefNumber": inv.ksef_number,
        "invoiceHash": inv.invoice_hash,
        "invoicingMode": inv.mode,
        "hashOfCorrectedInvoice": inv.hash_of_corrected,
    }


def b64url_decode(segment: str) -> bytes | None:
    """Base64URL without padding (``None`` when it is not)."""
    if not segment or not _B64URL.match(segment):
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def verify_link(state: SimState, url: str, now: datetime | None = None) -> LinkVerdict:
    """The verdict on a KOD I or KOD II link at ``now`` (default: the simulator's now)."""
    at = now or state.now()
    link = url.strip().split("#", 1)[0].split("?", 1)[0].rstrip("/")
    bare = _SCHEME.sub("", link, count=1)
    segments = bare.split("/")
    for index, segment in enumerate(segments):
        rest = segments[index + 1 :]
        if segment == "certificate" and len(rest) == 6 and index > 0:
            return _certificate(state, bare.rsplit("/", 1)[0], rest, at)
        if segment == "invoice" and len(rest) == 3 and index > 0:
            return _invoice(state, rest)
    verdict = LinkVerdict("unknown")
    verdict.add("format", False, "Not a KOD I (/invoice/…, 3 segments) or KOD II (/certificate/…, 6 segments) link.")
    return verdict


def _certificate(state: SimState, signed: str, parts: list[str], now: datetime) -> LinkVerdict:
    ctx_type, ctx_value, seller, serial, hash_segment, signature_segment = parts
    verdict = LinkVerdict("certificate")
    invoice_hash = b64url_decode(hash_segment)
    signature = b64url_decode(signature_segment)
    problems = []
    if ctx_type not in CONTEXT_TYPES:
        problems.append(f"context type {ctx_type!r} is not one of {', '.join(CONTEXT_TYPES)}")
    if not is_valid_nip(seller):
        problems.append(f"seller NIP {seller!r} is not a valid NIP")
    if not _SERIAL.match(serial):
        problems.append(f"certificate serial {serial!r} is not 16 upper-case hex digits")
    if invoice_hash is None or len(invoice_hash) != 32:
        problems.append("the invoice hash is not a SHA-256 in Base64URL without padding")
    if signature is None:
        problems.append("the signature is not Base64URL without padding")
    if not verdict.add("format", not problems, "; ".join(problems) or "well-formed"):
        return verdict
    assert signature is not None and invoice_hash is not None
    std_hash = base64.b64encode(invoice_hash).decode()
    held = state.invoices.with_hash(std_hash)
    verdict.invoice = held if held is not None and held.facts.seller_nip == seller else None
    cert = state.certificates.get(serial)
    if not verdict.add("certificate", cert is not None, f"KSeF certificate {serial} {'found' if cert else 'unknown'}"):
        return verdict
    assert cert is not None
    verdict.certificate = cert
    verdict.add("type", cert.type == "Offline", f"certificate type {cert.type} (Offline required)")
    status = cert.status(now)
    if status == "Active" and now < cert.valid_from:
        status = "NotYetValid"
    verdict.add("status", status == "Active", f"certificate status {status} at {now.isoformat()}")
    verdict.add("signature", *_signature_ok(cert, signed.encode("utf-8"), signature))
    access = state.grants.access(cert.subject, ctx_type, ctx_value)
    verdict.add(
        "permission",
        "InvoiceWrite" in access.permissions,
        f"{cert.subject.type} {cert.subject.value} in {ctx_type} {ctx_value}: {', '.join(access.permissions) or '-'}",
    )
    may_issue = (ctx_type == "Nip" and ctx_value == seller) or (
        ctx_type == "InternalId" and ctx_value.startswith(f"{seller}-")
    )
    verdict.add("seller", may_issue, f"context {ctx_type} {ctx_value} issuing for seller {seller}")
    return verdict


def _signature_ok(cert: KsefCertificate, message: bytes, signature: bytes) -> tuple[bool, str]:
    key = x509.load_der_x509_certificate(cert.der).public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT)
            key.verify(signature, message, pss, hashes.SHA256())
            return True, "RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) verified"
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            if len(signature) == 64:
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                key.verify(der, message, ec.ECDSA(hashes.SHA256()))
                return True, "ECDSA P-256 SHA-256 (IEEE P1363 r||s) verified"
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            return True, "ECDSA P-256 SHA-256 (DER) verified"
    except InvalidSignature:
        return False, "the signature does not verify with the certificate's public key"
    return False, "the certificate's key is neither RSA nor EC P-256"


def _invoice(state: SimState, parts: list[str]) -> LinkVerdict:
    seller, day, hash_segment = parts
    verdict = LinkVerdict("invoice")
    invoice_hash = b64url_decode(hash_segment)
    issued: date | None = None
    try:
        issued = datetime.strptime(day, "%d-%m-%Y").date()
    except ValueError:
        issued = None
    problems = []
    if not is_valid_nip(seller):
        problems.append(f"seller NIP {seller!r} is not a valid NIP")
    if issued is None:
        problems.append(f"issue date {day!r} is not DD-MM-YYYY")
    if invoice_hash is None or len(invoice_hash) != 32:
        problems.append("the invoice hash is not a SHA-256 in Base64URL without padding")
    if not verdict.add("format", not problems, "; ".join(problems) or "well-formed"):
        return verdict
    assert invoice_hash is not None
    std_hash = base64.b64encode(invoice_hash).decode()
    held = state.invoices.with_hash(std_hash)
    if held is not None and held.facts.seller_nip == seller:
        verdict.invoice = held
        verdict.add("invoice", True, f"in KSeF as {held.ksef_number}")
        verdict.add("issueDate", held.facts.issue_date == issued, f"P_1 {held.facts.issue_date.isoformat()}")
        return verdict
    correction = state.invoices.correction_of(std_hash)
    if correction is not None and correction.facts.seller_nip == seller:
        verdict.correction = correction
        verdict.add(
            "invoice",
            False,
            f"rejected by KSeF and corrected technically: the correction is {correction.ksef_number}",
        )
        return verdict
    verdict.add("invoice", False, "not in KSeF (an offline invoice not sent yet, or never accepted)")
    return verdict
