"""XAdES logins against the simulator for its tests: a signed ``AuthTokenRequest`` through POST
/auth/xades-signature, the status poll, the redeem (every exchange checked against the OpenAPI by :class:`Api`),
and the claims of the tokens it gives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import jwt
from cryptography import x509

from ksef_tui.domain.nip import nip_with_checksum

from .sim_support import Api
from .xades_signer import AUTH_2_1, PrivateKey, auth_request, certificate, sign


@dataclass(frozen=True)
class Holder:
    """A key and its certificate: someone who can sign."""

    key: PrivateKey
    cert: x509.Certificate

    @classmethod
    def make(cls, key: PrivateKey, subject: x509.Name, *, now: datetime, **options: Any) -> Holder:
        return cls(key, certificate(key, subject, now=now, **options))


XML = {"Content-Type": "application/xml"}


def nip(n: int) -> str:
    """A checksum-valid NIP of the tests' own (never one of the seed's), the same for the same ``n``."""
    for k in range(n * 10, n * 10 + 10):
        value = nip_with_checksum(f"71{k:07d}")
        if value is not None:
            return value
    raise AssertionError(n)


def pesel(n: int) -> str:
    """A PESEL with a valid check digit (born 1985-03-12), the same for the same ``n``."""
    head = f"850312{n:04d}"
    total = sum(int(d) * w for d, w in zip(head, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3), strict=True))
    return head + str((10 - total % 10) % 10)


def post_signed(
    api: Api,
    body: bytes,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    bad_request: bool = False,
) -> httpx.Response:
    """``bad_request``: the body is not even text (only the answer is checked against the OpenAPI)."""
    return api.call(
        "POST",
        "/auth/xades-signature",
        content=body,
        params=params,
        headers={**XML, **(headers or {})},
        bad_request=bad_request,
    )


def signed_request(
    api: Api,
    holder: Holder,
    context_value: str,
    *,
    context_type: str = "Nip",
    subject_type: str = "certificateSubject",
    namespace: str = AUTH_2_1,
    allowed_ips: list[tuple[str, str]] | None = None,
    challenge: str | None = None,
    **sign_options: Any,
) -> bytes:
    """A fresh challenge's ``AuthTokenRequest`` signed by ``holder``."""
    value = challenge or api.call("POST", "/auth/challenge").json()["challenge"]
    document = auth_request(
        value,
        context_value,
        context_type=context_type,
        subject_type=subject_type,
        namespace=namespace,
        allowed_ips=allowed_ips,
    )
    return sign(document, holder.key, holder.cert, **sign_options)


def start(
    api: Api, holder: Holder, context_value: str, *, params: dict[str, str] | None = None, **options: Any
) -> httpx.Response:
    return post_signed(api, signed_request(api, holder, context_value, **options), params=params)


def status(api: Api, holder: Holder, context_value: str, **options: Any) -> dict[str, Any]:
    """Start a XAdES login and wait for its final status; the started operation is in ``status["started"]``."""
    response = start(api, holder, context_value, **options)
    assert response.status_code == 202, response.text
    started = response.json()
    final = api.wait_auth(started)
    return {**final, "started": started}


def login(api: Api, holder: Holder, context_value: str, **options: Any) -> dict[str, str]:
    """A XAdES login to the end: ``{"access", "refresh", "auth", "reference"}``."""
    final = status(api, holder, context_value, **options)
    assert final["status"]["code"] == 200, final
    return api.redeem(final["started"])


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def per(token: str) -> list[str]:
    return [str(p) for p in json.loads(claims(token)["per"])]
