"""Profiles: add (with the token into the vault), list, remove (with its secrets)."""

from __future__ import annotations

from dataclasses import replace as replace_field
from datetime import date

from ksef_tui.domain.credential import Credential, CredentialKind
from ksef_tui.domain.ksef_token import InvalidTokenShape, parse_token_shape
from ksef_tui.domain.nip import parse_nip
from ksef_tui.domain.profile import (
    InvalidProfile,
    Profile,
    ProfileProblem,
    SecretLocation,
    check_profile_name,
    normalize_environment,
)
from ksef_tui.errors import Category, UserError
from ksef_tui.store.profiles import ProfileExists, ProfileNotFound, ProfileRepository
from ksef_tui.vault import Vault

#: KSeF 2.0 started on 2022-01-01 (voluntary use); no company used it before.
KSEF_EPOCH = date(2022, 1, 1)


class ProfileInputError(UserError):
    """A user mistake in the profile's data."""

    category = Category.CONFIG


def make_profile(
    name: str, nip: str, environment: str, start_date: str | date, *, secrets: SecretLocation | None = None
) -> Profile:
    try:
        check_profile_name(name)
    except ValueError:
        raise ProfileInputError("profile.bad_name", name=name) from None
    try:
        clean_nip = parse_nip(nip)
    except ValueError as exc:
        problem = getattr(exc, "problem", None)
        raise ProfileInputError("profile.bad_nip", nip=nip, problem=getattr(problem, "value", "")) from None
    try:
        env = normalize_environment(environment)
    except InvalidProfile as exc:
        key = "profile.bad_port" if exc.problem is ProfileProblem.PORT else "profile.bad_env"
        raise ProfileInputError(key, env=environment) from None
    try:
        start = start_date if isinstance(start_date, date) else date.fromisoformat(start_date)
    except ValueError:
        raise ProfileInputError("profile.bad_date", value=start_date) from None
    if start < KSEF_EPOCH:
        raise ProfileInputError("profile.date_before_ksef", value=start.isoformat(), epoch=KSEF_EPOCH.isoformat())
    return Profile(name, clean_nip, env, start, secrets=secrets)


def check_token_for(profile: Profile, token: str) -> None:
    """The token's shape and NIP must fit the profile (the online checks are the doctor's)."""
    try:
        info = parse_token_shape(token)
    except InvalidTokenShape as exc:
        key = "setup.shape.legacy" if exc.problem.value == "legacy-1.0" else f"setup.shape.{exc.problem.value}"
        raise ProfileInputError(key) from None
    if info.nip != profile.nip:
        raise ProfileInputError("setup.shape.other_nip", token_nip=info.nip, profile_nip=profile.nip)


def add_profile(repo: ProfileRepository, vault: Vault, profile: Profile, token: str, *, replace: bool = False) -> None:
    """The token first, then the profile with its token credential (named as the profile): a profile never
    exists without its token, and a failed add leaves the vault as it was (no orphan secret, no other profile's
    token overwritten). Blocking (vault, file)."""
    from ksef_tui.vault import fingerprint

    check_token_for(profile, token)
    try:
        existing = repo.get(profile.name)
    except ProfileNotFound:
        existing = None
    if existing is not None and not replace:
        raise ProfileExists(profile.name)
    check_credential_name_free(repo, profile.name, keep=profile.name)
    profile = replace_field(profile, credential=profile.name)
    credential = Credential(profile.name, CredentialKind.TOKEN, profile.vault_environment, fingerprint(token))
    previous = vault.get_token(profile.vault_environment, profile.name)
    vault.set_token(profile.vault_environment, profile.name, token)
    try:
        repo.add(profile, replace=replace, credential=credential)
    except BaseException:
        if previous is None:
            vault.delete_token(profile.vault_environment, profile.name)
        else:
            vault.set_token(profile.vault_environment, profile.name, previous)
        raise
    vault.delete_session(profile.vault_environment, profile.name)  # a new token starts a new session


def check_credential_name_free(repo: ProfileRepository, name: str, *, keep: str) -> None:
    """A new credential may not take the name of one that other profiles sign in with."""
    others = [p.name for p in repo.users_of(name) if p.name != keep]
    if others:
        raise ProfileInputError("credential.name_taken", name=name, profiles=", ".join(others))


def remove_profile(repo: ProfileRepository, vault: Vault | None, name: str) -> Profile:
    """The profile and its own secrets (session, SMTP password); its credential's secret and description too,
    unless another profile still signs in with it."""
    profile = repo.remove(name)
    credential = profile.credential_name
    shared = bool(repo.users_of(credential))
    if vault is not None:
        if not shared:
            vault.delete_token(profile.vault_environment, credential)
            vault.delete_certificate(profile.vault_environment, credential)
        vault.delete_session(profile.vault_environment, profile.name)
        vault.delete_mail_password(profile.vault_environment, profile.name)
    if not shared:
        repo.remove_credential(credential)
    return profile
