"""Session tokens of one KSeF authentication, and the fingerprint shown instead of any secret."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_SESSION_FORMAT = 1


def fingerprint(secret: str) -> str:
    """What UIs and logs show instead of a secret: the first 8 hex characters of its SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


def _parse_instant(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"session tokens: {name} is missing")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"session tokens: {name} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise ValueError(f"session tokens: {name} has no time zone")
    return instant


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """The KSeF access and refresh JWTs with their expiry; ``repr`` shows fingerprints only."""

    access_token: str = field(repr=False)
    access_valid_until: datetime
    refresh_token: str = field(repr=False)
    refresh_valid_until: datetime
    reference_number: str

    def __post_init__(self) -> None:
        if not self.access_token or not self.refresh_token:
            raise ValueError("session tokens: empty token")
        if self.access_valid_until.tzinfo is None or self.refresh_valid_until.tzinfo is None:
            raise ValueError("session tokens: valid_until must carry a time zone")

    def __repr__(self) -> str:
        return (
            f"SessionTokens(reference_number={self.reference_number!r}, "
            f"access=sha256:{fingerprint(self.access_token)} until {self.access_valid_until.isoformat()}, "
            f"refresh=sha256:{fingerprint(self.refresh_token)} until {self.refresh_valid_until.isoformat()})"
        )

    def access_valid(self, now: datetime, margin: timedelta = timedelta(seconds=60)) -> bool:
        return now + margin < self.access_valid_until

    def refresh_valid(self, now: datetime, margin: timedelta = timedelta(seconds=60)) -> bool:
        return now + margin < self.refresh_valid_until

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": _SESSION_FORMAT,
                "access_token": self.access_token,
                "access_valid_until": self.access_valid_until.isoformat(),
                "refresh_token": self.refresh_token,
                "refresh_valid_until": self.refresh_valid_until.isoformat(),
                "reference_number": self.reference_number,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> SessionTokens:
        """Raises ``ValueError`` naming the bad field, never quoting the blob."""
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("session tokens: not JSON") from None
        if not isinstance(data, dict) or data.get("v") != _SESSION_FORMAT:
            raise ValueError("session tokens: unknown format")
        for name in ("access_token", "refresh_token", "reference_number"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"session tokens: {name} is missing")
        return cls(
            access_token=data["access_token"],
            access_valid_until=_parse_instant(data.get("access_valid_until"), "access_valid_until"),
            refresh_token=data["refresh_token"],
            refresh_valid_until=_parse_instant(data.get("refresh_valid_until"), "refresh_valid_until"),
            reference_number=data["reference_number"],
        )
