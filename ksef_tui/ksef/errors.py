"""Typed KSeF errors from both error envelopes, transport failures and odd answers.

Every error has an i18n key (``ksef.err.*``) for a PL/EN message and a hint. ``str(error)`` is English,
short, and never contains a secret: only status codes, KSeF exception codes and the server's own details.

The error model loads no HTTP library: httpx appears in annotations, and ``transport_failure`` (called by the
client, which has loaded it) imports it, so code that only catches these errors stays light.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ksef_tui.errors import Category, UserError

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class ExceptionDetail:
    code: int
    description: str
    details: tuple[str, ...] = ()


class KsefError(UserError):
    """Base of everything the client raises: a ``UserError`` whose ``str()`` is a short English summary."""

    key = "ksef.err.unknown"
    category = Category.KSEF

    def __init__(self, summary: str, **params: object) -> None:
        self.key = type(self).key
        self.params = params
        Exception.__init__(self, summary)


class TransportFailure(KsefError):
    """KSeF could not be reached: ``kind`` is dns, refused, tls, timeout or network."""

    def __init__(self, kind: str, host: str, cause: str) -> None:
        super().__init__(f"{kind} failure reaching {host}: {cause}", host=host, cause=cause)
        self.kind = kind
        self.category = Category.NETWORK
        self.host = host
        self.key = f"ksef.err.{kind}"


class ProtocolViolation(KsefError):
    """The server answered something the protocol does not allow (not JSON, missing fields...)."""

    key = "ksef.err.protocol"
    category = Category.CONFIG  # usually a URL that is not KSeF

    def __init__(self, what: str) -> None:
        super().__init__(f"unexpected answer from KSeF: {what}", what=what)


class ApiError(KsefError):
    """An HTTP error answer from KSeF, from either envelope."""

    key = "ksef.err.api"

    def __init__(
        self,
        status: int,
        exceptions: tuple[ExceptionDetail, ...] = (),
        detail: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        codes = ",".join(str(e.code) for e in exceptions) or "-"
        text = detail or "; ".join(f"{e.description} {' '.join(e.details)}".strip() for e in exceptions)
        super().__init__(f"HTTP {status} (codes {codes}): {text}".rstrip(": "), status=status, codes=codes, text=text)
        self.status = status
        self.exceptions = exceptions
        self.detail = detail
        self.body = body or {}

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(e.code for e in self.exceptions)

    def has_code(self, code: int) -> bool:
        return code in self.codes


class Unauthorized(ApiError):
    key = "ksef.err.unauthorized"


class Forbidden(ApiError):
    key = "ksef.err.forbidden"
    category = Category.PERMISSIONS

    @property
    def reason_code(self) -> str | None:
        value = self.body.get("reasonCode")
        return value if isinstance(value, str) else None

    @property
    def required_permissions(self) -> tuple[str, ...]:
        return tuple(self.body.get("security", {}).get("requiredAnyOfPermissions", []) or ())

    @property
    def present_permissions(self) -> tuple[str, ...]:
        return tuple(self.body.get("security", {}).get("presentPermissions", []) or ())

    def message(self) -> str:
        """Names the permission KSeF wanted and those the credential has, when KSeF says (support's first
        question); KSeF's own words otherwise."""
        if not self.required_permissions:
            return super().message()
        from ksef_tui.i18n import t

        present = ", ".join(self.present_permissions) or "-"
        return t("ksef.err.forbidden_needs", required=" / ".join(self.required_permissions), present=present)


class Gone(ApiError):
    key = "ksef.err.gone"


class RateLimited(ApiError):
    key = "ksef.err.rate_limited"

    def __init__(self, status: int, retry_after: float, **kwargs: Any) -> None:
        super().__init__(status, **kwargs)
        self.retry_after = retry_after
        self.params["seconds"] = int(retry_after)


class ServerError(ApiError):
    key = "ksef.err.server"
    category = Category.NETWORK


@dataclass(frozen=True, slots=True)
class AuthStatus:
    code: int
    description: str
    details: tuple[str, ...] = field(default=())


class AuthenticationFailed(KsefError):
    """The asynchronous token authentication ended with a status >= 400 (PROTOCOL.md §3.5)."""

    key = "ksef.err.auth_failed"
    category = Category.AUTH

    def __init__(self, status: AuthStatus) -> None:
        detail = "; ".join(status.details)
        super().__init__(
            f"authentication failed with status {status.code}: {status.description}"
            + (f" ({detail})" if detail else ""),
            code=status.code,
            description=status.description,
            detail=detail,
        )
        self.status = status


def _detail_list(raw: object) -> tuple[str, ...]:
    if isinstance(raw, list):
        return tuple(str(item) for item in raw)
    return (str(raw),) if raw else ()


def _exceptions(items: object) -> tuple[ExceptionDetail, ...]:
    result = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        code = item.get("exceptionCode", item.get("code"))
        description = item.get("exceptionDescription", item.get("description")) or ""
        if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
            result.append(ExceptionDetail(int(code), str(description), _detail_list(item.get("details"))))
    return tuple(result)


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def error_from_response(response: httpx.Response) -> ApiError:
    """Map an error response (legacy ``exception`` envelope or problem+json) to a typed error."""
    status = response.status_code
    body: dict[str, Any] = {}
    if response.content:
        try:
            parsed = json.loads(response.content)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            body = parsed
    exceptions: tuple[ExceptionDetail, ...] = ()
    detail: str | None = None
    if isinstance(body.get("exception"), dict):  # legacy envelope
        exceptions = _exceptions(body["exception"].get("exceptionDetailList"))
    elif isinstance(body.get("status"), dict):  # legacy 429 envelope
        detail = "; ".join(_detail_list(body["status"].get("details"))) or str(body["status"].get("description", ""))
    else:  # problem details
        exceptions = _exceptions(body.get("errors"))
        raw_detail = body.get("detail")
        detail = str(raw_detail) if raw_detail else None
    kwargs: dict[str, Any] = {"exceptions": exceptions, "detail": detail, "body": body}
    if status == 429:
        return RateLimited(status, retry_after_seconds(response), **kwargs)
    if status == 401:
        return Unauthorized(status, **kwargs)
    if status == 403:
        return Forbidden(status, **kwargs)
    if status == 410:
        return Gone(status, **kwargs)
    if status >= 500:
        return ServerError(status, **kwargs)
    return ApiError(status, **kwargs)


def transport_failure(exc: httpx.TransportError, host: str) -> TransportFailure:
    """Name the network failure: DNS, connection refused, TLS, timeout, or other."""
    import socket
    import ssl

    import httpx  # loaded already: only the client calls this, with an httpx error in hand

    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure("timeout", host, type(exc).__name__)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return TransportFailure("dns", host, "name not resolved")
        if isinstance(cause, ssl.SSLError):
            return TransportFailure("tls", host, type(cause).__name__)
        if isinstance(cause, ConnectionRefusedError):
            return TransportFailure("refused", host, "connection refused")
    text = " ".join(str(c) for c in chain).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "temporary failure in name" in text:
        return TransportFailure("dns", host, "name not resolved")
    if "certificate" in text or "ssl" in text or "tls" in text:
        return TransportFailure("tls", host, "TLS handshake failed")
    if "refused" in text or "errno 111" in text:
        return TransportFailure("refused", host, "connection refused")
    return TransportFailure("network", host, type(exc).__name__)


# ------------------------------------------------------------------------------------ signing credentials


class CredentialError(KsefError):
    """A certificate or key file we cannot use to sign (CERTS_OFFLINE.md §1.2). Never names the password, the
    key or the file's content."""

    key = "ksef.err.cred.unreadable"
    category = Category.CONFIG

    def __init__(self, summary: str = "", **params: object) -> None:
        super().__init__(summary or type(self).__doc__ or self.key, **params)


class CredentialUnreadable(CredentialError):
    """neither a PKCS#12 file nor a certificate with a private key (PEM or DER)"""

    key = "ksef.err.cred.unreadable"


class WrongPassword(CredentialError):
    """the password does not open the key or PKCS#12 file (or the file is damaged)"""

    key = "ksef.err.cred.password"


class PasswordNeeded(CredentialError):
    """the key or PKCS#12 file is protected by a password and none was given"""

    key = "ksef.err.cred.password_needed"


class KeyMismatch(CredentialError):
    """the private key does not belong to the certificate"""

    key = "ksef.err.cred.mismatch"


class MissingPrivateKey(CredentialError):
    """a certificate without its private key"""

    key = "ksef.err.cred.no_key"


class MissingCertificate(CredentialError):
    """a private key without its certificate"""

    key = "ksef.err.cred.no_certificate"


class UnsupportedKey(CredentialError):
    """KSeF accepts RSA keys of 2048 bits or more and EC keys on P-256 or P-384"""

    key = "ksef.err.cred.unsupported_key"

    def __init__(self, what: str) -> None:
        super().__init__(f"unsupported key {what}: KSeF accepts RSA >= 2048 bits, EC P-256 or P-384", key_type=what)
        self.what = what


# ------------------------------------------------------------------------------------------- XAdES login


def _details(error: ApiError) -> str:
    """KSeF's own details of a refusal (its description when it gave none)."""
    details = [d for e in error.exceptions for d in e.details]
    if details:
        return "; ".join(details)
    return error.detail or "; ".join(e.description for e in error.exceptions)


class XadesRejected(ApiError):
    """POST /auth/xades-signature refused the signed request (400, CERTS_OFFLINE.md §1.3)."""

    key = "ksef.err.xades.rejected"
    category = Category.AUTH

    @classmethod
    def from_error(cls, error: ApiError) -> XadesRejected:
        rejected = cls(error.status, error.exceptions, error.detail, error.body)
        rejected.params["detail"] = _details(error)
        return rejected


class InvalidCertificate(XadesRejected):
    """21115: KSeF does not accept the certificate (self-signed outside TEST, no NIP/PESEL to read...)."""

    key = "ksef.err.xades.certificate"


class InvalidSignature(XadesRejected):
    """9105: the signature does not verify or its format is not an accepted XAdES profile."""

    key = "ksef.err.xades.signature"


class InvalidChallenge(XadesRejected):
    """21111: the challenge expired (10 minutes) or is unknown."""

    key = "ksef.err.xades.challenge"


class SubjectNotForContext(XadesRejected):
    """21117: the subject identifier type cannot be used with the context type (the profile's setting)."""

    key = "ksef.err.xades.subject_context"
    category = Category.CONFIG


_XADES_CODES: dict[int, type[XadesRejected]] = {
    21115: InvalidCertificate,
    9105: InvalidSignature,
    21111: InvalidChallenge,
    21117: SubjectNotForContext,
}


def xades_rejection(error: ApiError) -> ApiError:
    """The typed error for a refused XAdES login; other errors (429, 5xx, 401...) are returned unchanged."""
    if error.status != 400 or isinstance(error, XadesRejected):
        return error
    for code in error.codes:
        if code in _XADES_CODES:
            return _XADES_CODES[code].from_error(error)
    return XadesRejected.from_error(error)


class NoPermissionsInContext(AuthenticationFailed):
    """Status 415 after a XAdES login: the certificate's owner is neither the owner of the context nor granted
    anything in it (for an accounting office: this company has granted it nothing)."""

    key = "ksef.err.xades.no_permissions"
    category = Category.PERMISSIONS

    def __init__(self, status: AuthStatus, *, context: str, identity: str) -> None:
        super().__init__(status)
        self.params.update(context=context, identity=identity)


#: Status 460 details (CERTS_OFFLINE.md §1.3) -> the reason in our keys.
_CERTIFICATE_REASONS: list[tuple[str, str]] = [
    ("odwołany", "revoked"),
    ("zawieszony", "suspended"),
    ("łańcuch", "untrusted"),
    ("nieważny", "expired"),
]


class CertificateRefused(AuthenticationFailed):
    """Status 460: KSeF's asynchronous certificate checks failed; ``reason`` is ``expired`` (or not yet valid),
    ``revoked``, ``suspended``, ``untrusted`` (the chain) or ``other``, KSeF's detail is kept."""

    key = "ksef.err.xades.cert.other"
    category = Category.AUTH

    def __init__(self, status: AuthStatus) -> None:
        super().__init__(status)
        text = " ".join((*status.details, status.description)).lower()
        self.reason = next((reason for needle, reason in _CERTIFICATE_REASONS if needle in text), "other")
        self.key = f"ksef.err.xades.cert.{self.reason}"


def xades_failure(status: AuthStatus, *, context: str, identity: str) -> AuthenticationFailed:
    """The typed error for a final status >= 400 of a XAdES login."""
    if status.code == 415:
        return NoPermissionsInContext(status, context=context, identity=identity)
    if status.code == 460:
        return CertificateRefused(status)
    return AuthenticationFailed(status)


# ---------------------------------------------------------------------------------------- KSeF certificates


class TokenLoginCannotEnroll(ApiError):
    """25001/25002: certificates are requested only after a login with a signature (qualified signature or seal,
    Profil Zaufany, a KSeF certificate), never with a KSeF token."""

    key = "ksef.err.certs.token_login"
    category = Category.AUTH


#: KSeF certificate refusals (CERTS_OFFLINE.md §3.1) -> the reason in our keys.
_CERTIFICATE_CODES: dict[int, str] = {
    25003: "subject",
    25004: "csr",
    25005: "no_request",
    25006: "enrollment_limit",
    25007: "certificate_limit",
    25008: "no_certificate",
    25009: "already_revoked",
    25010: "key",
    25011: "algorithm",
}


class CertificateRequestRefused(ApiError):
    """A 400 of ``/certificates/*`` with a certificate code; ``reason`` names it, KSeF's detail is kept."""

    key = "ksef.err.certs.refused"

    def __init__(self, error: ApiError, reason: str) -> None:
        super().__init__(error.status, error.exceptions, error.detail, error.body)
        self.reason = reason
        self.key = f"ksef.err.certs.{reason}"
        self.params["detail"] = _details(error)


def certificate_refusal(error: ApiError) -> ApiError:
    """The typed error for a refused ``/certificates/*`` call; others are returned unchanged."""
    if error.status != 400 or isinstance(error, (TokenLoginCannotEnroll, CertificateRequestRefused)):
        return error
    if error.has_code(25001) or error.has_code(25002):
        refused = TokenLoginCannotEnroll(error.status, error.exceptions, error.detail, error.body)
        refused.params["detail"] = _details(error)
        return refused
    for code in error.codes:
        if code in _CERTIFICATE_CODES:
            return CertificateRequestRefused(error, _CERTIFICATE_CODES[code])
    return error


class EnrollmentFailed(KsefError):
    """The certificate request ended with a status >= 400 (400 refused, 500, 550): KSeF's words are kept."""

    key = "ksef.err.certs.enrollment_failed"

    def __init__(self, code: int, description: str, details: tuple[str, ...]) -> None:
        detail = "; ".join(details)
        super().__init__(
            f"certificate request ended with status {code}: {description}" + (f" ({detail})" if detail else ""),
            code=code,
            description=description,
            detail=detail,
        )
        self.code = code
        self.details = details


class EnrollmentPending(KsefError):
    """KSeF has not issued the certificate yet after the time we waited (status 100)."""

    key = "ksef.err.certs.pending"

    def __init__(self, reference: str) -> None:
        super().__init__(f"certificate request {reference} still in progress", reference=reference)
        self.reference = reference
