"""The simulator's in-memory world and its rules (no HTTP here).

Everything asynchronous in KSeF (auth status, token activation, invoice processing, session close,
permanent storage) is modelled with due times: :meth:`SimState.advance` runs before every request and
settles whatever has come due, in due-time order. With an injectable clock this is deterministic.
One re-entrant lock guards the whole state (uvicorn runs a single worker; handlers are short).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt

from ksef_tui.domain.ksef_number import ReferenceType, make_ksef_number, make_reference_number
from ksef_tui.fa.validate import Schema, validate_bytes
from ksef_tui.sim.archive import unpack_archive
from ksef_tui.sim.clock import unix_ms
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.invoicexml import InvoiceFacts, read_facts
from ksef_tui.sim.keys import (
    SYMMETRIC_USAGE,
    TOKEN_USAGE,
    PublicKeyCert,
    aes_cbc_decrypt,
    make_cert,
    oaep_decrypt,
    sha256_b64,
)
from ksef_tui.sim.limits import RateLimiter
from ksef_tui.sim.seed import DEMO, OTHER, SUPPLIERS, Company, purchase_invoices
from ksef_tui.sim.upo import UpoDocument, build_upo

WARSAW = ZoneInfo("Europe/Warsaw")

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

# (systemCode, schemaVersion, value) accepted when opening a session, per environment.
FORM_CODES_PRD = {
    ("FA (3)", "1-0E", "FA"),
    ("PEF (3)", "2-1", "PEF"),
    ("PEF_KOR (3)", "2-1", "PEF"),
    ("FA_RR (1)", "1-1E", "FA_RR"),
}
FORM_CODES_TE = {*FORM_CODES_PRD, ("FA (2)", "1-0E", "FA")}
SCHEMA_FOR_CODE = {"FA (3)": Schema.FA3, "FA (2)": Schema.FA2}

AUTH_DESCRIPTIONS = {
    100: "Uwierzytelnianie w toku",
    200: "Uwierzytelnianie zakończone sukcesem",
    415: "Uwierzytelnianie zakończone niepowodzeniem",
    425: "Uwierzytelnienie unieważnione",
    450: "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
}
SESSION_DESCRIPTIONS = {
    100: "Sesja interaktywna otwarta",
    170: "Sesja interaktywna zamknięta",
    200: "Sesja interaktywna przetworzona pomyślnie",
    415: "Błąd odszyfrowania dostarczonego klucza",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
}
BATCH_DESCRIPTIONS = {
    100: "Sesja wsadowa rozpoczęta",
    150: "Trwa przetwarzanie",
    200: "Sesja wsadowa przetworzona pomyślnie",
    405: "Błąd weryfikacji poprawności dostarczonych elementów paczki",
    415: "Błąd odszyfrowania dostarczonego klucza",
    420: "Przekroczony limit faktur w sesji",
    430: "Błąd dekompresji pierwotnego archiwum",
    435: "Błąd odszyfrowania pliku",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
}
INVOICE_DESCRIPTIONS = {
    100: "Faktura przyjęta do dalszego przetwarzania",
    150: "Trwa przetwarzanie",
    200: "Sukces",
    410: "Nieprawidłowy zakres uprawnień",
    415: "Brak możliwości wysyłania faktury z załącznikiem",
    430: "Błąd weryfikacji pliku faktury",
    435: "Błąd odszyfrowania pliku",
    440: "Duplikat faktury",
    450: "Błąd weryfikacji semantyki dokumentu faktury",
}


def _secs(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@dataclass
class KsefToken:
    reference: str
    context_nip: str
    secret: str
    permissions: list[str]
    description: str
    author_nip: str
    created: datetime
    status: str  # Pending | Active | Revoking | Revoked | Failed
    activate_at: datetime | None = None
    revoke_at: datetime | None = None
    last_use: datetime | None = None

    @property
    def token(self) -> str:
        return f"{self.reference}|nip-{self.context_nip}|{self.secret}"


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
class StoredInvoice:
    ksef_number: str
    xml: bytes
    invoice_hash: str
    facts: InvoiceFacts
    invoicing_date: datetime
    acquisition: datetime
    permanent_storage: datetime
    mode: str
    session_ref: str
    form: tuple[str, str, str]
    hash_of_corrected: str | None = None

    def on_invoice(self, nip: str) -> bool:
        return (
            nip == self.facts.seller_nip
            or (self.facts.buyer_type == "Nip" and nip == self.facts.buyer_value)
            or any(value == nip for _, value, _, _ in self.facts.third_subjects)
        )


@dataclass
class SessionInvoice:
    ordinal: int
    reference: str
    session_ref: str
    received: datetime
    invoice_hash: str
    invoice_size: int
    content: bytes
    offline_mode: bool
    queue_until: datetime
    done_at: datetime
    status: int | None = None  # final status once processed
    details: list[str] | None = None
    extensions: dict[str, Any] | None = None
    invoice_number: str | None = None
    stored: StoredInvoice | None = None
    upo: bytes | None = None
    plain: bytes | None = None  # batch: already decrypted and unpacked
    file_name: str | None = None  # batch: the file's name inside the archive

    def code(self, now: datetime) -> int:
        if self.status is not None:
            return self.status
        return 100 if now < self.queue_until else 150


@dataclass
class UpoPage:
    reference: str
    xml: bytes


@dataclass
class Session:
    reference: str
    context_nip: str
    auth_ref: str
    token_ref: str | None
    created: datetime
    updated: datetime
    valid_until: datetime
    form: tuple[str, str, str]
    key: bytes | None
    iv: bytes
    status: int = 100
    closed_at: datetime | None = None
    final_at: datetime | None = None
    status_details: list[str] | None = None
    invoices: list[SessionInvoice] = field(default_factory=list)
    upo_pages: list[UpoPage] = field(default_factory=list)
    kind: str = "Online"  # Online | Batch
    batch: BatchPackage | None = None

    @property
    def descriptions(self) -> dict[int, str]:
        return BATCH_DESCRIPTIONS if self.kind == "Batch" else SESSION_DESCRIPTIONS


@dataclass
class BatchPackage:
    file_size: int
    file_hash: str
    compression: str
    parts: dict[int, tuple[int, str]]  # ordinal -> declared (encrypted size, encrypted hash)
    offline_mode: bool
    uploaded: dict[int, bytes] = field(default_factory=dict)
    unpacked: bool = False


@dataclass
class Bearer:
    typ: str
    arn: str
    context_type: str
    context_value: str
    permissions: list[str]
    token_ref: str | None
    exp: float


@dataclass
class Stats:
    calls: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    duplicates: int = 0
    accepted: int = 0
    rejected: int = 0
    purchases_seeded: int = 0
    faults_injected: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": dict(sorted(self.calls.items())),
            "rate_limited": self.rate_limited,
            "duplicates": self.duplicates,
            "invoices": {"accepted": self.accepted, "rejected": self.rejected},
            "purchases_seeded": self.purchases_seeded,
            "faults_injected": self.faults_injected,
        }


class SimState:
    def __init__(self, config: SimConfig, certs: list[PublicKeyCert] | None = None) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.rng = random.Random(config.seed)
        self.jwt_secret = hashlib.sha256(f"ksef-sim-jwt-{config.seed}".encode()).digest()
        self.url_secret = hashlib.sha256(f"ksef-sim-url-{config.seed}".encode()).digest()
        now = self.now()
        self.certs = certs or [
            make_cert(usage, now, config.rsa_key_size, age_days=age)
            for usage in (TOKEN_USAGE, SYMMETRIC_USAGE)
            for age in ((60, 1) if config.key_rotation else (30,))
        ]
        self.limiter = RateLimiter(config.limit_table())
        self.stats = Stats()
        self.subjects: dict[str, Company] = {}
        self.tokens: dict[str, KsefToken] = {}
        self.challenges: dict[str, Challenge] = {}
        self.auths: dict[str, AuthOp] = {}
        self.sessions: dict[str, Session] = {}
        self.invoices: dict[str, StoredInvoice] = {}
        self.duplicates: dict[tuple[str, str, str], StoredInvoice] = {}
        self.pending: list[SessionInvoice] = []
        self.named_tokens: dict[str, str] = {}
        # Optional features (exports...) keep their own books here and settle due work via tickers.
        self.extensions: dict[str, object] = {}
        self.tickers: list[Callable[[datetime], None]] = []
        self._seed()

    # ----------------------------------------------------------------- basics
    def now(self) -> datetime:
        return self.config.clock.now().astimezone(UTC)

    def new_reference(self, kind: ReferenceType, when: datetime | None = None) -> str:
        day = (when or self.now()).astimezone(UTC).date()
        return make_reference_number(day, kind, f"{self.rng.getrandbits(80):020X}")

    def cert_for(self, usage: str) -> PublicKeyCert:
        now = self.now()
        candidates = [c for c in self.certs if c.usage == usage and c.valid_from <= now < c.valid_to]
        return max(candidates or [c for c in self.certs if c.usage == usage], key=lambda c: c.valid_from)

    def known_key_ids(self) -> set[str]:
        return {c.public_key_id for c in self.certs}

    def decrypt_for(self, usage: str, key_id: str | None, data: bytes) -> bytes:
        """OAEP-decrypt with the key named by ``publicKeyId`` or, without one, any current key of the usage.

        Raises ``ValueError`` when no key fits (wrong key, wrong padding or hash)."""
        now = self.now()
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

    # ----------------------------------------------------------------- seed
    def _seed(self) -> None:
        for company in (DEMO, OTHER, *SUPPLIERS):
            self.subjects[company.nip] = company
        now = self.now()
        full = self.add_token(DEMO.nip, FULL_PERMISSIONS, "Pełny dostęp (symulator)", status="Active")
        self.named_tokens["full"] = full.token
        self.named_tokens["read_only"] = self.add_token(
            DEMO.nip, ["InvoiceRead"], "Tylko odczyt faktur", status="Active"
        ).token
        self.named_tokens["write_only"] = self.add_token(
            DEMO.nip, ["InvoiceWrite"], "Tylko wysyłka faktur", status="Active"
        ).token
        self.named_tokens["other_nip"] = self.add_token(
            OTHER.nip, FULL_PERMISSIONS, "Token innej firmy", status="Active"
        ).token
        self.named_tokens["revoked"] = self.add_token(
            DEMO.nip, FULL_PERMISSIONS, "Token unieważniony", status="Revoked"
        ).token
        self.named_tokens["inactive"] = self.add_token(
            DEMO.nip, FULL_PERMISSIONS, "Token nieaktywny", status="Pending"
        ).token
        seeded = purchase_invoices(
            self.config.seed_purchases,
            self.rng,
            now,
            lambda nip, moment, tech: make_ksef_number(nip, moment.date(), tech),
        )
        for item in seeded:
            session_ref = self.new_reference(ReferenceType.ONLINE_SESSION, item.acquisition)
            self.store_invoice(
                item.xml,
                invoicing=item.acquisition - _secs(2),
                acquisition=item.acquisition,
                permanent_storage=item.acquisition + _secs(90),
                session_ref=session_ref,
                technical_hex=item.technical_hex,
            )
        self.stats.purchases_seeded = len(seeded)

    def add_token(
        self,
        nip: str,
        permissions: list[str],
        description: str,
        *,
        status: str = "Active",
        author_nip: str | None = None,
        activate_after: float | None = None,
    ) -> KsefToken:
        now = self.now()
        token = KsefToken(
            reference=self.new_reference(ReferenceType.KSEF_TOKEN),
            context_nip=nip,
            secret=f"{self.rng.getrandbits(256):064x}",
            permissions=list(permissions),
            description=description,
            author_nip=author_nip or nip,
            created=now,
            status=status,
            activate_at=now + _secs(activate_after) if activate_after is not None else None,
        )
        self.tokens[token.reference] = token
        return token

    def store_invoice(
        self,
        xml: bytes,
        *,
        invoicing: datetime,
        acquisition: datetime,
        permanent_storage: datetime,
        session_ref: str,
        technical_hex: str | None = None,
        mode: str = "Online",
    ) -> StoredInvoice:
        facts = read_facts(xml)
        technical = technical_hex or f"{self.rng.getrandbits(48):012X}"
        number = make_ksef_number(facts.seller_nip, acquisition.astimezone(WARSAW).date(), technical)
        stored = StoredInvoice(
            ksef_number=number,
            xml=xml,
            invoice_hash=sha256_b64(xml),
            facts=facts,
            invoicing_date=invoicing,
            acquisition=acquisition,
            permanent_storage=permanent_storage,
            mode=mode,
            session_ref=session_ref,
            form=(facts.system_code, facts.schema_version, facts.form_value),
        )
        self.invoices[number] = stored
        self.duplicates[(facts.seller_nip, facts.rodzaj, facts.invoice_number)] = stored
        return stored

    # ----------------------------------------------------------------- JWT
    def issue_jwt(self, typ: str, op: AuthOp, ttl: float) -> tuple[str, datetime]:
        now = self.now()
        iat = int(now.timestamp())
        exp = math.ceil(now.timestamp() + ttl)
        claims: dict[str, Any] = {
            "typ": typ,
            "arn": op.reference,
            "cit": op.context_type,
            "civ": op.context_value,
            "aum": "Token",
            "sud": json.dumps({"Nip": op.context_value}),
            "per": json.dumps(op.permissions if typ != "AuthenticationToken" else []),
            "pec": "[]",
            "rol": "[]",
            "iss": self.config.jwt_issuer,
            "aud": self.config.jwt_issuer,
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
                audience=self.config.jwt_issuer,
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

    # ----------------------------------------------------------------- auth
    def new_challenge(self) -> Challenge:
        now = self.now()
        challenge = Challenge(self.new_reference(ReferenceType.CHALLENGE), now, unix_ms(now))
        self.challenges[challenge.value] = challenge
        return challenge

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
        now = self.now()
        outcome, details, token = self._judge_token(
            challenge, context_type, context_value, encrypted, now=now, key_id=key_id
        )
        if token is not None and outcome == 200:
            token.last_use = now
        op = AuthOp(
            reference=self.new_reference(ReferenceType.AUTHENTICATION),
            started=now,
            context_type=context_type,
            context_value=context_value,
            ready_at=now + _secs(self.config.auth_delay),
            outcome=outcome,
            details=details,
            token_ref=token.reference if token is not None else None,
            permissions=list(token.permissions) if token is not None and outcome == 200 else [],
            client_ip=client_ip,
        )
        self.auths[op.reference] = op
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
        if now > challenge.created + _secs(self.config.challenge_ttl):
            return 450, ["Nieprawidłowe wyzwanie autoryzacyjne"], None
        try:
            plain = self.decrypt_for(TOKEN_USAGE, key_id, encrypted)
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
        if token.status in ("Revoking", "Revoked"):
            return 450, ["Token unieważniony"], None
        if token.status != "Active":
            return 450, ["Token nieaktywny"], None
        if not token.permissions:
            return 415, ["Brak przypisanych uprawnień"], None
        return 200, [], token

    # ----------------------------------------------------------------- advance
    def advance(self) -> None:
        """Settle everything that has come due (called before every request)."""
        now = self.now()
        for token in self.tokens.values():
            if token.status == "Pending" and token.activate_at is not None and now >= token.activate_at:
                token.status = "Active"
            elif token.status == "Revoking" and token.revoke_at is not None and now >= token.revoke_at:
                token.status = "Revoked"
        due = sorted((inv for inv in self.pending if inv.done_at <= now), key=lambda inv: (inv.done_at, inv.ordinal))
        for inv in due:
            self.pending.remove(inv)
            self._process(inv, inv.done_at)
        for session in self.sessions.values():
            if session.kind == "Batch":
                self._advance_batch(session, now)
                continue
            if session.status == 100 and now >= session.valid_until:
                session.status = 170
                session.closed_at = session.valid_until
                session.final_at = session.valid_until
                session.updated = session.valid_until
            if (
                session.status == 170
                and session.final_at is not None
                and now >= session.final_at
                and all(inv.status is not None for inv in session.invoices)
            ):
                self._finalize(session, max(now, session.final_at))
        for tick in self.tickers:
            tick(now)

    def _advance_batch(self, session: Session, now: datetime) -> None:
        package = session.batch
        assert package is not None
        if session.status == 100 and now >= session.valid_until:
            session.status = 440
            session.status_details = ["Przekroczono czas wysyłki"]
            session.updated = session.valid_until
            return
        if session.status != 150 or session.final_at is None or now < session.final_at:
            return
        if not package.unpacked:
            package.unpacked = True
            self._unpack(session, package, session.final_at)
            return
        if all(inv.status is not None for inv in session.invoices):
            self._finalize(session, max(now, session.final_at))

    def _unpack(self, session: Session, package: BatchPackage, at: datetime) -> None:
        session.updated = at
        if session.key is None:
            session.status = 415
            return
        try:
            archive = b"".join(
                aes_cbc_decrypt(session.key, session.iv, package.uploaded[n]) for n in sorted(package.uploaded)
            )
        except ValueError:
            session.status = 435
            return
        if len(archive) != package.file_size or sha256_b64(archive) != package.file_hash:
            session.status = 405
            session.status_details = ["Rozmiar lub skrót paczki nie zgadza się z zadeklarowaną wartością."]
            return
        try:
            files = unpack_archive(archive, package.compression)
        except ValueError:
            session.status = 430
            return
        if len(files) > self.config.session_invoice_limit:
            session.status = 420
            return
        done = at + _secs(self.config.invoice_processing_delay)
        for name, data in files:
            inv = SessionInvoice(
                ordinal=len(session.invoices) + 1,
                reference=self.new_reference(ReferenceType.SESSION_INVOICE, at),
                session_ref=session.reference,
                received=session.created,  # batch: invoicingDate is the session opening time
                invoice_hash=sha256_b64(data),
                invoice_size=len(data),
                content=b"",
                offline_mode=package.offline_mode,
                queue_until=at,
                done_at=done,
                plain=data,
                file_name=name,
            )
            session.invoices.append(inv)
            self.pending.append(inv)

    def _process(self, inv: SessionInvoice, at: datetime) -> None:
        session = self.sessions[inv.session_ref]
        session.updated = at
        if inv.plain is not None:
            self._check_invoice(session, inv, inv.plain, at)
            return
        if session.key is None:
            self._reject(inv, 435, ["Plik niepoprawnie zaszyfrowany"])
            return
        try:
            plain = aes_cbc_decrypt(session.key, session.iv, inv.content)
        except ValueError:
            self._reject(inv, 435, ["Plik niepoprawnie zaszyfrowany"])
            return
        if len(plain) != inv.invoice_size:
            self._reject(
                inv,
                430,
                [f"Rozmiar przesłanego pliku faktury nie zgadza się z zadeklarowaną wartością: {inv.invoice_size}."],
            )
            return
        if sha256_b64(plain) != inv.invoice_hash:
            self._reject(
                inv,
                430,
                [f"Skrót przesłanego pliku faktury nie zgadza się z zadeklarowaną wartością: {inv.invoice_hash}."],
            )
            return
        self._check_invoice(session, inv, plain, at)

    def _check_invoice(self, session: Session, inv: SessionInvoice, plain: bytes, at: datetime) -> None:
        result = validate_bytes(plain)
        if not result.ok:
            self._reject(inv, 450, [finding.message for finding in result.findings])
            return
        facts = read_facts(plain)
        inv.invoice_number = facts.invoice_number or None
        expected = SCHEMA_FOR_CODE.get(session.form[0])
        if (
            expected is None
            or result.schema is not expected
            or (facts.system_code, facts.schema_version, facts.form_value) != session.form
        ):
            self._reject(
                inv,
                450,
                [
                    f"Kod formularza faktury ({facts.system_code} {facts.schema_version} {facts.form_value}, "
                    f"przestrzeń nazw {facts.namespace}) nie jest zgodny z kodem formularza sesji "
                    f"({session.form[0]} {session.form[1]} {session.form[2]})."
                ],
            )
            return
        if facts.seller_nip != session.context_nip:
            self._reject(inv, 410, [f"Brak uprawnień do wystawienia faktury w imieniu podmiotu {facts.seller_nip}."])
            return
        if facts.has_attachment:
            self._reject(inv, 415, ["Brak możliwości wysyłania faktury z załącznikiem."])
            return
        if facts.issue_date > inv.received.astimezone(WARSAW).date():
            self._reject(inv, 450, ["Data wystawienia faktury (P_1) jest późniejsza niż data jej przyjęcia."])
            return
        original = self.duplicates.get((facts.seller_nip, facts.rodzaj, facts.invoice_number))
        if original is not None:
            self.stats.duplicates += 1
            self._reject(
                inv,
                440,
                [
                    f"Duplikat faktury. Faktura o numerze KSeF: {original.ksef_number} została już prawidłowo "
                    f"przesłana do systemu w sesji: {original.session_ref}"
                ],
                {"originalSessionReferenceNumber": original.session_ref, "originalKsefNumber": original.ksef_number},
            )
            return
        offline = inv.offline_mode or facts.issue_date < inv.received.astimezone(WARSAW).date()
        stored = self.store_invoice(
            plain,
            invoicing=inv.received,
            acquisition=at,
            permanent_storage=at + _secs(self.config.permanent_storage_delay),
            session_ref=session.reference,
            mode="Offline" if offline else "Online",
        )
        inv.stored = stored
        inv.status = 200
        self.stats.accepted += 1
        inv.upo = build_upo(
            receiver=self.config.receiver_name,
            session_reference=session.reference,
            context_nip=session.context_nip,
            token_reference=session.token_ref,
            auth_hash=None if session.token_ref else sha256_b64(session.auth_ref.encode()),
            system_code=session.form[0],
            documents=[_upo_doc(stored)],
        )

    def _reject(
        self, inv: SessionInvoice, code: int, details: list[str], extensions: dict[str, Any] | None = None
    ) -> None:
        inv.status = code
        inv.details = details
        inv.extensions = extensions
        self.stats.rejected += 1

    def _finalize(self, session: Session, at: datetime) -> None:
        session.updated = at
        ok = [inv for inv in session.invoices if inv.status == 200 and inv.stored is not None]
        if not session.invoices:
            session.status = 440
            session.status_details = ["Nie przesłano faktur"]
            return
        if not ok:
            session.status = 445
            return
        session.status = 200
        page_size = 10_000
        chunks = [ok[i : i + page_size] for i in range(0, len(ok), page_size)]
        for index, chunk in enumerate(chunks, start=1):
            xml = build_upo(
                receiver=self.config.receiver_name,
                session_reference=session.reference,
                context_nip=session.context_nip,
                token_reference=session.token_ref,
                auth_hash=None if session.token_ref else sha256_b64(session.auth_ref.encode()),
                system_code=session.form[0],
                documents=[_upo_doc(inv.stored) for inv in chunk if inv.stored is not None],
                page=(
                    index,
                    len(chunks),
                    (index - 1) * page_size + 1,
                    (index - 1) * page_size + len(chunk),
                    len(ok),
                ),
            )
            session.upo_pages.append(UpoPage(self.new_reference(ReferenceType.UPO, at), xml))

    # ----------------------------------------------------------------- sessions
    def open_session(
        self, bearer: Bearer, form: tuple[str, str, str], encrypted_key: bytes, iv: bytes, *, key_id: str | None = None
    ) -> Session:
        now = self.now()
        key: bytes | None
        try:
            key = self.decrypt_for(SYMMETRIC_USAGE, key_id, encrypted_key)
            if len(key) != 32:
                key = None
        except ValueError:
            key = None
        session = Session(
            reference=self.new_reference(ReferenceType.ONLINE_SESSION),
            context_nip=bearer.context_value,
            auth_ref=bearer.arn,
            token_ref=bearer.token_ref,
            created=now,
            updated=now,
            valid_until=now + _secs(self.config.session_ttl),
            form=form,
            key=key,
            iv=iv,
        )
        if key is None:
            session.status = 415
        self.sessions[session.reference] = session
        return session

    def add_session_invoice(
        self, session: Session, invoice_hash: str, invoice_size: int, content: bytes, offline_mode: bool
    ) -> SessionInvoice:
        now = self.now()
        queue = now + _secs(self.config.invoice_queue_delay)
        inv = SessionInvoice(
            ordinal=len(session.invoices) + 1,
            reference=self.new_reference(ReferenceType.SESSION_INVOICE),
            session_ref=session.reference,
            received=now,
            invoice_hash=invoice_hash,
            invoice_size=invoice_size,
            content=content,
            offline_mode=offline_mode,
            queue_until=queue,
            done_at=queue + _secs(self.config.invoice_processing_delay),
        )
        session.invoices.append(inv)
        session.updated = now
        self.pending.append(inv)
        return inv

    def close_session(self, session: Session) -> None:
        now = self.now()
        session.status = 170
        session.closed_at = now
        session.updated = now
        session.final_at = now + _secs(self.config.session_close_delay)

    # ----------------------------------------------------------------- pre-signed URLs
    def sign_url(self, path: str, ttl: float) -> tuple[str, datetime]:
        expires = self.now() + _secs(ttl)
        se = str(int(expires.timestamp()))
        sig = base64.urlsafe_b64encode(hmac.new(self.url_secret, f"{path}|{se}".encode(), hashlib.sha256).digest())
        return f"{path}?sv=2025-01-05&se={se}&sr=b&sp=r&sig={sig.decode().rstrip('=')}", expires

    def check_url(self, path: str, se: str, sig: str) -> bool:
        expected = (
            base64.urlsafe_b64encode(hmac.new(self.url_secret, f"{path}|{se}".encode(), hashlib.sha256).digest())
            .decode()
            .rstrip("=")
        )
        if not hmac.compare_digest(expected, sig):
            return False
        try:
            return int(se) >= self.now().timestamp()
        except ValueError:
            return False

    def hwm(self) -> datetime:
        return self.now() - _secs(self.config.hwm_lag)


def _upo_doc(stored: StoredInvoice) -> UpoDocument:
    return UpoDocument(
        seller_nip=stored.facts.seller_nip,
        ksef_number=stored.ksef_number,
        invoice_number=stored.facts.invoice_number,
        issue_date=stored.facts.issue_date,
        sent=stored.invoicing_date,
        numbered=stored.acquisition,
        invoice_hash=stored.invoice_hash,
        mode=stored.mode,
    )


def warsaw_date(dt: datetime) -> date:
    return dt.astimezone(WARSAW).date()
