"""TE-only test data (CERTS_OFFLINE §2, PROTOCOL §12), served when ``environment`` is ``TE`` (PRD has no
``/testdata``): test persons (a PESEL linked to a NIP owns that NIP's context; ``isDeceased`` makes its logins
end in 470), grants made by the system (``authorIdentifier`` ``System``) and their removal, blocked contexts
(every login there ends in 480 until unblocked), and the validity of a KSeF certificate
(:mod:`.routes_certificates`).

``/testdata/permissions`` for a NIP with only ``InvoiceRead``/``InvoiceWrite`` stores entity grants (they show in
that entity's ``/permissions/query/entities/grants``, as an office's client list); anything else person grants.
A grant or link that already exists is 400 30001. Answers are 200 with no body.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.sim.auth import CONTEXT_TYPES
from ksef_tui.sim.errors import VALIDATION, ApiError
from ksef_tui.sim.grants import INVOICE_SCOPES, Person
from ksef_tui.sim.http import Ctx, Endpoint, need_enum, need_obj, need_str, opt_bool, opt_list
from ksef_tui.sim.identity import pesel_ok
from ksef_tui.sim.routes_certificates import TESTDATA_ENDPOINTS
from ksef_tui.sim.routes_permissions import read_identity

EXISTS = 30001
TESTDATA_SCOPES = (
    "InvoiceRead",
    "InvoiceWrite",
    "Introspection",
    "CredentialsRead",
    "CredentialsManage",
    "EnforcementOperations",
    "SubunitManage",
    "CollectiveIdentifierManage",
)


def _done() -> Response:
    return Response(status_code=200)


def _nip(body: dict[str, Any], key: str = "nip", where: str = "") -> str:
    value = need_str(body, key, where)
    if not is_valid_nip(value):
        raise ApiError(VALIDATION, f"Pole '{where}{key}' nie jest poprawnym numerem NIP.")
    return value


def add_person(ctx: Ctx) -> Response:
    body = ctx.json()
    nip = _nip(body)
    pesel = need_str(body, "pesel")
    if not pesel_ok(pesel):
        raise ApiError(VALIDATION, "Pole 'pesel' nie jest poprawnym numerem PESEL.")
    bailiff = opt_bool(body, "isBailiff")
    if bailiff is None:
        raise ApiError(VALIDATION, "Pole 'isBailiff' jest wymagane.")
    person = Person(
        nip=nip,
        pesel=pesel,
        bailiff=bailiff,
        deceased=bool(opt_bool(body, "isDeceased")),
        description=need_str(body, "description"),
        created=ctx.now,
    )
    if not ctx.state.grants.link(person):
        raise ApiError(EXISTS)
    return _done()


def remove_person(ctx: Ctx) -> Response:
    ctx.state.grants.unlink(_nip(ctx.json()))
    return _done()


def _context(body: dict[str, Any]) -> str:
    context = need_obj(body, "contextIdentifier")
    need_enum(context, "type", ("Nip",), "contextIdentifier.")
    return _nip(context, "value", "contextIdentifier.")


def add_permissions(ctx: Ctx) -> Response:
    body = ctx.json()
    context = _context(body)
    subject = read_identity(body, "authorizedIdentifier", ("Nip", "Pesel", "Fingerprint"))
    entries = opt_list(body, "permissions") or []
    if not entries or not all(isinstance(e, dict) for e in entries):
        raise ApiError(VALIDATION, "Pole 'permissions' musi zawierać co najmniej jedno uprawnienie.")
    wanted = [
        (need_enum(e, "permissionType", TESTDATA_SCOPES, f"permissions[{i}]."), need_str(e, "description"))
        for i, e in enumerate(entries)
    ]
    entity = subject.type == "Nip" and all(scope in INVOICE_SCOPES for scope, _ in wanted)
    book = ctx.state.grants
    grants = [
        book.new_grant(
            kind="entity" if entity else "person",
            context=context,
            subject=subject,
            scope=scope,
            description=description,
            author=None,
            start=ctx.now,
        )
        for scope, description in wanted
    ]
    if book.add_now(grants) == 0:
        raise ApiError(EXISTS)
    return _done()


def revoke_permissions(ctx: Ctx) -> Response:
    body = ctx.json()
    ctx.state.grants.remove_now(
        _context(body), read_identity(body, "authorizedIdentifier", ("Nip", "Pesel", "Fingerprint"))
    )
    return _done()


def _blocked_context(ctx: Ctx) -> tuple[str, str]:
    context = need_obj(ctx.json(), "contextIdentifier")
    kind = need_enum(context, "type", CONTEXT_TYPES, "contextIdentifier.")
    return kind, need_str(context, "value", "contextIdentifier.")


def block_context(ctx: Ctx) -> Response:
    """Every later login in the context ends in 480 until it is unblocked."""
    ctx.state.auths.blocked.add(_blocked_context(ctx))
    return _done()


def unblock_context(ctx: Ctx) -> Response:
    ctx.state.auths.blocked.discard(_blocked_context(ctx))
    return _done()


ENDPOINTS = [
    Endpoint("POST", "/testdata/person", "public", "none", (), add_person),
    Endpoint("POST", "/testdata/person/remove", "public", "none", (), remove_person),
    Endpoint("POST", "/testdata/permissions", "public", "none", (), add_permissions),
    Endpoint("POST", "/testdata/permissions/revoke", "public", "none", (), revoke_permissions),
    Endpoint("POST", "/testdata/context/block", "other", "none", (), block_context),
    Endpoint("POST", "/testdata/context/unblock", "other", "none", (), unblock_context),
    *TESTDATA_ENDPOINTS,
]
