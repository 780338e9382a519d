"""POST /permissions/query/personal/grants: the permissions granted to the authenticated subject.

The simulator models people only through their KSeF tokens, so a token session's personal grants are the
token's permissions in its context, granted by the context's owner (owner-level rights are not listed, as in
KSeF). Paging is by page index (``pageOffset``), 10–100 rows a page.
"""

from __future__ import annotations

import uuid

from starlette.responses import Response

from ksef_tui.sim.clock import iso
from ksef_tui.sim.http import (
    Ctx,
    Endpoint,
    JsonObject,
    need_enum,
    ok,
    opt_enum,
    opt_enum_list,
    opt_obj,
    opt_str,
    query_int,
)

PERSONAL_SCOPES = (
    "CredentialsManage",
    "CredentialsRead",
    "InvoiceWrite",
    "InvoiceRead",
    "Introspection",
    "SubunitManage",
    "EnforcementOperations",
    "VatUeManage",
)
_NAMESPACE = uuid.UUID("6a1f7c4e-3d2b-4f6a-9c1e-5b8d7e2f0a13")


def personal_grants(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    body = ctx.json() if ctx.body.strip() else JsonObject()
    page_index = query_int(ctx, "pageOffset", 0, 0, None)
    size = query_int(ctx, "pageSize", 10, 10, 100)
    token = ctx.state.tokens.get(bearer.token_ref or "")
    grants = []
    if token is not None:
        for scope in token.permissions:
            if scope not in PERSONAL_SCOPES:
                continue
            grant: dict[str, object] = {
                "id": str(uuid.uuid5(_NAMESPACE, f"{token.reference}/{scope}")),
                "contextIdentifier": {"type": bearer.context_type, "value": bearer.context_value},
                "permissionScope": scope,
                "description": f"Uprawnienie tokena {token.reference}",
                "permissionState": "Active",
                "startDate": iso(token.created),
                "canDelegate": False,
            }
            if token.author_nip != bearer.context_value:
                grant["authorizedIdentifier"] = {"type": "Nip", "value": token.author_nip}
            grants.append(grant)
    context = opt_obj(body, "contextIdentifier")
    if context is not None:
        wanted = {
            "type": need_enum(context, "type", ("Nip", "InternalId"), "contextIdentifier."),
            "value": opt_str(context, "value", "contextIdentifier."),
        }
        grants = [g for g in grants if g["contextIdentifier"] == wanted]
    types = opt_enum_list(body, "permissionTypes", PERSONAL_SCOPES)
    if types is not None:
        grants = [g for g in grants if g["permissionScope"] in types]
    state = opt_enum(body, "permissionState", ("Active", "Inactive"))
    if state is not None:
        grants = [g for g in grants if g["permissionState"] == state]
    start = page_index * size
    return ok({"permissions": grants[start : start + size], "hasMore": start + size < len(grants)})


ENDPOINTS = [Endpoint("POST", "/permissions/query/personal/grants", "other", "access", (), personal_grants)]
