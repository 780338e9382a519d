"""Permissions (CERTS_OFFLINE §4, §7 items 12–14): granting and revoking (asynchronous operations, type ``EG``),
the operations' status, and the queries.

* POST ``/permissions/persons/grants``, ``/permissions/entities/grants``, ``/permissions/indirect/grants`` and
  DELETE ``/permissions/common/grants/{permissionId}`` answer 202 with an operation; GET
  ``/permissions/operations/{ref}`` shows 100 for ``permission_delay``, then 200 (done) or 410/430/440/450
  (refused: a grant to the context's own owner, ``EnforcementOperations`` outside an enforcement context, a
  selective indirect grant for a client that gave the current context no right with ``canDelegate``, a target
  type the simulator does not model) or 400 (nothing to revoke). Grants are made in ``Nip`` contexts only.
* POST ``/permissions/query/personal/grants``: the caller's own rights in the current context (a token login's
  token permissions as before, then real grants: direct ones here, indirect ones, and for the owner the entity
  grants its NIP received); ``/permissions/query/entities/grants``: the rights other contexts gave the current
  context's entity (an office's clients); ``/permissions/query/persons/grants``: who may work here
  (``PermissionsInCurrentContext``) or what the caller granted here (``PermissionsGrantedInCurrentContext``).

Lists are sorted by ``startDate`` descending, then ``id``; paging is by page index (``pageOffset``), 10–100 a page.
The owner is never listed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.sim.auth import AuthOp
from ksef_tui.sim.clock import iso
from ksef_tui.sim.errors import VALIDATION, ApiError, gone
from ksef_tui.sim.grants import (
    INVOICE_SCOPES,
    OPERATION_DESCRIPTIONS,
    PERSON_SCOPES,
    Grant,
    GrantOperation,
)
from ksef_tui.sim.http import (
    Ctx,
    Endpoint,
    JsonObject,
    need_enum,
    need_obj,
    need_str,
    ok,
    opt_bool,
    opt_enum,
    opt_enum_list,
    opt_list,
    opt_obj,
    opt_str,
    query_int,
)
from ksef_tui.sim.identity import Identity, pesel_ok

PERSONAL_SCOPES = (*PERSON_SCOPES, "VatUeManage")
_NAMESPACE = uuid.UUID("6a1f7c4e-3d2b-4f6a-9c1e-5b8d7e2f0a13")
MANAGE = ("CredentialsManage",)
READ = ("CredentialsManage", "CredentialsRead")
PERSON_DETAILS = {
    "PersonByIdentifier": "personById",
    "PersonByFingerprintWithIdentifier": "personByFpWithId",
    "PersonByFingerprintWithoutIdentifier": "personByFpNoId",
}


# ------------------------------------------------------------------ reading requests
def read_identity(body: dict[str, Any], key: str, types: tuple[str, ...], where: str = "") -> Identity:
    """A ``{type, value}`` identifier: a NIP with its checksum, a PESEL with its check digit, a fingerprint of
    64 hex digits (kept in upper case)."""
    obj = need_obj(body, key, where)
    kind = need_enum(obj, "type", types, f"{where}{key}.")
    value = need_str(obj, "value", f"{where}{key}.")
    if kind == "Nip":
        valid = is_valid_nip(value)
    elif kind == "Pesel":
        valid = pesel_ok(value)
    else:
        valid = len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)
    if not valid:
        raise ApiError(VALIDATION, f"Pole '{where}{key}.value' nie jest poprawnym identyfikatorem typu {kind}.")
    return Identity.of(kind, value)


def _description(body: dict[str, Any]) -> str:
    description = need_str(body, "description")
    if not 5 <= len(description) <= 256:
        raise ApiError(VALIDATION, "Pole 'description' musi mieć od 5 do 256 znaków.")
    return description


def _length(obj: dict[str, Any], key: str, low: int, high: int, where: str) -> str:
    value = need_str(obj, key, where)
    if not low <= len(value) <= high:
        raise ApiError(VALIDATION, f"Pole '{where}{key}' musi mieć od {low} do {high} znaków.")
    return value


def _person_details(body: dict[str, Any]) -> dict[str, Any]:
    """``subjectDetails`` of a person grant, returned as ``subjectPersonDetails`` of the query rows."""
    details = need_obj(body, "subjectDetails")
    kind = need_enum(details, "subjectDetailsType", tuple(PERSON_DETAILS), "subjectDetails.")
    inner = need_obj(details, PERSON_DETAILS[kind], "subjectDetails.")
    where = f"subjectDetails.{PERSON_DETAILS[kind]}."
    shown: dict[str, Any] = {
        "subjectDetailsType": kind,
        "firstName": _length(inner, "firstName", 2, 30, where),
        "lastName": _length(inner, "lastName", 2, 81, where),
    }
    if kind == "PersonByFingerprintWithIdentifier":
        shown["personIdentifier"] = read_identity(inner, "identifier", ("Pesel", "Nip"), where).as_json()
    return shown


def _scopes(body: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    values = opt_enum_list(body, "permissions", allowed)
    if not values:
        raise ApiError(VALIDATION, "Pole 'permissions' musi zawierać co najmniej jedno uprawnienie.")
    return list(dict.fromkeys(values))


def _grantor(ctx: Ctx) -> tuple[str, Identity]:
    """The context a grant is made in (its NIP) and who makes it."""
    bearer = ctx.bearer_or_fail()
    return bearer.context_value, ctx.state.auths.subject_of(_op(ctx))


def _submit(
    ctx: Ctx,
    kind: str,
    subject: Identity,
    *,
    scopes: dict[str, bool],
    description: str,
    refusal: tuple[int, list[str]],
    details: dict[str, Any],
    target: tuple[str, str | None] | None = None,
) -> Response:
    """Queue the operation granting ``scopes`` (scope -> canDelegate) with its outcome (``refusal``)."""
    context, author = _grantor(ctx)
    grants = [
        ctx.state.grants.new_grant(
            kind=kind,
            context=context,
            subject=subject,
            scope=scope,
            description=description,
            author=author,
            start=ctx.now,
            can_delegate=can_delegate,
            subject_details=details,
            target=target,
        )
        for scope, can_delegate in scopes.items()
    ]
    outcome, reasons = refusal
    return _accepted(ctx.state.grants.submit(context, add=grants, outcome=outcome, details=reasons))


def _op(ctx: Ctx) -> AuthOp:
    return ctx.state.auths[ctx.bearer_or_fail().arn]


def _accepted(operation: GrantOperation) -> Response:
    return ok({"referenceNumber": operation.reference}, 202)


def _refusal(ctx: Ctx, subject: Identity, scopes: list[str]) -> tuple[int, list[str]]:
    """The outcome of a direct grant in the current context: 200, or why it is refused."""
    bearer = ctx.bearer_or_fail()
    if bearer.context_type != "Nip":
        return 430, ["Uprawnienia można nadawać wyłącznie w kontekście NIP."]
    if ctx.state.grants.access(subject, "Nip", bearer.context_value).owner:
        return 410, ["Podmiot uprawniony jest właścicielem bieżącego kontekstu."]
    if "EnforcementOperations" in scopes:
        return 430, ["Bieżący kontekst nie jest organem egzekucyjnym ani komornikiem."]
    return 200, []


# ------------------------------------------------------------------ grants
def grant_persons(ctx: Ctx) -> Response:
    body = ctx.json()
    subject = read_identity(body, "subjectIdentifier", ("Nip", "Pesel", "Fingerprint"))
    scopes = _scopes(body, PERSON_SCOPES)
    description = _description(body)
    details = _person_details(body)
    outcome, reasons = _refusal(ctx, subject, scopes)
    by_fingerprint = details["subjectDetailsType"] != "PersonByIdentifier"
    if outcome == 200 and by_fingerprint != (subject.type == "Fingerprint"):
        outcome, reasons = 450, ["Rodzaj danych osoby nie odpowiada typowi identyfikatora."]
    return _submit(
        ctx,
        "person",
        subject,
        scopes=dict.fromkeys(scopes, False),
        description=description,
        refusal=(outcome, reasons),
        details=details,
    )


def grant_entities(ctx: Ctx) -> Response:
    body = ctx.json()
    subject = read_identity(body, "subjectIdentifier", ("Nip",))
    entries = opt_list(body, "permissions") or []
    if not entries:
        raise ApiError(VALIDATION, "Pole 'permissions' musi zawierać co najmniej jedno uprawnienie.")
    wanted: dict[str, bool] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ApiError(VALIDATION, f"Pole 'permissions[{index}]' musi być obiektem.")
        scope = need_enum(entry, "type", INVOICE_SCOPES, f"permissions[{index}].")
        wanted[scope] = bool(opt_bool(entry, "canDelegate", f"permissions[{index}]."))
    description = _description(body)
    details = need_obj(body, "subjectDetails")
    full_name = _length(details, "fullName", 5, 90, "subjectDetails.")
    refusal = _refusal(ctx, subject, list(wanted))
    entity = {"subjectDetailsType": "EntityByIdentifier", "fullName": full_name}
    return _submit(ctx, "entity", subject, scopes=wanted, description=description, refusal=refusal, details=entity)


def grant_indirect(ctx: Ctx) -> Response:
    """The current context (an intermediary, e.g. an office) lets a person serve its clients: one client
    (``targetIdentifier`` Nip) or all of them (``AllPartners`` or no target)."""
    body = ctx.json()
    subject = read_identity(body, "subjectIdentifier", ("Nip", "Pesel", "Fingerprint"))
    scopes = _scopes(body, INVOICE_SCOPES)
    description = _description(body)
    details = _person_details(body)
    target_obj = opt_obj(body, "targetIdentifier")
    target: tuple[str, str | None] = ("AllPartners", None)
    if target_obj is not None:
        kind = need_enum(target_obj, "type", ("Nip", "AllPartners", "InternalId"), "targetIdentifier.")
        target = (kind, opt_str(target_obj, "value", "targetIdentifier.") if kind != "AllPartners" else None)
        if kind != "AllPartners" and not target[1]:
            raise ApiError(VALIDATION, "Pole 'targetIdentifier.value' jest wymagane.")
    context = ctx.bearer_or_fail().context_value
    outcome, reasons = _refusal(ctx, subject, [])
    if outcome == 200 and target[0] == "InternalId":
        outcome, reasons = 450, ["Symulator nie obsługuje identyfikatorów wewnętrznych jako celu uprawnienia."]
    elif outcome == 200 and target[0] == "Nip":
        delegated = {g.scope for g in ctx.state.grants.received(context) if g.context == target[1] and g.can_delegate}
        if not set(scopes) <= delegated:
            outcome, reasons = (
                440,
                [f"Podmiot {target[1]} nie nadał bieżącemu kontekstowi uprawnień z prawem ich przekazywania."],
            )
    return _submit(
        ctx,
        "indirect",
        subject,
        scopes=dict.fromkeys(scopes, False),
        description=description,
        refusal=(outcome, reasons),
        details=details,
        target=target,
    )


def revoke_grant(ctx: Ctx) -> Response:
    permission_id = ctx.params["permissionId"]
    if len(permission_id) != 36:
        raise ApiError(VALIDATION, "Parametr 'permissionId' musi mieć 36 znaków.")
    context = ctx.bearer_or_fail().context_value
    grant = ctx.state.grants.get(permission_id)
    if grant is None or grant.context != context:
        refused = [f"Uprawnienie {permission_id} nie istnieje w bieżącym kontekście."]
        return _accepted(ctx.state.grants.submit(context, outcome=400, details=refused))
    return _accepted(ctx.state.grants.submit(context, remove=[permission_id]))


def operation_status(ctx: Ctx) -> Response:
    ref = ctx.params["referenceNumber"]
    operation = ctx.state.grants.operations.get(ref)
    if operation is None or operation.context != ctx.bearer_or_fail().context_value:
        raise ApiError(VALIDATION, f"Operacja o numerze referencyjnym {ref} nie została znaleziona.")
    if ctx.now > operation.created + timedelta(seconds=ctx.state.config.operation_retention):
        raise gone()
    code = operation.status_code(ctx.now)
    status: dict[str, Any] = {"code": code, "description": OPERATION_DESCRIPTIONS[code]}
    if code >= 400 and operation.details:
        status["details"] = operation.details
    return ok({"status": status})


# ------------------------------------------------------------------ queries
def _body(ctx: Ctx) -> JsonObject:
    return ctx.json() if ctx.body.strip() else JsonObject()


def _page(ctx: Ctx, rows: list[dict[str, Any]]) -> Response:
    page_index = query_int(ctx, "pageOffset", 0, 0, None)
    size = query_int(ctx, "pageSize", 10, 10, 100)
    start = page_index * size
    return ok({"permissions": rows[start : start + size], "hasMore": start + size < len(rows)})


def _sorted(grants: list[Grant]) -> list[Grant]:
    by_id = sorted(grants, key=lambda g: g.id)
    return sorted(by_id, key=lambda g: g.start, reverse=True)


def _details(grant: Grant) -> dict[str, Any]:
    if grant.subject_details is None:
        return {}
    if grant.kind == "entity":
        return {"subjectEntityDetails": grant.subject_details}
    return {"subjectPersonDetails": grant.subject_details}


def _target(grant: Grant) -> dict[str, Any]:
    if grant.target is None:
        return {}
    kind, value = grant.target
    return {"targetIdentifier": {"type": kind, "value": value} if value else {"type": kind}}


def _grant_row(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "contextIdentifier": {"type": "Nip", "value": grant.context},
        "authorizedIdentifier": grant.subject.as_json(),
        **_target(grant),
        "permissionScope": grant.scope,
        "description": grant.description,
        **_details(grant),
        "permissionState": "Active",
        "startDate": iso(grant.start),
        "canDelegate": grant.can_delegate,
    }


def _token_rows(ctx: Ctx, op: AuthOp) -> list[dict[str, Any]]:
    """A token session's own rights: the token's permissions, granted by the context's owner."""
    bearer = ctx.bearer_or_fail()
    token = ctx.state.auths.token_of(op)
    if token is None:
        return []
    rows = []
    for scope in token.permissions:
        if scope not in PERSONAL_SCOPES:
            continue
        row: dict[str, Any] = {
            "id": str(uuid.uuid5(_NAMESPACE, f"{token.reference}/{scope}")),
            "contextIdentifier": {"type": bearer.context_type, "value": bearer.context_value},
            "permissionScope": scope,
            "description": f"Uprawnienie tokena {token.reference}",
            "permissionState": "Active",
            "startDate": iso(token.created),
            "canDelegate": False,
        }
        if token.author_nip != bearer.context_value:
            row["authorizedIdentifier"] = {"type": "Nip", "value": token.author_nip}
        rows.append(row)
    return rows


def _personal(ctx: Ctx, subject: Identity) -> list[Grant]:
    bearer = ctx.bearer_or_fail()
    book = ctx.state.grants
    here = bearer.context_type == "Nip"
    own = [
        g
        for g in book.values()
        if g.subject == subject and (g.kind == "indirect" or (here and g.context == bearer.context_value))
    ]
    if here and book.access(subject, "Nip", bearer.context_value).owner:
        own += [g for g in book.received(bearer.context_value) if g not in own]
    return _sorted(own)


def personal_grants(ctx: Ctx) -> Response:
    op = _op(ctx)
    body = _body(ctx)
    rows = _token_rows(ctx, op) + [_grant_row(g) for g in _personal(ctx, ctx.state.auths.subject_of(op))]
    context = opt_obj(body, "contextIdentifier")
    if context is not None:
        wanted = {
            "type": need_enum(context, "type", ("Nip", "InternalId"), "contextIdentifier."),
            "value": opt_str(context, "value", "contextIdentifier."),
        }
        rows = [r for r in rows if r.get("contextIdentifier") == wanted]
    target = opt_obj(body, "targetIdentifier")
    if target is not None:
        kind = need_enum(target, "type", ("Nip", "AllPartners", "InternalId"), "targetIdentifier.")
        value = opt_str(target, "value", "targetIdentifier.")
        rows = [
            r
            for r in rows
            if r.get("targetIdentifier", {}).get("type") == kind and r["targetIdentifier"].get("value") == value
        ]
    return _page(ctx, _filter_common(body, rows, PERSONAL_SCOPES))


def _filter_common(body: dict[str, Any], rows: list[dict[str, Any]], scopes: tuple[str, ...]) -> list[dict[str, Any]]:
    types = opt_enum_list(body, "permissionTypes", scopes)
    if types is not None:
        rows = [r for r in rows if r["permissionScope"] in types]
    state = opt_enum(body, "permissionState", ("Active", "Inactive"))
    if state is not None:
        rows = [r for r in rows if r["permissionState"] == state]
    return rows


def entity_grants(ctx: Ctx) -> Response:
    """The office's client list: the invoice rights other contexts gave the current context's entity."""
    bearer = ctx.bearer_or_fail()
    body = _body(ctx)
    grants = ctx.state.grants.received(bearer.context_value) if bearer.context_type == "Nip" else []
    context = opt_obj(body, "contextIdentifier")
    if context is not None:
        kind = need_enum(context, "type", ("Nip", "InternalId"), "contextIdentifier.")
        value = need_str(context, "value", "contextIdentifier.")
        grants = [g for g in grants if kind == "Nip" and g.context == value]
    rows = [
        {
            "id": g.id,
            "contextIdentifier": {"type": "Nip", "value": g.context},
            "permissionScope": g.scope,
            "description": g.description,
            "startDate": iso(g.start),
            "canDelegate": g.can_delegate,
        }
        for g in _sorted(grants)
    ]
    return _page(ctx, rows)


def person_grants(ctx: Ctx) -> Response:
    """Who may work in the current context (``PermissionsInCurrentContext``), or what the caller granted here
    (``PermissionsGrantedInCurrentContext``): direct grants of this context and its indirect grants."""
    bearer = ctx.bearer_or_fail()
    body = ctx.json()
    query_type = need_enum(body, "queryType", ("PermissionsInCurrentContext", "PermissionsGrantedInCurrentContext"))
    grants = [g for g in ctx.state.grants.values() if g.context == bearer.context_value]
    if query_type == "PermissionsGrantedInCurrentContext":
        me = ctx.state.auths.subject_of(_op(ctx))
        grants = [g for g in grants if g.author == me]
    author = opt_obj(body, "authorIdentifier")
    if author is not None:
        kind = need_enum(author, "type", ("Nip", "Pesel", "Fingerprint", "System"), "authorIdentifier.")
        value = opt_str(author, "value", "authorIdentifier.")
        grants = [
            g
            for g in grants
            if (g.author is None) == (kind == "System") and (g.author is None or g.author.same(kind, value or ""))
        ]
    if opt_obj(body, "authorizedIdentifier") is not None:
        who = read_identity(body, "authorizedIdentifier", ("Nip", "Pesel", "Fingerprint"))
        grants = [g for g in grants if g.subject == who]
    rows = [
        {
            **_grant_row(g),
            "authorIdentifier": g.author.as_json() if g.author is not None else {"type": "System"},
        }
        for g in _sorted(grants)
    ]
    return _page(ctx, _filter_common(body, rows, PERSON_SCOPES))


ENDPOINTS = [
    Endpoint("POST", "/permissions/persons/grants", "other", "access", MANAGE, grant_persons),
    Endpoint("POST", "/permissions/entities/grants", "other", "access", MANAGE, grant_entities),
    Endpoint("POST", "/permissions/indirect/grants", "other", "access", MANAGE, grant_indirect),
    Endpoint(
        "DELETE",
        "/permissions/common/grants/{permissionId}",
        "other",
        "access",
        ("CredentialsManage", "VatUeManage", "SubunitManage"),
        revoke_grant,
    ),
    Endpoint("GET", "/permissions/operations/{referenceNumber}", "other", "access", (), operation_status),
    Endpoint("POST", "/permissions/query/personal/grants", "other", "access", (), personal_grants),
    Endpoint("POST", "/permissions/query/entities/grants", "other", "access", READ, entity_grants),
    Endpoint(
        "POST",
        "/permissions/query/persons/grants",
        "other",
        "access",
        ("CredentialsManage", "CredentialsRead", "SubunitManage"),
        person_grants,
    ),
]
