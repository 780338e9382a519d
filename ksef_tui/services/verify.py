"""Token verification: the ordered checks behind the setup wizard and ``ksef-tui doctor``.

Each step has a verdict, the time it took and a message in the user's language; the first failing step
ends the run (later steps cannot be judged). Categories decide the doctor's exit code.

Importing this module (for ``Step`` and ``Verification``, say) loads no HTTP, JWT or crypto library: the steps
are handed a ready ``KsefApi`` and import the client's helpers when they run, by which time it has loaded them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ksef_tui.domain.booking import WARSAW
from ksef_tui.domain.ksef_token import InvalidTokenShape, TokenShapeProblem, parse_token_shape
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import EXIT_CODES, Category
from ksef_tui.i18n import has_key, language, t
from ksef_tui.ksef.errors import (
    ApiError,
    AuthenticationFailed,
    Forbidden,
    KsefError,
    ProtocolViolation,
    TransportFailure,
)

if TYPE_CHECKING:
    from ksef_tui.domain.credential import Credential
    from ksef_tui.ksef.api import KsefApi, TokenStatus
    from ksef_tui.ksef.auth import SessionAuth

REQUIRED_PERMISSIONS = ("InvoiceRead", "InvoiceWrite")
MAX_CLOCK_SKEW_SECONDS = 300


@dataclass(slots=True)
class Step:
    name: str
    ok: bool
    ms: int
    detail: str
    category: Category | None = None
    hint: str = ""


@dataclass(slots=True)
class Verification:
    profile: str
    environment: str
    token_fingerprint: str
    steps: list[Step] = field(default_factory=list)
    permissions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        return EXIT_CODES[self.category or Category.AUTH]

    @property
    def category(self) -> Category | None:
        """Why the first failing step failed (None when every step passed)."""
        failed = next((step for step in self.steps if not step.ok), None)
        return None if failed is None else failed.category or Category.AUTH

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "profile": self.profile,
            "environment": self.environment,
            "steps": [{"name": s.name, "ok": s.ok, "ms": s.ms, "detail": s.detail} for s in self.steps],
            "permissions": list(self.permissions),
            "token_fingerprint": self.token_fingerprint,
        }


class StepFailed(Exception):
    def __init__(self, detail: str, category: Category, hint: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.category = category
        self.hint = hint


_AUTH_DETAILS: list[tuple[str, str]] = [
    ("Nieprawidłowe szyfrowanie tokena", "encryption"),
    ("Nieprawidłowe kodowanie tokena", "encoding"),
    ("Invalid token encoding", "encoding"),
    ("Nieprawidłowy czas tokena", "time"),
    ("Nieprawidłowe wyzwanie autoryzacyjne", "challenge"),
    ("Token unieważniony", "revoked"),
    ("Token nieaktywny", "inactive"),
    ("Token nie może być użyty w kontekście", "context"),
    ("Nieprawidłowy token", "unknown"),
]


def auth_failure_reason(error: AuthenticationFailed) -> str:
    """Name the 450/415/... outcome: unknown, inactive, revoked, context, time, encryption, ... ."""
    text = " ".join((error.status.description, *error.status.details))
    for needle, reason in _AUTH_DETAILS:
        if needle.lower() in text.lower():
            return reason
    return {415: "no-permissions", 425: "revoked-session", 480: "blocked"}.get(error.status.code, "other")


def network_failure(error: KsefError) -> StepFailed:
    if isinstance(error, TransportFailure):
        return StepFailed(error.message(), Category.NETWORK, error.hint())
    if isinstance(error, ProtocolViolation):
        return StepFailed(error.message(), Category.CONFIG, t("setup.hint.wrong_url"))
    if isinstance(error, ApiError) and error.status == 404:
        return StepFailed(error.message(), Category.CONFIG, t("setup.hint.wrong_url"))
    if isinstance(error, ApiError) and error.status >= 500:
        return StepFailed(error.message(), Category.NETWORK, error.hint())
    return StepFailed(error.message(), Category.NETWORK, error.hint())


def _permission_word(name: str) -> str:
    """A KSeF permission in the user's words (the API name where the catalogs have none)."""
    return t(f"perm.{name}") if has_key(f"perm.{name}") else name


def _required(granted: set[str], hint: str) -> str:
    """InvoiceRead and InvoiceWrite among ``granted``, or the step fails naming the missing ones."""
    missing = [p for p in REQUIRED_PERMISSIONS if p not in granted]
    if missing:
        names = ", ".join(t(f"perm.{p}") for p in missing)
        raise StepFailed(t("setup.perm.missing", names=names), Category.PERMISSIONS, hint)
    return t("setup.perm.ok", names=", ".join(_permission_word(p) for p in sorted(granted)))


class Verifier:
    """Runs the steps for one profile and one token (the token itself never leaves this object)."""

    def __init__(
        self,
        profile: Profile,
        token: str,
        api: KsefApi,
        *,
        fingerprint: str,
        fresh: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_step: Callable[[Step], None] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.on_step = on_step or (lambda _step: None)
        self.on_start = on_start or (lambda _name: None)
        self.profile = profile
        self._token = token
        self.api = api
        self.auth: SessionAuth = api.auth
        self.fresh = fresh
        self.clock = clock
        self.result = Verification(profile.name, profile.environment, fingerprint)
        self._reference = ""

    async def _step(self, name: str, action: Callable[[], Awaitable[str]]) -> bool:
        self.on_start(name)
        started = time.perf_counter()
        failure: StepFailed | None = None
        detail = ""
        try:
            detail = await action()
        except StepFailed as exc:
            failure = exc
        except KsefError as exc:
            failure = network_failure(exc)
        ms = int((time.perf_counter() - started) * 1000)
        if failure is not None:
            step = Step(name, False, ms, failure.detail, failure.category, failure.hint)
        else:
            step = Step(name, True, ms, detail)
        self.result.steps.append(step)
        self.on_step(step)
        return step.ok

    # -------------------------------------------------------------------------------------------- steps

    async def _shape(self) -> str:
        try:
            info = parse_token_shape(self._token)
        except InvalidTokenShape as exc:
            key = (
                "setup.shape.legacy"
                if exc.problem is TokenShapeProblem.LEGACY_1_0
                else f"setup.shape.{exc.problem.value}"
            )
            raise StepFailed(t(key), Category.AUTH, t("setup.hint.new_token")) from None
        if info.nip != self.profile.nip:
            raise StepFailed(
                t("setup.shape.other_nip", token_nip=info.nip, profile_nip=self.profile.nip),
                Category.CONFIG,
                t("setup.hint.other_nip"),
            )
        self._reference = info.reference
        return t("setup.shape.ok", reference=info.reference, context=info.context_value)

    async def _reachable(self) -> str:
        from ksef_tui.ksef.crypto import TOKEN_USAGE, NoUsableCertificate, select_certificate

        certs = await self.auth.certificates()
        try:
            select_certificate(certs, TOKEN_USAGE, self.clock())
        except NoUsableCertificate:
            raise StepFailed(t("setup.keys.none"), Category.CONFIG, t("setup.hint.clock")) from None
        return t("setup.keys.ok", count=len(certs), host=self.api.host)

    async def _challenge(self) -> str:
        challenge = await self.auth.challenge()
        server = datetime.fromtimestamp(challenge.timestamp_ms / 1000, UTC)
        skew = (self.clock() - server).total_seconds()
        if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
            raise StepFailed(t("setup.clock.skew", seconds=int(skew)), Category.CONFIG, t("setup.hint.clock"))
        shown = f"{skew:+.1f}"
        return t("setup.challenge.ok", skew=shown.replace(".", ",") if language() == "pl" else shown)

    async def _authenticate(self) -> str:
        if not self.fresh:
            tokens = await self.api.stored_session()
            if tokens is not None and tokens.refresh_valid_until > self.clock():
                # Reuse the session, proving it alive with a refresh: a revoked KSeF token fails here (21301).
                try:
                    refreshed = await self.auth.refresh(tokens)
                except ApiError:
                    await self.api.forget_session()
                else:
                    until = refreshed.refresh_valid_until.astimezone(WARSAW)
                    return t("setup.session.reused", until=f"{until:%d.%m.%Y %H:%M}")
        try:
            tokens = await self.auth.authenticate()
        except AuthenticationFailed as exc:
            reason = auth_failure_reason(exc)
            raise StepFailed(
                t(f"setup.auth.{reason}", nip=self.profile.nip, env=self.profile.environment, detail=exc.message()),
                Category.AUTH,
                t(f"setup.auth.{reason}.hint"),
            ) from None
        return t("setup.auth.ok", until=f"{tokens.access_valid_until.astimezone(WARSAW):%H:%M:%S}")

    async def _permissions(self) -> str:
        from ksef_tui.ksef.auth import permissions_of

        access = await self.auth.access_token()
        from_jwt = permissions_of(access)
        status: TokenStatus | None = None
        try:
            status = await self.api.token_status(self._reference)
        except Forbidden:
            status = None
        granted = set(from_jwt) | set(status.permissions if status else ())
        self.result.permissions = tuple(sorted(granted))
        if status is not None and status.status != "Active":
            raise StepFailed(t("setup.perm.status", status=status.status), Category.AUTH, t("setup.hint.new_token"))
        return _required(granted, t("setup.perm.missing.hint"))

    def _steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [
            ("token_shape", self._shape),
            ("ksef_reachable", self._reachable),
            ("challenge", self._challenge),
            ("token_accepted", self._authenticate),
            ("permissions", self._permissions),
        ]

    async def run(self) -> Verification:
        """The steps in order; the first that fails ends the run (the later ones cannot be judged)."""
        for name, action in self._steps():
            if not await self._step(name, action):
                break
        return self.result


class CertificateVerifier(Verifier):
    """The same ordered checks for a profile signing in with a certificate (XAdES): the certificate readable
    and valid now, KSeF reachable, the clock, the signature accepted in the profile's context (the company's own,
    or a client that granted rights), then InvoiceRead and InvoiceWrite there."""

    def __init__(
        self,
        profile: Profile,
        credential: Credential,
        api: KsefApi,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_step: Callable[[Step], None] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        fingerprint = credential.fingerprint or ""
        super().__init__(profile, "", api, fingerprint=fingerprint, clock=clock, on_step=on_step, on_start=on_start)
        self.credential = credential

    async def _certificate(self) -> str:
        from ksef_tui.domain.credential import EXPIRY_WARNING_DAYS

        now = self.clock()
        credential = self.credential
        until = credential.not_after.astimezone(WARSAW).date().isoformat() if credential.not_after else "-"
        if credential.not_before is not None and now < credential.not_before:
            since = credential.not_before.astimezone(WARSAW).date().isoformat()
            raise StepFailed(t("doctor.cert.not_yet", date=since), Category.AUTH, t("doctor.cert.not_yet.hint"))
        if credential.not_after is not None and now > credential.not_after:
            raise StepFailed(t("doctor.cert.expired", date=until), Category.AUTH, t("doctor.cert.renew"))
        days = credential.days_left(now)
        text = t("doctor.cert.ok", subject=credential.subject, identity=credential.identity or "-", date=until)
        if days is not None and days <= EXPIRY_WARNING_DAYS:
            text += " " + t("doctor.cert.expiring", days=days)
        return text

    async def _signature(self) -> str:
        try:
            tokens = await self.api.auth.authenticate()
        except KsefError as exc:
            if isinstance(exc, TransportFailure):
                raise
            raise StepFailed(exc.message(), exc.category, exc.hint()) from None
        return t(
            "doctor.cert.accepted",
            nip=self.profile.nip,
            until=f"{tokens.access_valid_until.astimezone(WARSAW):%H:%M:%S}",
        )

    async def _context_permissions(self) -> str:
        from ksef_tui.ksef.auth import permissions_of

        granted = set(permissions_of(await self.api.auth.access_token()))
        self.result.permissions = tuple(sorted(granted))
        return _required(granted, t("doctor.cert.missing.hint"))

    def _steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [
            ("certificate", self._certificate),
            ("ksef_reachable", self._reachable),
            ("challenge", self._challenge),
            ("signature_accepted", self._signature),
            ("permissions", self._context_permissions),
        ]


async def verify(
    profile: Profile,
    token: str,
    api: KsefApi,
    *,
    fingerprint: str,
    fresh: bool = True,
    on_step: Callable[[Step], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> Verification:
    verifier = Verifier(profile, token, api, fingerprint=fingerprint, fresh=fresh, on_step=on_step, on_start=on_start)
    return await verifier.run()


__all__ = ["REQUIRED_PERMISSIONS", "Category", "CertificateVerifier", "Step", "Verification", "Verifier", "verify"]
