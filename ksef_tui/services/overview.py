"""What the TUI's header and company switcher show of a company: its credential and the days it has left, its
KSeF session, its last purchase import and how many sales invoices wait to be sent.

Blocking (the vault and the store): the UI runs it in thread workers. A store another process holds is opened
read-only; a vault or store that cannot be read leaves its fields unknown (``None``) with the reason in
``problems``, never an exception: a header must always paint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from ksef_tui.domain.credential import Credential, CredentialKind
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import UserError

if TYPE_CHECKING:
    from ksef_tui.services.workspace import Workspace

T = TypeVar("T")

UNSENT_STATES = ("draft", "queued", "sending", "rejected", "needs-attention")


@dataclass(frozen=True, slots=True)
class SessionState:
    """The KSeF session kept between runs: ``None`` fields mean there is none."""

    access_until: datetime | None = None
    refresh_until: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.refresh_until is not None and self.refresh_until > now


@dataclass(frozen=True, slots=True)
class CompanyOverview:
    profile: Profile
    credential: Credential
    session: SessionState = SessionState()
    last_sync: datetime | None = None
    purchases: int | None = None
    unsent: int | None = None
    rejected: int | None = None
    problems: tuple[str, ...] = field(default=())

    def days_left(self, now: datetime | None = None) -> int | None:
        return self.credential.days_left(now or datetime.now(UTC))

    @property
    def is_token(self) -> bool:
        return self.credential.kind is CredentialKind.TOKEN


def session_state(workspace: Workspace, profile: Profile) -> SessionState:
    """The saved session of ``profile`` (blocking; a vault that cannot answer means no known session)."""
    tokens = workspace.vault(profile).get_session(profile.vault_environment, profile.name)
    if tokens is None:
        return SessionState()
    return SessionState(tokens.access_valid_until, tokens.refresh_valid_until)


def overview(
    workspace: Workspace, profile: Profile, *, with_store: bool = True, credential: Credential | None = None
) -> CompanyOverview:
    """One company's overview (blocking); ``credential`` when the caller has read it already (many companies)."""
    problems: list[str] = []
    if credential is None or credential.fingerprint is None:
        credential = workspace.credential_of(profile)
    session = _guarded(problems, lambda: session_state(workspace, profile), SessionState())
    if not with_store or not workspace.store_path(profile).exists():
        return CompanyOverview(profile, credential, session, problems=tuple(problems))
    counts = _guarded(problems, lambda: _store_counts(workspace, profile), None)
    if counts is None:
        return CompanyOverview(profile, credential, session, problems=tuple(problems))
    last_sync, purchases, unsent, rejected = counts
    return CompanyOverview(profile, credential, session, last_sync, purchases, unsent, rejected, tuple(problems))


def overviews(workspace: Workspace) -> list[CompanyOverview]:
    """Every profile's overview, in the profiles' order (blocking)."""
    credentials = {c.name: c for c in workspace.profiles.credentials()}  # profiles.json read once, not per company
    return [
        overview(workspace, profile, credential=credentials.get(profile.credential_name))
        for profile in workspace.list_profiles()
    ]


def _guarded(problems: list[str], action: Callable[[], T], fallback: T) -> T:
    try:
        return action()
    except UserError as exc:
        problems.append(exc.message())
        return fallback


def _store_counts(workspace: Workspace, profile: Profile) -> tuple[datetime | None, int, int, int]:
    from ksef_tui.services.purchase_sync import CURSOR_KEY
    from ksef_tui.store.cursors import CursorRepository
    from ksef_tui.store.purchases import PurchaseRepository
    from ksef_tui.store.sales import SalesRepository, SendState

    store = workspace.store(profile, read_only=True)
    try:
        cursor = CursorRepository(store).get(CURSOR_KEY)
        purchases = PurchaseRepository(store).count()
        states = [sale.status.state for sale in SalesRepository(store).list()]  # one pass over the register
        unsent = sum(1 for state in states if state.value in UNSENT_STATES)
        rejected = sum(1 for state in states if state is SendState.REJECTED)
    finally:
        store.close()
    return (cursor.updated_at if cursor else None), purchases, unsent, rejected
