"""Public keys, authentication with a KSeF token or a XAdES signature, auth sessions and KSeF token management."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import Response

from ksef_tui.sim.auth import AUTH_DESCRIPTIONS, CONTEXT_TYPES, AuthOp, IpRule
from ksef_tui.sim.clock import iso
from ksef_tui.sim.errors import VALIDATION, ApiError, HttpProblem, gone
from ksef_tui.sim.http import (
    Ctx,
    Endpoint,
    b64decode_field,
    decode_continuation,
    enum_value,
    need_enum,
    need_obj,
    need_str,
    no_content,
    ok,
    opt_list,
    opt_obj,
    opt_str,
    page,
    query_enum_value,
    query_int,
)
from ksef_tui.sim.keys import b64
from ksef_tui.sim.tokens import ALL_TOKEN_PERMISSIONS, TOKEN_STATUSES, KsefToken
from ksef_tui.sim.xades import PROFILE, read_auth_request
from ksef_tui.sim.xades_login import start_xades_auth

CREDENTIALS = {"CredentialsManage", "CredentialsRead"}


def public_keys(ctx: Ctx) -> Response:
    return ok(
        [
            {
                "certificate": b64(c.der),
                "certificateId": c.certificate_id,
                "publicKeyId": c.public_key_id,
                "validFrom": iso(c.valid_from),
                "validTo": iso(c.valid_to),
                "usage": [c.usage],
            }
            for c in ctx.state.keys.certs
        ]
    )


def challenge(ctx: Ctx) -> Response:
    ch = ctx.state.auths.new_challenge()
    return ok(
        {
            "challenge": ch.value,
            "timestamp": iso(ch.created),
            "timestampMs": ch.timestamp_ms,
            "clientIp": ctx.client_ip,
        }
    )


def ksef_token(ctx: Ctx) -> Response:
    body = ctx.json()
    value = need_str(body, "challenge")
    context = need_obj(body, "contextIdentifier")
    ctype = need_enum(context, "type", CONTEXT_TYPES, "contextIdentifier.")
    cvalue = need_str(context, "value", "contextIdentifier.")
    encrypted = b64decode_field(need_str(body, "encryptedToken"), "encryptedToken")
    key_id = opt_str(body, "publicKeyId")
    if key_id is not None and key_id not in ctx.state.keys.known_key_ids():
        raise ApiError(21470, f"Klucz o identyfikatorze {key_id} nie jest wspierany.")
    rules = _policy(opt_obj(body, "authorizationPolicy"))
    ch = ctx.state.auths.take_challenge(value)
    if ch is None:
        raise ApiError(21111)
    op = ctx.state.auths.start_token_auth(ch, ctype, cvalue, encrypted, ctx.client_ip, key_id=key_id)
    op.allowed_ips = rules
    token, valid_until = ctx.state.auths.issue_jwt("AuthenticationToken", op, ctx.state.config.auth_token_ttl)
    return ok(
        {"referenceNumber": op.reference, "authenticationToken": {"token": token, "validUntil": iso(valid_until)}},
        202,
    )


def xades_signature(ctx: Ctx) -> Response:
    """POST /auth/xades-signature: a signed ``AuthTokenRequest`` (CERTS_OFFLINE §1.3)."""
    media_type = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/xml":
        raise HttpProblem(415, f"Nieobsługiwany typ treści '{media_type}'; wymagany application/xml.")
    raw = ctx.query.get("verifyCertificateChain")
    if raw is not None and raw.lower() not in ("true", "false"):
        raise ApiError(VALIDATION, "Parametr 'verifyCertificateChain' musi mieć wartość true lub false.")
    config = ctx.state.config
    features = {f.strip().lower() for f in ctx.request.headers.get("x-ksef-feature", "").split(",")}
    request = read_auth_request(
        ctx.body,
        enforce_profile=config.xades_profile == "enforce" or "enforce-xades-compliance" in features,
        allow_sha1=config.environment == "TE",
    )
    op = start_xades_auth(
        ctx.state, request, verify_chain=raw is not None and raw.lower() == "true", client_ip=ctx.client_ip
    )
    token, valid_until = ctx.state.auths.issue_jwt("AuthenticationToken", op, config.auth_token_ttl)
    headers = {"X-System-Warning": f"[sig-001]: {PROFILE}"} if request.profile_warning else None
    return ok(
        {"referenceNumber": op.reference, "authenticationToken": {"token": token, "validUntil": iso(valid_until)}},
        202,
        headers=headers,
    )


def _policy(policy: dict[str, Any] | None) -> list[IpRule] | None:
    if policy is None:
        return None
    allowed = opt_obj(policy, "allowedIps", "authorizationPolicy.")
    if allowed is None:
        return None
    rules: list[IpRule] = []
    for kind in ("ip4Addresses", "ip4Ranges", "ip4Masks"):
        values = opt_list(allowed, kind, "authorizationPolicy.allowedIps.") or []
        if len(values) > 10:
            raise ApiError(
                VALIDATION, f"Pole 'authorizationPolicy.allowedIps.{kind}' może zawierać najwyżej 10 elementów."
            )
        for text in values:
            try:
                rules.append(IpRule.parse(kind, str(text)))
            except ValueError as exc:
                raise ApiError(
                    VALIDATION, f"Nieprawidłowa wartość '{text}' w polu 'authorizationPolicy.allowedIps.{kind}'."
                ) from exc
    return rules


def _op_for(ctx: Ctx) -> AuthOp:
    bearer = ctx.bearer_or_fail()
    op = ctx.state.auths.get(bearer.arn)
    if op is None:
        raise ApiError(21304, f"Operacja uwierzytelniania o numerze referencyjnym {bearer.arn} nie została znaleziona.")
    return op


def _op_json(op: AuthOp, ctx: Ctx, *, current: str | None = None) -> dict[str, Any]:
    code = op.status_code(ctx.now)
    status: dict[str, Any] = {"code": code, "description": AUTH_DESCRIPTIONS[code]}
    if code >= 400 and code != 425 and op.details:
        status["details"] = op.details
    body: dict[str, Any] = {
        "startDate": iso(op.started),
        "authenticationMethod": op.method[0],
        "authenticationMethodInfo": {"category": op.method[1], "code": op.method[2], "displayName": op.method[3]},
        "status": status,
        "isTokenRedeemed": op.redeemed,
        "lastTokenRefreshDate": iso(op.last_refresh) if op.last_refresh else None,
        "refreshTokenValidUntil": iso(op.refresh_until) if op.refresh_until else None,
    }
    if current is not None:
        body["referenceNumber"] = op.reference
        body["isCurrent"] = op.reference == current
    return body


def auth_status(ctx: Ctx) -> Response:
    op = _op_for(ctx)
    ref = ctx.params["referenceNumber"]
    if ref != op.reference:
        raise ApiError(21304, f"Operacja uwierzytelniania o numerze referencyjnym {ref} nie została znaleziona.")
    if ctx.now > op.started + timedelta(seconds=ctx.state.config.auth_retention):
        raise gone()
    return ok(_op_json(op, ctx))


def _token_revoked(ctx: Ctx, op: AuthOp) -> bool:
    token = ctx.state.auths.token_of(op)
    return token is not None and token.revoked


def redeem(ctx: Ctx) -> Response:
    op = _op_for(ctx)
    code = op.status_code(ctx.now)
    if op.redeemed:
        raise ApiError(21301, f"Tokeny dla operacji uwierzytelniania {op.reference} zostały już pobrane.")
    if code != 200:
        raise ApiError(21301, f"Status uwierzytelniania ({code}) nie pozwala na pobranie tokenów.")
    if _token_revoked(ctx, op):
        raise ApiError(21301, "Token KSeF został unieważniony.")
    op.redeemed = True
    config = ctx.state.config
    access, access_until = ctx.state.auths.issue_jwt("ContextToken", op, config.access_token_ttl)
    refresh, refresh_until = ctx.state.auths.issue_jwt("RefreshToken", op, config.refresh_token_ttl)
    op.refresh_until = refresh_until
    return ok(
        {
            "accessToken": {"token": access, "validUntil": iso(access_until)},
            "refreshToken": {"token": refresh, "validUntil": iso(refresh_until)},
        }
    )


def refresh(ctx: Ctx) -> Response:
    op = _op_for(ctx)
    code = op.status_code(ctx.now)
    if code != 200:
        raise ApiError(21301, f"Status uwierzytelniania ({code}) nie pozwala na odświeżenie tokenu dostępowego.")
    if _token_revoked(ctx, op):
        raise ApiError(21301, "Token KSeF został unieważniony.")
    # A refreshed access token carries the current permission set (PROTOCOL §3.8).
    token = ctx.state.auths.token_of(op)
    if token is not None:
        op.permissions = list(token.permissions)
    elif op.subject is not None:
        op.permissions = ctx.state.grants.access(op.subject, op.context_type, op.context_value).permissions
    op.last_refresh = ctx.now
    access, access_until = ctx.state.auths.issue_jwt("ContextToken", op, ctx.state.config.access_token_ttl)
    return ok({"accessToken": {"token": access, "validUntil": iso(access_until)}})


def auth_sessions(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    size = query_int(ctx, "pageSize", 10, 10, 100)
    offset = decode_continuation(ctx)
    ops = sorted(
        (op for op in ctx.state.auths.values() if op.context_value == bearer.context_value and op.outcome == 200),
        key=lambda op: op.started,
        reverse=True,
    )
    chunk, token = page(ops, offset, size)
    return ok({"continuationToken": token, "items": [_op_json(op, ctx, current=bearer.arn) for op in chunk]})


def delete_current(ctx: Ctx) -> Response:
    _op_for(ctx).revoked = True
    return no_content()


def delete_auth_session(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    ref = ctx.params["referenceNumber"]
    op = ctx.state.auths.get(ref)
    if op is None or op.context_value != bearer.context_value:
        raise ApiError(VALIDATION, f"Sesja uwierzytelnienia o numerze referencyjnym {ref} nie została znaleziona.")
    op.revoked = True
    return no_content()


# ------------------------------------------------------------------ tokens
def _token_json(token: KsefToken) -> dict[str, Any]:
    return {
        "referenceNumber": token.reference,
        "authorIdentifier": {"type": "Nip", "value": token.author_nip},
        "contextIdentifier": {"type": "Nip", "value": token.context_nip},
        "description": token.description,
        "requestedPermissions": token.permissions,
        "dateCreated": iso(token.created),
        "lastUseDate": iso(token.last_use) if token.last_use else None,
        "status": token.status,
        "statusDetails": [],
    }


def _visible_tokens(ctx: Ctx) -> list[KsefToken]:
    bearer = ctx.bearer_or_fail()
    tokens = [t for t in ctx.state.tokens.values() if t.context_nip == bearer.context_value]
    if bearer.token_ref is not None and not CREDENTIALS & set(bearer.permissions):
        tokens = [t for t in tokens if t.reference == bearer.token_ref]
    return tokens


def create_token(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    body = ctx.json()
    raw_permissions = opt_list(body, "permissions")
    description = need_str(body, "description")
    if not raw_permissions:
        raise ApiError(VALIDATION, "Pole 'permissions' jest wymagane.")
    permissions = [
        enum_value(value, ALL_TOKEN_PERMISSIONS, f"permissions[{index}]") for index, value in enumerate(raw_permissions)
    ]
    if not 5 <= len(description) <= 256:
        raise ApiError(VALIDATION, "Pole 'description' musi mieć od 5 do 256 znaków.")
    if bearer.context_type not in ("Nip", "InternalId"):
        raise ApiError(
            26002, f"Bieżący typ kontekstu: {bearer.context_type}. Dozwolone typy kontekstu: Nip, InternalId."
        )
    missing = [p for p in permissions if p not in bearer.permissions]
    if missing:
        raise ApiError(26001, f"Brakujące uprawnienia: {', '.join(missing)}.")
    token = ctx.state.tokens.add(
        bearer.context_value,
        list(dict.fromkeys(permissions)),
        description,
        status="Pending",
        activate_after=ctx.state.config.token_activation_delay,
    )
    return ok({"referenceNumber": token.reference, "token": token.token}, 202)


def list_tokens(ctx: Ctx) -> Response:
    size = query_int(ctx, "pageSize", 10, 10, 100)
    offset = decode_continuation(ctx)
    query = ctx.query
    statuses = [query_enum_value(raw, TOKEN_STATUSES, "status") for raw in query.getlist("status")]
    description = query.get("description")
    author = query.get("authorIdentifier")
    for name, value in (("description", description), ("authorIdentifier", author)):
        if value is not None and len(value) < 3:
            raise ApiError(VALIDATION, f"Parametr '{name}' musi mieć co najmniej 3 znaki.")
    tokens = _visible_tokens(ctx)
    if statuses:
        tokens = [t for t in tokens if t.status in statuses]
    if description:
        tokens = [t for t in tokens if description.lower() in t.description.lower()]
    if author:
        tokens = [t for t in tokens if author in t.author_nip]
    tokens.sort(key=lambda t: (t.created, t.reference), reverse=True)
    chunk, token = page(tokens, offset, size)
    return ok({"continuationToken": token, "tokens": [_token_json(t) for t in chunk]})


def _find_token(ctx: Ctx) -> KsefToken:
    ref = ctx.params["referenceNumber"]
    for token in _visible_tokens(ctx):
        if token.reference == ref:
            return token
    raise ApiError(VALIDATION, f"Token o numerze referencyjnym {ref} nie został znaleziony.")


def get_token(ctx: Ctx) -> Response:
    return ok(_token_json(_find_token(ctx)))


def delete_token(ctx: Ctx) -> Response:
    ctx.state.tokens.revoke(_find_token(ctx))
    return no_content()


ENDPOINTS = [
    Endpoint("GET", "/security/public-key-certificates", "public", "none", (), public_keys),
    Endpoint("POST", "/auth/challenge", "public", "none", (), challenge),
    Endpoint("POST", "/auth/ksef-token", "public", "none", (), ksef_token),
    Endpoint("POST", "/auth/xades-signature", "public", "none", (), xades_signature),
    Endpoint("POST", "/auth/token/redeem", "public", "auth", (), redeem),
    Endpoint("POST", "/auth/token/refresh", "public", "refresh", (), refresh),
    Endpoint("GET", "/auth/sessions", "other", "access", (), auth_sessions),
    Endpoint("DELETE", "/auth/sessions/current", "other", "access_or_refresh", (), delete_current),
    Endpoint("DELETE", "/auth/sessions/{referenceNumber}", "other", "access", (), delete_auth_session),
    Endpoint("GET", "/auth/{referenceNumber}", "public", "auth", (), auth_status),
    Endpoint("POST", "/tokens", "other", "access", (), create_token),
    Endpoint("GET", "/tokens", "other", "access", (), list_tokens),
    Endpoint("GET", "/tokens/{referenceNumber}", "other", "access", (), get_token),
    Endpoint("DELETE", "/tokens/{referenceNumber}", "other", "access", (), delete_token),
]
