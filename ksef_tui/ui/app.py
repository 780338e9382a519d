"""The app shell: modes (one screen each), the company in use, the header's data, themes, keymap, palette.

``make_app(settings, workspace)`` is the one factory: ``ksef-tui``, ``ksef-tui setup``, ``ksef-tui sandbox``,
the Pilot and snapshot tests and the screenshot script all build the app through it. The first frame paints
before any store, vault or network work: those run in workers after mount.

When KSeF's ``availability`` turns back to available (or is available at the first look) and offline invoices
wait to be sent (issue 14), their deadlines are brought up to date from the outages KSeF announced and the app
says so once, with the key that sends them (``offline.send``, also in the palette): they go through the customer
transactions' send (``send_now``: its confirmation, its live glyphs, the exactly-once pipeline).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen
from textual.theme import Theme

from ksef_tui.i18n import t
from ksef_tui.ui.bindings import app_bindings, describe_keys, localize
from ksef_tui.ui.glyphs import Glyphs, glyphs

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.availability import Availability, AvailabilityWatch
    from ksef_tui.services.overview import CompanyOverview
    from ksef_tui.services.verify import Verification
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.settings import Settings

#: Colours taken from the xterm-256 palette's cube and grey ramp, so a plain 256-colour SSH terminal shows
#: them as designed (no nearest-colour banding).
KSEF_DARK = Theme(
    name="ksef-dark",
    primary="#5f87d7",
    secondary="#5fafaf",
    accent="#d7af5f",
    warning="#d7af00",
    error="#d75f5f",
    success="#5faf5f",
    foreground="#e4e4e4",
    background="#121212",
    surface="#1c1c1c",
    panel="#262626",
    dark=True,
    # Opaque, so muted words have one colour on any background (Textual's default is the foreground at 60 %,
    # blended with whatever is behind: a table's cells resolved while it had focus differed from the rest).
    variables={"foreground-muted": "#949494"},
)
KSEF_LIGHT = Theme(
    name="ksef-light",
    primary="#005faf",
    secondary="#008787",
    accent="#af5f00",
    warning="#af8700",
    error="#af0000",
    success="#008700",
    foreground="#1c1c1c",
    background="#eeeeee",
    surface="#e4e4e4",
    panel="#d0d0d0",
    dark=False,
    variables={"foreground-muted": "#6c6c6c"},
)
DEFAULT_THEME = KSEF_DARK.name
#: Seconds between looks at KSeF's availability (the network only every few minutes or after a failed call).
AVAILABILITY_TICK = 30.0

#: Keys Textual shows as symbols, in the words the ASCII glyph set uses instead.
ASCII_KEYS = {"enter": "enter", "up": "up", "down": "down", "left": "left", "right": "right", "escape": "esc"}

#: Screens by mode name, with the i18n key of their name in the palette and the binding that opens them.
SCREENS: dict[str, tuple[str, str]] = {
    "home": ("screen.home", "goto.home"),
    "purchases": ("screen.purchases", "goto.purchases"),
    "transactions": ("screen.transactions", "goto.transactions"),
    "setup": ("screen.setup", "goto.setup"),
    "diagnostics": ("screen.diagnostics", "goto.diagnostics"),
    "api_log": ("screen.api_log", "goto.api_log"),
}


@dataclass(frozen=True, slots=True)
class SetupPrefill:
    """``ksef-tui setup --env … --nip … --start-date … --name …``: the wizard opens with these filled."""

    environment: str = ""
    nip: str = ""
    start_date: str = ""
    name: str = ""


def _screen(module: str, name: str) -> Callable[[], Screen[None]]:
    """A mode's screen, its module imported when the mode is first shown (nothing heavy before the first frame)."""

    def build() -> Screen[None]:
        screen: Screen[None] = getattr(importlib.import_module(f"ksef_tui.ui.screens.{module}"), name)()
        return screen

    return build


class KsefApp(App[int]):
    """ksef-tui: the company in use, its header data, and the way between screens."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "ksef-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        *app_bindings(),
        Binding(
            "f8,alt+w",
            "send_offline",
            "offline.bind.send",
            id="offline.send",
            show=False,
            tooltip="offline.bind.send.help",
        ),
    ]
    MODES: ClassVar[dict[str, str | Callable[[], Screen[None]]]] = {
        "home": _screen("home", "HomeScreen"),
        "purchases": _screen("purchases", "PurchasesScreen"),
        "transactions": _screen("transactions", "TransactionsScreen"),
        "setup": _screen("wizard", "SetupWizardScreen"),
        "diagnostics": _screen("diagnostics", "DiagnosticsScreen"),
        "api_log": _screen("api_log", "ApiLogScreen"),
    }

    profile: var[Profile | None] = var(None)
    overview: var[CompanyOverview | None] = var(None)
    session_note: var[str] = var("")  # "" = what the overview says; else e.g. "opening a KSeF session…"
    last_verification: var[Verification | None] = var(None)
    availability: var[Availability | None] = var(None)  # KSeF's state (services.availability); None: not known

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sandbox: str = "",
        setup: SetupPrefill | None = None,
        profile_name: str = "",
        warnings: list[str] | None = None,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        localize(self)
        self._localize_palette_binding()
        self.workspace = workspace
        self.settings = settings
        self.glyphs: Glyphs = glyphs(settings.ascii)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.sandbox = sandbox  # "" or what the SANDBOX badge says it runs against
        self.setup_prefill = setup
        self.profile_name = profile_name
        self.warnings = warnings if warnings is not None else []
        self._prepare = prepare
        self._availability_watch: AvailabilityWatch | None = None
        self._offline_told = False  # KSeF's return with offline invoices waiting was said (once per return)
        self.register_theme(KSEF_DARK)
        self.register_theme(KSEF_LIGHT)

    def _localize_palette_binding(self) -> None:
        """Textual adds the palette's own binding with an English label; ours says it in the user's language."""
        from dataclasses import replace

        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [
                replace(b, description=t("bind.palette"), tooltip=t("bind.palette.help"), id=b.id or "app.palette")
                if b.action in ("command_palette", "app.command_palette")
                else b
                for b in bindings
            ]

    def get_key_display(self, binding: Binding) -> str:
        """A key as the footer and the palette show it; with the ASCII glyph set, Textual's symbols (⏎ for enter,
        arrows) in words, so a terminal without them shows every key."""
        shown = super().get_key_display(binding)
        if self.settings.ascii and not shown.isascii():
            return ASCII_KEYS.get(binding.key.split(",")[0], binding.key.split(",")[0])
        return shown

    # ------------------------------------------------------------------------------------------- start

    def on_mount(self) -> None:
        wanted = self.settings.theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))
        self.switch_mode("setup" if self.setup_prefill is not None else "home")
        for warning in self.warnings:
            self.notify(warning, severity="warning", timeout=10)
        self.call_after_refresh(self.start_work)

    def start_work(self) -> None:
        """After the first frame: the company's store, vault and KSeF work, all in workers."""
        self.set_interval(AVAILABILITY_TICK, self.check_availability)
        if self._prepare is not None:
            self._run_prepare(self._prepare)
        else:
            self._load_company()

    @work(exclusive=True, group="app-prepare", exit_on_error=False, description="prepare the sandbox")
    async def _run_prepare(self, prepare: Callable[[], Awaitable[None]]) -> None:
        """The sandbox's demo data, made after the first frame (the header says so meanwhile)."""
        from ksef_tui.errors import report

        self.session_note = t("app.preparing")
        try:
            await prepare()
        except Exception as exc:
            self.notify(t("app.prepare_failed", problem=report(exc).message), severity="error", timeout=15)
        finally:
            self.session_note = ""
        self._load_company()

    @work(thread=True, exclusive=True, group="company-load", exit_on_error=False, description="load company")
    def _load_company(self, name: str | None = None) -> None:
        """Pick the company (the named one, ``--profile``, else the first) and read its overview."""
        from ksef_tui.errors import UserError

        try:
            profiles = self.workspace.list_profiles()
        except UserError as exc:
            self.call_from_thread(self.notify, exc.message(), severity="error", timeout=10)
            return
        if not profiles:
            self.call_from_thread(self._first_run)
            return
        wanted = name or self.profile_name
        profile = next((p for p in profiles if p.name == wanted), profiles[0])
        self.call_from_thread(setattr, self, "profile", profile)
        from ksef_tui.services.setup import MASTER_PASSWORD_REQUIRED, vault_problem

        problem = vault_problem(self.workspace, profile)
        if problem is not None and problem.key == MASTER_PASSWORD_REQUIRED:
            self.call_from_thread(self._ask_master_password, profile)
            return
        if problem is not None:
            self.call_from_thread(self.notify, problem.message(), severity="error", timeout=15)
        self._read_overview(profile)

    def _ask_master_password(self, profile: Profile) -> None:
        from ksef_tui.ui.screens.unlock import UnlockDialog

        def opened(ok: bool | None) -> None:
            if ok:
                self._refresh_overview(profile)
            else:
                self.notify(t("unlock.later"), severity="warning", timeout=10)
                self._refresh_overview(profile)

        self.push_screen(UnlockDialog(profile), opened)

    def _read_overview(self, profile: Profile) -> None:
        from ksef_tui.services.overview import overview

        data = overview(self.workspace, profile)
        self.call_from_thread(setattr, self, "overview", data)

    def _first_run(self) -> None:
        if self.current_mode != "setup":
            self.switch_mode("setup")
        self.notify(t("app.first_run"), timeout=8)

    def refresh_company(self) -> None:
        """Read the company's overview again (after a verification, a sync, a send)."""
        if self.profile is not None:
            self._refresh_overview(self.profile)

    @work(thread=True, exclusive=True, group="company-overview", exit_on_error=False, description="overview")
    def _refresh_overview(self, profile: Profile) -> None:
        self._read_overview(profile)

    def use_company(self, name: str) -> None:
        """Work in another company (the switcher's choice, or a profile just saved by the wizard)."""
        if self.profile is not None and self.profile.name == name and self.overview is not None:
            self.refresh_company()
            return
        self.overview = None
        self._load_company(name)

    def watch_profile(self, profile: Profile | None) -> None:
        self.availability = None
        self._offline_told = False
        self.check_availability()

    def watch_availability(self, old: Availability | None, new: Availability | None) -> None:
        """KSeF back after being down: offline invoices waiting are offered to be sent (once per return)."""
        if new is None:
            return
        if not new.available:
            self._offline_told = False
            return
        if (old is None or not old.available) and not self._offline_told and self.profile is not None:
            self._offline_told = True  # the first look too: KSeF may have come back while the app was closed
            self._offline_waiting(self.profile, send=False, back=old is not None)

    def action_send_offline(self) -> None:
        """Send the offline invoices waiting (through the customer transactions' send, with its confirmation)."""
        if self.profile is not None:
            self._offline_waiting(self.profile, send=True)

    @work(thread=True, exclusive=True, group="offline-waiting", exit_on_error=False, description="offline invoices")
    def _offline_waiting(self, profile: Profile, *, send: bool, back: bool = True) -> None:
        """The offline invoices KSeF has not accepted (their deadlines brought up to date first); sent, or said."""
        from ksef_tui.services.dashboard import offline_waiting

        waiting = offline_waiting(self.workspace, profile, self.clock())
        if send:
            if waiting.count:
                self.call_from_thread(self.send_now, list(waiting.numbers))
            else:
                self.call_from_thread(self.notify, t("offline.app.none"), timeout=6)
            return
        if waiting.count:
            keys = self._keys_of("offline.send")
            key = "offline.app.back" if back else "offline.app.waiting"
            message = t(key, count=waiting.count, keys=describe_keys(keys) if keys else "-")
            severity = "warning" if waiting.due else "information"
            self.call_from_thread(self.notify, message, severity=severity, timeout=30)
            self.call_from_thread(self.refresh_company)

    def check_availability(self) -> None:
        """Look at KSeF's state now (a timer does every few seconds; a screen may after a KSeF call failed)."""
        if self.profile is not None:
            self._check_availability(self.profile)

    @work(exclusive=True, group="availability", exit_on_error=False, description="KSeF availability")
    async def _check_availability(self, profile: Profile) -> None:
        from ksef_tui.services.availability import AvailabilityWatch, refresh

        if self._availability_watch is None:
            self._availability_watch = AvailabilityWatch()
        try:
            state = await refresh(self.workspace, profile, watch=self._availability_watch)
        except Exception:  # never a crashed app: the header keeps what it showed, the next look tries again
            return
        if self.profile is not None and self.profile.name == profile.name:
            self.availability = state

    # ----------------------------------------------------------------------------------------- actions

    def action_goto(self, mode: str) -> None:
        if mode in self.MODES and self.current_mode != mode:
            self.switch_mode(mode)

    def action_switch_company(self) -> None:
        from ksef_tui.ui.screens.switcher import CompanySwitcher

        def chosen(name: str | None) -> None:
            if name:
                self.use_company(name)

        self.push_screen(CompanySwitcher(current=self.profile.name if self.profile else ""), chosen)

    def action_new_invoice(self, correct: str | None = None) -> None:
        """The sales invoice form (or a correction of ``correct``); "send now" after saving goes to the customer
        transactions, where the send shows its glyphs live."""
        from ksef_tui.ui.screens.invoice_form import FormResult, InvoiceFormScreen

        if isinstance(self.screen, InvoiceFormScreen):  # one form at a time
            return

        def saved(result: FormResult | None) -> None:
            if result is not None and result.send:
                self.send_now([result.number])

        self.push_screen(InvoiceFormScreen(correct=correct), saved)

    def send_now(self, numbers: list[str]) -> None:
        """Send ``numbers`` from the customer transactions screen (it shows each one's KSeF status as it moves)."""
        from ksef_tui.ui.screens.transactions import TransactionsScreen

        def start() -> None:
            screen = self.screen
            if isinstance(screen, TransactionsScreen):
                screen.send(numbers)

        self.action_goto("transactions")
        self.call_after_refresh(start)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every screen by its name and every app binding by its label, beside Textual's own (theme, keys…)."""
        for mode, (name_key, binding_id) in SCREENS.items():
            keys = self._keys_of(binding_id)
            help_text = t(f"{name_key}.help") + (f"  [{describe_keys(keys)}]" if keys else "")
            yield SystemCommand(t(name_key), help_text, lambda m=mode: self.action_goto(m))
        new_keys = self._keys_of("invoice.new")
        yield SystemCommand(
            t("cmd.new_invoice"), t("cmd.new_invoice.help") + f"  [{describe_keys(new_keys)}]", self.action_new_invoice
        )
        switch_keys = self._keys_of("company.switch")
        yield SystemCommand(
            t("cmd.switch"), t("cmd.switch.help") + f"  [{describe_keys(switch_keys)}]", self.action_switch_company
        )
        covered = {binding_id for _name, binding_id in SCREENS.values()} | {"company.switch", "invoice.new"}
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.id or binding.id in covered or binding.id in seen or not binding.description:
                continue
            seen.add(binding.id)
            help_text = f"{binding.tooltip}  [{describe_keys(key)}]" if binding.tooltip else f"[{describe_keys(key)}]"
            yield SystemCommand(
                binding.description,
                help_text,
                lambda node=active.node, action=binding.action: self.call_later(self.run_action, action, node),
            )
        yield from self._textual_commands(screen)

    def _textual_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own palette entries (theme, keys, screenshot) in the user's language; quitting is ours."""
        yield SystemCommand(t("cmd.theme"), t("cmd.theme.help"), self.action_change_theme)
        if screen.query("HelpPanel"):
            yield SystemCommand(t("cmd.keys"), t("cmd.keys.hide"), self.action_hide_help_panel)
        else:
            yield SystemCommand(t("cmd.keys"), t("cmd.keys.show"), self.action_show_help_panel)
        yield SystemCommand(
            t("cmd.screenshot"), t("cmd.screenshot.help"), lambda: self.set_timer(0.1, self.deliver_screenshot)
        )

    def action_command_palette(self) -> None:
        """The palette, with its prompt in the user's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not any(isinstance(s, CommandPalette) for s in self.screen_stack):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=t("palette.placeholder")))

    def search_themes(self) -> None:
        from textual.command import CommandPalette
        from textual.theme import ThemeProvider

        self.push_screen(CommandPalette(providers=[ThemeProvider], placeholder=t("palette.themes")))

    def _keys_of(self, binding_id: str) -> str:
        """The keys that run the binding ``binding_id`` now (the user's keymap, else the defaults)."""
        if binding_id in self.settings.keys:
            return self.settings.keys[binding_id]
        keys = [b.key for group in self._bindings.key_to_bindings.values() for b in group if b.id == binding_id]
        return ",".join(keys)


def make_app(
    settings: Settings,
    workspace: Workspace,
    *,
    clock: Callable[[], datetime] | None = None,
    sandbox: str = "",
    setup: SetupPrefill | None = None,
    profile_name: str = "",
    warnings: list[str] | None = None,
    prepare: Callable[[], Awaitable[None]] | None = None,
) -> KsefApp:
    """The app with its services: the one way every face and test builds it. ``prepare`` runs after the first
    frame, before the company is loaded (the sandbox's demo data)."""
    return KsefApp(
        workspace,
        settings,
        clock=clock,
        sandbox=sandbox,
        setup=setup,
        profile_name=profile_name,
        warnings=warnings,
        prepare=prepare,
    )
