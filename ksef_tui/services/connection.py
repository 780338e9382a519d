"""A ready KSeF API for a profile: the token from the vault, session tokens kept in the vault between runs,
and the redacted API log appended to the profile's log file.

The HTTP client (httpx, PyJWT, cryptography) is imported by ``open_api`` and the vault (keyring) is handed in:
importing this module, to catch ``TokenMissing`` say, loads none of them."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui import paths
from ksef_tui.domain.ksef_token import parse_token_shape
from ksef_tui.domain.profile import Profile
from ksef_tui.domain.session import SessionTokens
from ksef_tui.errors import Category, UserError
from ksef_tui.store.apilog import append_api_log

if TYPE_CHECKING:
    import httpx

    from ksef_tui.domain.credential import Credential
    from ksef_tui.ksef.api import KsefApi
    from ksef_tui.ksef.limits import WaitCallback
    from ksef_tui.ksef.xades import SigningCredential
    from ksef_tui.vault import Vault


class TokenMissing(UserError):
    """The profile has no token in the vault."""

    key = "profile.no_token"
    category = Category.CONFIG

    def __init__(self, profile: Profile) -> None:
        super().__init__(profile=profile.name)
        self.profile = profile


class VaultSessionStore:
    """Session tokens of one profile in the vault (blocking keyring calls run in threads)."""

    def __init__(self, vault: Vault, profile: Profile) -> None:
        self.vault = vault
        self.environment = profile.vault_environment
        self.name = profile.name

    async def load(self) -> SessionTokens | None:
        try:
            return await self.vault.aget_session(self.environment, self.name)
        except ValueError:  # a damaged blob: sign in again rather than fail
            return None

    async def save(self, tokens: SessionTokens) -> None:
        await self.vault.aset_session(self.environment, self.name, tokens)

    async def clear(self) -> None:
        await self.vault.adelete_session(self.environment, self.name)


def api_log_path(profile: Profile) -> Path:
    return paths.log_dir() / f"{profile.name}.api.log"


def open_api(
    profile: Profile,
    vault: Vault,
    *,
    token: str | None = None,
    credential: Credential | None = None,
    on_wait: WaitCallback | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    signing: SigningCredential | None = None,
) -> KsefApi:
    """The API of ``profile``; ``token`` overrides the vault (the wizard checks a token before saving it). With a
    certificate ``credential`` it signs in with XAdES in the profile's context (the certificate's own company, or
    a client that granted it rights); ``signing`` is that certificate with its key already in memory (the wizard
    checks a certificate before it goes into the vault)."""
    from ksef_tui.domain.credential import CredentialKind
    from ksef_tui.ksef.api import KsefApi
    from ksef_tui.ksef.auth import TokenAuth, XadesAuth
    from ksef_tui.ksef.client import KsefHttp

    http = KsefHttp(profile.base_url, on_wait=on_wait, transport=transport)
    if token is None and credential is not None and credential.kind is CredentialKind.CERTIFICATE:
        certificate, in_memory = credential, signing

        async def load() -> SigningCredential:
            from ksef_tui.services.credentials import load_signing

            if in_memory is not None:
                return in_memory
            return await asyncio.to_thread(load_signing, vault, certificate)

        xades = XadesAuth(
            http,
            credential=load,
            context_type="Nip",
            context_value=profile.nip,
            store=VaultSessionStore(vault, profile),
        )
        return KsefApi(http, xades)

    async def ksef_token() -> str:
        value = (
            token if token is not None else await vault.aget_token(profile.vault_environment, profile.credential_name)
        )
        if not value:
            raise TokenMissing(profile)
        return value

    context_type, context_value = "Nip", profile.nip
    if token is not None:
        try:
            info = parse_token_shape(token)
        except ValueError:
            pass
        else:
            context_type, context_value = info.context_type, info.context_value
    auth = TokenAuth(
        http,
        ksef_token=ksef_token,
        context_type=context_type,
        context_value=context_value,
        store=VaultSessionStore(vault, profile),
    )
    return KsefApi(http, auth)


async def close_api(api: KsefApi, profile: Profile) -> None:
    """Close the connection and keep the redacted call log for support (a log that cannot be written is not
    worth failing the command for: the calls are done)."""
    await api.aclose()
    with contextlib.suppress(OSError):
        await asyncio.to_thread(append_api_log, api_log_path(profile), api.log_records())
