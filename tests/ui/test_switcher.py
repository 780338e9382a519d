"""The company switcher (issue 12 §1): an office's companies, filtered as you type, each with its last import and
what waits to be sent; Enter works in the chosen company, Escape leaves it as it was.

The companies are made through the real ``Workspace`` (an in-memory vault, XDG folders in ``tmp_path``): token
profiles in TEST, DEMO and at a URL, a certificate profile in PROD, a store with sales invoices (one rejected by
KSeF) and a last import, a company never imported, and a damaged store.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from ksef_tui import i18n
from ksef_tui.domain.nip import nip_with_checksum
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import UserError
from ksef_tui.services.purchase_sync import CURSOR_KEY
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.cursors import Cursor, CursorRepository
from ksef_tui.store.db import Store
from ksef_tui.store.sales import SalesRepository, SendState, SendStatus
from ksef_tui.ui.app import KsefApp
from ksef_tui.ui.screens.switcher import (
    CompanyRead,
    CompanySwitcher,
    CompanyTable,
    fold,
    matches,
    search_text,
)
from ksef_tui.vault import Vault

from ..ksef.certkit import PASSWORD, certificate, ec_key, p12, seal_name
from ..services.sending_kit import sale_xml
from .conftest import FIXED_NOW, settle, workspace_for

#: The last purchase import of "alfa": 28.11.2026 08:15 in Warsaw.
LAST_SYNC = datetime(2026, 11, 28, 7, 15, tzinfo=UTC)
SIZE = (100, 30)


def nip(seed: int) -> str:
    """A valid NIP (checksum) made from ``seed``."""
    for tail in range(1000):
        found = nip_with_checksum(f"52{seed:04d}{tail:03d}")
        if found:
            return found
    raise AssertionError(seed)


def token(nip: str) -> str:
    """A KSeF 2.0 shaped token for ``nip`` (reference | context | 64 hex)."""
    return f"20251010-EC-2B8F9A1C3D-4E5F6A7B8C-9D|nip-{nip}|{secrets.token_hex(32)}"


@dataclass
class Office:
    workspace: Workspace
    alfa: Profile  # TEST, 3 sales invoices to send (one rejected), last import 28.11.2026 08:15
    beta: Profile  # DEMO, never imported (no store)
    gamma: Profile  # PROD, a certificate valid until 01.06.2027
    delta: Profile  # at a URL, its store damaged
    app: Callable[[], KsefApp]  # the app over the same profiles and vault (conftest's app_factory)


@pytest.fixture
def office(isolated_home: Path, vault: Vault, app_factory: Callable[..., KsefApp]) -> Office:
    workspace = workspace_for(None, vault)
    alfa = workspace.add_profile("alfa", nip(1), "test", "2026-02-01", token(nip(1)))
    beta = workspace.add_profile("beta-lodz", nip(2), "demo", "2026-02-01", token(nip(2)))
    key = ec_key()
    cert = certificate(key, seal_name(nip(3)), not_before=datetime(2026, 6, 1, tzinfo=UTC), days=365)
    gamma, _ = workspace.add_certificate_profile(
        "gamma", nip(3), "prod", "2026-02-01", p12(key, cert), password=PASSWORD
    )
    delta = workspace.add_profile("delta", nip(4), "http://127.0.0.1:8765", "2026-02-01", token(nip(4)))

    with workspace.open_store(alfa) as store:
        invoices = isolated_home / "in"
        invoices.mkdir()
        files = []
        for n in range(3):
            path = invoices / f"{n}.xml"
            path.write_bytes(sale_xml(alfa.nip, f"FV/{n + 1}/11/2026"))
            files.append(path)
        sales = SalesRepository(store)
        imported = import_invoices(sales, sales_xml_root(store.path), alfa, files, clock=lambda: FIXED_NOW)
        assert not imported.refused
        sales.set_status("FV/2/11/2026", SendStatus(SendState.REJECTED, FIXED_NOW, error_code=450))
        CursorRepository(store).set(Cursor(CURSOR_KEY, LAST_SYNC, None, LAST_SYNC))
    damaged = workspace.store_path(delta)
    damaged.parent.mkdir(parents=True)
    damaged.write_text("{not json", encoding="utf-8")
    return Office(workspace, alfa, beta, gamma, delta, app_factory)


# ------------------------------------------------------------------------------------------------ helpers


async def open_switcher(pilot: Pilot[int]) -> CompanySwitcher:
    await settle(pilot)
    await pilot.press("ctrl+o")
    await settle(pilot)
    switcher = pilot.app.screen
    assert isinstance(switcher, CompanySwitcher)
    return switcher


def cells(switcher: CompanySwitcher, name: str) -> list[str]:
    return [cell.plain.strip() for cell in switcher.query_one(CompanyTable).get_row(name)]


def detail(switcher: CompanySwitcher) -> str:
    return str(switcher.query_one("#switcher-detail", Static).render())


# ---------------------------------------------------------------------------------------------- the filter


def test_the_filter_ignores_case_diacritics_and_the_dashes_of_a_nip() -> None:
    from ksef_tui.services.profiles import make_profile

    lodz = make_profile("biuro-lodz", "5265877635", "demo", "2026-02-01")
    text = search_text(lodz)
    assert fold("Łódź ŻÓŁW") == "lodz zolw"
    for query in ("Łódź", "BIURO", "5265877635", "526-587-76-35", "52658-776", "demo", "DEMO", "łódź 526", ""):
        assert matches(query, text), query
    for query in ("prod", "5265877636", "łódź prod", "alfa"):
        assert not matches(query, text), query
    url = make_profile("delta", "5265877635", "http://127.0.0.1:8765", "2026-02-01")
    assert matches("127.0.0.1", search_text(url))


# --------------------------------------------------------------------------------------------------- Pilot


async def test_names_come_first_then_each_company_s_overview(office: Office) -> None:
    seen: list[object] = []
    app = office.app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        switcher = await open_switcher(pilot)
        kinds = [type(m) for m in seen if isinstance(m, CompanySwitcher.ProfilesListed | CompanySwitcher.CompaniesRead)]
        assert kinds[0] is CompanySwitcher.ProfilesListed
        assert CompanySwitcher.CompaniesRead in kinds
        assert switcher.shown == ["alfa", "beta-lodz", "gamma", "delta"]
        assert cells(switcher, "alfa") == [
            "→ alfa",
            "520-001-00-00",
            "TEST",
            "token 31 days",
            "28.11.2026 08:15",
            "3 (✗ 1)",
        ]
        assert cells(switcher, "beta-lodz")[2:] == ["DEMO", "token 31 days", "never", "0"]
        assert cells(switcher, "gamma")[2:] == ["PROD", "cert. 182 days", "never", "0"]
        assert cells(switcher, "delta")[2:] == ["127.0.0.1:8765", "token 31 days", "-", "⚠ -"]
        # The current company is highlighted first; the filter has the focus.
        assert switcher.highlighted == "alfa"
        assert isinstance(app.focused, Input)
        assert "current company" in detail(switcher)
        assert "rejected by KSeF: 1" in detail(switcher)


async def test_ascii_glyphs_for_terminals_without_unicode(office: Office, app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory(settings=Settings(theme="ksef-dark", ascii=True))
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        assert cells(switcher, "alfa")[0] == "-> alfa"
        assert cells(switcher, "alfa")[5] == "3 (ERR 1)"
        assert cells(switcher, "delta")[5] == "! -"


async def test_typing_filters_and_enter_works_in_the_chosen_company(office: Office) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        assert app.profile is not None and app.profile.name == "alfa"
        await pilot.press(*"Łódź")
        await pilot.pause()
        assert switcher.shown == ["beta-lodz"]
        filter_input = switcher.query_one(Input)
        for query, shown in (
            (office.gamma.nip, ["gamma"]),
            ("520-003", ["gamma"]),
            ("5200-03", ["gamma"]),
            ("prod", ["gamma"]),
            ("127.0", ["delta"]),
            ("nothing-like-it", []),
            ("", ["alfa", "beta-lodz", "gamma", "delta"]),
            ("GAM", ["gamma"]),
        ):
            filter_input.value = query
            await pilot.pause()
            assert switcher.shown == shown, query
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, CompanySwitcher)
        assert app.profile is not None and app.profile.name == "gamma"
        assert app.overview is not None and app.overview.profile.name == "gamma"


async def test_up_and_down_move_while_the_filter_keeps_the_focus(office: Office) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        await pilot.press("down", "down", "down", "up")
        assert switcher.highlighted == "gamma"
        assert isinstance(app.focused, Input)
        await pilot.press("pagedown")
        assert switcher.highlighted == "delta"
        await pilot.press("enter")
        await settle(pilot)
        assert app.profile is not None and app.profile.name == "delta"


async def test_escape_leaves_the_company_as_it_was(office: Office) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        await pilot.press(*"gamma")
        await pilot.press("escape")
        await settle(pilot)
        assert not switcher.is_attached
        assert app.profile is not None and app.profile.name == "alfa"


async def test_enter_with_nothing_matching_chooses_nothing(office: Office) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        await pilot.press(*"zzz", "enter")
        await pilot.pause()
        assert app.screen is switcher
        assert detail(switcher) == "No company matches “zzz”."


async def test_a_damaged_store_shows_dashes_and_says_why(office: Office) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        row = switcher.rows["delta"]
        assert row.read is not None and row.read.overview is not None
        assert row.read.overview.unsent is None
        (problem,) = row.read.problems
        assert "store.json" in problem and "damaged" in problem
        await pilot.press(*"delta")
        await pilot.pause()
        text = detail(switcher)
        assert "http://127.0.0.1:8765" in text
        assert f"⚠ {problem}" in text


async def test_a_store_another_session_holds_is_read_without_waiting(office: Office) -> None:
    """The other session holds the store's lock (a writable open): the switcher reads it read-only."""
    app = office.app()
    with Store.open(office.workspace.store_path(office.alfa)):
        async with app.run_test(size=SIZE) as pilot:
            switcher = await open_switcher(pilot)
            assert cells(switcher, "alfa")[4:] == ["28.11.2026 08:15", "3 (✗ 1)"]
            row = switcher.rows["alfa"]
            assert row.read is not None and not row.read.problems


async def test_a_company_whose_overview_fails_is_listed_with_its_reason(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever reading one company raises (a refusal, or a damaged file no one foresaw) stays on its row."""
    from ksef_tui.services.overview import CompanyOverview, overview

    def failing(workspace: Workspace, profile: Profile) -> CompanyOverview:
        if profile.name == "gamma":
            raise UserError("profile.none")
        if profile.name == "beta-lodz":
            raise ValueError("bad document")
        return overview(workspace, profile)

    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr("ksef_tui.ui.screens.switcher.overview", failing)
        switcher = await open_switcher(pilot)
        assert cells(switcher, "gamma")[3:] == ["-", "-", "⚠ -"]
        assert cells(switcher, "beta-lodz")[3:] == ["-", "-", "⚠ -"]
        assert cells(switcher, "alfa")[5] == "3 (✗ 1)"
        await pilot.press(*"beta")
        await pilot.pause()
        assert "⚠ ValueError: bad document" in detail(switcher)


async def test_a_profile_list_that_cannot_be_read_is_a_notification(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = office.app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)

        def unreadable() -> list[Profile]:
            raise UserError("profile.none")

        monkeypatch.setattr(app.workspace, "list_profiles", unreadable)
        await pilot.press("ctrl+o")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        expected = i18n.t("switcher.load_failed", detail=UserError("profile.none").message())
        assert expected in messages
        assert isinstance(app.screen, CompanySwitcher)
        await pilot.press("escape")
        await pilot.pause()
        assert app.profile is not None and app.profile.name == "alfa"


async def test_no_companies_yet(app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(CompanySwitcher())
        await settle(pilot)
        assert isinstance(app.screen, CompanySwitcher)
        assert detail(app.screen) == i18n.t("switcher.none")


def slow_reads(monkeypatch: pytest.MonkeyPatch, seconds: float) -> list[str]:
    """Make reading each company take ``seconds`` longer; the names read, in order."""
    from ksef_tui.ui.screens import switcher as module

    read = module.read_company
    names: list[str] = []

    def slow(workspace: Workspace, profile: Profile) -> CompanyRead:
        names.append(profile.name)
        time.sleep(seconds)
        return read(workspace, profile)

    monkeypatch.setattr(module, "read_company", slow)
    return names


async def until_listed(pilot: Pilot[int]) -> CompanySwitcher:
    await settle(pilot)
    await pilot.press("ctrl+o")
    for _ in range(200):
        await pilot.pause(0.01)
        screen = pilot.app.screen
        if isinstance(screen, CompanySwitcher) and screen.listed:
            return screen
    raise AssertionError("the companies were never listed")


async def test_what_the_filter_shows_is_read_first(office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        names = slow_reads(monkeypatch, 0.3)
        switcher = await until_listed(pilot)
        # The names are there before any overview: the rest of each row says it is being read.
        assert cells(switcher, "gamma") == ["gamma", "520-003-00-08", "PROD", "⟳", "⟳", "⟳"]
        switcher.query_one(Input).value = "delta"
        await settle(pilot)
        assert names.index("delta") < names.index("gamma")
        assert sorted(names) == ["alfa", "beta-lodz", "delta", "gamma"]  # none read twice
        assert switcher.read_count == 4
        assert cells(switcher, "delta")[5] == "⚠ -"


async def test_escape_while_reading_stops_the_reader(office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    app = office.app()
    async with app.run_test(size=SIZE) as pilot:
        names = slow_reads(monkeypatch, 0.2)
        await until_listed(pilot)
        await pilot.press("escape")
        await pilot.pause(0.6)
        assert not isinstance(app.screen, CompanySwitcher)
        assert len(names) < 4
        assert app.profile is not None and app.profile.name == "alfa"


async def test_two_hundred_companies_open_and_filter(vault: Vault, app_factory: Callable[..., KsefApp]) -> None:
    """An office's size: every row listed and read, and one keystroke narrows the list."""
    workspace = workspace_for(None, vault)
    for n in range(200):
        workspace.add_profile(f"klient-{n:03d}", nip(100 + n), "test", "2026-02-01", token(nip(100 + n)))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        switcher = await open_switcher(pilot)
        assert len(switcher.shown) == 200
        assert switcher.read_count == 200
        await pilot.press(*"klient-19")
        await pilot.pause()
        assert switcher.shown == [f"klient-{n}" for n in range(190, 200)]
        await pilot.press("enter")
        await settle(pilot)
        assert app.profile is not None and app.profile.name == "klient-190"


# ----------------------------------------------------------------------------------------------- snapshots

SnapCompare = Callable[..., bool]


def _before(typed: str = "") -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await open_switcher(pilot)
        if typed:
            await pilot.press(*typed)
        await pilot.pause()

    return run_before


@pytest.mark.usefixtures("polish")
def test_snapshot_polish_every_company(snap_compare: SnapCompare, office: Office) -> None:
    assert snap_compare(office.app(), terminal_size=SIZE, run_before=_before())


def test_snapshot_english_filtered(snap_compare: SnapCompare, office: Office) -> None:
    assert snap_compare(office.app(), terminal_size=SIZE, run_before=_before("de"))
