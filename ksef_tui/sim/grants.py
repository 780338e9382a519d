"""The book of permissions (CERTS_OFFLINE §4, §7 items 12–14): grants, the NIP–PESEL links of test persons,
and the asynchronous operations that grant and revoke.

Who may work in a ``Nip`` context:

* its owner: the subject whose NIP is the context's, or a PESEL linked to that NIP (``/testdata/person``):
  every right but ``VatUeManage`` (a bailiff also ``EnforcementOperations``); the JWT lists ``Owner`` first;
* whoever holds an active grant there: a person grant (``/permissions/persons/grants``), an entity grant (an
  office's NIP, ``/permissions/entities/grants``) or a test-data grant (author ``System``);
* through an intermediary: an indirect grant of office B to a person, selective (``targetIdentifier`` = the
  client C) or general (every client), counts in C only for the rights C granted B with ``canDelegate``.

Grants never expire; a revoked one is gone. A grant or revocation takes effect when its operation reaches 200
(``permission_delay`` after it was asked for).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.core import Book, Core, secs
from ksef_tui.sim.identity import Identity

OWNER = "Owner"
OWNER_PERMISSIONS = (
    "InvoiceWrite",
    "InvoiceRead",
    "Introspection",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
)
PERSON_SCOPES = (
    "CredentialsManage",
    "CredentialsRead",
    "InvoiceWrite",
    "InvoiceRead",
    "Introspection",
    "SubunitManage",
    "EnforcementOperations",
)
INVOICE_SCOPES = ("InvoiceWrite", "InvoiceRead")

OPERATION_DESCRIPTIONS = {
    100: "Operacja przyjęta do realizacji",
    200: "Operacja zakończona sukcesem",
    400: "Operacja zakończona niepowodzeniem",
    410: "Podane identyfikatory są niezgodne lub pozostają w niewłaściwej relacji",
    420: "Użyte poświadczenia nie mają uprawnień do wykonania tej operacji",
    430: "Kontekst identyfikatora nie odpowiada wymaganej roli lub uprawnieniom",
    440: "Operacja niedozwolona dla wskazanych powiązań identyfikatorów",
    450: "Operacja niedozwolona dla wskazanego identyfikatora lub jego typu",
}


@dataclass
class Person:
    """A test person (``/testdata/person``): a PESEL linked to a NIP, so the PESEL owns that NIP's context."""

    nip: str
    pesel: str
    bailiff: bool
    deceased: bool
    description: str
    created: datetime


@dataclass
class Grant:
    """One right of one subject in one context (each scope is its own grant with its own ``permissionId``)."""

    id: str
    kind: str  # person | entity | indirect
    context: str  # the NIP of the context that granted it (for indirect grants: the intermediary)
    subject: Identity
    scope: str
    description: str
    author: Identity | None  # None = System (test data)
    start: datetime
    can_delegate: bool = False
    subject_details: dict[str, Any] | None = None  # as the grantor sent it
    target: tuple[str, str | None] | None = None  # indirect: ("Nip", client) or ("AllPartners", None)


@dataclass
class GrantOperation:
    reference: str
    context: str  # the caller's context: only it may read the status
    created: datetime
    ready_at: datetime
    outcome: int
    details: list[str]
    add: list[Grant] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    applied: bool = False

    def status_code(self, now: datetime) -> int:
        return 100 if now < self.ready_at else self.outcome


@dataclass(frozen=True)
class Access:
    """What a subject may do in a context: ``owner`` and the permissions for the JWT's ``per``."""

    owner: bool
    permissions: list[str]


class GrantBook(Book[Grant]):
    """Grants by ``permissionId``; test persons by PESEL; operations by reference number."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.persons: dict[str, Person] = {}
        self.operations: dict[str, GrantOperation] = {}

    # ----------------------------------------------------------------- persons
    def link(self, person: Person) -> bool:
        """Add a test person; ``False`` when that PESEL is already linked to that NIP."""
        known = self.persons.get(person.pesel)
        if known is not None and known.nip == person.nip:
            return False
        self.persons[person.pesel] = person
        return True

    def unlink(self, nip: str) -> None:
        """Remove the persons linked to ``nip`` and every grant they hold."""
        for pesel in [p.pesel for p in self.persons.values() if p.nip == nip]:
            del self.persons[pesel]
            for grant_id in [g.id for g in self._records.values() if g.subject.same("Pesel", pesel)]:
                del self._records[grant_id]

    def person(self, identity: Identity) -> Person | None:
        return self.persons.get(identity.value) if identity.type == "Pesel" else None

    def linked(self, identity: Identity) -> list[Identity]:
        """The identifiers linked to ``identity`` by NIP–PESEL links (not ``identity`` itself)."""
        if identity.type == "Pesel":
            person = self.persons.get(identity.value)
            return [Identity("Nip", person.nip)] if person is not None else []
        if identity.type == "Nip":
            return [Identity("Pesel", p.pesel) for p in self.persons.values() if p.nip == identity.value]
        return []

    # ----------------------------------------------------------------- grants
    def new_grant(self, **values: Any) -> Grant:
        return Grant(id=str(uuid.UUID(int=self.core.rng.getrandbits(128), version=4)), **values)

    def holds(self, grant: Grant) -> Grant | None:
        """An existing grant of the same right to the same subject in the same context (and target)."""
        return next(
            (
                g
                for g in self._records.values()
                if (g.kind, g.context, g.subject, g.scope, g.target)
                == (grant.kind, grant.context, grant.subject, grant.scope, grant.target)
            ),
            None,
        )

    def add_now(self, grants: list[Grant]) -> int:
        """Store ``grants`` at once (test data); returns how many were new."""
        added = 0
        for grant in grants:
            if self.holds(grant) is None:
                self._records[grant.id] = grant
                added += 1
        return added

    def remove_now(self, context: str, subject: Identity) -> None:
        for grant_id in [g.id for g in self._records.values() if g.context == context and g.subject == subject]:
            del self._records[grant_id]

    def received(self, nip: str) -> list[Grant]:
        """Entity grants the entity ``nip`` holds from other contexts (an office's clients)."""
        return [g for g in self._records.values() if g.kind == "entity" and g.subject.same("Nip", nip)]

    # ----------------------------------------------------------------- operations
    def submit(
        self,
        context: str,
        *,
        add: list[Grant] | None = None,
        remove: list[str] | None = None,
        outcome: int = 200,
        details: list[str] | None = None,
    ) -> GrantOperation:
        now = self.core.now()
        operation = GrantOperation(
            reference=self.core.new_reference(ReferenceType.PERMISSION_OPERATION),
            context=context,
            created=now,
            ready_at=now + secs(self.core.config.permission_delay),
            outcome=outcome,
            details=details or [],
            add=add or [],
            remove=remove or [],
        )
        self.operations[operation.reference] = operation
        return operation

    def tick(self, now: datetime) -> None:
        for operation in self.operations.values():
            if operation.applied or now < operation.ready_at:
                continue
            operation.applied = True
            if operation.outcome != 200:
                continue
            self.add_now(operation.add)  # re-granting what is already held is ignored
            for grant_id in operation.remove:
                self._records.pop(grant_id, None)

    # ----------------------------------------------------------------- access
    def access(self, identity: Identity, context_type: str, context_value: str) -> Access:
        """Owner rights, or the rights granted to ``identity`` in the context (direct, entity, indirect)."""
        if context_type == "Nip":
            owner = identity.same("Nip", context_value)
            person = self.person(identity)
            if person is not None and person.nip == context_value:
                owner = True
            if owner:
                extra = ["EnforcementOperations"] if person is not None and person.bailiff else []
                return Access(True, [OWNER, *OWNER_PERMISSIONS, *extra])
        scopes: list[str] = []
        for grant in self._records.values():
            if grant.subject != identity:  # fingerprints are kept in upper case
                continue
            if grant.kind != "indirect":
                if context_type == "Nip" and grant.context == context_value:
                    scopes.append(grant.scope)
            elif self._delegated(grant, context_type, context_value):
                scopes.append(grant.scope)
        order = (*OWNER_PERMISSIONS, "EnforcementOperations")
        known = [s for s in order if s in scopes]
        return Access(False, known + [s for s in dict.fromkeys(scopes) if s not in order])

    def _delegated(self, grant: Grant, context_type: str, context_value: str) -> bool:
        """An indirect grant of the intermediary ``grant.context`` counts in the client's context when the
        client granted the intermediary that right with ``canDelegate``."""
        if context_type != "Nip" or grant.target is None:
            return False
        kind, target = grant.target
        if kind == "Nip" and target != context_value:
            return False
        return any(
            g.context == context_value and g.scope == grant.scope and g.can_delegate
            for g in self.received(grant.context)
        )
