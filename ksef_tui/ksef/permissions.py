"""Who granted what (CERTS_OFFLINE.md §4.3): one function per query, over :class:`KsefApi`.

``entity_grants`` is the accounting office's client list: the companies that granted the current context (the
office) ``InvoiceRead``/``InvoiceWrite`` (``canDelegate``: the office may pass them on to its employees). It needs
``CredentialsManage`` or ``CredentialsRead`` in that context (the owner has both). ``personal_grants`` lists the
authenticated subject's own grants in the current context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.client import field, parse_time
from ksef_tui.ksef.errors import ProtocolViolation
from ksef_tui.ksef.paging import all_pages

ENTITY_GRANTS = "/permissions/query/entities/grants"
PERSONAL_GRANTS = "/permissions/query/personal/grants"
#: pageSize 10..100 (OpenAPI).
PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Identifier:
    """A KSeF identifier: ``type`` (Nip, Pesel, InternalId, Fingerprint, AllPartners...) and its value."""

    type: str
    value: str | None

    @classmethod
    def from_json(cls, raw: object) -> Identifier | None:
        if not isinstance(raw, dict):
            return None
        value = raw.get("value")
        return cls(str(field(raw, "type")), str(value) if value is not None else None)

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value} if self.value is not None else {"type": self.type}


@dataclass(frozen=True, slots=True)
class EntityGrant:
    """One permission a company (``grantor``) granted the current context."""

    id: str
    grantor: Identifier
    permission: str  # InvoiceRead | InvoiceWrite
    description: str
    start_date: datetime
    can_delegate: bool

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> EntityGrant:
        grantor = Identifier.from_json(field(item, "contextIdentifier"))
        if grantor is None:
            raise ProtocolViolation("entity grant: contextIdentifier is not an object")
        return cls(
            id=str(field(item, "id")),
            grantor=grantor,
            permission=str(field(item, "permissionScope")),
            description=str(item.get("description") or ""),
            start_date=parse_time(field(item, "startDate")),
            can_delegate=bool(item.get("canDelegate")),
        )


@dataclass(frozen=True, slots=True)
class GrantingCompany:
    """A company that granted the current context something: an accounting office's client."""

    grantor: Identifier
    permissions: tuple[str, ...]  # sorted
    can_delegate: tuple[str, ...]  # those of them the office may pass on


def granting_companies(grants: list[EntityGrant]) -> list[GrantingCompany]:
    """The grants by company, in the order KSeF listed them first (newest first)."""
    order: dict[Identifier, list[EntityGrant]] = {}
    for grant in grants:
        order.setdefault(grant.grantor, []).append(grant)
    return [
        GrantingCompany(
            grantor,
            tuple(sorted({g.permission for g in items})),
            tuple(sorted({g.permission for g in items if g.can_delegate})),
        )
        for grantor, items in order.items()
    ]


async def entity_grants(
    api: KsefApi, *, grantor: Identifier | None = None, page_size: int = PAGE_SIZE
) -> list[EntityGrant]:
    """POST /permissions/query/entities/grants, every page: the permissions companies granted the current context
    (optionally only those of ``grantor``, a Nip or InternalId)."""
    body: dict[str, Any] = {"contextIdentifier": grantor.to_json()} if grantor is not None else {}
    items = await all_pages(api, ENTITY_GRANTS, body, "permissions", size=page_size)
    return [EntityGrant.from_json(item) for item in items]


@dataclass(frozen=True, slots=True)
class PersonalGrant:
    """One of the authenticated subject's own permissions in the current context."""

    id: str
    permission: str
    state: str  # Active | Inactive
    description: str
    start_date: datetime
    can_delegate: bool
    context: Identifier | None  # the grantor's context
    authorized: Identifier | None  # the one authorised, when not the authenticated subject itself
    target: Identifier | None  # for indirect grants: the client (Nip/InternalId) or AllPartners
    subject_name: str  # the authorised person's or entity's name, when KSeF gives it

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> PersonalGrant:
        return cls(
            id=str(field(item, "id")),
            permission=str(field(item, "permissionScope")),
            state=str(field(item, "permissionState")),
            description=str(item.get("description") or ""),
            start_date=parse_time(field(item, "startDate")),
            can_delegate=bool(item.get("canDelegate")),
            context=Identifier.from_json(item.get("contextIdentifier")),
            authorized=Identifier.from_json(item.get("authorizedIdentifier")),
            target=Identifier.from_json(item.get("targetIdentifier")),
            subject_name=_subject_name(item),
        )


def _subject_name(item: dict[str, Any]) -> str:
    entity = item.get("subjectEntityDetails")
    if isinstance(entity, dict) and entity.get("fullName"):
        return str(entity["fullName"])
    person = item.get("subjectPersonDetails")
    if isinstance(person, dict):
        return " ".join(str(person[key]) for key in ("firstName", "lastName") if person.get(key))
    return ""


async def personal_grants(
    api: KsefApi,
    *,
    context: Identifier | None = None,
    target: Identifier | None = None,
    permission_types: list[str] | None = None,
    state: str | None = None,
    page_size: int = PAGE_SIZE,
) -> list[PersonalGrant]:
    """POST /permissions/query/personal/grants, every page, with the filters given (§4.3)."""
    body: dict[str, Any] = {}
    if context is not None:
        body["contextIdentifier"] = context.to_json()
    if target is not None:
        body["targetIdentifier"] = target.to_json()
    if permission_types:
        body["permissionTypes"] = list(permission_types)
    if state is not None:
        body["permissionState"] = state
    items = await all_pages(api, PERSONAL_GRANTS, body, "permissions", size=page_size)
    return [PersonalGrant.from_json(item) for item in items]
