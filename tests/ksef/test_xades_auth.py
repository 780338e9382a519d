"""XAdES login (CERTS_OFFLINE §1.3): what XadesAuth sends, the session life it shares with TokenAuth, and every
refusal as a typed error with its own message and category. Against a scripted KSeF here; against the simulator
over real HTTP in test_certs_api.py and test_permissions_api.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from lxml import etree
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from ksef_tui.errors import Category, report
from ksef_tui.ksef.auth import MemorySessionStore, SessionAuth, TokenAuth, XadesAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.errors import (
    AuthenticationFailed,
    CertificateRefused,
    InvalidCertificate,
    InvalidChallenge,
    InvalidSignature,
    NoPermissionsInContext,
    RateLimited,
    SubjectNotForContext,
    XadesRejected,
)
from ksef_tui.ksef.xades import SigningCredential

from .certkit import answer, certificate, ec_key, ksef_error, no_sleep, person_name, rsa_key

CHALLENGE = "20260515-CR-461EA5B000-537A6BA15D-D7"
REFERENCE = "20260515-AU-2DFC46C000-3AC6D5877F-D4"


class FakeKsef:
    """Answers the auth endpoints; ``sync`` replaces the answer to the signed request, ``status`` the final
    status of GET /auth/{ref}."""

    def __init__(self, credential: SigningCredential) -> None:
        self.credential = credential
        self.sync: httpx.Response | None = None
        self.status: dict[str, object] = {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
        self.requests: list[httpx.Request] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v2")
        later = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
        if path == "/auth/challenge":
            return answer(200, {"challenge": CHALLENGE, "timestamp": later, "timestampMs": 1, "clientIp": "1.2.3.4"})
        if path == "/auth/xades-signature":
            if self.sync is not None:
                return self.sync
            return answer(
                202, {"referenceNumber": REFERENCE, "authenticationToken": {"token": "op", "validUntil": later}}
            )
        if path == f"/auth/{REFERENCE}":
            self.polls += 1
            code = 100 if self.polls == 1 else self.status["code"]
            return answer(200, {"status": {**self.status, "code": code}})
        if path == "/auth/token/redeem":
            token = {"token": "access", "validUntil": later}
            return answer(200, {"accessToken": token, "refreshToken": {"token": "refresh", "validUntil": later}})
        return answer(404, {"title": "Not Found", "status": 404})


def make_auth(ksef: FakeKsef, **kwargs: object) -> XadesAuth:
    http = KsefHttp("https://ksef.test/v2", transport=httpx.MockTransport(ksef), sleep=no_sleep)

    async def credential() -> SigningCredential:
        return ksef.credential

    options: dict[str, object] = {"context_type": "Nip", "context_value": "7811111111", **kwargs}
    return XadesAuth(http, credential=credential, sleep=no_sleep, **options)  # type: ignore[arg-type]


def person(identifier: str = "TINPL-5265877635") -> SigningCredential:
    key = ec_key()
    return SigningCredential.create(certificate(key, person_name(identifier)), key)


async def test_the_signed_request_as_sent_and_the_session_it_opens() -> None:
    key = rsa_key()
    ksef = FakeKsef(SigningCredential.create(certificate(key), key))
    store = MemorySessionStore()
    auth = make_auth(ksef, store=store)
    assert isinstance(auth, SessionAuth)
    assert await auth.access_token() == "access"
    assert auth.authentications == 1 and store.tokens is not None
    sent = next(r for r in ksef.requests if r.url.path.endswith("/auth/xades-signature"))
    assert sent.headers["Content-Type"] == "application/xml"
    assert sent.url.params["verifyCertificateChain"] == "false"
    assert "Authorization" not in sent.headers
    results = XAdESVerifier().verify(
        sent.content,
        x509_cert=ksef.credential.certificate,
        expect_config=XAdESSignatureConfiguration(expect_references=2),
    )
    assert len(results) == 2
    document = etree.fromstring(sent.content)
    ns = {"a": "http://ksef.mf.gov.pl/auth/token/2.1", "x": "http://uri.etsi.org/01903/v1.3.2#"}
    assert document.findtext("a:Challenge", namespaces=ns) == CHALLENGE
    assert document.findtext("a:ContextIdentifier/a:Nip", namespaces=ns) == "7811111111"
    assert document.findtext("a:SubjectIdentifierType", namespaces=ns) == "certificateSubject"
    # SigningTime: a minute before now, as MF's signer
    signed_at = datetime.fromisoformat(document.findtext(".//x:SigningTime", namespaces=ns) or "")
    assert timedelta(seconds=50) < datetime.now(UTC) - signed_at < timedelta(seconds=75)
    # the session is reused: no second login
    assert await auth.access_token() == "access"
    assert auth.authentications == 1


async def test_verify_chain_and_fingerprint_identity_are_sent_as_asked() -> None:
    ksef = FakeKsef(person())
    auth = make_auth(
        ksef,
        verify_chain=True,
        subject_type="certificateFingerprint",
        context_type="InternalId",
        context_value="6824515772-12343",
    )
    await auth.authenticate()
    sent = next(r for r in ksef.requests if r.url.path.endswith("/auth/xades-signature"))
    assert sent.url.params["verifyCertificateChain"] == "true"
    assert b"<SubjectIdentifierType>certificateFingerprint</SubjectIdentifierType>" in sent.content
    assert b"<InternalId>6824515772-12343</InternalId>" in sent.content


@dataclass(frozen=True)
class Refusal:
    code: int
    description: str
    detail: str
    error: type[XadesRejected]
    category: Category
    shown: str  # what the English message must say


REFUSALS = [
    Refusal(
        21115,
        "Nieprawidłowy certyfikat.",
        "Brak identyfikatora.",
        InvalidCertificate,
        Category.AUTH,
        "did not accept the certificate: Brak identyfikatora.",
    ),
    Refusal(
        9105,
        "Nieprawidłowy podpis.",
        "Podpis zweryfikowany negatywnie.",
        InvalidSignature,
        Category.AUTH,
        "refused the signature: Podpis zweryfikowany negatywnie.",
    ),
    Refusal(21111, "Nieprawidłowe wyzwanie autoryzacyjne.", "", InvalidChallenge, Category.AUTH, "one-time login code"),
    Refusal(
        21117,
        "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.",
        "",
        SubjectNotForContext,
        Category.CONFIG,
        "Nieprawidłowy identyfikator podmiotu",
    ),
    Refusal(
        21406,
        "Konflikt podpisu i typu uwierzytelnienia.",
        "",
        XadesRejected,
        Category.AUTH,
        "(codes 21406): Konflikt podpisu",
    ),
    Refusal(
        21401,
        "Dokument nie jest zgodny ze schemą (xsd).",
        "The element is invalid.",
        XadesRejected,
        Category.AUTH,
        "The element is invalid.",
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: str(case.code))
async def test_synchronous_refusals_are_typed(case: Refusal, monkeypatch: pytest.MonkeyPatch) -> None:
    ksef = FakeKsef(person())
    ksef.sync = ksef_error(case.code, case.description, *([case.detail] if case.detail else []))
    with pytest.raises(case.error) as caught:
        await make_auth(ksef).access_token()
    refused = caught.value
    assert type(refused) is case.error and refused.has_code(case.code) and refused.category is case.category
    shown = report(refused)
    assert case.shown in shown.message and shown.hint
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    polish = report(refused)
    assert polish.message != shown.message and polish.hint
    assert "wyzwani" not in polish.message  # GLOSSARY: not on screens, but in KSeF's own details


async def test_a_rate_limit_or_server_error_is_not_a_refusal() -> None:
    ksef = FakeKsef(person())
    ksef.sync = answer(429, {"status": {"code": 429, "description": "Too many", "details": []}}, {"Retry-After": "0"})
    auth = make_auth(ksef)
    with pytest.raises(RateLimited):
        await auth.access_token()


async def test_no_permissions_in_the_context_reads_as_the_company_granted_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ksef = FakeKsef(person("TINPL-5265877635"))
    ksef.status = {
        "code": 415,
        "description": "Uwierzytelnianie zakończone niepowodzeniem",
        "details": ["Brak przypisanych uprawnień"],
    }
    auth = make_auth(ksef)
    with pytest.raises(NoPermissionsInContext) as caught:
        await auth.access_token()
    error = caught.value
    assert error.category is Category.PERMISSIONS and report(error).exit_code == 5
    message = report(error).message
    assert "7811111111" in message and "NIP 5265877635" in message and "granted nothing" in message
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    polish = report(error)
    assert "nie nadała uprawnień" in polish.message and "7811111111" in polish.message
    assert "Uprawnienia" in polish.hint
    assert ksef.polls == 2  # polled through 100


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ("Nieważny certyfikat", "expired"),
        ("Certyfikat odwołany", "revoked"),
        ("Certyfikat zawieszony", "suspended"),
        ("Niezaufany łańcuch certyfikatów", "untrusted"),
        ("Błąd weryfikacji łańcucha certyfikatów", "untrusted"),
        ("Niepoprawny certyfikat", "other"),
    ],
)
async def test_certificate_status_460_names_its_reason(detail: str, reason: str) -> None:
    ksef = FakeKsef(person())
    ksef.status = {
        "code": 460,
        "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu",
        "details": [detail],
    }
    with pytest.raises(CertificateRefused) as caught:
        await make_auth(ksef).access_token()
    error = caught.value
    assert error.reason == reason and error.key == f"ksef.err.xades.cert.{reason}"
    assert error.category is Category.AUTH and detail in report(error).message and report(error).hint


async def test_other_final_statuses_stay_authentication_failed() -> None:
    ksef = FakeKsef(person())
    ksef.status = {"code": 480, "description": "Uwierzytelnienie zablokowane", "details": []}
    with pytest.raises(AuthenticationFailed) as caught:
        await make_auth(ksef).access_token()
    assert type(caught.value) is AuthenticationFailed and caught.value.status.code == 480


def test_token_auth_keeps_its_errors() -> None:
    """The shared base maps nothing for KSeF tokens: a 415 after a token login stays AuthenticationFailed."""
    from ksef_tui.ksef.errors import AuthStatus

    http = KsefHttp("https://ksef.test/v2")

    async def token() -> str:
        return "t"

    auth = TokenAuth(http, ksef_token=token, context_type="Nip", context_value="5265877635")
    failure = auth.failure(
        AuthStatus(415, "Uwierzytelnianie zakończone niepowodzeniem", ("Brak przypisanych uprawnień",))
    )
    assert type(failure) is AuthenticationFailed and failure.category is Category.AUTH
