"""The book of KSeF tokens (PROTOCOL §4): the three-part token string, its permissions and its life
(``Pending`` → ``Active`` after a delay; ``Revoking`` → ``Revoked``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.core import Book, Core, secs

ALL_TOKEN_PERMISSIONS = (
    "InvoiceRead",
    "InvoiceWrite",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
    "EnforcementOperations",
    "Introspection",
)
FULL_PERMISSIONS = ["InvoiceRead", "InvoiceWrite", "CredentialsRead", "CredentialsManage", "Introspection"]
TOKEN_STATUSES = ("Pending", "Active", "Revoking", "Revoked", "Failed")


@dataclass
class KsefToken:
    reference: str
    context_nip: str
    secret: str
    permissions: list[str]
    description: str
    author_nip: str
    created: datetime
    status: str  # one of TOKEN_STATUSES
    activate_at: datetime | None = None
    revoke_at: datetime | None = None
    last_use: datetime | None = None

    @property
    def token(self) -> str:
        return f"{self.reference}|nip-{self.context_nip}|{self.secret}"

    @property
    def revoked(self) -> bool:
        return self.status in ("Revoking", "Revoked")


class TokenBook(Book[KsefToken]):
    """Tokens by reference number."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)

    def add(
        self,
        nip: str,
        permissions: list[str],
        description: str,
        *,
        status: str = "Active",
        author_nip: str | None = None,
        activate_after: float | None = None,
    ) -> KsefToken:
        now = self.core.now()
        token = KsefToken(
            reference=self.core.new_reference(ReferenceType.KSEF_TOKEN),
            context_nip=nip,
            secret=f"{self.core.rng.getrandbits(256):064x}",
            permissions=list(permissions),
            description=description,
            author_nip=author_nip or nip,
            created=now,
            status=status,
            activate_at=now + secs(activate_after) if activate_after is not None else None,
        )
        self._records[token.reference] = token
        return token

    def revoke(self, token: KsefToken) -> None:
        if token.status in ("Pending", "Active"):
            token.status = "Revoking"
            token.revoke_at = self.core.now() + secs(self.core.config.token_revocation_delay)

    def tick(self, now: datetime) -> None:
        for token in self._records.values():
            if token.status == "Pending" and token.activate_at is not None and now >= token.activate_at:
                token.status = "Active"
            elif token.status == "Revoking" and token.revoke_at is not None and now >= token.revoke_at:
                token.status = "Revoked"
