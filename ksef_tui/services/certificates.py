"""KSeF certificates and an accounting office's client list (issue 11, CERTS_OFFLINE.md §3 and §4.3), for both
faces: request a certificate with a new key and keep it in the vault as a credential, list, show and revoke the
subject's certificates, and list the companies that granted the office (the profile's own context) rights.

Certificates act on the *authenticated subject* (who the profile's credential is), whatever the context. KSeF
issues them only after a login with a signature: a token profile is refused here, before any KSeF call, with
what to do instead (:class:`TokenProfileCannotEnroll`).

``enroll(..., use=True)`` switches only the profile it was asked for to the new credential; other profiles that
share the old credential (an office's clients) keep it until they are switched themselves. KSeF calls are async;
vault and profile writes run in threads. No key or password is ever shown, logged or returned: a
:class:`CertificateEntry` carries the certificate's PEM only.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ksef_tui.domain.credential import EXPIRY_WARNING_DAYS, Credential, CredentialKind
from ksef_tui.errors import Category, UserError

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.ksef.api import KsefApi
    from ksef_tui.ksef.certs import KsefCertificate
    from ksef_tui.ksef.xades import SigningCredential
    from ksef_tui.services.workspace import Workspace

#: The command line's names of KSeF's certificate types.
KINDS: dict[str, str] = {"authentication": "Authentication", "offline": "Offline"}
_SUFFIX = {"authentication": "ksef-auth", "offline": "ksef-offline"}


class TokenProfileCannotEnroll(UserError):
    """KSeF issues certificates only after a login with a signature; the hint says how to get one by hand."""

    key = "certs.token_profile"
    category = Category.AUTH


class CertificateNotFound(UserError):
    key = "certs.not_found"
    category = Category.INPUT


def kind_of(certificate_type: str) -> str:
    """``Authentication`` -> ``authentication``: the command line's name of a KSeF certificate type."""
    return certificate_type.lower()


def same_serial(a: str, b: str) -> bool:
    """KSeF writes serials as 16 hex digits, the certificate's own number may drop the leading zeros."""
    try:
        return int(a, 16) == int(b, 16)
    except ValueError:
        return a.upper() == b.upper()


# ------------------------------------------------------------------------------------------------- enroll


@dataclass(frozen=True, slots=True)
class Enrolled:
    credential: Credential  # the new credential's description (kind certificate, certificate_type set)
    used_by: tuple[str, ...]  # the profiles that now sign in with it (``use=True``: the one profile)


async def enroll(
    workspace: Workspace,
    profile: Profile,
    *,
    kind: str = "authentication",
    name: str | None = None,
    use: bool = False,
    algorithm: str = "ec",
) -> Enrolled:
    """Request a KSeF certificate for the profile's subject (enrolment data -> new key -> CSR -> request -> wait
    -> retrieve) and keep it with its key in the vault as a new credential named ``name`` (default
    ``<profile>-ksef-auth`` / ``-ksef-offline``, numbered when taken). ``use`` (Authentication only) makes the
    profile sign in with it from now on."""
    from ksef_tui.ksef import certs
    from ksef_tui.ksef.errors import TokenLoginCannotEnroll

    if kind not in KINDS:
        raise UserError("certs.bad_kind", kind=kind, kinds=", ".join(KINDS))
    if use and kind != "authentication":
        raise UserError("certs.use_offline")
    current = await asyncio.to_thread(workspace.credential_of, profile)
    if current.kind is not CredentialKind.CERTIFICATE:
        raise TokenProfileCannotEnroll(profile=profile.name)
    credential_name = await asyncio.to_thread(_free_name, workspace, profile, kind, name)
    async with workspace.api(profile) as api:
        try:
            data = await certs.enrollment_data(api)
        except TokenLoginCannotEnroll:
            raise TokenProfileCannotEnroll(profile=profile.name) from None
        key = certs.new_key(algorithm)
        reference = await certs.enroll(api, _ksef_name(credential_name), KINDS[kind], certs.make_csr(data, key))
        serial = await certs.wait_for_enrollment(api, reference)
        issued = [c for c in await certs.retrieve(api, [serial]) if same_serial(c.serial, serial)]
    if not issued:
        raise CertificateNotFound(serial=serial)
    signing = issued[0].credential(key)
    return await asyncio.to_thread(_keep, workspace, profile, credential_name, kind, signing, use=use)


def _free_name(workspace: Workspace, profile: Profile, kind: str, name: str | None) -> str:
    """The credential's name: the one asked for (which must be new), else ``<profile>-<suffix>`` numbered."""
    taken = {c.name for c in workspace.profiles.credentials()} | {p.name for p in workspace.profiles.list()}
    if name is not None:
        if not name.strip():
            raise UserError("certs.bad_name", name=name)
        if name in taken:
            raise UserError("certs.name_taken", name=name)
        return name
    base = f"{profile.name}-{_SUFFIX[kind]}"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _ksef_name(name: str) -> str:
    """KSeF's ``certificateName``: 5-100 letters, digits, ``_``, ``-`` and spaces."""
    clean = re.sub(r"[^\w\- ]", "-", f"ksef-tui {name}")
    return clean[:100]


def _keep(
    workspace: Workspace, profile: Profile, name: str, kind: str, signing: SigningCredential, *, use: bool
) -> Enrolled:
    from ksef_tui.services.credentials import describe, to_bundle

    vault = workspace.vault(profile)
    credential = replace(describe(name, profile.vault_environment, signing), certificate_type=kind)
    vault.set_certificate(credential.environment, name, to_bundle(signing))
    try:
        if use:
            workspace.profiles.add(replace(profile, credential=name), replace=True, credential=credential)
        else:
            workspace.profiles.put_credential(credential)
    except BaseException:
        vault.delete_certificate(credential.environment, name)
        raise
    if use:
        vault.delete_session(profile.vault_environment, profile.name)  # the next login signs with the new one
    return Enrolled(credential, (profile.name,) if use else ())


# ------------------------------------------------------------------------------------- list, show, revoke


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """A KSeF certificate of the subject, with the local credential that holds it (if any)."""

    certificate: KsefCertificate
    local: str | None  # the credential holding it and its key in the vault
    profiles: tuple[str, ...]  # the profiles signing in with that credential
    days_left: int
    pem: str | None  # the certificate only (never the key); None when KSeF would not hand it out

    @property
    def kind(self) -> str:
        return kind_of(self.certificate.type)

    @property
    def expiring(self) -> bool:
        return self.certificate.status == "Active" and self.days_left <= EXPIRY_WARNING_DAYS

    @property
    def subject(self) -> str:
        if self.pem is None:
            return self.certificate.common_name
        from cryptography import x509

        return x509.load_pem_x509_certificate(self.pem.encode("ascii")).subject.rfc4514_string()

    def to_json(self) -> dict[str, object]:
        c = self.certificate
        return {
            "name": c.name,
            "type": self.kind,
            "serial": c.serial,
            "status": c.status,
            "common_name": c.common_name,
            "subject": self.subject,
            "subject_identifier": {"type": c.subject_type, "value": c.subject_value},
            "not_before": c.valid_from.isoformat(),
            "not_after": c.valid_to.isoformat(),
            "days_left": self.days_left,
            "expiring": self.expiring,
            "request_date": c.request_date.isoformat(),
            "last_use": c.last_use.isoformat() if c.last_use else None,
            "local_credential": self.local,
            "profiles": list(self.profiles),
            "pem": self.pem,
        }


async def list_certificates(
    workspace: Workspace, profile: Profile, *, serial: str | None = None
) -> list[CertificateEntry]:
    """The subject's KSeF certificates (newest request first), or the one with ``serial``."""
    from ksef_tui.ksef import certs

    async with workspace.api(profile) as api:
        listed = await certs.query_all(api, certs.CertificateFilter(serial=serial) if serial else None)
        pems = await _pems(api, [c.serial for c in listed])
    local = await asyncio.to_thread(_local_certificates, workspace, profile)
    now = datetime.now(UTC)
    entries = []
    for item in listed:
        credential = next((c for c in local if same_serial(c.serial, item.serial)), None)
        users = await asyncio.to_thread(workspace.profiles.users_of, credential.name) if credential else []
        entries.append(
            CertificateEntry(
                certificate=item,
                local=credential.name if credential else None,
                profiles=tuple(p.name for p in users),
                days_left=(item.valid_to - now).days,
                pem=pems.get(item.serial),
            )
        )
    return entries


async def _pems(api: KsefApi, serials: list[str]) -> dict[str, str]:
    """The certificates in PEM from KSeF (POST /certificates/retrieve); none if KSeF refuses to hand them out."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from ksef_tui.ksef import certs
    from ksef_tui.ksef.errors import ApiError

    if not serials:
        return {}
    try:
        issued = await certs.retrieve(api, serials)
    except ApiError:
        return {}
    return {c.serial: c.certificate.public_bytes(Encoding.PEM).decode("ascii") for c in issued}


def _local_certificates(workspace: Workspace, profile: Profile) -> list[Credential]:
    return [
        c
        for c in workspace.profiles.credentials()
        if c.kind is CredentialKind.CERTIFICATE and c.environment == profile.vault_environment and c.serial
    ]


async def show(workspace: Workspace, profile: Profile, serial: str) -> CertificateEntry:
    entries = [
        e
        for e in await list_certificates(workspace, profile, serial=serial)
        if same_serial(e.certificate.serial, serial)
    ]
    if not entries:
        raise CertificateNotFound(serial=serial)
    return entries[0]


async def revoke(workspace: Workspace, profile: Profile, serial: str, reason: str = "Unspecified") -> tuple[str, ...]:
    """Revoke the certificate (irreversible). Returns the local profiles that signed in with it: their saved
    sessions are dropped, so their next login is KSeF's answer about the revoked certificate."""
    from ksef_tui.ksef import certs

    if reason not in certs.REVOCATION_REASONS:
        raise UserError("certs.bad_reason", reason=reason, reasons=", ".join(certs.REVOCATION_REASONS))
    async with workspace.api(profile) as api:
        await certs.revoke(api, serial, reason)
    return await asyncio.to_thread(_forget_sessions, workspace, profile, serial)


def _forget_sessions(workspace: Workspace, profile: Profile, serial: str) -> tuple[str, ...]:
    users: list[Profile] = []
    for credential in _local_certificates(workspace, profile):
        if same_serial(credential.serial, serial):
            users += workspace.profiles.users_of(credential.name)
    for user in users:
        workspace.vault(user).delete_session(user.vault_environment, user.name)
    return tuple(p.name for p in users)


# ------------------------------------------------------------------------------------ the office's clients


@dataclass(frozen=True, slots=True)
class ClientContext:
    """A company that granted the office (the profile's own context) invoice rights."""

    identifier_type: str  # Nip (or InternalId)
    identifier: str
    permissions: tuple[str, ...]
    can_delegate: tuple[str, ...]
    local_profiles: tuple[str, ...]  # profiles of this company in the same environment
    credential: str  # the office's credential, for ``profile add --credential``

    def to_json(self) -> dict[str, object]:
        return {
            "nip": self.identifier if self.identifier_type == "Nip" else None,
            "identifier": {"type": self.identifier_type, "value": self.identifier},
            "permissions": list(self.permissions),
            "can_delegate": list(self.can_delegate),
            "local_profiles": list(self.local_profiles),
            "credential": self.credential,
        }


async def client_contexts(workspace: Workspace, profile: Profile) -> list[ClientContext]:
    """The office's client list: the entity grants received in the profile's own context, by company."""
    from ksef_tui.ksef.permissions import entity_grants, granting_companies

    async with workspace.api(profile) as api:
        companies = granting_companies(await entity_grants(api))
    profiles = await asyncio.to_thread(workspace.profiles.list)
    result = []
    for company in companies:
        value = company.grantor.value or ""
        local = tuple(
            p.name
            for p in profiles
            if p.nip == value and p.vault_environment == profile.vault_environment and p.name != profile.name
        )
        result.append(
            ClientContext(
                company.grantor.type, value, company.permissions, company.can_delegate, local, profile.credential_name
            )
        )
    return result
