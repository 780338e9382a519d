"""Who a certificate says its holder is (CERTS_OFFLINE §1.4, §3.2): the subject identifier KSeF reads from a
signing certificate, whether it is a seal or a person's certificate, and the DN a KSeF certificate request must
repeat (``/certificates/enrollments/data``).

* person (``givenName``/``surname`` present): ``serialNumber`` (2.5.4.5) matched by ``(PNOPL|PESEL).*?(\\d{11})``
  gives a PESEL, ``(TINPL|NIP).*?(\\d{10})`` a NIP;
* seal (no ``givenName``/``surname``): ``organizationIdentifier`` (2.5.4.97) matched by ``(VATPL).*?(\\d{10})``;
* ``certificateFingerprint``: the SHA-256 of the certificate's DER, 64 hex digits (compared in any letter case).

A NIP must pass its checksum and a PESEL its check digit, else the certificate carries no usable identity.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from ksef_tui.domain.nip import is_valid_nip

IDENTIFIER_TYPES = ("Nip", "Pesel", "Fingerprint")

_PESEL = re.compile(r"(PNOPL|PESEL).*?(\d{11})")
_NIP = re.compile(r"(TINPL|NIP).*?(\d{10})")
_VAT = re.compile(r"(VATPL).*?(\d{10})")
_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)


@dataclass(frozen=True)
class Identity:
    """A subject identifier as the API spells it: ``{"type": "Nip"|"Pesel"|"Fingerprint", "value": ...}``;
    build it with :meth:`of` (a fingerprint is kept in upper case, so equal identities compare equal)."""

    type: str
    value: str

    @classmethod
    def of(cls, type_: str, value: str) -> Identity:
        return cls(type_, value.upper() if type_ == "Fingerprint" else value)

    def as_json(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value}

    def same(self, type_: str, value: str) -> bool:
        """Equal to ``type_``/``value`` (fingerprints in any letter case)."""
        if type_ != self.type:
            return False
        return value.upper() == self.value.upper() if type_ == "Fingerprint" else value == self.value


def pesel_ok(value: str) -> bool:
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:10], _PESEL_WEIGHTS, strict=True))
    return (10 - total % 10) % 10 == int(value[10])


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(der_of(cert)).hexdigest().upper()


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def is_seal(cert: x509.Certificate) -> bool:
    """A seal names an organisation and no person (``givenName`` and ``surname`` are forbidden in seals)."""
    subject = cert.subject
    person = _first(subject, NameOID.GIVEN_NAME) is not None or _first(subject, NameOID.SURNAME) is not None
    organisation = _first(subject, NameOID.ORGANIZATION_IDENTIFIER) is not None
    return organisation and not person


def subject_identity(cert: x509.Certificate) -> Identity | None:
    """The NIP or PESEL a certificate names (``certificateSubject``), or ``None`` when it names none usable."""
    subject = cert.subject
    if is_seal(cert):
        found = _VAT.match(_first(subject, NameOID.ORGANIZATION_IDENTIFIER) or "")
        return Identity("Nip", found.group(2)) if found and is_valid_nip(found.group(2)) else None
    serial = _first(subject, NameOID.SERIAL_NUMBER) or ""
    pesel = _PESEL.match(serial)
    if pesel:
        return Identity("Pesel", pesel.group(2)) if pesel_ok(pesel.group(2)) else None
    nip = _NIP.match(serial)
    if nip:
        return Identity("Nip", nip.group(2)) if is_valid_nip(nip.group(2)) else None
    return None


#: ``CertificateEnrollmentDataResponse`` properties and the DN attributes they stand for.
ENROLLMENT_ATTRIBUTES: dict[str, x509.ObjectIdentifier] = {
    "commonName": NameOID.COMMON_NAME,
    "countryName": NameOID.COUNTRY_NAME,
    "givenName": NameOID.GIVEN_NAME,
    "surname": NameOID.SURNAME,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "uniqueIdentifier": NameOID.X500_UNIQUE_IDENTIFIER,
    "organizationName": NameOID.ORGANIZATION_NAME,
    "organizationIdentifier": NameOID.ORGANIZATION_IDENTIFIER,
}


def enrollment_data(cert: x509.Certificate, identity: Identity) -> dict[str, str]:
    """The DN a CSR must carry, read from the login certificate; the identifier comes back normalised
    (a person's ``NIP-…`` as ``TINPL-…``, a PESEL as ``PNOPL-…``, a seal's as ``VATPL-…``)."""
    data: dict[str, str] = {}
    for name, oid in ENROLLMENT_ATTRIBUTES.items():
        value = _first(cert.subject, oid)
        if value:
            data[name] = value
    data.setdefault("commonName", identity.value)
    data.setdefault("countryName", "PL")
    if is_seal(cert):
        if identity.type == "Nip":
            data["organizationIdentifier"] = f"VATPL-{identity.value}"
    elif identity.type == "Nip":
        data["serialNumber"] = f"TINPL-{identity.value}"
    elif identity.type == "Pesel":
        data["serialNumber"] = f"PNOPL-{identity.value}"
    return data


def name_pairs(name: x509.Name) -> list[tuple[str, str]]:
    """The attributes of a DN as sorted (OID, value) pairs: two DNs with the same attributes compare equal
    whatever their order and ASN.1 string types."""
    pairs = []
    for attribute in name:
        value = attribute.value
        text = value if isinstance(value, str) else value.decode("utf-8", "replace")
        pairs.append((attribute.oid.dotted_string, text))
    return sorted(pairs)


def data_pairs(data: dict[str, str]) -> list[tuple[str, str]]:
    return sorted((ENROLLMENT_ATTRIBUTES[name].dotted_string, value) for name, value in data.items())
