"""The Diagnostics screen and the KSeF communication log (issue 12 §3): what support sees, the report copied
(OSC 52) and saved (never over a file), the log's calls newest first with the failed ones marked, Enter on a call
showing its redacted request and response; snapshots in Polish and English.

Everything runs against the real ``Workspace`` (memory vault, XDG folders and ``HOME`` in ``tmp_path``). For the
snapshots the host's own facts (versions, platform, filesystem) are fixed, and the company's session, last check
and API log are written as a run would have left them, at fixed times."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from ksef_tui.domain.profile import Profile
from ksef_tui.domain.session import SessionTokens
from ksef_tui.i18n import set_language
from ksef_tui.services import diagnostics
from ksef_tui.services.connection import api_log_path
from ksef_tui.services.diagnostics import ApiCall, HttpMessage, SystemInfo, Versions, record_verification
from ksef_tui.services.verify import Step, Verification
from ksef_tui.store.apilog import append_api_log
from ksef_tui.ui.app import KsefApp
from ksef_tui.ui.screens.api_log import ApiCallDialog, ApiLogScreen, ApiLogTable
from ksef_tui.ui.screens.diagnostics import DiagnosticsScreen
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog
from ksef_tui.vault import Vault

from ..conftest import Sim
from .conftest import FIXED_NOW, add_token_profile, eventually, settle

SIZE = (100, 30)
S = TypeVar("S", bound=Screen[Any])
NIP = "5265877635"
TOKEN = "20251130-EC-0123456789-ABCDEF0123-45|nip-5265877635|" + "cd" * 32
ACCESS = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY2Nlc3MifQ.c2lnbmF0dXJlLWFjY2Vzcw"
REFRESH = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWZyZXNoIn0.c2lnbmF0dXJlLXJlZnJlc2g"
AUTH_REF = "20261130-AU-0326FB695F-FB3A1890C7-A6"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The home directory in ``tmp_path`` too: paths show as ``~/…`` and the report is saved there."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def fixed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Versions, platform and filesystem as on one machine (snapshots must not change with the host)."""
    monkeypatch.setattr(diagnostics, "versions", lambda: Versions("0.1.0", "8.2.8", "3.11.7 (CPython)"))
    system = SystemInfo(
        platform="Linux-6.1.0-x86_64-with-glibc2.36",
        term="xterm-256color",
        colorterm="truecolor",
        locale="pl_PL.UTF-8 (UTF-8)",
        timezone="Europe/Warsaw (CET, +01:00)",
        ssh=True,
        tmux=False,
    )
    monkeypatch.setattr(diagnostics, "system_info", lambda _now=None: system)
    monkeypatch.setattr(diagnostics, "filesystem_of", lambda _path: "ext4")


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)  # back to KSEF_TUI_LANG: a forced language would follow the next tests


def at(seconds: int) -> datetime:
    return FIXED_NOW - timedelta(minutes=10) + timedelta(seconds=seconds)


def json_body(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def logged_calls() -> list[ApiCall]:
    """A login, then an export KSeF refused, one that got no answer and its repeat, as the client logs them."""
    accept = (("user-agent", "ksef-tui"), ("accept", "application/json"))
    bearer = (*accept, ("authorization", "Bearer ‹redacted, 498 bytes›"))
    answer = (("content-type", "application/json; charset=utf-8"),)
    return [
        ApiCall(
            at(0),
            "POST",
            "/auth/challenge",
            200,
            4,
            "auth",
            request=HttpMessage(accept),
            response=HttpMessage(
                answer,
                json_body({"challenge": "20261130-CR-80922B28FE-F02B9C014E-54", "timestampMs": 1796007000000}),
                "application/json",
                112,
            ),
        ),
        ApiCall(
            at(1),
            "POST",
            "/auth/ksef-token",
            202,
            6,
            "auth",
            request=HttpMessage(
                (*accept, ("content-type", "application/json")),
                json_body(
                    {
                        "challenge": "20261130-CR-80922B28FE-F02B9C014E-54",
                        "contextIdentifier": {"type": "Nip", "value": NIP},
                        "encryptedToken": "‹redacted, 344 bytes›",
                    }
                ),
                "application/json",
                533,
            ),
            response=HttpMessage(
                answer,
                json_body(
                    {
                        "referenceNumber": AUTH_REF,
                        "authenticationToken": {"token": "‹redacted, 491 bytes›", "validUntil": "2026-11-30T09:05:01Z"},
                    }
                ),
                "application/json",
                640,
            ),
        ),
        ApiCall(
            at(2),
            "POST",
            "/auth/token/redeem",
            200,
            9,
            "auth",
            request=HttpMessage(bearer),
            response=HttpMessage(
                answer,
                json_body({"accessToken": {"token": "‹redacted, 512 bytes›", "validUntil": "2026-11-30T09:05:02Z"}}),
                "application/json",
                1200,
            ),
        ),
        ApiCall(
            at(30),
            "POST",
            "/invoices/exports",
            400,
            7,
            "invoiceExport",
            codes=(21405,),
            request=HttpMessage(
                bearer,
                json_body(
                    {
                        "encryption": {"encryptedSymmetricKey": "‹redacted, 344 bytes›"},
                        "filters": {"subjectType": "Subject2"},
                    }
                ),
                "application/json",
                700,
            ),
            response=HttpMessage(
                answer,
                json_body(
                    {"status": 400, "errors": [{"code": 21405, "description": "Błąd walidacji danych wejściowych."}]}
                ),
                "application/problem+json",
                150,
            ),
        ),
        ApiCall(
            at(45),
            "GET",
            "/invoices/exports/20261130-EX-1A2B3C4D5E-6F7A8B9C0D-EF",
            None,
            30001,
            "invoiceExport",
            note="timeout",
            request=HttpMessage(bearer),
        ),
        ApiCall(
            at(60),
            "GET",
            "/invoices/exports/20261130-EX-1A2B3C4D5E-6F7A8B9C0D-EF",
            200,
            35,
            "invoiceExport",
            request=HttpMessage(bearer),
            response=HttpMessage(answer, json_body({"status": {"code": 100}}), "application/json", 24),
        ),
    ]


def seed(app: KsefApp, profile: Profile) -> None:
    """The company as a run would leave it: a session, a failed last check, an API log (with one older line)."""
    vault: Vault = app.workspace.vault(profile)
    vault.set_session(
        profile.vault_environment,
        profile.name,
        SessionTokens(ACCESS, FIXED_NOW + timedelta(minutes=5), REFRESH, FIXED_NOW + timedelta(days=7), AUTH_REF),
    )
    checked = Verification(profile.name, profile.environment, "3f2a9c1d")
    checked.steps = [
        Step("token_shape", True, 1, "the token is well-formed"),
        Step("ksef_reachable", True, 12, "KSeF answers"),
        Step("challenge", True, 4, "clock difference +0.2 s"),
        Step("token_accepted", True, 347, "token accepted"),
        Step("permissions", False, 11, "missing: invoice issuing (InvoiceWrite)", hint="ask the owner for it"),
    ]
    checked.permissions = ("InvoiceRead",)
    record_verification(profile, checked, FIXED_NOW - timedelta(minutes=20))
    older = "2026-11-29 08:00:00 GET    /tokens 200 41ms [other]"
    append_api_log(api_log_path(profile), [older, *(call.record() for call in logged_calls())])


def company_app(app_factory: Callable[..., KsefApp]) -> tuple[KsefApp, Profile]:
    app = app_factory()
    profile = app.workspace.add_profile("firma", NIP, "test", "2026-02-01", TOKEN)
    seed(app, profile)
    return app, profile


async def press_for(pilot: Pilot[Any], key: str, kind: type[S]) -> S:
    """Press ``key`` once everything settled; the screen it opened, once that settled too."""
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def open_diagnostics(pilot: Pilot[Any]) -> DiagnosticsScreen:
    return await press_for(pilot, "f12", DiagnosticsScreen)


async def open_log(pilot: Pilot[Any]) -> ApiLogScreen:
    await open_diagnostics(pilot)
    return await press_for(pilot, "l", ApiLogScreen)


def shown(screen: Any) -> str:
    return "\n".join(str(widget.render()) for widget in screen.query(Static))


# ------------------------------------------------------------------------------------------------ Pilot


async def test_the_screen_shows_what_support_asks_for_and_no_secret(
    app_factory: Callable[..., KsefApp], fixed_host: None
) -> None:
    app, profile = company_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_diagnostics(pilot)
        text = shown(screen)
        report = screen.text()
    assert report is not None
    for needle in (
        "Secret storage (passwords, tokens, keys)",
        "ksef_tui.vault.backends.MemoryKeyring",
        "~/xdg_data_home/ksef-tui/companies/test/5265877635/store.json",
        "firma (NIP 5265877635)",
        "https://",
        "31 days left (until 01.01.2027)",
        AUTH_REF,
        "✗ permissions",
        "→ ask the owner for it",
        "7 in the log, failed: 2",
        "Last failed",
        "8.2.8",
    ):
        assert needle in text, needle
        assert needle in report, needle
    for secret in (TOKEN, TOKEN.split("|")[2], ACCESS, REFRESH, "eyJ"):
        assert secret not in text and secret not in report
    assert app.workspace.credential_of(profile).fingerprint in report  # type: ignore[operator]
    assert "Błąd walidacji danych wejściowych." in report  # KSeF's answer to the failed call


async def test_copy_sends_the_report_to_the_terminal_clipboard(
    app_factory: Callable[..., KsefApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = company_app(app_factory)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_diagnostics(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert copied == [screen.text()]
        assert any("OSC 52" in n.message for n in app._notifications)


async def test_save_writes_a_new_file_and_never_overwrites_one(app_factory: Callable[..., KsefApp], home: Path) -> None:
    app, _ = company_app(app_factory)
    target = home / "ksef-tui-report-20261130-100000.txt"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_diagnostics(pilot)
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveFileDialog)
        assert dialog.title_text == "Save the diagnostics report"
        assert dialog.query_one(Input).value == "~/ksef-tui-report-20261130-100000.txt"
        await pilot.press("enter")
        await settle(pilot)
        assert target.read_text(encoding="utf-8") == screen.text()
        assert any(str(target) in n.message for n in app._notifications)

        target.write_text("kept", encoding="utf-8")
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveFileDialog)
        await pilot.press("enter")
        await eventually(lambda: "exists already" in dialog.problem, "the dialog refuses the existing file")
        assert dialog.is_active  # still open for another name
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert target.read_text(encoding="utf-8") == "kept"

        await pilot.press("s")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        reports = await asyncio.to_thread(lambda: sorted(p.name for p in home.glob("ksef-tui-report-*")))
        assert reports == [target.name]


async def test_the_log_lists_calls_newest_first_and_enter_opens_one(app_factory: Callable[..., KsefApp]) -> None:
    app, _ = company_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        log = await open_log(pilot)
        table = log.query_one(ApiLogTable)
        assert table.row_count == 7
        rows = [[cell.plain for cell in table.get_row_at(n)] for n in range(table.row_count)]
        assert rows[0][0] == "✓" and rows[0][4:6] == ["200", "35"]
        rows = rows[1:]
        assert rows[0][1:] == [
            "2026-11-30 09:50:45",
            "GET",
            "/invoices/exports/20261130-EX-1A2B3C4D5E-6F7A8B9C0D-EF",
            "---",
            "30001",
            "timeout",
        ]
        assert rows[0][0] == "✗"
        assert rows[1][0] == "✗" and rows[1][4:] == ["400", "7", "21405"]
        assert rows[2][0] == "✓" and rows[2][3] == "/auth/token/redeem"
        assert rows[-1][1:5] == ["2026-11-29 09:00:00", "GET", "/tokens", "200"]  # the older line, in Warsaw time
        assert "7 calls, failed: 2" in str(log.query_one("#api-log-summary", Static).render())

        await pilot.press("down", "down", "enter")  # the refused export
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ApiCallDialog)
        text = shown(dialog)
        assert "encryptedSymmetricKey" in text and "‹redacted, 344 bytes›" in text
        assert "Błąd walidacji danych wejściowych." in text
        assert "authorization: Bearer ‹redacted, 498 bytes›" in text
        assert "KSeF codes 21405" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is log

        await pilot.press("ctrl+end", "enter")  # the older line: no details were kept
        await pilot.pause()
        assert "older log format" in shown(app.screen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, DiagnosticsScreen)


async def test_a_real_login_shows_in_the_log_redacted(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim]
) -> None:
    sim = make_sim_in_process()
    app = app_factory(sim)
    profile = add_token_profile(app.workspace, sim, name="firma")
    assert (await app.workspace.verify(profile, fresh=True)).ok
    secret = sim.tokens["full"].split("|")[2]
    async with app.run_test(size=SIZE) as pilot:
        log = await open_log(pilot)
        paths = [call.path for call in reversed(log.calls)]
        await pilot.press(*["down"] * paths.index("/auth/token/redeem"), "enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ApiCallDialog) and dialog.call.path == "/auth/token/redeem"
        text = shown(dialog)
    assert '"token": "‹redacted, ' in text and "validUntil" in text
    assert "Bearer ‹redacted, " in text
    assert "eyJ" not in text and secret not in text


async def test_a_failing_collection_is_a_notification_not_a_crash(
    app_factory: Callable[..., KsefApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksef_tui.ui.screens import diagnostics as screen_module

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(screen_module, "collect", broken)
    app, _ = company_app(app_factory)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_diagnostics(pilot)
        assert "disk on fire" in str(screen.query_one("#diag-status", Static).render())
        assert any("disk on fire" in n.message for n in app._notifications)
        await pilot.press("c")  # nothing collected: says so, copies nothing
        await pilot.pause()
        assert app.is_running


async def test_a_new_check_is_shown_and_kept(app_factory: Callable[..., KsefApp]) -> None:
    app, profile = company_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_diagnostics(pilot)
        fresh = Verification(profile.name, profile.environment, "3f2a9c1d")
        fresh.steps = [Step("token_shape", True, 2, "fine"), Step("permissions", True, 9, "all there")]
        app.last_verification = fresh
        await settle(pilot)
        text = shown(screen)
    assert "30.11.2026 10:00:00: all good" in text
    kept = diagnostics.load_verification(profile)
    assert kept is not None and kept.ok and kept.checked_at == FIXED_NOW


async def test_without_a_company(app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_diagnostics(pilot)
        assert "connect a company to KSeF" in shown(screen)
        await pilot.press("l")
        await settle(pilot)
        assert "kept for each company" in str(app.screen.query_one("#api-log-summary", Static).render())


# ------------------------------------------------------------------------------------------- snapshots


async def diagnostics_top(pilot: Pilot[Any]) -> None:
    await open_diagnostics(pilot)


async def diagnostics_end(pilot: Pilot[Any]) -> None:
    """Scrolled to the end: the credential, the last check's steps and the log's summary."""
    await open_diagnostics(pilot)
    await pilot.press("end")
    await settle(pilot)


async def api_log(pilot: Pilot[Any]) -> None:
    await open_log(pilot)


async def api_call(pilot: Pilot[Any]) -> None:
    """The login call: its request and response."""
    await open_log(pilot)
    await pilot.press(*["down"] * 4, "enter")
    await settle(pilot)


VIEWS: dict[str, Callable[[Pilot[Any]], Awaitable[None]]] = {
    "diagnostics": diagnostics_top,
    "diagnostics-end": diagnostics_end,
    "api-log": api_log,
    "api-call": api_call,
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_snapshot(
    snap_compare: Callable[..., bool], app_factory: Callable[..., KsefApp], fixed_host: None, lang: str, view: str
) -> None:
    app, _ = company_app(app_factory)
    assert snap_compare(app, terminal_size=SIZE, run_before=VIEWS[view])
