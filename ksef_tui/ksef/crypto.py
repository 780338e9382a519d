"""KSeF cryptography (PROTOCOL.md §3.2–3.3, §5.1): certificate choice, RSA-OAEP, AES-256-CBC, hashes."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN_USAGE = "KsefTokenEncryption"
SYMMETRIC_USAGE = "SymmetricKeyEncryption"


@dataclass(frozen=True, slots=True)
class PublicKeyCertificate:
    der: bytes
    public_key_id: str | None
    certificate_id: str | None
    valid_from: datetime
    valid_to: datetime
    usage: tuple[str, ...]

    def public_key(self) -> RSAPublicKey:
        key = x509.load_der_x509_certificate(self.der).public_key()
        if not isinstance(key, RSAPublicKey):
            raise ValueError("only RSA certificates are supported")
        return key


class NoUsableCertificate(ValueError):
    pass


def select_certificate(certs: list[PublicKeyCertificate], usage: str, now: datetime) -> PublicKeyCertificate:
    """The certificate for ``usage`` valid now, preferring the latest ``validFrom`` (planned rotation)."""
    usable = [c for c in certs if usage in c.usage and c.valid_from <= now < c.valid_to]
    if not usable:
        raise NoUsableCertificate(f"no valid certificate for {usage}")
    return max(usable, key=lambda c: c.valid_from)


def _oaep() -> asym_padding.OAEP:
    return asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def encrypt_token(cert: PublicKeyCertificate, token: str, timestamp_ms: int) -> str:
    """Base64 of RSA-OAEP(SHA-256) over UTF-8 ``token|timestampMs``."""
    return base64.b64encode(cert.public_key().encrypt(f"{token}|{timestamp_ms}".encode(), _oaep())).decode("ascii")


@dataclass(frozen=True, slots=True)
class SymmetricKey:
    """An AES-256 key and IV for one session or export."""

    key: bytes
    iv: bytes

    @classmethod
    def generate(cls) -> SymmetricKey:
        return cls(os.urandom(32), os.urandom(16))

    def encrypted_key(self, cert: PublicKeyCertificate) -> str:
        return base64.b64encode(cert.public_key().encrypt(self.key, _oaep())).decode("ascii")

    @property
    def iv_b64(self) -> str:
        return base64.b64encode(self.iv).decode("ascii")

    def encrypt(self, data: bytes) -> bytes:
        padder = padding.PKCS7(128).padder()
        padded = padder.update(data) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()
        return encryptor.update(padded) + encryptor.finalize()

    def decrypt(self, data: bytes) -> bytes:
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
