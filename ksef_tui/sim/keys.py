"""The simulator's own RSA keys in self-signed X.509 certificates, and the server-side crypto.

Token encryption: RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) with the ``KsefTokenEncryption`` key.
Session keys: the same OAEP with the ``SymmetricKeyEncryption`` key; invoices are AES-256-CBC with
PKCS#7 padding, ciphertext only (the IV travels separately).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

TOKEN_USAGE = "KsefTokenEncryption"
SYMMETRIC_USAGE = "SymmetricKeyEncryption"
AES_KEY_BYTES = 32
AES_IV_BYTES = 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha256_b64(data: bytes) -> str:
    return b64(hashlib.sha256(data).digest())


@dataclass(frozen=True)
class PublicKeyCert:
    usage: str
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    valid_from: datetime
    valid_to: datetime

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def certificate_id(self) -> str:
        return sha256_b64(self.der)

    @property
    def public_key_id(self) -> str:
        spki = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return sha256_b64(spki)


def make_cert(usage: str, now: datetime, key_size: int = 2048, *, age_days: int = 30) -> PublicKeyCert:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    valid_from = (now - timedelta(days=age_days)).replace(microsecond=0)
    valid_to = (now + timedelta(days=730)).replace(microsecond=0)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "KSeF simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"KSeF simulator {usage}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return PublicKeyCert(usage, key, cert, valid_from, valid_to)


_OAEP = OAEP(mgf=MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def oaep_decrypt(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """Raises ``ValueError`` when the ciphertext was not made with OAEP-SHA256 for this key."""
    return key.decrypt(data, _OAEP)


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-256-CBC + PKCS#7; raises ``ValueError`` on bad length or padding."""
    if len(key) != AES_KEY_BYTES or len(iv) != AES_IV_BYTES or not data or len(data) % 16:
        raise ValueError("bad AES input")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


class KeyRing:
    """The simulator's certificates and the server-side use of their private keys."""

    def __init__(self, certs: list[PublicKeyCert], now: Callable[[], datetime]) -> None:
        self.certs = certs
        self._now = now

    def known_key_ids(self) -> set[str]:
        return {c.public_key_id for c in self.certs}

    def decrypt(self, usage: str, key_id: str | None, data: bytes) -> bytes:
        """OAEP-decrypt with the key named by ``publicKeyId`` or, without one, any current key of the usage.

        Raises ``ValueError`` when no key fits (wrong key, wrong padding or hash)."""
        now = self._now()
        if key_id is not None:
            candidates = [c for c in self.certs if c.public_key_id == key_id and c.usage == usage]
        else:
            candidates = sorted(
                (c for c in self.certs if c.usage == usage and c.valid_from <= now < c.valid_to),
                key=lambda c: c.valid_from,
                reverse=True,
            )
        for cert in candidates:
            try:
                return oaep_decrypt(cert.private_key, data)
            except ValueError:
                continue
        raise ValueError("no key fits")

    def symmetric_key(self, encrypted_key: bytes, iv: bytes, key_id: str | None) -> bytes | None:
        """The AES-256 key of a session or export (``EncryptionInfo``), or ``None`` when it cannot be used:
        no key of ours opens it, it is not 32 bytes, or the IV is not 16 bytes (KSeF: status 415)."""
        if len(iv) != AES_IV_BYTES:
            return None
        try:
            key = self.decrypt(SYMMETRIC_USAGE, key_id, encrypted_key)
        except ValueError:
            return None
        return key if len(key) == AES_KEY_BYTES else None
