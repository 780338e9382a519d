"""PROTOCOL §3 and §11 items 1-5: keys, challenge, token auth, redeem, refresh, bearer typing, JWTs."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import datetime

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ksef_tui.domain.ksef_number import reference_checksum_ok
from ksef_tui.sim.seed import DEMO, OTHER

from ..harness import Sim
from .sim_support import Api, b64, legacy_error, oaep, problem_error


def test_public_key_certificates(api: Api) -> None:
    certs = api.call("GET", "/security/public-key-certificates").json()
    assert sorted(usage for item in certs for usage in item["usage"]) == [
        "KsefTokenEncryption",
        "SymmetricKeyEncryption",
    ]
    for item in certs:
        der = base64.b64decode(item["certificate"])
        cert = x509.load_der_x509_certificate(der)
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert item["certificateId"] == b64(hashlib.sha256(der).digest())
        assert item["publicKeyId"] == b64(hashlib.sha256(spki).digest())
        assert len(item["publicKeyId"]) == 44
        assert datetime.fromisoformat(item["validFrom"]) < datetime.fromisoformat(item["validTo"])


def test_challenge_shape(api: Api) -> None:
    body = api.call("POST", "/auth/challenge").json()
    challenge = body["challenge"]
    assert len(challenge) == 36 and challenge[9:11] == "CR"
    assert reference_checksum_ok(challenge)
    stamp = body["timestamp"]
    fraction = stamp.split(".")[1]
    assert len(fraction.split("+")[0]) == 7 and stamp.endswith("+00:00")
    parsed = datetime.fromisoformat(stamp)
    # timestampMs is the truncated (never rounded) millisecond of the timestamp
    assert body["timestampMs"] == int(parsed.timestamp() * 1_000_000) // 1000
    assert body["clientIp"] == "127.0.0.1"


def test_full_login_and_jwt_claims(api: Api, shared_sim: Sim) -> None:
    started = api.start_auth(shared_sim.state.named_tokens["full"])
    assert reference_checksum_ok(started["referenceNumber"])
    assert started["referenceNumber"][9:11] == "AU"
    auth_token = started["authenticationToken"]["token"]
    status = api.wait_auth(started)
    assert status["status"] == {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
    assert status["authenticationMethodInfo"] == {
        "category": "Token",
        "code": "token.ksef",
        "displayName": "Token KSeF",
    }
    assert status["isTokenRedeemed"] is False
    tokens = api.call("POST", "/auth/token/redeem", token=auth_token).json()
    claims = jwt.decode(tokens["accessToken"]["token"], options={"verify_signature": False})
    assert jwt.get_unverified_header(tokens["accessToken"]["token"])["alg"] == "HS256"
    assert claims["typ"] == "ContextToken"
    assert claims["arn"] == started["referenceNumber"]
    assert (claims["cit"], claims["civ"], claims["aum"]) == ("Nip", DEMO.nip, "Token")
    assert set(json.loads(claims["per"])) == {
        "InvoiceRead",
        "InvoiceWrite",
        "CredentialsRead",
        "CredentialsManage",
        "Introspection",
    }
    assert claims["exp"] - claims["iat"] == pytest.approx(900, abs=1)
    refresh_claims = jwt.decode(tokens["refreshToken"]["token"], options={"verify_signature": False})
    assert refresh_claims["typ"] == "RefreshToken"
    again = api.call("GET", f"/auth/{started['referenceNumber']}", token=auth_token).json()
    assert again["isTokenRedeemed"] is True and again["refreshTokenValidUntil"] is not None


def test_bad_token_is_accepted_then_fails_with_450(api: Api, shared_sim: Sim) -> None:
    token = shared_sim.state.named_tokens["full"]
    wrong_secret = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    cases: list[tuple[str, Callable[[int], str], str | None]] = [
        ("Nieprawidłowy token", lambda ms: api.encrypt_token(wrong_secret, ms), None),
        ("Nieprawidłowy czas tokena", lambda ms: api.encrypt_token(token, ms + 1), None),
        (
            "Nieprawidłowe szyfrowanie tokena",
            lambda ms: b64(oaep(api.public_key("SymmetricKeyEncryption")[0], f"{token}|{ms}".encode())),
            None,
        ),
        (
            "Nieprawidłowe kodowanie tokena",
            lambda ms: b64(oaep(api.public_key("KsefTokenEncryption")[0], b"\xff\xfe" + str(ms).encode())),
            None,
        ),
        ("Token nieaktywny", lambda ms: api.encrypt_token(shared_sim.state.named_tokens["inactive"], ms), None),
        ("Token unieważniony", lambda ms: api.encrypt_token(shared_sim.state.named_tokens["revoked"], ms), None),
        (
            f"Token nie może być użyty w kontekście {DEMO.nip}",
            lambda ms: api.encrypt_token(shared_sim.state.named_tokens["other_nip"], ms),
            DEMO.nip,
        ),
    ]
    for expected, encrypt, nip in cases:
        challenge = api.call("POST", "/auth/challenge").json()
        body = {
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": nip or DEMO.nip},
            "encryptedToken": encrypt(challenge["timestampMs"]),
        }
        response = api.call("POST", "/auth/ksef-token", json_body=body)
        assert response.status_code == 202, response.text
        status = api.wait_auth(response.json())
        assert status["status"] == {
            "code": 450,
            "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
            "details": [expected],
        }, expected
        redeem = api.call("POST", "/auth/token/redeem", token=response.json()["authenticationToken"]["token"])
        assert legacy_error(redeem) == (
            21301,
            "Brak autoryzacji.",
            ["Status uwierzytelniania (450) nie pozwala na pobranie tokenów."],
        )


def test_other_company_token_works_in_its_own_context(api: Api, shared_sim: Sim) -> None:
    tokens = api.login(shared_sim.state.named_tokens["other_nip"])
    claims = jwt.decode(tokens["access"], options={"verify_signature": False})
    assert claims["civ"] == OTHER.nip


def test_challenge_errors(api: Api, shared_sim: Sim) -> None:
    token = shared_sim.state.named_tokens["full"]
    challenge = api.call("POST", "/auth/challenge").json()
    body = {
        "challenge": "20260101-CR-0000000000-0000000000-00",
        "contextIdentifier": {"type": "Nip", "value": DEMO.nip},
        "encryptedToken": api.encrypt_token(token, challenge["timestampMs"]),
    }
    assert legacy_error(api.call("POST", "/auth/ksef-token", json_body=body)) == (
        21111,
        "Nieprawidłowe wyzwanie autoryzacyjne.",
        [],
    )
    body["challenge"] = challenge["challenge"]
    assert api.call("POST", "/auth/ksef-token", json_body=body).status_code == 202
    # single use (PROTOCOL §14: treated as single-use)
    reused = api.call("POST", "/auth/ksef-token", json_body=body, problem=True)
    assert problem_error(reused)[0] == 21111
    fresh = api.call("POST", "/auth/challenge").json()
    unknown_key = b64(bytes(32))
    body.update(
        challenge=fresh["challenge"],
        encryptedToken=api.encrypt_token(token, fresh["timestampMs"]),
        publicKeyId=unknown_key,
    )
    assert legacy_error(api.call("POST", "/auth/ksef-token", json_body=body)) == (
        21470,
        "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
        [f"Klucz o identyfikatorze {unknown_key} nie jest wspierany."],
    )


def test_redeem_rules(make_client: Callable[..., Api]) -> None:
    # a long status-100 phase and a movable clock: no race with the poll
    api = make_client(auth_delay=30.0, seed_purchases=0)
    started = api.start_auth(api.state.named_tokens["full"])
    auth_token = started["authenticationToken"]["token"]
    first = api.call("GET", f"/auth/{started['referenceNumber']}", token=auth_token).json()
    assert first["status"] == {"code": 100, "description": "Uwierzytelnianie w toku"}
    early = api.call("POST", "/auth/token/redeem", token=auth_token)
    assert early.status_code == 400
    assert legacy_error(early) == (
        21301,
        "Brak autoryzacji.",
        ["Status uwierzytelniania (100) nie pozwala na pobranie tokenów."],
    )
    api.sim.advance(30)
    assert api.wait_auth(started)["status"]["code"] == 200
    assert api.call("POST", "/auth/token/redeem", token=auth_token).status_code == 200
    second = api.call("POST", "/auth/token/redeem", token=auth_token)
    assert legacy_error(second) == (
        21301,
        "Brak autoryzacji.",
        [f"Tokeny dla operacji uwierzytelniania {started['referenceNumber']} zostały już pobrane."],
    )


def test_bearer_typing(api: Api, shared_sim: Sim) -> None:
    tokens = api.login(shared_sim.state.named_tokens["full"])
    # protected endpoints: access token only
    assert api.call("GET", "/tokens", token=tokens["access"]).status_code == 200
    refresh_on_protected = api.call("GET", "/tokens", token=tokens["refresh"])
    assert refresh_on_protected.status_code == 401
    assert refresh_on_protected.json()["detail"] == "Wymagane jest uwierzytelnienie."
    auth_on_protected = api.call("GET", "/invoices/ksef/5265877635-20260201-000000000000-00", token=tokens["auth"])
    assert auth_on_protected.status_code == 403
    assert auth_on_protected.json()["reasonCode"] == "missing-permissions"
    # auth status / redeem: authentication token only
    status_with_access = api.call("GET", f"/auth/{tokens['reference']}", token=tokens["access"])
    assert status_with_access.status_code == 401
    assert status_with_access.headers["content-type"] == "application/problem+json; charset=utf-8"
    # refresh: refresh token only
    assert api.call("POST", "/auth/token/refresh", token=tokens["access"]).status_code == 401
    # missing and garbage bearer
    assert api.call("GET", "/tokens").status_code == 401
    assert api.call("GET", "/tokens", token="not-a-jwt").status_code == 401


def test_refresh_is_not_rotated_and_revocation_gives_21301(api: Api, shared_sim: Sim) -> None:
    tokens = api.login(shared_sim.state.named_tokens["full"])
    refreshed = api.call("POST", "/auth/token/refresh", token=tokens["refresh"])
    assert refreshed.status_code == 200
    assert set(refreshed.json()) == {"accessToken"}
    new_access = refreshed.json()["accessToken"]["token"]
    assert api.call("GET", "/tokens", token=new_access).status_code == 200
    assert api.call("POST", "/auth/token/refresh", token=tokens["refresh"]).status_code == 200
    listing = api.call("GET", "/auth/sessions", token=new_access).json()
    current = [item for item in listing["items"] if item["isCurrent"]]
    assert current and current[0]["referenceNumber"] == tokens["reference"]
    assert api.call("DELETE", "/auth/sessions/current", token=tokens["refresh"]).status_code == 204
    after = api.call("POST", "/auth/token/refresh", token=tokens["refresh"])
    assert legacy_error(after) == (
        21301,
        "Brak autoryzacji.",
        ["Status uwierzytelniania (425) nie pozwala na odświeżenie tokenu dostępowego."],
    )
    # already issued access tokens keep working until they expire
    assert api.call("GET", "/tokens", token=new_access).status_code == 200
    status = api.call("GET", f"/auth/{tokens['reference']}", token=tokens["auth"]).json()
    assert status["status"]["code"] == 425


def test_expired_access_token_is_401_problem(make_client: Callable[..., Api]) -> None:
    client = make_client(access_token_ttl=5.0, seed_purchases=0)
    tokens = client.login(client.state.named_tokens["full"])
    assert client.call("GET", "/tokens", token=tokens["access"]).status_code == 200
    client.sim.advance(6)
    expired = client.call("GET", "/tokens", token=tokens["access"])
    assert expired.status_code == 401
    body = expired.json()
    assert expired.headers["content-type"] == "application/problem+json; charset=utf-8"
    assert (body["title"], body["status"], body["detail"]) == ("Unauthorized", 401, "Wymagane jest uwierzytelnienie.")
    # the refresh token still works and yields a fresh access token
    refreshed = client.call("POST", "/auth/token/refresh", token=tokens["refresh"]).json()
    assert client.call("GET", "/tokens", token=refreshed["accessToken"]["token"]).status_code == 200


def test_auth_status_is_gone_after_retention(make_client: Callable[..., Api]) -> None:
    client = make_client(auth_retention=30.0, auth_token_ttl=3600.0, seed_purchases=0)
    started = client.start_auth(client.state.named_tokens["full"])
    client.sim.advance(31)
    gone = client.call("GET", f"/auth/{started['referenceNumber']}", token=started["authenticationToken"]["token"])
    assert gone.status_code == 410
    assert gone.json()["detail"] == "Operacja wygasła i nie jest już dostępna."


def test_auth_polling_takes_configured_time(make_client: Callable[..., Api]) -> None:
    client = make_client(auth_delay=30.0, seed_purchases=0)
    started = client.start_auth(client.state.named_tokens["full"])
    token = started["authenticationToken"]["token"]

    def code() -> int:
        return int(client.call("GET", f"/auth/{started['referenceNumber']}", token=token).json()["status"]["code"])

    assert code() == 100
    client.sim.advance(29)
    assert code() == 100
    client.sim.advance(1.5)
    assert code() == 200


def test_key_rotation_mode_lists_two_certs_per_usage(make_client: Callable[..., Api]) -> None:
    client = make_client(own_keys=True, key_rotation=True, seed_purchases=0)
    certs = client.certificates()
    by_usage: dict[str, list[dict[str, object]]] = {}
    for item in certs:
        for usage in item["usage"]:
            by_usage.setdefault(usage, []).append(item)
    assert {k: len(v) for k, v in by_usage.items()} == {"KsefTokenEncryption": 2, "SymmetricKeyEncryption": 2}
    # a client that picks the older token key (and names it) still authenticates
    older = min(by_usage["KsefTokenEncryption"], key=lambda item: str(item["validFrom"]))
    cert = x509.load_der_x509_certificate(base64.b64decode(str(older["certificate"])))
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    token = client.state.named_tokens["full"]
    challenge = client.call("POST", "/auth/challenge").json()
    body = {
        "challenge": challenge["challenge"],
        "contextIdentifier": {"type": "Nip", "value": DEMO.nip},
        "encryptedToken": b64(oaep(public, f"{token}|{challenge['timestampMs']}".encode())),
        "publicKeyId": older["publicKeyId"],
    }
    started = client.call("POST", "/auth/ksef-token", json_body=body).json()
    assert client.wait_auth(started)["status"]["code"] == 200
