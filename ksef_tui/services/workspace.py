"""The composition root both faces use (the command line now, the TUI next).

A ``Workspace`` holds the settings (read once), the profiles, the vault of each profile (where its secret
lives is remembered with the profile), each company's store (opened with its lock and recovery warnings) and
the KSeF API of a profile as an async context manager that closes the connection and keeps the redacted call
log. Errors leave it as ``UserError``s; the faces decide how to show them.

The one path of a request: face → ``Workspace.api(profile)`` → ``connection.open_api`` (vault token, session
reuse) → ``KsefApi`` → ``KsefHttp`` (limiter, Retry-After, API log) → KSeF.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui import paths
from ksef_tui.domain.booking import WARSAW, warsaw_date
from ksef_tui.domain.profile import BackendChoice, Profile, SecretLocation
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.i18n import t
from ksef_tui.settings import SecretSettings, Settings, load_settings
from ksef_tui.store.profiles import ProfileRepository

if TYPE_CHECKING:
    import httpx

    from ksef_tui.domain.credential import Credential
    from ksef_tui.ksef.api import KsefApi
    from ksef_tui.ksef.limits import Wait
    from ksef_tui.ksef.xades import SigningCredential
    from ksef_tui.services.purchase_sync import SyncProgress, SyncResult
    from ksef_tui.services.sending import Plan, SendOptions, SendProgress, SendReport
    from ksef_tui.services.verify import Step, Verification
    from ksef_tui.store.db import Store
    from ksef_tui.store.purchases import XmlStore
    from ksef_tui.vault import Vault


class StoreUnavailable(UserError):
    category = Category.CONFIG


class SyncFailed(UserError):
    """KSeF refused or failed a sync step; the cursor was not moved, nothing imported is lost."""

    key = "sync.failed"
    category = Category.KSEF


@dataclass(frozen=True, slots=True)
class Removal:
    profile: Profile
    data_dir: Path
    data_deleted: bool
    shared_with: tuple[str, ...] = ()  # other profiles of the same company keep the data


@dataclass(slots=True)
class SyncOutcome:
    result: SyncResult
    not_started_until: date | None = None  # the company uses KSeF only from this date: nothing to import yet
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CompanySync:
    """One company's part of ``sync --all``: its outcome, or the error that stopped it."""

    profile: Profile
    outcome: SyncOutcome | None
    error: UserError | None = None


def today_in_warsaw() -> date:
    return warsaw_date(datetime.now(WARSAW))


class Workspace:
    """Settings, profiles, vaults, stores and KSeF connections of one user."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        secret_override: SecretSettings | None = None,
        transport: Callable[[Profile], httpx.AsyncBaseTransport | None] | None = None,
        warn: Callable[[str], None] | None = None,
        vault: Vault | None = None,
    ) -> None:
        """``transport`` serves a profile's KSeF in-process (the sandbox's simulator, screen tests); ``vault``
        is one vault for every profile (the sandbox's in-memory vault) instead of each profile's own."""
        self.settings = settings or load_settings()
        self.secret_override = secret_override or SecretSettings()
        self._transport = transport or (lambda _profile: None)
        self.warn = warn or (lambda _message: None)
        self.profiles = ProfileRepository(paths.config_dir() / "profiles.json")
        self._vaults: dict[SecretLocation | None, Vault] = {}
        self._fixed_vault = vault

    # -------------------------------------------------------------------------------------------- vault

    def secret_location(self, profile: Profile | None = None) -> SecretLocation | None:
        """Where a profile's secret lives: the command line's choice, else the profile's remembered one,
        else the settings' (environment, config file), else ``None`` (the automatic policy)."""
        flags, remembered, configured = (
            self.secret_override,
            profile.secrets if profile else None,
            self.settings.secrets,
        )
        if flags.backend is not None:
            source = SecretLocation(
                flags.backend.value, str(configured.file) if configured.file else None, _opt(flags.password_file)
            )
        elif remembered is not None:
            source = remembered
        elif configured.backend is not None:
            source = SecretLocation(configured.backend.value, _opt(configured.file), _opt(configured.password_file))
        else:
            return None
        password_file = _opt(flags.password_file) or source.password_file or _opt(configured.password_file)
        return SecretLocation(source.backend, source.file, password_file)

    def vault(self, profile: Profile | None = None) -> Vault:
        """The vault holding ``profile``'s secrets (blocking: may probe keyrings or derive a key)."""
        from ksef_tui.vault import BackendChoice, Vault, resolve_backend

        if self._fixed_vault is not None:
            return self._fixed_vault
        location = self.secret_location(profile)
        if location in self._vaults:
            return self._vaults[location]
        backend = resolve_backend(
            BackendChoice(location.backend) if location else None,
            password_file=Path(location.password_file) if location and location.password_file else None,
            password_fd=self.secret_override.password_fd,
            file_path=Path(location.file) if location and location.file else None,
        )
        vault = Vault(backend)
        self._vaults[location] = vault
        return vault

    def use_backend(self, choice: BackendChoice, *, password: str | None = None) -> Vault:
        """Make ``choice`` where new secrets go for the rest of this run (the wizard's answer to "no OS keyring"),
        keyed with ``password`` when it is the encrypted file; profiles saved now remember it. Blocking."""
        from ksef_tui.vault import Vault, resolve_backend

        self.secret_override = replace(self.secret_override, backend=choice)
        location = self.secret_location(None)
        file = Path(location.file) if location and location.file else None
        vault = Vault(resolve_backend(choice, password=password, file_path=file))
        self._vaults[location] = vault
        return vault

    def unlock(self, profile: Profile, password: str) -> Vault:
        """Open ``profile``'s encrypted-file vault with a master password typed in the app (no password file was
        named for it). Blocking: one Argon2 derivation; a wrong password is a ``UserError``."""
        from ksef_tui.vault import Vault, resolve_backend

        location = self.secret_location(profile)
        choice = BackendChoice(location.backend) if location else BackendChoice.ENCRYPTED_FILE
        file = Path(location.file) if location and location.file else None
        vault = Vault(resolve_backend(choice, password=password, file_path=file))
        self._vaults[location] = vault
        return vault

    # ----------------------------------------------------------------------------------------- profiles

    def list_profiles(self) -> list[Profile]:
        return self.profiles.list()

    def profile(self, name: str | None) -> Profile:
        """The named profile, or the only one there is."""
        if name:
            return self.profiles.get(name)
        profiles = self.profiles.list()
        if len(profiles) == 1:
            return profiles[0]
        if not profiles:
            raise UserError("profile.none", category=Category.CONFIG)
        raise UserError("profile.choose", category=Category.CONFIG, names=", ".join(p.name for p in profiles))

    def add_profile(
        self, name: str, nip: str, environment: str, start_date: str, token: str, *, replace: bool = False
    ) -> Profile:
        """Checks everything it can offline first (a wrong token costs no vault work), then stores the token
        and the profile, remembering where the secret went."""
        from ksef_tui.services.profiles import add_profile, check_token_for, make_profile

        profile = make_profile(name, nip, environment, start_date, secrets=self.secret_location(None))
        check_token_for(profile, token)
        add_profile(self.profiles, self.vault(profile), profile, token, replace=replace)
        return profile

    def credential_of(self, profile: Profile) -> Credential:
        """The profile's credential; a token credential from before credentials learns its fingerprint from the
        vault once (kept in profiles.json; left unknown when the vault cannot be read now)."""
        from ksef_tui.domain.credential import CredentialKind
        from ksef_tui.vault import fingerprint

        credential = self.profiles.credential_of(profile)
        if credential.kind is CredentialKind.TOKEN and credential.fingerprint is None:
            try:
                token = self.vault(profile).get_token(profile.vault_environment, credential.name)
            except UserError:
                return credential
            if token:
                credential = replace(credential, fingerprint=fingerprint(token))
                with contextlib.suppress(UserError):
                    self.profiles.put_credential(credential)
        return credential

    def add_certificate_profile(
        self,
        name: str,
        nip: str,
        environment: str,
        start_date: str,
        data: bytes,
        *,
        password: str | None = None,
        key: bytes | None = None,
        credential_name: str | None = None,
        replace_profile: bool = False,
    ) -> tuple[Profile, Credential]:
        """A company profile signing in with a certificate (PKCS#12, or certificate + key): read once with its
        password, kept in the vault; blocking."""
        from ksef_tui.ksef.xades import load_credential
        from ksef_tui.services.credentials import add_certificate_profile
        from ksef_tui.services.profiles import make_profile

        profile = make_profile(name, nip, environment, start_date, secrets=self.secret_location(None))
        signing = load_credential(data, password, key=key)
        credential = add_certificate_profile(
            self.profiles,
            self.vault(profile),
            profile,
            signing,
            credential_name=credential_name,
            replace_profile=replace_profile,
        )
        return self.profiles.get(name), credential

    def add_profile_using(self, name: str, nip: str, environment: str, start_date: str, credential: str) -> Profile:
        """A client company signing in with a credential already there (the office's): no new secret."""
        from ksef_tui.services.credentials import add_profile_using
        from ksef_tui.services.profiles import make_profile

        profile = make_profile(name, nip, environment, start_date, secrets=self.secret_location(None))
        return add_profile_using(self.profiles, profile, credential)

    def remove_profile(self, name: str, *, delete_data: bool = False) -> Removal:
        from ksef_tui.services.profiles import remove_profile

        profile = self.profiles.get(name)
        remove_profile(self.profiles, self.vault(profile), name)
        data = self.company_dir(profile)
        sharing = tuple(p.name for p in self.profiles.list() if p.company_key == profile.company_key)
        deleted = False
        if delete_data and not sharing and data.exists():
            try:
                shutil.rmtree(data)
            except OSError as exc:
                raise PathError(data, exc, category=Category.CONFIG) from None
            deleted = True
        return Removal(profile, data, deleted, sharing)

    # -------------------------------------------------------------------------------------------- store

    def company_dir(self, profile: Profile) -> Path:
        """A company's local data (store, invoice XML, bookings): keyed by environment + NIP, not by name."""
        return paths.data_dir() / "companies" / profile.company_key

    def transport_for(self, profile: Profile) -> httpx.AsyncBaseTransport | None:
        """The transport serving ``profile``'s KSeF in-process (the sandbox's simulator, tests), or ``None`` for
        the network: whatever else talks to that KSeF's side (Latarnia, a probe) goes the same way."""
        transport: httpx.AsyncBaseTransport | None = self._transport(profile)
        return transport

    def store_path(self, profile: Profile) -> Path:
        return self.company_dir(profile) / "store.json"

    def _migrate_layout(self, profile: Profile) -> None:
        """Stores used to live under the profile's name; move such a directory to its company once."""
        old = paths.data_dir() / "profiles" / profile.name
        new = self.company_dir(profile)
        if old.is_dir() and not new.exists():
            new.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            old.rename(new)

    @contextlib.contextmanager
    def open_store(
        self, profile: Profile, *, read_only: bool = False, warn: Callable[[str], None] | None = None
    ) -> Iterator[Store]:
        """The company's store, locked for writing unless ``read_only``; closed on exit. Blocking."""
        store = self.store(profile, read_only=read_only, warn=warn)
        try:
            yield store
        finally:
            store.close()

    def store(self, profile: Profile, *, read_only: bool = False, warn: Callable[[str], None] | None = None) -> Store:
        """Open the company's store (the caller closes it). Blocking: run it in a thread from async code."""
        from ksef_tui.store.db import Store

        path = self.store_path(profile)
        try:
            self._migrate_layout(profile)
            store = Store.open(path, read_only=read_only)
            if store.needs_migration:  # an older layout: one writable open migrates it, then look again
                store.close()
                Store.open(path).close()
                store = Store.open(path, read_only=read_only)
        except FileNotFoundError:
            raise StoreUnavailable("store.empty", profile=profile.name) from None
        except OSError as exc:
            raise PathError(exc.filename or path.parent, exc, category=Category.CONFIG) from None
        if store.recovered_from is not None:
            (warn or self.warn)(t("store.recovered", path=store.recovered_from))
        return store

    def xml_store(self, profile: Profile) -> XmlStore:
        from ksef_tui.store.purchases import XmlStore

        return XmlStore(self.company_dir(profile) / "xml")

    # --------------------------------------------------------------------------------------------- KSeF

    @contextlib.asynccontextmanager
    async def api(
        self,
        profile: Profile,
        *,
        token: str | None = None,
        credential: Credential | None = None,
        signing: SigningCredential | None = None,
        on_wait: Callable[[Wait], None] | None = None,
    ) -> AsyncIterator[KsefApi]:
        """The KSeF API of ``profile`` (``token``, or ``credential`` with its ``signing`` key in memory, override
        the profile's own, as the wizard checks before saving). On exit the connection closes and the redacted
        call log is kept for support."""
        from ksef_tui.services.connection import close_api, open_api

        vault = await asyncio.to_thread(self.vault, profile)
        if token is None and credential is None:
            credential = await asyncio.to_thread(self.profiles.credential_of, profile)
        api = open_api(
            profile,
            vault,
            token=token,
            credential=credential,
            signing=signing,
            on_wait=on_wait,
            transport=self._transport(profile),
        )
        try:
            yield api
        finally:
            await close_api(api, profile)

    async def verify(
        self,
        profile: Profile,
        *,
        fresh: bool = False,
        on_step: Callable[[Step], None] | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> Verification:
        """The doctor's checks for a stored profile: the token is read from the vault once."""
        from ksef_tui.domain.credential import CredentialKind
        from ksef_tui.services.connection import TokenMissing
        from ksef_tui.services.verify import verify
        from ksef_tui.vault import fingerprint

        credential = await asyncio.to_thread(self.profiles.credential_of, profile)
        if credential.kind is CredentialKind.CERTIFICATE:
            from ksef_tui.services.verify import CertificateVerifier

            async with self.api(profile) as api:
                result = await CertificateVerifier(profile, credential, api, on_step=on_step, on_start=on_start).run()
        else:
            vault = await asyncio.to_thread(self.vault, profile)
            token = await vault.aget_token(profile.vault_environment, profile.credential_name)
            if not token:
                raise TokenMissing(profile)
            async with self.api(profile, token=token) as api:
                result = await verify(
                    profile, token, api, fingerprint=fingerprint(token), fresh=fresh, on_step=on_step, on_start=on_start
                )
        await keep_verification(profile, result)
        return result

    async def sync(
        self,
        profile: Profile,
        *,
        on_wait: Callable[[Wait], None] | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncOutcome:
        """Import new purchase invoices into the company's store."""
        from ksef_tui.ksef.errors import KsefError
        from ksef_tui.services.purchase_sync import PurchaseSync, SyncResult

        if profile.start_date > today_in_warsaw():
            return SyncOutcome(SyncResult(), not_started_until=profile.start_date)
        warnings: list[str] = []
        store = await asyncio.to_thread(self.store, profile, warn=warnings.append)
        try:
            async with self.api(profile, on_wait=on_wait) as api:
                sync = PurchaseSync(profile, api, store, self.xml_store(profile), progress=on_progress)
                try:
                    result = await sync.run()
                except KsefError as exc:
                    raise SyncFailed(reason=exc.message(), hint=exc.hint(), category=kept_category(exc)) from exc
        finally:
            await asyncio.to_thread(store.close)
        return SyncOutcome(result, warnings=warnings)

    async def sync_all(
        self, *, concurrency: int = 4, on_wait: Callable[[Wait], None] | None = None
    ) -> list[CompanySync]:
        """Sync every company at once (an office's clients): KSeF counts limits per context, so companies do not
        slow each other; at most ``concurrency`` run together; one company's failure never stops the others.
        Profiles of the same company (environment + NIP) share a store: it is synced once, by the first."""
        gate = asyncio.Semaphore(max(1, concurrency))
        chosen: dict[str, Profile] = {}
        for profile in self.list_profiles():
            chosen.setdefault(profile.company_key, profile)

        async def one(profile: Profile) -> CompanySync:
            async with gate:
                try:
                    return CompanySync(profile, await self.sync(profile, on_wait=on_wait))
                except UserError as exc:
                    return CompanySync(profile, None, exc)

        return list(await asyncio.gather(*(one(p) for p in chosen.values())))

    async def send(
        self,
        profile: Profile,
        numbers: list[str] | None,
        *,
        options: SendOptions | None = None,
        confirm: Callable[[Plan], bool] | None = None,
        on_wait: Callable[[Wait], None] | None = None,
        on_progress: Callable[[SendProgress], None] | None = None,
    ) -> SendReport | None:
        """Send sales invoices (``None``: every queued one) after reconciling an interrupted send. ``confirm``
        (blocking, run in a thread) sees the plan first; ``None`` back from it means the user declined."""
        from ksef_tui.ksef.errors import KsefError
        from ksef_tui.services.sending import Sender, SendOptions, plan_send
        from ksef_tui.store.sales import SalesRepository

        options = options or SendOptions()
        store = await asyncio.to_thread(self.store, profile)
        try:
            if confirm is not None:
                plan = await asyncio.to_thread(
                    plan_send,
                    SalesRepository(store),
                    profile,
                    numbers,
                    include_before_start=options.include_before_start,
                )
                if plan.count and not await asyncio.to_thread(confirm, plan):
                    return None
            async with self.api(profile, on_wait=on_wait) as api:
                sender = Sender(
                    profile,
                    api,
                    store,
                    options=options,
                    progress=on_progress,
                    on_accepted=self._mail_hook(store, profile),
                )
                try:
                    report = await sender.send(numbers)
                except KsefError as exc:
                    raise SendFailed(reason=exc.message(), hint=exc.hint(), category=kept_category(exc)) from exc
            if profile.mail.auto and (report.accepted or report.reconciled):
                await asyncio.to_thread(self._deliver_mail, store, profile, report)
            return report
        finally:
            await asyncio.to_thread(store.close)

    def _deliver_mail(self, store: Store, profile: Profile, report: SendReport) -> None:
        """Automatic mail after a send: what the send queued goes out now. A failure never fails the send:
        the messages stay in the outbox (``ksef-tui mail`` retries) and the report counts them."""
        from ksef_tui.services import mail

        try:
            if not mail.pending_count(store):
                return
            password = (
                mail.stored_password(self.vault(profile), profile) if mail.password_needed(profile.mail) else None
            )
            result = mail.deliver_pending(store, profile, password)
        except UserError as exc:
            self.warn(exc.message())
            return
        report.mail_sent, report.mail_failed = len(result.sent), len(result.failed)

    def _mail_hook(self, store: Store, profile: Profile) -> Callable[[list[str]], None]:
        """Accepted invoices join the mail outbox when the profile mails KSeF numbers automatically."""
        from ksef_tui.services.mail import queue_after_acceptance

        def hook(numbers: list[str]) -> None:
            queue_after_acceptance(store, profile, numbers)

        return hook

    async def upo(self, profile: Profile, ksef_number: str) -> tuple[str, bytes]:
        """The UPO of a sales invoice by its KSeF number (the saved copy, else from KSeF): its number and bytes."""
        from ksef_tui.services.sending import fetch_upo, local_upo

        store = await asyncio.to_thread(self.store, profile)
        try:
            sale, path = await asyncio.to_thread(local_upo, store, ksef_number)
            if path is None:
                async with self.api(profile) as api:
                    sale, path = await fetch_upo(api, store, ksef_number)
            return sale.record.number, await asyncio.to_thread(path.read_bytes)
        finally:
            await asyncio.to_thread(store.close)


class SendFailed(UserError):
    """KSeF refused or failed a step of sending; every invoice's state says where it stands."""

    key = "send.failed"
    category = Category.KSEF


async def keep_verification(profile: Profile, verification: Verification) -> None:
    """The last verification of ``profile``, kept for the diagnostics screen and support (fingerprints only)."""
    from datetime import UTC

    from ksef_tui.services.diagnostics import record_verification

    await asyncio.to_thread(record_verification, profile, verification, datetime.now(UTC))


def kept_category(error: UserError) -> Category:
    """A sync or send cut short keeps the exit code of a refused credential (2), a missing permission (5) or an
    unreachable KSeF (3); any other KSeF refusal is 6."""
    kept = (Category.NETWORK, Category.AUTH, Category.PERMISSIONS, Category.CONFIG)
    return error.category if error.category in kept else Category.KSEF


def _opt(path: Path | str | None) -> str | None:
    return str(path) if path else None
