"""KOD II, the certificate verification link and QR code of an offline invoice (CERTS_OFFLINE.md §5.3, PROTOCOL.md §9).

``{base}/certificate/{context type}/{context value}/{seller NIP}/{certificate serial}/{invoice hash}/{signature}``,
where the hash is KOD I's (Base64URL of SHA-256 over the exact invoice bytes, no padding) and the signature is made
with the private key of the seller's KSeF certificate of type ``Offline`` (never ``Authentication``) over the UTF-8
bytes of the link without ``https://``, without the signature segment and without a trailing ``/``:

* RSA (≥ 2048 bits): RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 bytes;
* EC P-256: ECDSA SHA-256 written as IEEE P1363 ``r‖s`` (64 bytes), the form MF recommends;

then Base64URL without padding. The label under the code is ``CERTYFIKAT``. :func:`verify_kod2` checks a link
the way a verifier must: PSS with salt 32, or ECDSA as ``r‖s`` *or* DER (MF's Java client writes DER).

No private key ever appears in an error or its message: errors name the serial, the kind and the key's size only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from ksef_tui.errors import Category
from ksef_tui.fa.qr import QUIET_ZONE, QrError, invoice_hash_b64url, make_qr, qr_base

__all__ = [
    "CERTIFICATE_LABEL",
    "CONTEXT_TYPES",
    "Kod2Error",
    "Kod2Link",
    "kod2_signed_data",
    "kod2_svg",
    "kod2_url",
    "kod2_url_for_hash",
    "parse_kod2",
    "sign_kod2",
    "verify_kod2",
]

#: Label under KOD II.
CERTIFICATE_LABEL = "CERTYFIKAT"

#: The issuer's login context types, spelled as KSeF spells them, with the shape of their values.
CONTEXT_TYPES: dict[str, re.Pattern[str]] = {
    "Nip": re.compile(r"\d{10}"),
    "InternalId": re.compile(r"\d{10}-\d{5}"),
    "NipVatUe": re.compile(r"\d{10}-[A-Z]{2}[A-Z0-9+*]{2,13}"),
    "PeppolId": re.compile(r"P[A-Z]{2}\d{6}"),
}

#: The kind of KSeF certificate that may sign KOD II (``certificateType`` in the API).
OFFLINE_KIND = "offline"

MIN_RSA_BITS = 2048
PSS_SALT = 32
EC_CURVE = "secp256r1"
_P1363_LENGTH = 64

_NIP = re.compile(r"\d{10}")
_SERIAL = re.compile(r"[0-9A-F]{16}")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class Kod2Error(QrError):
    """KOD II cannot be made: a certificate that is not an ``Offline`` one, a key that is not the certificate's or
    that KSeF does not accept (``Category.CONFIG``), or a bad context, NIP, serial or hash (``Category.INPUT``).
    A ``QrError``, so a ``UserError`` and a ``ValueError``."""

    key = "kod2.failed"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64url(text: str) -> bytes:
    if not _SEGMENT.fullmatch(text):
        raise ValueError("not Base64URL")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash_segment(invoice_hash: str) -> str:
    """The invoice hash as KOD II carries it, from KSeF's ``invoiceHash`` (standard Base64) or its Base64URL form."""
    text = invoice_hash.strip().rstrip("=").replace("+", "-").replace("/", "_")
    try:
        digest = _unb64url(text)
    except (ValueError, binascii.Error):
        digest = b""
    if len(digest) != hashlib.sha256().digest_size:
        raise Kod2Error("kod2.bad_hash", value=invoice_hash)
    return _b64url(digest)


def kod2_signed_data(
    env: str, *, context_type: str, context_value: str, seller_nip: str, cert_serial: str, invoice_hash: str
) -> str:
    """The text KOD II signs: the link without ``https://``, without the signature and without a trailing ``/``.

    ``invoice_hash`` is SHA-256 of the invoice bytes in standard Base64 (KSeF's ``invoiceHash``) or Base64URL;
    ``cert_serial`` is the KSeF certificate's serial in hex (written upper-case). ``Kod2Error`` (or ``QrError``
    for an unknown environment) when a part is malformed.
    """
    base = qr_base(env).removeprefix("https://")
    pattern = CONTEXT_TYPES.get(context_type)
    if pattern is None:
        raise Kod2Error("kod2.bad_context_type", type=context_type, known=", ".join(CONTEXT_TYPES))
    if not pattern.fullmatch(context_value):
        raise Kod2Error("kod2.bad_context_value", type=context_type, value=context_value)
    if not _NIP.fullmatch(seller_nip):
        raise QrError("qr.bad_nip", nip=seller_nip)
    serial = cert_serial.strip().upper()
    if not _SERIAL.fullmatch(serial):
        raise Kod2Error("kod2.bad_serial", serial=cert_serial)
    segment = _hash_segment(invoice_hash)
    return f"{base}/certificate/{context_type}/{context_value}/{seller_nip}/{serial}/{segment}"


def _check_signer(certificate: x509.Certificate, private_key: object, kind: str | None) -> PrivateKey:
    """The key, if it may sign KOD II for ``certificate``; ``Kod2Error`` (``CONFIG``) otherwise."""
    if kind is not None and kind.strip().lower() != OFFLINE_KIND:
        raise Kod2Error("kod2.not_offline", category=Category.CONFIG, kind=kind)
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < MIN_RSA_BITS:
            raise Kod2Error("kod2.weak_rsa", category=Category.CONFIG, bits=private_key.key_size)
        key: PrivateKey = private_key
    elif isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name == EC_CURVE:
        key = private_key
    else:
        raise Kod2Error("kod2.unsupported_key", category=Category.CONFIG, key=_describe(private_key))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    try:
        theirs = certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    except (TypeError, ValueError):
        theirs = b""
    if mine != theirs:
        raise Kod2Error("kod2.key_mismatch", category=Category.CONFIG)
    return key


def _describe(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.lstrip("_").removesuffix("PrivateKey") or "?"


def sign_kod2(signed_data: str, private_key: PrivateKey) -> str:
    """The signature segment over ``signed_data``: PSS (SHA-256, MGF1-SHA-256, salt 32) for RSA, ECDSA SHA-256 as
    ``r‖s`` for EC; Base64URL without padding. The key is not checked here: :func:`kod2_url` does that."""
    message = signed_data.encode("utf-8")
    if isinstance(private_key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT)
        return _b64url(private_key.sign(message, pss, hashes.SHA256()))
    r, s = utils.decode_dss_signature(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
    size = (private_key.curve.key_size + 7) // 8
    return _b64url(r.to_bytes(size, "big") + s.to_bytes(size, "big"))


def kod2_url_for_hash(
    env: str,
    *,
    context_type: str,
    context_value: str,
    seller_nip: str,
    invoice_hash: str,
    certificate: x509.Certificate,
    private_key: object,
    cert_serial: str | None = None,
    kind: str | None = None,
) -> str:
    """The signed KOD II link for an invoice whose SHA-256 is ``invoice_hash`` (Base64 or Base64URL).

    ``certificate`` and ``private_key`` are the seller's KSeF ``Offline`` certificate and its key. ``cert_serial``
    is the serial KSeF gave (default: the certificate's own serial as 16 hex digits); it must be the certificate's.
    Pass ``kind`` (``certificateType``, e.g. ``"Offline"`` or ``"offline"``) when it is known: anything but
    ``Offline`` is refused. Refused with ``Kod2Error``, ``Category.CONFIG``: another kind, a key that is not the
    certificate's, RSA under 2048 bits, a key that is neither RSA nor EC P-256; ``Category.INPUT``: a malformed
    context, NIP, serial or hash (``QrError`` for an unknown environment).
    """
    key = _check_signer(certificate, private_key, kind)
    own = f"{certificate.serial_number:016X}"
    if cert_serial is None and not _SERIAL.fullmatch(own):
        raise Kod2Error("kod2.not_ksef_serial", category=Category.CONFIG, serial=own)
    serial = own if cert_serial is None else cert_serial.strip().upper()
    data = kod2_signed_data(
        env,
        context_type=context_type,
        context_value=context_value,
        seller_nip=seller_nip,
        cert_serial=serial,
        invoice_hash=invoice_hash,
    )
    if int(serial, 16) != certificate.serial_number:
        raise Kod2Error("kod2.serial_mismatch", category=Category.CONFIG, serial=serial, own=own)
    return f"https://{data}/{sign_kod2(data, key)}"


def kod2_url(
    env: str,
    *,
    context_type: str,
    context_value: str,
    seller_nip: str,
    xml: bytes,
    certificate: x509.Certificate,
    private_key: object,
    cert_serial: str | None = None,
    kind: str | None = None,
) -> str:
    """The signed KOD II link for the invoice ``xml`` (its exact bytes, as sent to KSeF): :func:`kod2_url_for_hash`
    over their SHA-256. ``seller_nip`` is ``Podmiot1``'s NIP, which may differ from the login context."""
    return kod2_url_for_hash(
        env,
        context_type=context_type,
        context_value=context_value,
        seller_nip=seller_nip,
        invoice_hash=invoice_hash_b64url(xml),
        certificate=certificate,
        private_key=private_key,
        cert_serial=cert_serial,
        kind=kind,
    )


@dataclass(frozen=True, slots=True)
class Kod2Link:
    """A KOD II link taken apart. ``signed_data`` is the text the signature covers; ``signature`` its raw bytes."""

    host: str
    context_type: str
    context_value: str
    seller_nip: str
    cert_serial: str
    invoice_hash: str  # Base64URL, as in the link
    signature: bytes
    signed_data: str


def parse_kod2(url: str) -> Kod2Link:
    """Take a KOD II link apart (any ``https`` host); ``Kod2Error`` (``INPUT``) if it is not one."""
    rest = url.strip().removeprefix("https://")
    parts = rest.split("/")
    if rest == url.strip() or len(parts) != 8 or parts[1] != "certificate" or not parts[0]:
        raise Kod2Error("kod2.not_a_link", url=url)
    host, _, context_type, context_value, seller_nip, serial, hash_segment, signature_segment = parts
    try:
        digest = _unb64url(hash_segment)
        signature = _unb64url(signature_segment)
    except (ValueError, binascii.Error):
        raise Kod2Error("kod2.not_a_link", url=url) from None
    if (
        context_type not in CONTEXT_TYPES
        or not _NIP.fullmatch(seller_nip)
        or not _SERIAL.fullmatch(serial.upper())
        or len(digest) != hashlib.sha256().digest_size
        or not signature
    ):
        raise Kod2Error("kod2.not_a_link", url=url)
    return Kod2Link(
        host=host,
        context_type=context_type,
        context_value=context_value,
        seller_nip=seller_nip,
        cert_serial=serial,
        invoice_hash=hash_segment,
        signature=signature,
        signed_data=rest.rsplit("/", 1)[0],
    )


def verify_kod2(url: str, public_key: PublicKey | x509.Certificate) -> bool:
    """Whether ``url`` is a KOD II link whose signature verifies with ``public_key`` (or the certificate's key).

    RSA (≥ 2048 bits): PSS with SHA-256, MGF1-SHA-256 and a salt of exactly 32 bytes. EC P-256: ECDSA SHA-256,
    the signature as IEEE P1363 ``r‖s`` or as DER. Checks the signature only: not the certificate's kind,
    validity or serial (match ``parse_kod2(url).cert_serial`` yourself), nor KSeF's register. ``False`` for a
    malformed link, a wrong signature or a key of another kind or size; never raises for those.
    """
    key = public_key.public_key() if isinstance(public_key, x509.Certificate) else public_key
    try:
        link = parse_kod2(url)
    except Kod2Error:
        return False
    message = link.signed_data.encode("utf-8")
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return False
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT)
        try:
            key.verify(link.signature, message, pss, hashes.SHA256())
        except InvalidSignature:
            return False
        return True
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == EC_CURVE:
        return any(_ecdsa_ok(key, der, message) for der in _ecdsa_candidates(link.signature))
    return False


def _ecdsa_candidates(signature: bytes) -> list[bytes]:
    """The DER forms ``signature`` may stand for: ``r‖s`` if it is 64 bytes long, and itself (DER)."""
    candidates = []
    if len(signature) == _P1363_LENGTH:
        half = _P1363_LENGTH // 2
        r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        candidates.append(utils.encode_dss_signature(r, s))
    candidates.append(signature)
    return candidates


def _ecdsa_ok(key: ec.EllipticCurvePublicKey, der: bytes, message: bytes) -> bool:
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def kod2_svg(url: str, *, scale: int = 4) -> str:
    """A standalone SVG document (with XML declaration) of KOD II, quiet zone included (``qr.qr_text`` and
    ``qr.qr_modules`` draw it as they draw KOD I)."""
    buffer = io.BytesIO()
    make_qr(url).save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=True, title="KOD II")
    return buffer.getvalue().decode("utf-8")
