"""A signing credential (certificate + private key) and the XAdES-signed ``AuthTokenRequest`` (CERTS_OFFLINE.md §1).

A :class:`SigningCredential` is loaded the way the KSeF Taxpayer App and qualified-certificate providers hand
them out: a PKCS#12 file with its password, or a certificate (PEM or DER, a chain allowed) with a PKCS#8 private
key in PEM (encrypted with a password or not). Loading checks what KSeF would refuse later: the key must match
the certificate, RSA keys need 2048 bits or more, EC keys must be on P-256 or P-384.

:func:`auth_token_request` builds the document to sign; :func:`sign_xades` signs it with signxml, laid out as
MF's reference signer (``ksef_tui.ksef.signer``, loaded only when a signature is made: it brings lxml).

No password, key or PKCS#12 payload ever appears in an error, a ``repr`` or a log.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ksef_tui.ksef.errors import (
    CredentialUnreadable,
    KeyMismatch,
    MissingCertificate,
    MissingPrivateKey,
    PasswordNeeded,
    UnsupportedKey,
    WrongPassword,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

MIN_RSA_BITS = 2048
EC_CURVES = ("secp256r1", "secp384r1")

AUTH_NAMESPACE = "http://ksef.mf.gov.pl/auth/token/2.1"
CONTEXT_TYPES = ("Nip", "InternalId", "NipVatUe", "PeppolId")
SUBJECT_TYPES = ("certificateSubject", "certificateFingerprint")

# CERTS_OFFLINE §1.4: how KSeF reads the identity out of the certificate's subject.
_PESEL = re.compile(r"(PNOPL|PESEL).*?(\d{11})")
_NIP = re.compile(r"(TINPL|NIP).*?(\d{10})")
_SEAL_NIP = re.compile(r"(VATPL).*?(\d{10})")

#: Names for the subject attributes of Polish certificates that RFC 4514 leaves as dotted OIDs (as .NET shows them).
NAME_LABELS = {NameOID.SERIAL_NUMBER: "SERIALNUMBER", NameOID.GIVEN_NAME: "G", NameOID.SURNAME: "SN"}


class CertificateKind(StrEnum):
    SEAL = "seal"  # organizationIdentifier VATPL-…, no given name or surname
    PERSON = "person"  # givenName/surname, serialNumber PNOPL-…/TINPL-…
    OTHER = "other"  # neither: usable only with certificateFingerprint


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    """Who KSeF takes the signer for with ``certificateSubject``: ``Nip`` or ``Pesel`` and the number."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


def _attributes(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in name.get_attributes_for_oid(oid)]


@dataclass(frozen=True, slots=True, eq=False)
class SigningCredential:
    """A certificate with its private key (and the chain that came with it). Built only through the loaders or
    :meth:`create`, which check the key."""

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def create(
        cls, certificate: x509.Certificate, private_key: object, chain: tuple[x509.Certificate, ...] = ()
    ) -> SigningCredential:
        """A credential from loaded objects: the key must be supported and match the certificate."""
        key = _supported_key(private_key)
        if _public_der(certificate.public_key()) != _public_der(key.public_key()):
            raise KeyMismatch()
        return cls(certificate, key, chain)

    # ------------------------------------------------------------------------------------------- facts

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, upper-case hex: the ``certificateFingerprint`` identity (§1.4)."""
        return hashlib.sha256(self.der).hexdigest().upper()

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string(NAME_LABELS)

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string(NAME_LABELS)

    @property
    def serial(self) -> str:
        """The serial number in upper-case hex (as KSeF writes its own certificates' serials)."""
        return format(self.certificate.serial_number, "X")

    @property
    def key_description(self) -> str:
        """E.g. ``RSA-2048`` or ``EC secp256r1``."""
        return _describe(self.private_key)

    @property
    def kind(self) -> CertificateKind:
        subject = self.certificate.subject
        person = _attributes(subject, NameOID.GIVEN_NAME) or _attributes(subject, NameOID.SURNAME)
        if person:
            return CertificateKind.PERSON
        if _attributes(subject, NameOID.ORGANIZATION_IDENTIFIER):
            return CertificateKind.SEAL
        if any(_PESEL.search(v) or _NIP.search(v) for v in _attributes(subject, NameOID.SERIAL_NUMBER)):
            return CertificateKind.PERSON
        return CertificateKind.OTHER

    @property
    def identity(self) -> CertificateIdentity | None:
        """The NIP or PESEL KSeF reads from the subject for ``certificateSubject`` (§1.4), or ``None``: then the
        certificate can be used only by its fingerprint, after a grant to it."""
        subject = self.certificate.subject
        if self.kind is CertificateKind.SEAL:
            for value in _attributes(subject, NameOID.ORGANIZATION_IDENTIFIER):
                if match := _SEAL_NIP.search(value):
                    return CertificateIdentity("Nip", match.group(2))
            return None
        for value in _attributes(subject, NameOID.SERIAL_NUMBER):
            if match := _PESEL.search(value):
                return CertificateIdentity("Pesel", match.group(2))
            if match := _NIP.search(value):
                return CertificateIdentity("Nip", match.group(2))
        return None

    def to_pkcs12(self, password: str | bytes, name: str = "ksef") -> bytes:
        """The credential as one PKCS#12 blob protected by ``password`` (e.g. for the vault to keep)."""
        return pkcs12.serialize_key_and_certificates(
            name.encode(),
            self.private_key,
            self.certificate,
            list(self.chain) or None,
            serialization.BestAvailableEncryption(_password(password) or b""),
        )


# ------------------------------------------------------------------------------------------------- loading


def _password(password: str | bytes | None) -> bytes | None:
    if password is None or password in ("", b""):
        return None
    return password.encode("utf-8") if isinstance(password, str) else password


def _public_der(key: object) -> bytes:
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise UnsupportedKey(_describe(key))
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _describe(key: object) -> str:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA-{key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"EC {key.curve.name}"
    return type(key).__name__.lstrip("_").removesuffix("PrivateKey").removesuffix("PublicKey")


def _supported_key(key: object) -> PrivateKey:
    """The key if KSeF accepts it for a signature (§1.2: RSA >= 2048; EC on a curve >= 256 bits, here P-256/P-384)."""
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_BITS:
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in EC_CURVES:
        return key
    raise UnsupportedKey(_describe(key))


def _looks_like_pkcs12(data: bytes) -> bool:
    """A DER ``PFX``: SEQUENCE { INTEGER 3, ContentInfo ... } (RFC 7292)."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    length = data[1]
    offset = 2 + (length & 0x7F if length & 0x80 else 0)
    return data[offset : offset + 3] == b"\x02\x01\x03"


def _certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates in ``data`` (PEM, one or more; or DER), or an empty list."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            return []
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return []


def _is_encrypted_pem(key: bytes) -> bool:
    return b"ENCRYPTED PRIVATE KEY" in key or b"Proc-Type: 4,ENCRYPTED" in key


def _private_key(data: bytes, password: bytes | None) -> object:
    """A private key from PEM (PKCS#8, encrypted or not, or the traditional forms) or DER."""
    pem = b"PRIVATE KEY-----" in data
    load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        return load(data, password)
    except TypeError:  # cryptography: encrypted but no password, or a password for a plain key
        if password is None:
            raise PasswordNeeded() from None
    except UnsupportedAlgorithm:
        raise UnsupportedKey("unknown") from None
    except ValueError:
        encrypted = _is_encrypted_pem(data) if pem else password is not None
        if encrypted and password is not None:
            raise WrongPassword() from None
        raise CredentialUnreadable() from None
    try:  # a password given for a plain key is not an error
        return load(data, None)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        raise CredentialUnreadable() from None


def load_pem(certificate: bytes, key: bytes, password: str | bytes | None = None) -> SigningCredential:
    """A certificate (PEM or DER; other certificates in the file are its chain) and its private key (PEM PKCS#8,
    encrypted with ``password`` or not, or DER)."""
    certs = _certificates(certificate)
    if not certs:
        raise MissingCertificate()
    private_key = _supported_key(_private_key(key, _password(password)))
    public = _public_der(private_key.public_key())
    for index, cert in enumerate(certs):
        if _public_der(cert.public_key()) == public:
            chain = tuple(certs[:index] + certs[index + 1 :])
            return SigningCredential(cert, private_key, chain)
    raise KeyMismatch()


def load_pkcs12(data: bytes, password: str | bytes | None = None) -> SigningCredential:
    """A PKCS#12 (``.p12``/``.pfx``) with its password."""
    secret = _password(password)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except UnsupportedAlgorithm:
        raise UnsupportedKey("unknown") from None
    except ValueError:
        if not _looks_like_pkcs12(data):
            raise CredentialUnreadable() from None
        if secret is None:
            raise PasswordNeeded() from None
        raise WrongPassword() from None
    if key is None:  # a certificate alone comes back among the extra ones
        raise MissingPrivateKey() if cert is not None or extra else CredentialUnreadable()
    if cert is None:
        raise MissingCertificate()
    return SigningCredential.create(cert, key, tuple(extra))


def load_credential(data: bytes, password: str | bytes | None = None, *, key: bytes | None = None) -> SigningCredential:
    """Whatever the user picked: a PKCS#12; a certificate with ``key`` from a second file; or one PEM file
    holding both the certificate and the key. A certificate alone is :class:`MissingPrivateKey`."""
    if key is not None:
        return load_pem(data, key, password)
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY-----" in data:
            return load_pem(data, data, password)
        if _certificates(data):
            raise MissingPrivateKey()
        raise CredentialUnreadable()
    if _looks_like_pkcs12(data):
        return load_pkcs12(data, password)
    if _certificates(data):
        raise MissingPrivateKey()
    raise CredentialUnreadable()


# -------------------------------------------------------------------------------------------------- signing


def auth_token_request(
    challenge: str, context_type: str, context_value: str, subject_type: str = "certificateSubject"
) -> bytes:
    """The unsigned ``AuthTokenRequest`` (namespace 2.1, §1.1) as UTF-8 bytes."""
    if context_type not in CONTEXT_TYPES:
        raise ValueError(f"unknown context type {context_type!r}")
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"unknown subject identifier type {subject_type!r}")
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<AuthTokenRequest xmlns="{AUTH_NAMESPACE}">'
        f"<Challenge>{escape(challenge)}</Challenge>"
        f"<ContextIdentifier><{context_type}>{escape(context_value)}</{context_type}></ContextIdentifier>"
        f"<SubjectIdentifierType>{subject_type}</SubjectIdentifierType>"
        "</AuthTokenRequest>"
    )
    return text.encode("utf-8")


def sign_xades(xml: bytes, credential: SigningCredential, signing_time: datetime) -> bytes:
    """``xml`` with an enveloped XAdES-BES signature appended to its root (§1.2), ``signing_time`` written as
    ``SigningTime`` (the caller backdates it a minute, as MF does). The bytes must be sent unchanged."""
    from ksef_tui.ksef.signer import sign_enveloped

    return sign_enveloped(xml, credential.certificate, credential.private_key, signing_time)
