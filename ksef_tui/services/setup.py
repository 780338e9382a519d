"""The KSeF setup wizard's use case: check the form's fields as they are typed, check a credential against KSeF
before anything is saved, and save the profile and its secret only when KSeF accepted it with the rights the
app needs (InvoiceRead and InvoiceWrite).

The credential is one of: a KSeF token (typed or pasted), a certificate file with its key and password (a KSeF
certificate, a qualified seal or signature: PKCS#12, or PEM), or a credential already kept (an accounting
office's certificate signing in in a client's context). The same ordered steps as ``ksef-tui doctor`` run with
``on_start``/``on_step`` so the wizard shows them live; the first failing step ends the run and the form stays.

Secret storage: where no OS keyring answers (a headless SSH box) ``vault_status`` says so and
``use_encrypted_file`` keys the encrypted-file vault with a master password typed in the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui.domain.nip import nip_problem
from ksef_tui.domain.profile import BackendChoice, InvalidProfile, Profile, normalize_environment
from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t

if TYPE_CHECKING:
    from ksef_tui.domain.credential import Credential
    from ksef_tui.ksef.xades import SigningCredential
    from ksef_tui.services.verify import Step, Verification
    from ksef_tui.services.workspace import Workspace

#: KSeF 2.0 started on 2022-01-01; no company used it before (the same rule as ``profile add``).
KSEF_EPOCH = date(2022, 1, 1)


class CredentialChoice(StrEnum):
    TOKEN = "token"
    CERTIFICATE = "certificate"
    EXISTING = "existing"  # a credential already kept: the office's certificate


@dataclass(frozen=True, slots=True)
class SetupRequest:
    name: str
    nip: str
    environment: str
    start_date: str
    kind: CredentialChoice = CredentialChoice.TOKEN
    token: str = ""
    certificate_file: str = ""
    key_file: str = ""  # a PEM key apart from the certificate; "" when the file holds both (PKCS#12)
    password: str = ""  # the certificate's (or its key's) password
    credential: str = ""  # CredentialChoice.EXISTING: its name
    replace: bool = False  # the profile exists and is being updated

    def __repr__(self) -> str:  # never the token or the password
        return f"SetupRequest(name={self.name!r}, nip={self.nip!r}, environment={self.environment!r}, kind={self.kind})"


@dataclass(slots=True)
class SetupOutcome:
    verification: Verification
    profile: Profile | None  # saved: KSeF accepted the credential and it may read and issue invoices

    @property
    def ok(self) -> bool:
        return self.profile is not None


@dataclass(frozen=True, slots=True)
class VaultStatus:
    usable: bool
    backend: str  # the class name, or what was tried
    problem: str = ""  # why it is not usable (translated)


# ------------------------------------------------------------------------------------------- field checks


def nip_field_problem(value: str) -> str | None:
    """A NIP being typed: ``None`` when it is whole and its checksum holds, else what is wrong (translated)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if not value.strip():
        return t("wizard.field.required")
    if len(digits) < 10 and all(ch.isdigit() or ch in "- " for ch in value):
        return t("wizard.nip.short", count=10 - len(digits))
    problem = nip_problem(value)
    return None if problem is None else t(f"wizard.nip.{problem.value}")


def environment_field_problem(value: str) -> str | None:
    if not value.strip():
        return t("wizard.field.required")
    try:
        normalize_environment(value)
    except InvalidProfile:
        return t("wizard.env.bad")
    return None


def start_date_problem(value: str) -> str | None:
    try:
        start = date.fromisoformat(value.strip())
    except ValueError:
        return t("wizard.date.bad")
    if start < KSEF_EPOCH:
        return t("wizard.date.before_ksef", epoch=KSEF_EPOCH.isoformat())
    return None


def name_field_problem(value: str) -> str | None:
    from ksef_tui.domain.profile import check_profile_name

    try:
        check_profile_name(value)
    except ValueError:
        return t("wizard.name.bad")
    return None


def field_problems(request: SetupRequest) -> dict[str, str]:
    """Every field that cannot be used yet, by field id (``name``, ``nip``, ``environment``, ``start_date``,
    ``token``, ``certificate_file``, ``credential``)."""
    problems: dict[str, str] = {}
    for name, problem in (
        ("name", name_field_problem(request.name)),
        ("nip", nip_field_problem(request.nip)),
        ("environment", environment_field_problem(request.environment)),
        ("start_date", start_date_problem(request.start_date)),
    ):
        if problem:
            problems[name] = problem
    if request.kind is CredentialChoice.TOKEN and not request.token.strip():
        problems["token"] = t("wizard.field.required")
    if request.kind is CredentialChoice.CERTIFICATE and not request.certificate_file.strip():
        problems["certificate_file"] = t("wizard.field.required")
    if request.kind is CredentialChoice.EXISTING and not request.credential.strip():
        problems["credential"] = t("wizard.field.required")
    return problems


def environment_kind(value: str) -> str:
    """``test``, ``demo``, ``prod`` or ``url`` (the words the wizard explains each by)."""
    text = value.strip().lower()
    return text if text in ("test", "demo", "prod") else "url"


# --------------------------------------------------------------------------------------------- the check


class SetupRefused(UserError):
    category = Category.CONFIG


async def check_and_save(
    workspace: Workspace,
    request: SetupRequest,
    *,
    on_step: Callable[[Step], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> SetupOutcome:
    """Verify the request's credential in its company's context; when every step passed, keep the secret in the
    vault and the profile in profiles.json. Field mistakes are ``UserError``s before any call."""
    from ksef_tui.services.profiles import make_profile

    problems = field_problems(request)
    if problems:
        field, problem = next(iter(problems.items()))
        raise SetupRefused("wizard.refused", field=t(f"wizard.label.{field}"), problem=problem)
    request = await asyncio.to_thread(_with_replace, workspace, request)
    profile = make_profile(
        request.name.strip(),
        request.nip,
        request.environment.strip(),
        request.start_date.strip(),
        secrets=workspace.secret_location(None),
    )
    from ksef_tui.services.workspace import keep_verification

    if request.kind is CredentialChoice.TOKEN:
        outcome = await _token(workspace, profile, request, on_step, on_start)
    elif request.kind is CredentialChoice.CERTIFICATE:
        outcome = await _certificate(workspace, profile, request, on_step, on_start)
    else:
        outcome = await _existing(workspace, profile, request, on_step, on_start)
    await keep_verification(profile, outcome.verification)  # for support, whatever the outcome
    return outcome


def _with_replace(workspace: Workspace, request: SetupRequest) -> SetupRequest:
    """A profile of this name for the same company is being updated (``ksef-tui setup --name`` for a company
    already there); one for another company stays a refusal when saving (``ProfileExists``)."""
    from dataclasses import replace

    from ksef_tui.domain.nip import parse_nip

    if request.replace:
        return request
    existing = {p.name: p for p in workspace.list_profiles()}.get(request.name.strip())
    try:
        same = existing is not None and existing.nip == parse_nip(request.nip)
    except ValueError:
        same = False
    return replace(request, replace=True) if same else request


async def _token(
    workspace: Workspace,
    profile: Profile,
    request: SetupRequest,
    on_step: Callable[[Step], None] | None,
    on_start: Callable[[str], None] | None,
) -> SetupOutcome:
    from ksef_tui.domain.session import fingerprint
    from ksef_tui.services.verify import verify

    token = request.token.strip()
    async with workspace.api(profile, token=token) as api:
        verification = await verify(
            profile, token, api, fingerprint=fingerprint(token), fresh=True, on_step=on_step, on_start=on_start
        )
    if not verification.ok:
        return SetupOutcome(verification, None)
    await asyncio.to_thread(
        workspace.add_profile,
        profile.name,
        profile.nip,
        profile.environment,
        profile.start_date.isoformat(),
        token,
        replace=request.replace,
    )
    return SetupOutcome(verification, await asyncio.to_thread(workspace.profiles.get, profile.name))


async def _certificate(
    workspace: Workspace,
    profile: Profile,
    request: SetupRequest,
    on_step: Callable[[Step], None] | None,
    on_start: Callable[[str], None] | None,
) -> SetupOutcome:
    from ksef_tui.services.credentials import describe
    from ksef_tui.services.files import read_input

    def load() -> tuple[bytes, bytes | None]:
        data = read_input(Path(request.certificate_file.strip()).expanduser())
        key = read_input(Path(request.key_file.strip()).expanduser()) if request.key_file.strip() else None
        return data, key

    data, key = await asyncio.to_thread(load)
    password = request.password or None
    signing = await asyncio.to_thread(_load_signing, data, password, key)
    credential = describe(profile.name, profile.vault_environment, signing)
    verification = await _verify_certificate(
        workspace, profile, credential, signing=signing, on_step=on_step, on_start=on_start
    )
    if not verification.ok:
        return SetupOutcome(verification, None)
    saved, _credential = await asyncio.to_thread(
        workspace.add_certificate_profile,
        profile.name,
        profile.nip,
        profile.environment,
        profile.start_date.isoformat(),
        data,
        password=password,
        key=key,
        replace_profile=request.replace,
    )
    return SetupOutcome(verification, saved)


async def _verify_certificate(
    workspace: Workspace,
    profile: Profile,
    credential: Credential,
    *,
    signing: SigningCredential | None,
    on_step: Callable[[Step], None] | None,
    on_start: Callable[[str], None] | None,
) -> Verification:
    """The certificate's steps in ``profile``'s context: ``signing`` in memory (a file not saved yet), else the
    credential's key from the vault (an office's credential)."""
    from ksef_tui.services.verify import CertificateVerifier

    async with workspace.api(profile, credential=credential, signing=signing) as api:
        return await CertificateVerifier(profile, credential, api, on_step=on_step, on_start=on_start).run()


def _load_signing(data: bytes, password: str | None, key: bytes | None) -> SigningCredential:
    from ksef_tui.ksef.xades import load_credential

    return load_credential(data, password, key=key)


async def _existing(
    workspace: Workspace,
    profile: Profile,
    request: SetupRequest,
    on_step: Callable[[Step], None] | None,
    on_start: Callable[[str], None] | None,
) -> SetupOutcome:
    credential: Credential = await asyncio.to_thread(workspace.profiles.credential, request.credential.strip())
    verification = await _verify_certificate(
        workspace, profile, credential, signing=None, on_step=on_step, on_start=on_start
    )
    if not verification.ok:
        return SetupOutcome(verification, None)
    saved = await asyncio.to_thread(
        workspace.add_profile_using,
        profile.name,
        profile.nip,
        profile.environment,
        profile.start_date.isoformat(),
        credential.name,
    )
    return SetupOutcome(verification, saved)


def existing_credentials(workspace: Workspace) -> list[Credential]:
    """The certificate credentials already kept (blocking): what an office's next client can sign in with."""
    from ksef_tui.domain.credential import CredentialKind

    return [c for c in workspace.profiles.credentials() if c.kind is CredentialKind.CERTIFICATE]


# ---------------------------------------------------------------------------------------- secret storage


def vault_status(workspace: Workspace) -> VaultStatus:
    """Whether new secrets have somewhere to go (blocking: probes the OS keyring with a time limit)."""
    from ksef_tui.vault import NoSecretStorage

    try:
        vault = workspace.vault(None)
    except NoSecretStorage as exc:
        return VaultStatus(False, "", exc.message())
    except UserError as exc:
        return VaultStatus(False, "", exc.message())
    return VaultStatus(True, str(vault.describe()))


def use_encrypted_file(workspace: Workspace, master_password: str) -> VaultStatus:
    """Key the encrypted-file vault with ``master_password`` and make it where new profiles keep their secrets
    (blocking: one Argon2 derivation). The password stays in this process only."""
    workspace.use_backend(BackendChoice.ENCRYPTED_FILE, password=master_password)
    return VaultStatus(True, str(workspace.vault(None).describe()))


#: The vault's error key when an encrypted file needs its master password and none was named.
MASTER_PASSWORD_REQUIRED = "secrets.master_password_required"


def vault_problem(workspace: Workspace, profile: Profile) -> UserError | None:
    """Why ``profile``'s vault cannot be opened now (``None``: it can). Blocking. The app asks for the master
    password when the problem's key is :data:`MASTER_PASSWORD_REQUIRED`."""
    try:
        workspace.vault(profile)
    except UserError as exc:
        return exc
    return None


def unlock(workspace: Workspace, profile: Profile, master_password: str) -> None:
    """Open ``profile``'s encrypted-file vault with the master password typed in the app. Blocking (Argon2);
    a wrong password is a ``UserError``."""
    vault = workspace.unlock(profile, master_password)
    vault.get_token(profile.vault_environment, profile.credential_name)  # a wrong key fails here, not later
