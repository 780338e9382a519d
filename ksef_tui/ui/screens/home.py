"""The home screen: the company at a glance (credential, session, last import, what waits to be sent) and the
way to every screen by its key; Enter on a line opens it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ksef_tui.domain.booking import WARSAW
from ksef_tui.i18n import t
from ksef_tui.ui.bindings import describe_keys, localize
from ksef_tui.ui.widgets.header import CompanyHeader, credential_text, pretty_nip, session_words

if TYPE_CHECKING:
    from ksef_tui.services.overview import CompanyOverview
    from ksef_tui.ui.app import KsefApp

MENU = (
    ("setup", "goto.setup"),
    ("diagnostics", "goto.diagnostics"),
    ("api_log", "goto.api_log"),
    ("switch", "company.switch"),
)


def _moment(value: datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(WARSAW):%d.%m.%Y %H:%M}"


def summary_lines(overview: CompanyOverview | None, now: datetime) -> list[str]:
    """The company card's lines (plain text, translated)."""
    if overview is None:
        return [t("home.loading")]
    profile = overview.profile
    credential, _ = credential_text(overview, now)
    session, _ = session_words(overview, now)
    lines = [
        f"{t('home.company')}: {profile.name} (NIP {pretty_nip(profile.nip)})",
        f"{t('home.environment')}: {profile.environment}",
        f"{t('home.start_date')}: {profile.start_date:%d.%m.%Y}",
        f"{t('home.credential')}: {credential}",
        f"{t('home.session')}: {session}",
        f"{t('home.last_sync')}: {_moment(overview.last_sync)}",
        f"{t('home.purchases')}: {'-' if overview.purchases is None else overview.purchases}",
        f"{t('home.unsent')}: {'-' if overview.unsent is None else overview.unsent}",
        f"{t('home.rejected')}: {'-' if overview.rejected is None else overview.rejected}",
    ]
    if overview.is_token:
        lines.append("")
        lines.append(t("home.tokens_end"))
    lines.extend(f"! {problem}" for problem in overview.problems)
    return lines


class HomeScreen(Screen[None]):
    """The company card and the menu of screens."""

    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self) -> None:
        super().__init__()
        localize(self)

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield CompanyHeader()
        with Vertical(id="home-body"):
            yield Static(t("screen.home"), classes="screen-title")
            yield Static(t("home.loading"), id="home-card")
            yield Static(t("home.menu"), classes="section-title")
            yield OptionList(id="home-menu")
        yield Footer()

    def on_mount(self) -> None:
        app = self.ksef_app
        menu = self.query_one("#home-menu", OptionList)
        for name, binding_id in MENU:
            keys = describe_keys(app._keys_of(binding_id))
            label = t(f"screen.{name}") if name != "switch" else t("cmd.switch")
            menu.add_option(Option(f"{label:<34} {keys}", id=name))
        self.watch(app, "overview", self._show, init=True)
        menu.highlighted = 0
        menu.focus()

    def _show(self, _value: object = None) -> None:
        app = self.ksef_app
        overview = app.overview
        if overview is None and app.profile is None:
            text = t("home.no_company")
        else:
            text = "\n".join(summary_lines(overview, app.clock()))
        self.query_one("#home-card", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == "switch":
            self.ksef_app.action_switch_company()
        elif event.option.id:
            self.ksef_app.action_goto(event.option.id)
