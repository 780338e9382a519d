"""The book of authentication (PROTOCOL §3): challenges, authentication operations (with a KSeF token here;
the XAdES judgement is in :mod:`.xades_login`), and the JWTs that stand for them (authentication, access and
refresh tokens)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.clock import unix_ms
from ksef_tui.sim.core import Book, Core, secs
from ksef_tui.sim.identity import Identity
from ksef_tui.sim.keys import TOKEN_USAGE, KeyRing
from ksef_tui.sim.tokens import KsefToken, TokenBook

AUTH_DESCRIPTIONS = {
    100: "Uwierzytelnianie w toku",
    200: "Uwierzytelnianie zakończone sukcesem",
    415: "Uwierzytelnianie zakończone niepowodzeniem",
    425: "Uwierzytelnienie unieważnione",
    450: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
    460: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu",
    470: "Uwierzytelnianie zakończone niepowodzeniem",
    480: "Uwierzytelnienie zablokowane",
}
TOKEN_METHOD = ("Token", "Token", "token.ksef", "Token KSeF")
BLOCKED = "Podejrzenie incydentu bezpieczeństwa. Skontaktuj się z Ministerstwem Finansów przez formularz zgłoszeniowy."
CONTEXT_TYPES = ("Nip", "InternalId", "NipVatUe", "PeppolId")


@dataclass
class Challenge:
    value: str
    created: datetime
    timestamp_ms: int
    used: bool = False


@dataclass(frozen=True)
class IpRule:
    """One entry of ``authorizationPolicy.allowedIps``: an address, an ``a-b`` range or a CIDR mask."""

    low: ipaddress.IPv4Address
    high: ipaddress.IPv4Address

    def matches(self, address: ipaddress.IPv4Address) -> bool:
        return self.low <= address <= self.high

    @classmethod
    def parse(cls, kind: str, text: str) -> IpRule:
        """Raises ``ValueError`` for malformed input."""
        if kind == "ip4Addresses":
            one = ipaddress.IPv4Address(text)
            return cls(one, one)
        if kind == "ip4Ranges":
            first, _, last = text.partition("-")
            low, high = ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
            if low > high:
                raise ValueError("empty range")
            return cls(low, high)
        network = ipaddress.IPv4Network(text, strict=False)
        return cls(network.network_address, network.broadcast_address)


@dataclass
class AuthOp:
    reference: str
    started: datetime
    context_type: str
    context_value: str
    ready_at: datetime
    outcome: int
    details: list[str]
    token_ref: str | None
    permissions: list[str]
    client_ip: str
    redeemed: bool = False
    refresh_until: datetime | None = None
    last_refresh: datetime | None = None
    revoked: bool = False
    allowed_ips: list[IpRule] | None = None  # authorizationPolicy.allowedIps; None = any
    # (authenticationMethod, authenticationMethodInfo.category, .code, .displayName)
    method: tuple[str, str, str, str] = TOKEN_METHOD
    subject: Identity | None = None  # XAdES: who signed (a token login's subject is the token's author)
    certificate: bytes | None = None  # XAdES: the signing certificate (DER), for the enrollment data
    ksef_certificate: str | None = None  # XAdES with a KSeF certificate: its serial number

    def ip_allowed(self, ip: str) -> bool:
        if self.allowed_ips is None:
            return True
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        return any(rule.matches(address) for rule in self.allowed_ips)

    def status_code(self, now: datetime) -> int:
        if self.revoked:
            return 425
        return 100 if now < self.ready_at else self.outcome


@dataclass
class Bearer:
    typ: str
    arn: str
    context_type: str
    context_value: str
    permissions: list[str]
    token_ref: str | None
    exp: float


class AuthBook(Book[AuthOp]):
    """Authentication operations by reference number, and the challenges handed out."""

    def __init__(self, core: Core, keys: KeyRing, tokens: TokenBook) -> None:
        super().__init__(core)
        self.keyring = keys
        self.tokens = tokens
        self.jwt_secret = hashlib.sha256(f"ksef-sim-jwt-{core.config.seed}".encode()).digest()
        self._challenges: dict[str, Challenge] = {}
        #: Contexts whose logins end in 480 (TE: POST /testdata/context/block).
        self.blocked: set[tuple[str, str]] = set()

    # ----------------------------------------------------------------- challenges
    def new_challenge(self) -> Challenge:
        now = self.core.now()
        challenge = Challenge(self.core.new_reference(ReferenceType.CHALLENGE), now, unix_ms(now))
        self._challenges[challenge.value] = challenge
        return challenge

    def take_challenge(self, value: str) -> Challenge | None:
        """The challenge, marked used; ``None`` when unknown or (in single-use mode) already used."""
        challenge = self._challenges.get(value)
        if challenge is None or (challenge.used and self.core.config.challenge_single_use):
            return None
        challenge.used = True
        return challenge

    # ----------------------------------------------------------------- token authentication
    def start_token_auth(
        self,
        challenge: Challenge,
        context_type: str,
        context_value: str,
        encrypted: bytes,
        client_ip: str,
        *,
        key_id: str | None = None,
    ) -> AuthOp:
        """Decide the outcome now, reveal it after ``auth_delay`` (PROTOCOL §3.4, §11.2)."""
        now = self.core.now()
        outcome, details, token = self._judge_token(
            challenge, context_type, context_value, encrypted, now=now, key_id=key_id
        )
        if (context_type, context_value) in self.blocked:
            outcome, details, token = 480, [BLOCKED], None
        if token is not None and outcome == 200:
            token.last_use = now
        op = AuthOp(
            reference=self.core.new_reference(ReferenceType.AUTHENTICATION),
            started=now,
            context_type=context_type,
            context_value=context_value,
            ready_at=now + secs(self.core.config.auth_delay),
            outcome=outcome,
            details=details,
            token_ref=token.reference if token is not None else None,
            permissions=list(token.permissions) if token is not None and outcome == 200 else [],
            client_ip=client_ip,
        )
        self.add(op)
        return op

    def _judge_token(
        self,
        challenge: Challenge,
        context_type: str,
        context_value: str,
        encrypted: bytes,
        *,
        now: datetime,
        key_id: str | None,
    ) -> tuple[int, list[str], KsefToken | None]:
        if now > challenge.created + secs(self.core.config.challenge_ttl):
            return 450, ["Nieprawidłowe wyzwanie autoryzacyjne"], None
        try:
            plain = self.keyring.decrypt(TOKEN_USAGE, key_id, encrypted)
        except ValueError:
            return 450, ["Nieprawidłowe szyfrowanie tokena"], None
        try:
            text = plain.decode("utf-8")
            token_text, _, stamp = text.rpartition("|")
            if not token_text or not stamp.isdigit():
                raise ValueError
            stamp_ms = int(stamp)
        except ValueError:
            return 450, ["Nieprawidłowe kodowanie tokena"], None
        if stamp_ms != challenge.timestamp_ms:
            return 450, ["Nieprawidłowy czas tokena"], None
        token = self.tokens.get(token_text.split("|", 1)[0])
        if token is None or not hmac.compare_digest(token.token.encode(), token_text.encode()):
            return 450, ["Nieprawidłowy token"], None
        if context_type != "Nip" or context_value != token.context_nip:
            return 450, [f"Token nie może być użyty w kontekście {context_value}"], None
        if token.revoked:
            return 450, ["Token unieważniony"], None
        if token.status != "Active":
            return 450, ["Token nieaktywny"], None
        if not token.permissions:
            return 415, ["Brak przypisanych uprawnień"], None
        return 200, [], token

    def token_of(self, op: AuthOp) -> KsefToken | None:
        return self.tokens.get(op.token_ref) if op.token_ref else None

    def subject_of(self, op: AuthOp) -> Identity:
        """Who authenticated: the signer of a XAdES request, the author of a KSeF token."""
        if op.subject is not None:
            return op.subject
        token = self.token_of(op)
        return Identity("Nip", token.author_nip if token is not None else op.context_value)

    def add(self, op: AuthOp) -> None:
        self._records[op.reference] = op

    # ----------------------------------------------------------------- JWT
    def issue_jwt(self, typ: str, op: AuthOp, ttl: float) -> tuple[str, datetime]:
        now = self.core.now()
        iat = int(now.timestamp())
        exp = math.ceil(now.timestamp() + ttl)
        claims: dict[str, Any] = {
            "typ": typ,
            "arn": op.reference,
            "cit": op.context_type,
            "civ": op.context_value,
            "aum": op.method[0],
            "sud": json.dumps({op.subject.type: op.subject.value} if op.subject else {"Nip": op.context_value}),
            "per": json.dumps(op.permissions if typ != "AuthenticationToken" else []),
            "pec": "[]",
            "rol": "[]",
            "iss": self.core.config.jwt_issuer,
            "aud": self.core.config.jwt_issuer,
            "iat": iat,
            "exp": exp,
        }
        if op.token_ref:
            claims["tre"] = op.token_ref
        token = jwt.encode(claims, self.jwt_secret, algorithm="HS256")
        return token, datetime.fromtimestamp(exp, UTC)

    def read_jwt(self, token: str) -> Bearer | None:
        """Signature-checked claims, or ``None`` for garbage; expiry is checked by the caller."""
        try:
            claims = jwt.decode(
                token,
                self.jwt_secret,
                algorithms=["HS256"],
                audience=self.core.config.jwt_issuer,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
            permissions = json.loads(claims.get("per", "[]"))
            return Bearer(
                typ=str(claims["typ"]),
                arn=str(claims["arn"]),
                context_type=str(claims["cit"]),
                context_value=str(claims["civ"]),
                permissions=[str(p) for p in permissions],
                token_ref=claims.get("tre"),
                exp=float(claims["exp"]),
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return None
