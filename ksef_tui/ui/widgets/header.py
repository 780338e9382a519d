"""The header every screen carries: the company (name + NIP), the KSeF environment (PROD unmistakable), the
credential (token or certificate, and the days it has left: tokens end on 2027-01-01), KSeF's state when it is not
available (maintenance until HH:MM, a failure since HH:MM, unreachable), the KSeF session, and a SANDBOX badge in
the sandbox. It follows the app's ``profile``/``overview``/``session_note``/``availability`` reactives."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from ksef_tui.domain.booking import WARSAW
from ksef_tui.i18n import t

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.availability import Availability
    from ksef_tui.services.overview import CompanyOverview
    from ksef_tui.ui.app import KsefApp

#: Days before the end of a credential from which the header warns.
WARN_DAYS = 60


def environment_label(profile: Profile) -> tuple[str, str]:
    """(label, CSS class): TEST / DEMO / PROD, or the host of a URL."""
    env = profile.environment
    if env in ("test", "demo", "prod"):
        return env.upper(), f"-env-{env}"
    host = env.split("://", 1)[-1].split("/", 1)[0]
    return host, "-env-url"


def pretty_nip(nip: str) -> str:
    return f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}" if len(nip) == 10 else nip


def credential_text(overview: CompanyOverview, now: datetime) -> tuple[str, str]:
    """(text, CSS class) of the credential's state."""
    days = overview.days_left(now)
    kind = t("header.token") if overview.is_token else t("header.certificate")
    if days is None:
        return kind, ""
    if days < 0:
        return t("header.expired", kind=kind), "-bad"
    text = t("header.days_left", kind=kind, count=days)
    if overview.is_token:
        text = t("header.token_until", kind=kind, count=days)
    return text, "-warn" if days <= WARN_DAYS else ""


def session_words(overview: CompanyOverview, now: datetime) -> tuple[str, str]:
    """(text, CSS class) of the KSeF session kept between runs: none, active until HH:MM, or to refresh."""
    session = overview.session
    if session.refresh_until is None or not session.active(now):
        return t("session.none"), "-muted"
    until = (session.access_until or session.refresh_until).astimezone(WARSAW)
    if session.access_until is not None and session.access_until > now:
        return t("session.active", until=f"{until:%H:%M}"), "-ok"
    return t("session.refreshable"), "-ok"


def session_text(overview: CompanyOverview | None, note: str, now: datetime) -> tuple[str, str]:
    """The header's session cell: what is happening now (``note``), else the kept session."""
    if note:
        return note, "-busy"
    if overview is None:
        return "", ""
    words, css = session_words(overview, now)
    return t("header.session", state=words), css


def _when(moment: datetime, now: datetime) -> str:
    """A moment as the header writes it: HH:MM today (Warsaw), else DD.MM HH:MM."""
    local = moment.astimezone(WARSAW)
    if local.date() == now.astimezone(WARSAW).date():
        return f"{local:%H:%M}"
    return f"{local:%d.%m %H:%M}"


def availability_text(availability: Availability | None, now: datetime) -> tuple[str, str]:
    """(text, CSS class) of KSeF's state; ("", "") while it is available or not known yet."""
    if availability is None or availability.available:
        return "", ""
    state = availability.state.value
    css = "-ksef-bad" if state in ("failure", "total_failure") else "-ksef-warn"
    if state == "maintenance":
        until = availability.until
        if until is not None and until > now:
            return t("availability.header.maintenance_until", until=_when(until, now)), css
        return t("availability.header.maintenance"), css
    since = availability.since
    if since is not None:
        return t(f"availability.header.{state}_since", since=_when(since, now)), css
    return t(f"availability.header.{state}"), css


class CompanyHeader(Horizontal):
    """One line: [SANDBOX] company · NIP │ ENV │ [KSeF's state] │ credential │ session."""

    DEFAULT_CSS: ClassVar[str] = """
    CompanyHeader { height: 1; dock: top; background: $panel; color: $foreground; }
    CompanyHeader > Static { width: auto; padding: 0 1; }
    CompanyHeader #header-company { text-style: bold; }
    CompanyHeader #header-spacer { width: 1fr; }
    CompanyHeader .-badge-sandbox { background: $accent; color: $background; text-style: bold; }
    CompanyHeader .-env-prod { background: $error; color: $background; text-style: bold; }
    CompanyHeader .-env-demo { background: $warning; color: $background; text-style: bold; }
    CompanyHeader .-env-test { background: $secondary; color: $background; text-style: bold; }
    CompanyHeader .-env-url { background: $secondary; color: $background; }
    CompanyHeader .-warn { color: $warning; text-style: bold; }
    CompanyHeader .-bad { color: $error; text-style: bold; }
    CompanyHeader .-ok { color: $success; }
    CompanyHeader .-busy { color: $accent; }
    CompanyHeader .-muted { color: $foreground-muted; }
    CompanyHeader .-ksef-warn { background: $warning; color: $background; text-style: bold; }
    CompanyHeader .-ksef-bad { background: $error; color: $background; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="header-sandbox")
        yield Static("", id="header-company")
        yield Static("", id="header-env")
        yield Static("", id="header-ksef")  # before the credential: a narrow terminal cuts the right end first
        yield Static("", id="header-credential")
        yield Static("", id="header-spacer")
        yield Static("", id="header-session")

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        app = self.ksef_app
        self.watch(app, "profile", self._refresh, init=False)
        self.watch(app, "overview", self._refresh, init=False)
        self.watch(app, "session_note", self._refresh, init=False)
        self.watch(app, "availability", self._refresh, init=False)
        self._refresh()

    def _refresh(self, _value: object = None) -> None:
        app = self.ksef_app
        now = app.clock()
        sandbox = self.query_one("#header-sandbox", Static)
        sandbox.update(t("header.sandbox") if app.sandbox else "")
        sandbox.set_class(bool(app.sandbox), "-badge-sandbox")
        sandbox.display = bool(app.sandbox)
        profile = app.profile
        company = self.query_one("#header-company", Static)
        env = self.query_one("#header-env", Static)
        credential = self.query_one("#header-credential", Static)
        if profile is None:
            company.update(t("header.no_company"))
            env.update("")
            env.display = False
            credential.update("")
        else:
            company.update(f"{profile.name} {app.glyphs.sep} NIP {pretty_nip(profile.nip)}")
            label, css = environment_label(profile)
            env.display = not app.sandbox  # the SANDBOX badge says where it runs
            env.update(label)
            env.set_classes(css)
            overview = app.overview
            if overview is not None and overview.profile.name == profile.name:
                text, css = credential_text(overview, now)
                credential.update(text)
                credential.set_classes(css)
            else:
                credential.update("")
        text, css = availability_text(app.availability if profile is not None else None, now)
        ksef = self.query_one("#header-ksef", Static)
        ksef.update(text)
        ksef.set_classes(css)
        ksef.display = bool(text)
        text, css = session_text(app.overview, app.session_note, now)
        session = self.query_one("#header-session", Static)
        session.update(text)
        session.set_classes(css)
