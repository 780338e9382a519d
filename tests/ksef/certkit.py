"""Certificates, keys and credential files made in the tests with cryptography (as the KSeF Taxpayer App and
qualified-certificate providers hand them out), and a :class:`KsefApi` over a scripted transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ksef_tui.domain.session import SessionTokens
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.auth import MemorySessionStore, TokenAuth, XadesAuth
from ksef_tui.ksef.client import KsefHttp
from ksef_tui.ksef.xades import PrivateKey, SigningCredential

PASSWORD = "Zażółć-gęślą-jaźń 42"

#: RSA generation is slow: one key of each size per test run.
_RSA: dict[int, rsa.RSAPrivateKey] = {}


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    if bits not in _RSA:
        _RSA[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _RSA[bits]


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def person_name(identifier: str = "TINPL-5265877635", given: str = "Jan", surname: str = "Kowalski") -> x509.Name:
    """A personal certificate's subject as MF's self-signed builder makes it (CERTS_OFFLINE §2)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.GIVEN_NAME, given),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, identifier),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{given} {surname}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )


def seal_name(nip: str = "5265877635", organization: str = "Firma Testowa sp. z o.o.") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"VATPL-{nip}"),
            x509.NameAttribute(NameOID.COMMON_NAME, organization),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )


def certificate(
    key: PrivateKey | Any,
    name: x509.Name | None = None,
    *,
    issuer: tuple[x509.Name, Any] | None = None,
    not_before: datetime | None = None,
    days: int = 365,
) -> x509.Certificate:
    """A certificate for ``key``'s public key: self-signed, or signed by ``issuer`` (its name and key)."""
    subject = name or person_name()
    issuer_name, issuer_key = issuer or (subject, key)
    start = not_before or datetime.now(UTC) - timedelta(minutes=61)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
    )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pkcs8(key: Any, password: str | None = PASSWORD, *, encoding: str = "pem") -> bytes:
    """The private key as PKCS#8 (PEM by default), encrypted with ``password`` unless it is ``None``."""
    protection: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    form = serialization.Encoding.PEM if encoding == "pem" else serialization.Encoding.DER
    return key.private_bytes(form, serialization.PrivateFormat.PKCS8, protection)  # type: ignore[no-any-return]


def p12(
    key: Any,
    cert: x509.Certificate | None,
    password: str | None = PASSWORD,
    *,
    chain: list[x509.Certificate] | None = None,
) -> bytes:
    protection: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"test", key, cert, chain, protection)


# ------------------------------------------------------------------------------------ a scripted KSeF


Handler = Callable[[httpx.Request], httpx.Response]


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json", **(headers or {})})


def ksef_error(code: int, description: str, *details: str, status: int = 400) -> httpx.Response:
    """A KSeF refusal in the problem-details envelope (``X-Error-Format: problem-details``)."""
    body = {
        "title": "Bad Request",
        "status": status,
        "detail": description,
        "errors": [{"code": code, "description": description, "details": list(details)}],
    }
    return answer(status, body)


async def no_sleep(_seconds: float) -> None:
    return None


def scripted_api(handler: Handler) -> KsefApi:
    """A :class:`KsefApi` whose session is already open (no login) and whose calls go to ``handler``."""
    far = datetime.now(UTC) + timedelta(days=1)
    tokens = SessionTokens("access", far, "refresh", far, "20260101-AU-0000000000-0000000000-00")
    http = KsefHttp("https://ksef.test/v2", transport=httpx.MockTransport(handler), sleep=no_sleep)

    async def never() -> str:
        raise AssertionError("no login expected")

    auth = TokenAuth(
        http, ksef_token=never, context_type="Nip", context_value="5265877635", store=MemorySessionStore(tokens)
    )
    return KsefApi(http, auth)


# ------------------------------------------------------------------------------ against the simulator


def sim_serves(*calls: tuple[str, str]) -> bool:
    """Whether the simulator in this tree has these endpoints (``(method, path)`` as its route tables write
    them): the end-to-end tests run once the simulator's side of the feature has landed."""
    import importlib
    import pkgutil

    import ksef_tui.sim

    served: set[tuple[str, str]] = set()
    for info in pkgutil.iter_modules(ksef_tui.sim.__path__):
        try:
            module = importlib.import_module(f"ksef_tui.sim.{info.name}")
        except ImportError:
            continue
        for endpoint in [*getattr(module, "ENDPOINTS", ()), *getattr(module, "TESTDATA_ENDPOINTS", ())]:
            served.add((str(endpoint.method), str(endpoint.path)))
    return set(calls) <= served


def own_nip(n: int) -> str:
    """A checksum-valid NIP of these tests' own (never one of the simulator's seed)."""
    from ksef_tui.domain.nip import nip_with_checksum

    for k in range(n * 10, n * 10 + 10):
        value = nip_with_checksum(f"72{k:07d}")
        if value is not None:
            return value
    raise AssertionError(n)


def xades_api(
    base_url: str,
    credential: SigningCredential,
    context_value: str,
    *,
    context_type: str = "Nip",
    verify_chain: bool = False,
) -> KsefApi:
    """A :class:`KsefApi` that logs in with ``credential`` (XAdES) in the given context."""
    http = KsefHttp(base_url)

    async def provide() -> SigningCredential:
        return credential

    auth = XadesAuth(
        http, credential=provide, context_type=context_type, context_value=context_value, verify_chain=verify_chain
    )
    return KsefApi(http, auth)


def grant_office(sim: Any, client: str, office: str, *scopes: str) -> None:
    """Company ``client`` grants the office's NIP invoice rights, through KSeF's TE test data."""
    with sim.client() as http:
        response = http.post(
            "/v2/testdata/permissions",
            json={
                "contextIdentifier": {"type": "Nip", "value": client},
                "authorizedIdentifier": {"type": "Nip", "value": office},
                "permissions": [
                    {"permissionType": scope, "description": "biuro rachunkowe"}
                    for scope in scopes or ("InvoiceRead", "InvoiceWrite")
                ],
            },
        )
    assert response.status_code == 200, response.text
