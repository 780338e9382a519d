"""The simulator's in-memory world (no HTTP here): the basics and one book per concern.

Books: ``keys`` (certificates, :mod:`.keys`), ``tokens`` (:mod:`.tokens`), ``auths`` (challenges, token and
XAdES authentication and JWTs, :mod:`.auth`), ``grants`` (permissions, test persons, grant operations,
:mod:`.grants`), ``certificates`` (the simulator's CA, enrollments and KSeF certificates, :mod:`.certificates`),
``invoices`` (stored invoices, :mod:`.invoices`), ``sessions`` (online and batch sessions and their processing,
:mod:`.sessions`), ``availability`` (KSeF up or down, Latarnia's events, :mod:`.availability`); optional
features (exports) add their books through ``extensions`` and ``tickers``.

Everything asynchronous in KSeF (auth status, token activation, invoice processing, session close,
permanent storage) is modelled with due times: :meth:`SimState.advance` runs before every request and
settles whatever has come due. With an injectable clock this is deterministic. One re-entrant lock guards
the whole state (uvicorn runs a single worker; handlers are short).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Callable
from datetime import datetime

from ksef_tui.domain.ksef_number import ReferenceType, make_ksef_number
from ksef_tui.sim.auth import AuthBook
from ksef_tui.sim.availability import Availability
from ksef_tui.sim.certificates import CertificateBook
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.core import Core, secs
from ksef_tui.sim.grants import GrantBook
from ksef_tui.sim.invoices import InvoiceBook
from ksef_tui.sim.keys import SYMMETRIC_USAGE, TOKEN_USAGE, KeyRing, PublicKeyCert, make_cert
from ksef_tui.sim.limits import RateLimiter
from ksef_tui.sim.seed import DEMO, OTHER, SUPPLIERS, Company, purchase_invoices
from ksef_tui.sim.sessions import SessionBook
from ksef_tui.sim.tokens import FULL_PERMISSIONS, TokenBook


class SimState(Core):
    def __init__(self, config: SimConfig, certs: list[PublicKeyCert] | None = None) -> None:
        super().__init__(config)
        self.lock = threading.RLock()
        self.url_secret = hashlib.sha256(f"ksef-sim-url-{config.seed}".encode()).digest()
        now = self.now()
        self.keys = KeyRing(
            certs
            or [
                make_cert(usage, now, config.rsa_key_size, age_days=age)
                for usage in (TOKEN_USAGE, SYMMETRIC_USAGE)
                for age in ((60, 1) if config.key_rotation else (30,))
            ],
            self.now,
        )
        self.limiter = RateLimiter(config.limit_table())
        self.subjects: dict[str, Company] = {}
        self.tokens = TokenBook(self)
        self.auths = AuthBook(self, self.keys, self.tokens)
        self.grants = GrantBook(self)
        self.certificates = CertificateBook(self)
        self.invoices = InvoiceBook(self)
        self.sessions = SessionBook(self, self.invoices)
        self.availability = Availability(self, self.lock)
        self.named_tokens: dict[str, str] = {}
        # Optional features (exports...) keep their own books here and settle due work via tickers.
        self.extensions: dict[str, object] = {}
        self.tickers: list[Callable[[datetime], None]] = []
        self._seed()

    # ----------------------------------------------------------------- seed
    def _seed(self) -> None:
        for company in (DEMO, OTHER, *SUPPLIERS):
            self.subjects[company.nip] = company
        for name, nip, permissions, description, status in (
            ("full", DEMO.nip, FULL_PERMISSIONS, "Pełny dostęp (symulator)", "Active"),
            ("read_only", DEMO.nip, ["InvoiceRead"], "Tylko odczyt faktur", "Active"),
            ("write_only", DEMO.nip, ["InvoiceWrite"], "Tylko wysyłka faktur", "Active"),
            ("other_nip", OTHER.nip, FULL_PERMISSIONS, "Token innej firmy", "Active"),
            ("revoked", DEMO.nip, FULL_PERMISSIONS, "Token unieważniony", "Revoked"),
            ("inactive", DEMO.nip, FULL_PERMISSIONS, "Token nieaktywny", "Pending"),
        ):
            self.named_tokens[name] = self.tokens.add(nip, permissions, description, status=status).token
        seeded = purchase_invoices(
            self.config.seed_purchases,
            self.rng,
            self.now(),
            lambda nip, moment, tech: make_ksef_number(nip, moment.date(), tech),
        )
        for item in seeded:
            self.invoices.store(
                item.xml,
                invoicing=item.acquisition - secs(2),
                acquisition=item.acquisition,
                permanent_storage=item.acquisition + secs(90),
                session_ref=self.new_reference(ReferenceType.ONLINE_SESSION, item.acquisition),
                technical_hex=item.technical_hex,
            )
        self.stats.purchases_seeded = len(seeded)

    # ----------------------------------------------------------------- advance
    def advance(self) -> None:
        """Settle everything that has come due (called before every request)."""
        now = self.now()
        self.tokens.tick(now)
        self.grants.tick(now)
        self.certificates.tick(now)
        self.sessions.tick(now)
        for tick in self.tickers:
            tick(now)

    # ----------------------------------------------------------------- pre-signed URLs
    def _signature(self, path: str, se: str) -> str:
        digest = hmac.new(self.url_secret, f"{path}|{se}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign_url(self, path: str, ttl: float) -> tuple[str, datetime]:
        expires = self.now() + secs(ttl)
        se = str(int(expires.timestamp()))
        return f"{path}?sv=2025-01-05&se={se}&sr=b&sp=r&sig={self._signature(path, se)}", expires

    def check_url(self, path: str, se: str, sig: str) -> bool:
        if not hmac.compare_digest(self._signature(path, se), sig):
            return False
        try:
            return int(se) >= self.now().timestamp()
        except ValueError:
            return False
