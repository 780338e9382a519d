"""A credential: what signs in to KSeF (a KSeF token, or a certificate with its private key), apart from the
companies that use it (stdlib only).

A profile is a company context (NIP, environment, start date) that uses one credential; many profiles may share
one (an accounting office logs in with its own certificate in each client's context). The secret itself is in
the vault under the credential's name; what is here is safe to keep in a file and to show: the kind, the
fingerprint (of the token, or the certificate's SHA-256), and for a certificate its subject, the identity it
carries and its validity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

#: KSeF accepts no token logins from this day (CERTS_OFFLINE: tokens end with 2026).
TOKENS_END = date(2027, 1, 1)
#: A certificate is warned about this many days before it expires.
EXPIRY_WARNING_DAYS = 30


class CredentialKind(StrEnum):
    TOKEN = "token"
    CERTIFICATE = "certificate"


@dataclass(frozen=True, slots=True)
class Credential:
    name: str
    kind: CredentialKind
    environment: str  # the vault's environment key (test, demo, prod, custom:host:port)
    fingerprint: str | None = None  # token: the vault's short fingerprint; certificate: SHA-256 hex of the DER
    subject: str = ""  # certificate: its subject DN as text
    identity: str = ""  # certificate: "Nip:1234567890" / "Pesel:…" (CERTS_OFFLINE §1.4), "" when it carries none
    serial: str = ""  # certificate: serial number, hex
    not_before: datetime | None = None
    not_after: datetime | None = None
    certificate_type: str = ""  # "authentication" / "offline" for KSeF certificates, "" for others

    def __post_init__(self) -> None:
        for moment in (self.not_before, self.not_after):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("credential validity must be timezone-aware")

    def days_left(self, now: datetime | None = None) -> int | None:
        """Days until the credential stops working: a certificate's end of validity, a token's 2027-01-01."""
        moment = now or datetime.now(UTC)
        if self.kind is CredentialKind.TOKEN:
            end = datetime(TOKENS_END.year, TOKENS_END.month, TOKENS_END.day, tzinfo=UTC)
        elif self.not_after is not None:
            end = self.not_after
        else:
            return None
        return (end - moment).days

    def valid_at(self, now: datetime) -> bool:
        if self.not_before is not None and now < self.not_before:
            return False
        return self.not_after is None or now <= self.not_after
