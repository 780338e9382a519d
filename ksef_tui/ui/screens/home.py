"""The home screen: the company at a glance. On the left its card (credential, session, last import) and the way
to every screen by its key (Enter on a line opens it); on the right (below them on a narrow terminal) a small
dashboard: this month's sales and purchases, VAT due against VAT deductible, what waits to be sent or was
rejected, and the KSeF traffic of the last 30 days as bars per day (received, sent).

Offline invoicing (issue 14): the summary counts the offline invoices waiting to be sent with the most urgent
deadline (the error colour when one is due today or overdue), and while the app's ``availability`` says KSeF is
down a line above the dashboard offers to issue invoices offline (the new-invoice key).

The dashboard is read by ``services.dashboard`` in a thread worker, never before the first frame (the store
loads with it); it is read again when the company's overview changes (after a sync, a send, a switch of
company) and whenever the screen is shown again. A store that cannot be read shows ``-`` and the reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import ScrollableContainer, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ksef_tui.domain.booking import WARSAW, Period, warsaw_date
from ksef_tui.i18n import t
from ksef_tui.services.dashboard import Dashboard, month_name, window
from ksef_tui.ui.bindings import describe_keys, localize
from ksef_tui.ui.widgets.bars import DayAxis, DayBars
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader, credential_text, pretty_nip, session_words
from ksef_tui.ui.widgets.month_summary import MonthSummary

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.overview import CompanyOverview
    from ksef_tui.ui.app import KsefApp

#: The menu: (mode or "switch", binding id). A mode the app has not registered yet is left out.
MENU = (
    ("purchases", "goto.purchases"),
    ("transactions", "goto.transactions"),
    ("setup", "goto.setup"),
    ("diagnostics", "goto.diagnostics"),
    ("api_log", "goto.api_log"),
    ("switch", "company.switch"),
)
LOAD_GROUP = "home-dashboard"
#: Rows of each traffic chart.
CHART_ROWS = 3
#: Below this width the dashboard goes under the company card (the two columns need 48 + 40 and their gaps).
NARROW = 92


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
    ]
    if overview.is_token:
        lines.append("")
        lines.append(t("home.tokens_end"))
    lines.extend(f"! {problem}" for problem in overview.problems)
    return lines


class HomeScreen(Screen[None]):
    """The company card, the menu of screens and the company's dashboard."""

    CSS_PATH = "../styles/home.tcss"
    DEFAULT_CSS: ClassVar[str] = """
    HomeScreen #dash-offline-offer { height: auto; padding: 0 1; color: $text-warning; text-style: bold; }
    HomeScreen #dash-offline-offer.-ksef-bad { color: $text-error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = []

    class DashboardRead(Message):
        """The worker read the dashboard of ``profile``."""

        def __init__(self, profile: str, dashboard: Dashboard) -> None:
            super().__init__()
            self.profile = profile
            self.dashboard = dashboard

    def __init__(self) -> None:
        super().__init__()
        localize(self)
        self.dashboard: Dashboard | None = None
        self.dashboard_of = ""  # the profile the dashboard was read for

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.ksef_app
        ascii_only = app.settings.ascii
        yield CompanyHeader()
        yield Static(t("screen.home"), classes="screen-title", id="dash-title")
        with ScrollableContainer(id="dash-body"):
            with Vertical(id="dash-left"):
                card = Static(t("home.loading"), id="dash-card", markup=False)
                card.border_title = t("home.company")
                yield card
                menu = OptionList(id="dash-menu")
                menu.border_title = t("home.menu")
                yield menu
            with Vertical(id="dash-right"):
                offer = Static("", id="dash-offline-offer", markup=False)
                offer.display = False
                yield offer
                with Vertical(id="dash-month") as month:
                    month.border_title = t("dash.this_month", month=month_name(Period.of(warsaw_date(app.clock()))))
                    yield MonthSummary(ascii_only=ascii_only, fail=app.glyphs.fail, id="dash-summary")
                with Vertical(id="dash-traffic") as traffic:
                    traffic.border_title = t("dash.traffic")
                    yield Static(t("dash.received"), id="dash-received-label", classes="dash-series", markup=False)
                    yield DayBars(height=CHART_ROWS, ascii_only=ascii_only, id="dash-received", classes="-received")
                    yield Static(t("dash.sent"), id="dash-sent-label", classes="dash-series", markup=False)
                    yield DayBars(height=CHART_ROWS, ascii_only=ascii_only, id="dash-sent")
                    yield DayAxis(ascii_only=ascii_only, id="dash-axis")
                yield Static("", id="dash-problem", markup=False)
        yield KsefFooter()

    def on_mount(self) -> None:
        app = self.ksef_app
        menu = self.query_one("#dash-menu", OptionList)
        entries = [(name, binding_id) for name, binding_id in MENU if name == "switch" or name in app.MODES]
        labels = {name: t(f"screen.{name}") if name != "switch" else t("cmd.switch") for name, _ in entries}
        width = max(cell_len(label) for label in labels.values()) + 2
        for name, binding_id in entries:
            keys = describe_keys(app._keys_of(binding_id)) if app._keys_of(binding_id) else ""
            label = labels[name]
            menu.add_option(Option(label + " " * (width - cell_len(label)) + keys, id=name))
        self._show_traffic(None)
        self.watch(app, "overview", self._overview_changed, init=True)
        self.watch(app, "availability", self._availability_changed, init=True)
        menu.highlighted = 0
        menu.focus()

    def on_resize(self, event: Resize) -> None:
        """Side by side when both columns fit, else the dashboard under the card and the menu (scrolls)."""
        self.query_one("#dash-body").set_class(event.size.width < NARROW, "-narrow")

    def on_screen_resume(self) -> None:
        """Shown again (back from another screen): bookings or sends made there change the numbers."""
        if self.dashboard is not None:
            self._reload()

    # ------------------------------------------------------------------------------------------ company

    def _overview_changed(self, _value: object = None) -> None:
        app = self.ksef_app
        overview = app.overview
        if overview is None and app.profile is None:
            text = t("home.no_company")
        else:
            text = "\n".join(summary_lines(overview, app.clock()))
        self.query_one("#dash-card", Static).update(text)
        self._show_summary()
        self._reload()

    def _availability_changed(self, _value: object = None) -> None:
        """KSeF down (announced or not): offer to issue invoices offline, with the key of the new-invoice form."""
        from ksef_tui.ui.widgets.header import availability_text

        app = self.ksef_app
        state, css = availability_text(app.availability, app.clock())
        offer = self.query_one("#dash-offline-offer", Static)
        offer.display = bool(state)
        if state:
            keys = app._keys_of("invoice.new")
            offer.update(t("home.offline_offer", state=state, keys=describe_keys(keys) if keys else "-"))
        offer.set_class(css == "-ksef-bad", "-ksef-bad")

    def _reload(self) -> None:
        """Read the dashboard again for the company whose overview is shown (none yet: nothing to read)."""
        overview = self.ksef_app.overview
        if overview is not None:
            self._read_dashboard(overview.profile)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="home: dashboard")
    def _read_dashboard(self, profile: Profile) -> None:
        """The store, read-only (blocking); the result comes back as a message, never touches widgets."""
        from ksef_tui.services.dashboard import dashboard

        app = self.ksef_app
        self.post_message(self.DashboardRead(profile.name, dashboard(app.workspace, profile, app.clock())))

    def on_home_screen_dashboard_read(self, message: DashboardRead) -> None:
        overview = self.ksef_app.overview
        if overview is None or overview.profile.name != message.profile:
            return  # another company was chosen meanwhile: its own read follows
        self.dashboard, self.dashboard_of = message.dashboard, message.profile
        month = self.query_one("#dash-month", Vertical)
        month.border_title = t("dash.this_month", month=month_name(message.dashboard.month))
        self._show_summary()
        self._show_traffic(message.dashboard)

    # ------------------------------------------------------------------------------------------ drawing

    def _show_summary(self) -> None:
        overview = self.ksef_app.overview
        dash = self.dashboard
        if overview is None or overview.profile.name != self.dashboard_of:
            dash = None
        unsent = None if overview is None else overview.unsent
        rejected = None if overview is None else overview.rejected
        self.query_one(MonthSummary).show(dash, unsent, rejected)
        problem = self.query_one("#dash-problem", Static)
        problem.update(dash.problem if dash is not None else "")
        problem.display = dash is not None and bool(dash.problem)

    def _show_traffic(self, dash: Dashboard | None) -> None:
        traffic = None if dash is None else dash.traffic
        today = warsaw_date(self.ksef_app.clock())
        received = self.query_one("#dash-received", DayBars)
        sent = self.query_one("#dash-sent", DayBars)
        axis = self.query_one("#dash-axis", DayAxis)
        if traffic is None:
            first = window(today)
            days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
            received.show([0] * len(days), 1)
            sent.show([0] * len(days), 1)
            axis.show(days)
            missing = "…" if dash is None else "-"
            self.query_one("#dash-received-label", Static).update(f"{t('dash.received')}: {missing}")
            self.query_one("#dash-sent-label", Static).update(f"{t('dash.sent')}: {missing}")
            return
        top = max([1, *traffic.received, *traffic.sent])  # one scale for both: the bars compare
        received.show(traffic.received, top)
        sent.show(traffic.sent, top)
        axis.show(traffic.days)
        self.query_one("#dash-received-label", Static).update(f"{t('dash.received')}: {sum(traffic.received)}")
        self.query_one("#dash-sent-label", Static).update(f"{t('dash.sent')}: {sum(traffic.sent)}")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == "switch":
            self.ksef_app.action_switch_company()
        elif event.option.id:
            self.ksef_app.action_goto(event.option.id)
