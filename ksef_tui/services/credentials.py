"""Certificate credentials: a certificate with its private key, imported once into the vault and used by every
profile (company context) that signs in with it (issue 11).

What the user hands over (a PKCS#12, or a certificate PEM with its usually encrypted PKCS#8 key, as the KSeF web
application gives them out) is read with its password once; the vault then keeps the certificate and the key as
one blob, and profiles.json only the credential's description (kind, fingerprint, subject, identity, validity).
Blocking (files, vault): call from threads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from ksef_tui.domain.credential import Credential, CredentialKind
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import Category, UserError
from ksef_tui.store.profiles import ProfileExists, ProfileNotFound, ProfileRepository

if TYPE_CHECKING:
    from ksef_tui.ksef.xades import SigningCredential
    from ksef_tui.vault import Vault


class CertificateMissing(UserError):
    """The vault has no certificate for this credential (removed by hand, or another machine's vault)."""

    key = "credential.no_certificate"
    category = Category.CONFIG


def describe(name: str, environment: str, signing: SigningCredential) -> Credential:
    """The credential's description (safe to keep in a file and to show)."""
    identity = signing.identity
    return Credential(
        name=name,
        kind=CredentialKind.CERTIFICATE,
        environment=environment,
        fingerprint=signing.fingerprint,
        subject=signing.subject,
        identity=str(identity) if identity is not None else "",
        serial=signing.serial,
        not_before=signing.not_before,
        not_after=signing.not_after,
    )


def to_bundle(signing: SigningCredential) -> dict[str, str]:
    """The vault's form: the certificate, the private key (PKCS#8, unencrypted: the vault encrypts) and the
    chain, in PEM."""
    pem = serialization.Encoding.PEM
    return {
        "certificate": signing.certificate.public_bytes(pem).decode("ascii"),
        "key": signing.private_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii"),
        "chain": "".join(cert.public_bytes(pem).decode("ascii") for cert in signing.chain),
    }


def from_bundle(bundle: dict[str, str]) -> SigningCredential:
    from ksef_tui.ksef.xades import load_pem

    certificates = (bundle["certificate"] + bundle.get("chain", "")).encode("ascii")
    return load_pem(certificates, bundle["key"].encode("ascii"))


def load_signing(vault: Vault, credential: Credential) -> SigningCredential:
    bundle = vault.get_certificate(credential.environment, credential.name)
    if bundle is None:
        raise CertificateMissing(name=credential.name)
    return from_bundle(bundle)


def add_certificate_profile(
    repo: ProfileRepository,
    vault: Vault,
    profile: Profile,
    signing: SigningCredential,
    *,
    credential_name: str | None = None,
    replace_profile: bool = False,
) -> Credential:
    """The certificate into the vault, then the profile with its credential (one write of profiles.json); a
    failure leaves the vault as it was. The certificate's NIP may differ from the profile's: an office signs in
    with its own certificate in its clients' contexts."""
    from ksef_tui.services.profiles import check_credential_name_free

    name = credential_name or profile.name
    try:
        existing = repo.get(profile.name)
    except ProfileNotFound:
        existing = None
    if existing is not None and not replace_profile:
        raise ProfileExists(profile.name)
    check_credential_name_free(repo, name, keep=profile.name)
    credential = describe(name, profile.vault_environment, signing)
    previous = vault.get_certificate(credential.environment, name)
    vault.set_certificate(credential.environment, name, to_bundle(signing))
    try:
        repo.add(replace(profile, credential=name), replace=replace_profile, credential=credential)
    except BaseException:
        if previous is None:
            vault.delete_certificate(credential.environment, name)
        else:
            vault.set_certificate(credential.environment, name, previous)
        raise
    vault.delete_session(profile.vault_environment, profile.name)
    return credential


def add_profile_using(repo: ProfileRepository, profile: Profile, credential_name: str) -> Profile:
    """A company context signing in with a credential already there (no new secret): an office's client."""
    credential = repo.credential(credential_name)
    if credential.environment != profile.vault_environment:
        raise UserError(
            "credential.other_environment",
            name=credential_name,
            env=profile.environment,
            category=Category.CONFIG,
        )
    owner = next(iter(repo.users_of(credential_name)), None)
    added = replace(profile, credential=credential_name, secrets=owner.secrets if owner else profile.secrets)
    repo.add(added)
    return added
