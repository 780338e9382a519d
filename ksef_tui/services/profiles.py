"""Profiles: add (with the token into the vault), list, remove (with its secrets)."""

from __future__ import annotations

from datetime import date

from ksef_tui.domain.ksef_token import InvalidTokenShape, parse_token_shape
from ksef_tui.domain.nip import parse_nip
from ksef_tui.domain.profile import Profile, check_profile_name, normalize_environment
from ksef_tui.i18n import t
from ksef_tui.store.profiles import ProfileRepository
from ksef_tui.vault import Vault


class ProfileInputError(ValueError):
    """A user mistake in the profile's data; the message is ready to show."""


def make_profile(name: str, nip: str, environment: str, start_date: str | date) -> Profile:
    try:
        check_profile_name(name)
    except ValueError:
        raise ProfileInputError(t("profile.bad_name", name=name)) from None
    try:
        clean_nip = parse_nip(nip)
    except ValueError as exc:
        problem = getattr(exc, "problem", None)
        raise ProfileInputError(t("profile.bad_nip", nip=nip, problem=getattr(problem, "value", ""))) from None
    try:
        env = normalize_environment(environment)
    except ValueError:
        raise ProfileInputError(t("profile.bad_env", env=environment)) from None
    try:
        start = start_date if isinstance(start_date, date) else date.fromisoformat(start_date)
    except ValueError:
        raise ProfileInputError(t("profile.bad_date", value=start_date)) from None
    return Profile(name, clean_nip, env, start)


def check_token_for(profile: Profile, token: str) -> None:
    """The token's shape and NIP must fit the profile (the online checks are the doctor's)."""
    try:
        info = parse_token_shape(token)
    except InvalidTokenShape as exc:
        key = "setup.shape.legacy" if exc.problem.value == "legacy-1.0" else f"setup.shape.{exc.problem.value}"
        raise ProfileInputError(t(key)) from None
    if info.nip != profile.nip:
        raise ProfileInputError(t("setup.shape.other_nip", token_nip=info.nip, profile_nip=profile.nip))


def add_profile(repo: ProfileRepository, vault: Vault, profile: Profile, token: str, *, replace: bool = False) -> None:
    """Store the token first: a profile never exists without its token. Blocking (vault, file)."""
    check_token_for(profile, token)
    vault.set_token(profile.vault_environment, profile.name, token)
    vault.delete_session(profile.vault_environment, profile.name)  # a new token starts a new session
    repo.add(profile, replace=replace)


def remove_profile(repo: ProfileRepository, vault: Vault | None, name: str) -> Profile:
    profile = repo.remove(name)
    if vault is not None:
        vault.delete_token(profile.vault_environment, profile.name)
        vault.delete_session(profile.vault_environment, profile.name)
    return profile
