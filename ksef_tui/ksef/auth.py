"""Authentication (PROTOCOL.md §3, CERTS_OFFLINE.md §1) and keeping the session alive between runs.

Two ways in, one session life (:class:`SessionAuth`):

* :class:`TokenAuth`: challenge → RSA-OAEP(token|timestampMs) → POST /auth/ksef-token;
* :class:`XadesAuth`: challenge → ``AuthTokenRequest`` signed XAdES with a certificate → POST /auth/xades-signature;

then both poll GET /auth/{ref} while 100 → POST /auth/token/redeem (once) → access + refresh tokens. The access
token is refreshed a minute before it expires; when the refresh token is dead (expired, or 400 21301 / 401) a new
authentication runs. Tokens are handed to a :class:`SessionStore` (the vault) after every change, so the next run
reuses them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from ksef_tui.domain.session import SessionTokens
from ksef_tui.ksef.client import KsefHttp, field, parse_time
from ksef_tui.ksef.crypto import (
    TOKEN_USAGE,
    PublicKeyCertificate,
    encrypt_token,
    select_certificate,
)
from ksef_tui.ksef.errors import (
    ApiError,
    AuthenticationFailed,
    AuthStatus,
    ProtocolViolation,
    Unauthorized,
    xades_failure,
    xades_rejection,
)

if TYPE_CHECKING:
    from ksef_tui.ksef.xades import SigningCredential

REFRESH_MARGIN = timedelta(seconds=60)


class SessionStore(Protocol):
    """Where session tokens live between runs (the vault); all methods may block briefly."""

    async def load(self) -> SessionTokens | None: ...
    async def save(self, tokens: SessionTokens) -> None: ...
    async def clear(self) -> None: ...


class MemorySessionStore:
    def __init__(self, tokens: SessionTokens | None = None) -> None:
        self.tokens = tokens

    async def load(self) -> SessionTokens | None:
        return self.tokens

    async def save(self, tokens: SessionTokens) -> None:
        self.tokens = tokens

    async def clear(self) -> None:
        self.tokens = None


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge: str
    timestamp_ms: int
    client_ip: str | None


def parse_certificates(items: object) -> list[PublicKeyCertificate]:
    if not isinstance(items, list):
        raise ProtocolViolation("public-key-certificates: not a list")
    certs = []
    for item in items:
        if not isinstance(item, dict):
            raise ProtocolViolation("public-key-certificates: item is not an object")
        try:
            der = base64.b64decode(field(item, "certificate"), validate=True)
        except (ValueError, TypeError):
            raise ProtocolViolation("public-key-certificates: certificate is not base64") from None
        certs.append(
            PublicKeyCertificate(
                der=der,
                public_key_id=item.get("publicKeyId"),
                certificate_id=item.get("certificateId"),
                valid_from=parse_time(field(item, "validFrom")),
                valid_to=parse_time(field(item, "validTo")),
                usage=tuple(item.get("usage") or ()),
            )
        )
    return certs


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a KSeF JWT, read without verification: for display and diagnostics only."""
    import jwt  # PyJWT (and the parts of cryptography it loads) only when a token is read

    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def permissions_of(access_token: str) -> tuple[str, ...]:
    """The ``per`` claim (a JSON array, sometimes serialised as a string)."""
    value = jwt_claims(access_token).get("per")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


Clock = Callable[[], datetime]


class SessionOptions(TypedDict, total=False):
    """What every way in passes on to :class:`SessionAuth` unchanged."""

    store: SessionStore | None
    clock: Clock
    poll_timeout: float
    sleep: Callable[[float], Awaitable[None]]


#: An access token marked dead (after a 401): any date minus any margin must still be a date.
EXPIRED = datetime(2000, 1, 1, tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SessionAuth:
    """The session of one context: authenticates (``start`` is the way in, in a subclass), polls, redeems, keeps
    the tokens fresh and stored. Users need only ``access_token()``, ``invalidate_access()``, ``certificates()``
    and ``store``."""

    def __init__(
        self,
        http: KsefHttp,
        *,
        context_type: str,
        context_value: str,
        store: SessionStore | None = None,
        clock: Clock = _utcnow,
        poll_timeout: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.context_type = context_type
        self.context_value = context_value
        self.store = store or MemorySessionStore()
        self._clock = clock
        self._poll_timeout = poll_timeout
        self._sleep = sleep
        self._certs: list[PublicKeyCertificate] | None = None
        self._tokens: SessionTokens | None = None
        self._loaded = False
        self._lock = asyncio.Lock()
        self.authentications = 0
        self.refreshes = 0

    # ------------------------------------------------------------------------------------------ steps

    async def certificates(self, *, refresh: bool = False) -> list[PublicKeyCertificate]:
        if self._certs is None or refresh:
            response = await self.http.request("GET", "/security/public-key-certificates", idempotent=True)
            try:
                items = response.json()
            except ValueError:
                raise ProtocolViolation("public-key-certificates: body is not JSON") from None
            self._certs = parse_certificates(items)
        return self._certs

    async def challenge(self) -> Challenge:
        body = await self.http.json("POST", "/auth/challenge", idempotent=True)
        stamp = field(body, "timestampMs")
        if not isinstance(stamp, int):
            raise ProtocolViolation("challenge: timestampMs is not an integer")
        return Challenge(str(field(body, "challenge")), stamp, body.get("clientIp"))

    async def start(self) -> tuple[str, str]:
        """Submit the credential; returns (reference number, authentication token)."""
        raise NotImplementedError

    def failure(self, status: AuthStatus) -> AuthenticationFailed:
        """The error for a final status >= 400."""
        return AuthenticationFailed(status)

    async def wait_for_status(self, reference: str, auth_token: str) -> AuthStatus:
        """Poll while the status is 100; any final status >= 400 raises :class:`AuthenticationFailed`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._poll_timeout
        delay = 0.1
        while True:
            body = await self.http.json("GET", f"/auth/{reference}", bearer=auth_token, idempotent=True)
            raw = field(body, "status")
            status = AuthStatus(
                int(field(raw, "code")), str(raw.get("description", "")), tuple(map(str, raw.get("details") or ()))
            )
            if status.code == 200:
                return status
            if status.code != 100:
                raise self.failure(status)
            if loop.time() + delay > deadline:
                raise AuthenticationFailed(AuthStatus(100, "timeout", ("authentication still in progress",)))
            await self._sleep(delay)
            delay = min(delay * 2, 2.0)

    async def redeem(self, reference: str, auth_token: str) -> SessionTokens:
        body = await self.http.json("POST", "/auth/token/redeem", bearer=auth_token)
        return SessionTokens(
            reference_number=reference,
            access_token=str(field(body, "accessToken", "token")),
            access_valid_until=parse_time(field(body, "accessToken", "validUntil")),
            refresh_token=str(field(body, "refreshToken", "token")),
            refresh_valid_until=parse_time(field(body, "refreshToken", "validUntil")),
        )

    async def authenticate(self) -> SessionTokens:
        """A whole new authentication; the result is stored."""
        reference, auth_token = await self.start()
        await self.wait_for_status(reference, auth_token)
        tokens = await self.redeem(reference, auth_token)
        self.authentications += 1
        await self._remember(tokens)
        return tokens

    async def refresh(self, tokens: SessionTokens) -> SessionTokens:
        body = await self.http.json("POST", "/auth/token/refresh", bearer=tokens.refresh_token)
        fresh = SessionTokens(
            reference_number=tokens.reference_number,
            access_token=str(field(body, "accessToken", "token")),
            access_valid_until=parse_time(field(body, "accessToken", "validUntil")),
            refresh_token=tokens.refresh_token,  # not rotated (PROTOCOL.md §3.7)
            refresh_valid_until=tokens.refresh_valid_until,
        )
        self.refreshes += 1
        await self._remember(fresh)
        return fresh

    async def _remember(self, tokens: SessionTokens) -> None:
        self._tokens = tokens
        self._loaded = True
        await self.store.save(tokens)

    # ------------------------------------------------------------------------------------ session use

    async def tokens(self) -> SessionTokens:
        """Valid session tokens: reused, refreshed, or from a new authentication, in that order."""
        async with self._lock:
            if not self._loaded:
                self._tokens = await self.store.load()
                self._loaded = True
            now = self._clock()
            tokens = self._tokens
            if tokens is not None and tokens.access_valid_until - REFRESH_MARGIN > now:
                return tokens
            if tokens is not None and tokens.refresh_valid_until - REFRESH_MARGIN > now:
                try:
                    return await self.refresh(tokens)
                except Unauthorized:
                    pass
                except ApiError as exc:
                    if not exc.has_code(21301) and not exc.has_code(21304):
                        raise
            self._tokens = None
            await self.store.clear()
            return await self.authenticate()

    async def access_token(self) -> str:
        return (await self.tokens()).access_token

    async def invalidate_access(self) -> None:
        """Forget the access token (e.g. after a 401) so the next call refreshes or re-authenticates."""
        async with self._lock:
            if self._tokens is not None:
                # Long expired, yet far enough from datetime.min that "valid_until - margin" stays a date.
                self._tokens = replace(self._tokens, access_valid_until=EXPIRED)

    async def logout(self) -> None:
        """End the session at KSeF (refresh token dies) and forget it locally."""
        async with self._lock:
            tokens = self._tokens or await self.store.load()
            if tokens is not None:
                with contextlib.suppress(ApiError):
                    await self.http.request("DELETE", "/auth/sessions/current", bearer=tokens.refresh_token)
            self._tokens = None
            await self.store.clear()


class TokenAuth(SessionAuth):
    """Authenticates one profile with its KSeF token and keeps its session tokens fresh."""

    def __init__(
        self,
        http: KsefHttp,
        *,
        ksef_token: Callable[[], Awaitable[str]],
        context_type: str,
        context_value: str,
        **options: Unpack[SessionOptions],
    ) -> None:
        super().__init__(http, context_type=context_type, context_value=context_value, **options)
        self._ksef_token = ksef_token

    async def start(self) -> tuple[str, str]:
        """Submit the encrypted token; returns (reference number, authentication token)."""
        token = await self._ksef_token()
        for attempt in (1, 2):
            cert = select_certificate(await self.certificates(refresh=attempt == 2), TOKEN_USAGE, self._clock())
            challenge = await self.challenge()
            request = {
                "challenge": challenge.challenge,
                "contextIdentifier": {"type": self.context_type, "value": self.context_value},
                "encryptedToken": encrypt_token(cert, token, challenge.timestamp_ms),
            }
            if cert.public_key_id:
                request["publicKeyId"] = cert.public_key_id
            try:
                body = await self.http.json("POST", "/auth/ksef-token", json=request)
            except ApiError as exc:
                if exc.has_code(21470) and attempt == 1:  # the key was rotated: refetch and try once more
                    continue
                raise
            return str(field(body, "referenceNumber")), str(field(body, "authenticationToken", "token"))
        raise AssertionError("unreachable")  # pragma: no cover


#: MF's reference signer backdates SigningTime by a minute (CERTS_OFFLINE.md §1.2, §8 point 1).
SIGNING_BACKDATE = timedelta(minutes=1)
#: MF's tests wait up to 120 s for a XAdES login (KSeF may ask the issuer's OCSP/CRL first).
XADES_POLL_TIMEOUT = 120.0


class XadesAuth(SessionAuth):
    """Authenticates with a certificate: the ``AuthTokenRequest`` signed XAdES (CERTS_OFFLINE.md §1).

    ``credential`` supplies the certificate and key when a login needs them (the vault); ``subject_type`` is
    ``certificateSubject`` (the NIP/PESEL in the certificate) or ``certificateFingerprint``. ``verify_chain`` is
    sent explicitly as ``verifyCertificateChain``: on TEST, False lets self-signed certificates in; DEMO and
    production check the chain whatever it says. The status may stay 100 while KSeF asks the issuer's OCSP/CRL,
    hence the longer wait."""

    def __init__(
        self,
        http: KsefHttp,
        *,
        credential: Callable[[], Awaitable[SigningCredential]],
        context_type: str,
        context_value: str,
        subject_type: str = "certificateSubject",
        verify_chain: bool = False,
        **options: Unpack[SessionOptions],
    ) -> None:
        options.setdefault("poll_timeout", XADES_POLL_TIMEOUT)
        super().__init__(http, context_type=context_type, context_value=context_value, **options)
        self._credential = credential
        self.subject_type = subject_type
        self.verify_chain = verify_chain
        self._identity = ""

    async def start(self) -> tuple[str, str]:
        """Sign a fresh challenge and submit it; a refusal is a typed :class:`XadesRejected`."""
        from ksef_tui.ksef.xades import auth_token_request, sign_xades

        credential = await self._credential()
        identity = credential.identity
        if identity is not None:
            self._identity = f"{identity.type.upper()} {identity.value}"
        else:
            self._identity = f"SHA-256 {credential.fingerprint[:16]}…"
        challenge = await self.challenge()
        request = auth_token_request(challenge.challenge, self.context_type, self.context_value, self.subject_type)
        signed = sign_xades(request, credential, self._clock() - SIGNING_BACKDATE)
        try:
            body = await self.http.json(
                "POST",
                "/auth/xades-signature",
                content=signed,
                headers={"Content-Type": "application/xml"},
                params={"verifyCertificateChain": "true" if self.verify_chain else "false"},
            )
        except ApiError as exc:
            raise xades_rejection(exc) from None
        return str(field(body, "referenceNumber")), str(field(body, "authenticationToken", "token"))

    def failure(self, status: AuthStatus) -> AuthenticationFailed:
        context = f"NIP {self.context_value}" if self.context_type == "Nip" else self.context_value
        return xades_failure(status, context=context, identity=self._identity)
