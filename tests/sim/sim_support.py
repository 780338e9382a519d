"""Test support for the simulator suite: an httpx client that checks every request and response against the
official OpenAPI (openapi-core) and waits by moving the simulator's clock (never by sleeping), and client-side
crypto written here from PROTOCOL.md (never the project's client code). The server is the suite-wide harness
(``tests/harness.py``)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from ksef_tui.sim.state import SimState

from ..harness import Sim

SPEC_PATH = Path(__file__).parent / "openapi" / "ksef-openapi-2.6.1-prod.json"
SPEC_HOST = "https://api.ksef.mf.gov.pl"
#: The TEST spec: the only one with the /testdata endpoints (they exist on TE only).
TEST_SPEC_PATH = Path(__file__).parent / "openapi" / "ksef-openapi-2.7.0-test.json"
TEST_SPEC_HOST = "https://api-test.ksef.mf.gov.pl"
FIXTURES = Path(__file__).parents[1] / "fixtures"

_spec_lock = threading.Lock()
_specs: dict[Path, OpenAPI] = {}


def _xml_as_text(data: bytes | str, **parameters: str) -> str:
    return data.decode(parameters.get("charset", "utf-8")) if isinstance(data, bytes) else data


def _json(data: bytes | str, **parameters: str) -> Any:
    """JSON whatever the media type's parameters (``; charset=utf-8``)."""
    return json.loads(data)


def spec(path: Path = SPEC_PATH) -> OpenAPI:
    with _spec_lock:
        if path not in _specs:
            # openapi-core has no deserializer for RFC 7807 bodies (plain JSON), and parses XML into an
            # element tree while the spec describes XML bodies as `type: string`.
            config = Config(
                extra_media_type_deserializers={
                    "application/problem+json": _json,
                    "application/xml": _xml_as_text,
                }
            )
            _specs[path] = OpenAPI.from_file_path(str(path), config=config)
        return _specs[path]


# ------------------------------------------------------------------ openapi-core adapters
# Places where the 2.6.1 PROD spec itself is wrong, and how the simulator copes (so validation passes):
# * SessionStatusResponse.upo is a non-nullable $ref, yet KSeF sends "upo": null before the UPO exists
#   (official E2E) -> the simulator omits the property.
# * ExceptionInfo.referenceNumber is a non-nullable ReferenceNumber, yet the spec's own example and
#   production send null -> omitted.
# * InvoiceMetadata.hashOfCorrectedInvoice / authorizedSubject: non-nullable $refs, example shows null -> omitted.
# * AllowedIps.ip4Addresses/ip4Ranges/ip4Masks put "minimum: 0, maximum: 10" on arrays (meant minItems/maxItems),
#   so no validator enforces the documented limit of 10; the simulator enforces it itself.
# * dateRange.from/to are `format: date-time` (RFC 3339 needs an offset), yet the API documents that a value
#   without an offset means Europe/Warsaw; tests sending such values use bad_request=True.
# * XML bodies (invoice download, UPO) are described as `type: string`; openapi-core would parse them into an
#   element tree, so they are handed over as text (see _xml_as_text).
@dataclass
class SpecRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    header: Mapping[str, str]
    body: bytes | None
    content_type: str
    host_url: str = SPEC_HOST

    def __post_init__(self) -> None:
        pairs = [(k, v) for k, values in self.query.items() for v in values]
        # openapi-core writes the resolved path parameters into this object, so it must persist.
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(pairs), header=Headers(dict(self.header)), cookie=ImmutableMultiDict()
        )

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


@dataclass
class SpecResponse:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


def check_against_spec(request: httpx.Request, response: httpx.Response, *, check_request: bool = True) -> None:
    """Raise when the exchange does not match the official 2.6.1 PROD OpenAPI (``/testdata``: the 2.7.0 TEST one)."""
    path = request.url.path
    testdata = path.startswith("/v2/testdata/")
    checked = spec(TEST_SPEC_PATH if testdata else SPEC_PATH)
    query: dict[str, list[str]] = {}
    for key, value in request.url.params.multi_items():
        query.setdefault(key, []).append(value)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    content = request.content or None
    spec_request = SpecRequest(
        method=request.method.lower(),
        path=path,
        query=query,
        header=headers,
        body=content,
        content_type=request.headers.get("content-type", "application/json").lower() if content else "",
        host_url=TEST_SPEC_HOST if testdata else SPEC_HOST,
    )
    try:
        if check_request:
            checked.validate_request(spec_request)
    except SecurityValidationError:
        # Some tests deliberately send no bearer; the response is still checked below.
        assert "authorization" not in {k.lower() for k in headers}
    spec_response = SpecResponse(
        status_code=response.status_code,
        content_type=response.headers.get("content-type", "").lower(),
        headers=Headers(dict(response.headers.items())),
        data=response.content or None,
    )
    checked.validate_response(spec_request, spec_response)


# ------------------------------------------------------------------ API client
T = TypeVar("T")


class Api:
    """httpx against a simulator; every /v2 exchange is checked against the OpenAPI unless told not to."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.http = sim.client()
        self._certs: list[dict[str, Any]] | None = None

    @property
    def state(self) -> SimState:
        return self.sim.state

    def until(self, poll: Callable[[], T], done: Callable[[T], bool], *, within: float = 60.0, step: float = 0.05) -> T:
        """``poll()`` until ``done`` says so. The simulator settles its work by its clock, so between polls its
        clock moves by ``step`` (no sleeping); after ``within`` simulated seconds the last answer is returned."""
        moved = 0.0
        while True:
            value = poll()
            if done(value) or moved >= within:
                return value
            self.sim.advance(step)
            moved += step

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        problem: bool = False,
        validate: bool = True,
        bad_request: bool = False,
    ) -> httpx.Response:
        """``bad_request``: the request breaks the spec on purpose (only the response is checked);
        ``content``: a raw body (sent as ``application/json``) instead of ``json_body``."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if problem:
            all_headers["X-Error-Format"] = "problem-details"
        if content is not None:
            all_headers.setdefault("Content-Type", "application/json")
        response = self.http.request(
            method, "/v2" + path, json=json_body, content=content, params=params, headers=all_headers
        )
        if validate:
            check_against_spec(response.request, response, check_request=not bad_request)
        return response

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, "/sim" + path, **kwargs)

    def close(self) -> None:
        self.http.close()

    # -------------------------------------------------------------- crypto helpers
    def certificates(self) -> list[dict[str, Any]]:
        if self._certs is None:
            response = self.call("GET", "/security/public-key-certificates")
            self._certs = list(response.json())
        return self._certs

    def public_key(self, usage: str) -> tuple[RSAPublicKey, str]:
        for item in self.certificates():
            if usage in item["usage"]:
                cert = x509.load_der_x509_certificate(base64.b64decode(item["certificate"]))
                key = cert.public_key()
                assert isinstance(key, RSAPublicKey)
                return key, str(item["publicKeyId"])
        raise AssertionError(f"no certificate for {usage}")

    def encrypt_token(self, token: str, timestamp_ms: int) -> str:
        key, _ = self.public_key("KsefTokenEncryption")
        return b64(oaep(key, f"{token}|{timestamp_ms}".encode()))

    # -------------------------------------------------------------- flows
    def start_auth(
        self,
        token: str,
        nip: str | None = None,
        *,
        encrypted: str | None = None,
        context_type: str = "Nip",
        **extra: Any,
    ) -> dict[str, Any]:
        """POST /auth/ksef-token with a fresh challenge; ``extra`` goes into the body as it is."""
        challenge = self.call("POST", "/auth/challenge").json()
        body = {
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": context_type, "value": nip or token.split("|")[1].removeprefix("nip-")},
            "encryptedToken": encrypted or self.encrypt_token(token, challenge["timestampMs"]),
            **extra,
        }
        spelled_as_the_spec = context_type in ("Nip", "InternalId", "NipVatUe", "PeppolId")
        response = self.call("POST", "/auth/ksef-token", json_body=body, bad_request=not spelled_as_the_spec)
        assert response.status_code == 202, response.text
        return dict(response.json())

    def wait_auth(self, started: dict[str, Any]) -> dict[str, Any]:
        auth_token = started["authenticationToken"]["token"]
        return self.until(
            lambda: dict(self.call("GET", f"/auth/{started['referenceNumber']}", token=auth_token).json()),
            lambda status: status["status"]["code"] != 100,
        )

    def login(self, token: str) -> dict[str, str]:
        """Token auth end to end; returns ``{"access", "refresh", "auth", "reference"}``."""
        started = self.start_auth(token)
        status = self.wait_auth(started)
        assert status["status"]["code"] == 200, status
        return self.redeem(started)

    def redeem(self, started: dict[str, Any]) -> dict[str, str]:
        """POST /auth/token/redeem for a started authentication (token or XAdES) that reached 200."""
        redeemed = self.call("POST", "/auth/token/redeem", token=started["authenticationToken"]["token"])
        assert redeemed.status_code == 200, redeemed.text
        tokens = redeemed.json()
        return {
            "access": tokens["accessToken"]["token"],
            "refresh": tokens["refreshToken"]["token"],
            "auth": started["authenticationToken"]["token"],
            "reference": started["referenceNumber"],
        }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha_b64(data: bytes) -> str:
    return b64(hashlib.sha256(data).digest())


def oaep(key: RSAPublicKey, data: bytes) -> bytes:
    return key.encrypt(
        data,
        asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )


def aes_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def start_export(
    client: Api, access: str, filters: dict[str, Any], *, bad_request: bool = False, **extra: Any
) -> tuple[str, bytes, bytes]:
    """POST /invoices/exports with a fresh key; returns (reference, key, IV)."""
    key, iv = os.urandom(32), os.urandom(16)
    public, key_id = client.public_key("SymmetricKeyEncryption")
    body = {
        "encryption": {
            "encryptedSymmetricKey": b64(oaep(public, key)),
            "initializationVector": b64(iv),
            "publicKeyId": key_id,
        },
        "filters": filters,
        **extra,
    }
    response = client.call("POST", "/invoices/exports", token=access, json_body=body, bad_request=bad_request)
    assert response.status_code == 201, response.text
    return str(response.json()["referenceNumber"]), key, iv


def wait_export(client: Api, access: str, ref: str) -> dict[str, Any]:
    return client.until(
        lambda: dict(client.call("GET", f"/invoices/exports/{ref}", token=access).json()),
        lambda body: body["status"]["code"] != 100,
    )


@dataclass
class OnlineSession:
    api: Api
    access: str
    reference: str
    key: bytes
    iv: bytes

    def send(self, xml: bytes, *, tamper: str | None = None) -> httpx.Response:
        encrypted = aes_encrypt(self.key, self.iv, xml)
        body = {
            "invoiceHash": sha_b64(xml),
            "invoiceSize": len(xml),
            "encryptedInvoiceHash": sha_b64(encrypted),
            "encryptedInvoiceSize": len(encrypted),
            "encryptedInvoiceContent": b64(encrypted),
            "offlineMode": False,
        }
        if tamper == "size":
            body["encryptedInvoiceSize"] = len(encrypted) + 16
        elif tamper == "hash":
            body["encryptedInvoiceHash"] = sha_b64(encrypted + b"x")
        elif tamper == "plain-size":
            body["invoiceSize"] = len(xml) + 1
        elif tamper == "plain-hash":
            body["invoiceHash"] = sha_b64(xml + b" ")
        elif tamper == "cipher":
            garbage = os.urandom(len(encrypted))
            body.update(
                {
                    "encryptedInvoiceHash": sha_b64(garbage),
                    "encryptedInvoiceSize": len(garbage),
                    "encryptedInvoiceContent": b64(garbage),
                }
            )
        return self.api.call("POST", f"/sessions/online/{self.reference}/invoices", token=self.access, json_body=body)

    def invoice_status(self, invoice_ref: str) -> dict[str, Any]:
        response = self.api.call("GET", f"/sessions/{self.reference}/invoices/{invoice_ref}", token=self.access)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_invoice(self, invoice_ref: str) -> dict[str, Any]:
        return self.api.until(
            lambda: self.invoice_status(invoice_ref), lambda status: status["status"]["code"] not in (100, 150)
        )

    def close(self) -> httpx.Response:
        return self.api.call("POST", f"/sessions/online/{self.reference}/close", token=self.access)

    def status(self) -> dict[str, Any]:
        response = self.api.call("GET", f"/sessions/{self.reference}", token=self.access)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_closed(self) -> dict[str, Any]:
        return self.api.until(self.status, lambda status: status["status"]["code"] not in (100, 170))


FA3_FORM = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}


def open_session(api: Api, access: str, *, form: dict[str, str] | None = None, bad_key: bool = False) -> OnlineSession:
    key, iv = os.urandom(32), os.urandom(16)
    public, key_id = api.public_key("SymmetricKeyEncryption")
    encrypted_key = os.urandom(256) if bad_key else oaep(public, key)
    response = api.call(
        "POST",
        "/sessions/online",
        token=access,
        json_body={
            "formCode": form or FA3_FORM,
            "encryption": {
                "encryptedSymmetricKey": b64(encrypted_key),
                "initializationVector": b64(iv),
                "publicKeyId": key_id,
            },
        },
    )
    assert response.status_code == 201, response.text
    return OnlineSession(api, access, response.json()["referenceNumber"], key, iv)


def legacy_error(response: httpx.Response) -> tuple[int, str, list[str]]:
    """(code, description, details) of a legacy 400 envelope."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    entry = response.json()["exception"]["exceptionDetailList"][0]
    return entry["exceptionCode"], entry["exceptionDescription"], entry.get("details") or []


def problem_error(response: httpx.Response) -> tuple[int, str, list[str]]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    entry = response.json()["errors"][0]
    return entry["code"], entry["description"], entry.get("details") or []


def fixture_invoice(name: str, seller_nip: str, number: str | None = None) -> bytes:
    """A fixture invoice with the seller NIP (and optionally P_2) replaced."""
    from lxml import etree

    root = etree.fromstring((FIXTURES / "fa3" / name).read_bytes())
    ns = {"f": etree.QName(root).namespace or ""}
    nip = root.find("f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP", ns)
    assert nip is not None
    nip.text = seller_nip
    if number is not None:
        p2 = root.find("f:Fa/f:P_2", ns)
        assert p2 is not None
        p2.text = number
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


_numbers = itertools.count(1)


def unique_number(prefix: str) -> str:
    """An invoice number (P_2) no other test uses, so reruns against one simulator are never duplicates."""
    return f"{prefix}/{uuid.uuid4().hex[:12].upper()}/{next(_numbers)}"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)
