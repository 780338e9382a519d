"""Offline invoicing in the app (issue 14) against the simulator: a company signing in with its seal has enrolled a
KSeF Offline certificate; while KSeF is down (an announced failure) the invoice form offers the emergency mode,
pre-selected, and says what it means; the invoice is issued offline (KOD I and KOD II, no deadline while the
failure lasts); when KSeF is back the app says offline invoices wait, their deadlines are brought up to date from
the announced outage, and one key sends them through the customer transactions (accepted, ``Offline`` in KSeF).
The home screen counts the offline invoices waiting, warns in the error colour when one is due today or overdue,
and offers offline issue while KSeF is down. Snapshots of those warnings in Polish and English (one ASCII), with
the clocks held (the simulator's and the app's) and KOD II's signature made deterministic (ECDSA is randomised)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
from ksef_tui.domain.offline import OfflineMode, add_business_days
from ksef_tui.domain.profile import Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa import kod2 as kod2_module
from ksef_tui.fa.qr import qr_modules
from ksef_tui.i18n import set_language
from ksef_tui.services import availability as availability_service
from ksef_tui.services.availability import KsefState
from ksef_tui.services.certificates import enroll
from ksef_tui.services.offline import import_offline, issue_offline_invoice, offline_signer
from ksef_tui.services.sales import add_customer, sales_xml_root
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.sim.clock import ManualClock, OffsetClock
from ksef_tui.store.customers import CustomerBook
from ksef_tui.store.sales import SalesRepository, SendState
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.invoice_detail import InvoiceDetailScreen
from ksef_tui.ui.screens.invoice_form import InvoiceFormScreen
from ksef_tui.ui.screens.transactions import TransactionsScreen
from ksef_tui.ui.widgets.month_summary import MonthSummary
from ksef_tui.ui.widgets.qr import QrCode, cells_to_modules
from ksef_tui.ui.widgets.transaction_dialogs import ConfirmSendDialog, OpenFileDialog
from ksef_tui.ui.widgets.transactions_table import COLUMNS, TransactionsTable
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from ..harness import fixed_clock
from ..ksef.certkit import PASSWORD, certificate, p12, rsa_key, seal_name
from ..services.sending_kit import FAST, QUICK, sale_xml
from ..services.test_offline_issue import broken, let_through
from .conftest import FIXED_NOW, eventually, settle
from .test_invoice_detail import screen_cells

SIZE = (120, 34)
TODAY = date(2026, 11, 30)  # FIXED_NOW's Warsaw day, a Monday
BUYER_NIP = "5260250274"


@pytest.fixture(autouse=True)
def _latarnia_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """KSeF's state comes from the simulator's Latarnia (every look asks it)."""
    monkeypatch.delenv("KSEF_TUI_LATARNIA", raising=False)
    monkeypatch.setattr(availability_service, "CHECK_EVERY", 0.0)


@dataclass
class Firm:
    sim: Sim
    workspace: Workspace

    @property
    def profile(self) -> Profile:
        return self.workspace.profile("firma")


def firm_of(sim: Sim, *, in_process: bool = False) -> Firm:
    """A company signing in with its seal (valid from a month before FIXED_NOW, so the header's days left are the
    same on every run) and one customer; in process (snapshots), its KSeF Offline certificate enrolled too (a test
    over HTTP enrols it in its own event loop)."""
    transport = sim.transport if in_process else None
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()), transport=lambda _p: transport)
    key = rsa_key()
    seal = p12(key, certificate(key, seal_name(sim.nip), not_before=FIXED_NOW - timedelta(days=30)))
    profile, _credential = workspace.add_certificate_profile(
        "firma", sim.nip, sim.base_url, "2026-02-01", seal, password=PASSWORD
    )
    if in_process:
        asyncio.run(enroll(workspace, profile, kind="offline", algorithm="ec"))
    with workspace.open_store(profile) as store:
        add_customer(CustomerBook.of(store), "Klient Testowy sp. z o.o.", nip=BUYER_NIP)
    return Firm(sim, workspace)


def app_of(firm: Firm, *, ascii_only: bool = False) -> KsefApp:
    settings = Settings(theme="ksef-dark", ascii=ascii_only)
    firm.workspace.settings = settings
    return make_app(settings, firm.workspace, clock=lambda: FIXED_NOW, profile_name="firma")


def sale_of(firm: Firm, number: str) -> Any:
    with firm.workspace.open_store(firm.profile, read_only=True) as store:
        return SalesRepository(store).get(number)


def numbers_of(firm: Firm) -> list[str]:
    with firm.workspace.open_store(firm.profile, read_only=True) as store:
        return SalesRepository(store).numbers()


def text_of(widget: Static) -> str:
    return str(widget.render())


def summary_text(app: KsefApp) -> str:
    return str(app.screen.query_one(MonthSummary).render().plain)


# ------------------------------------------------------------------------------------------------ Pilot


async def test_issued_offline_from_the_form_while_ksef_is_down_then_sent_when_it_is_back(
    make_sim: Callable[..., Sim],
) -> None:
    clock = OffsetClock()
    clock.advance((FIXED_NOW - datetime.now(UTC)).total_seconds() - 60)  # the certificate valid at FIXED_NOW
    sim = make_sim(environment="TE", seed_purchases=0, clock=clock, **QUICK)
    firm = await asyncio.to_thread(firm_of, sim)
    await enroll(firm.workspace, firm.profile, kind="offline", algorithm="ec")
    sim.state.availability.start_failure()
    app = app_of(firm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await eventually(
            lambda: app.availability is not None and app.availability.state is KsefState.FAILURE, "the failure seen"
        )
        offer = app.screen.query_one("#dash-offline-offer", Static)
        await eventually(lambda: bool(offer.display), "the offer of offline issue on the home screen")
        assert "issue invoices offline (F7" in text_of(offer) and offer.has_class("-ksef-bad")

        await pilot.press("f7")
        await eventually(lambda: isinstance(app.screen, InvoiceFormScreen), "the form")
        form = app.screen
        assert isinstance(form, InvoiceFormScreen)
        await eventually(lambda: bool(form.query("#f-issue_mode")), "the form built")
        mode = form.query_one("#f-issue_mode", Select)
        assert mode.value == "emergency"  # KSeF's failure: the emergency mode, pre-selected
        note = text_of(form.query_one("#form-offline-note", Static))
        assert "KSeF announced a failure (emergency mode)" in note
        assert "The deadline will be known when the KSeF unavailability or failure ends" in note
        assert "KOD II will be signed with KSeF Offline certificate firma-ksef-offline" in note
        # offline24 is offered too; its deadline waits as well (a failure on its issue day moves it)
        mode.value = "offline24"
        await eventually(lambda: "it goes to KSeF later" in text_of(form.query_one("#form-offline-note", Static)),
                         "offline24's meaning")  # fmt: skip
        mode.value = "emergency"
        assert form.context is not None
        form.query_one("#f-customer", Select).value = form.context.customers[0].key
        form.query_one("#f-seller_address", Input).value = "ul. Długa 1"
        form.query_one("#f-seller_address2", Input).value = "00-001 Warszawa"
        row = form.query_one("#lines")
        name = row.query(".line-name").first(Input)
        name.value = "Konsultacje"
        row.query(".line-price").first(Input).value = "100"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await eventually(lambda: not isinstance(app.screen, InvoiceFormScreen), "the form saved and closed")
        await settle(pilot)
        (number,) = numbers_of(firm)
        sale = sale_of(firm, number)
        issue = sale.record.offline
        assert issue is not None and issue.mode is OfflineMode.EMERGENCY and issue.deadline is None
        assert sale.status.state is SendState.QUEUED
        assert issue.kod1.startswith("https://qr-test.ksef.mf.gov.pl/invoice/") and "/certificate/Nip/" in issue.kod2
        await eventually(lambda: "Offline to send: 1" in summary_text(app), "the home screen counts it")

        # the customer transactions: the offline glyph, and the deadline (none yet: the failure goes on)
        await pilot.press("f6")
        await eventually(lambda: isinstance(app.screen, TransactionsScreen), "the transactions")
        transactions = app.screen
        assert isinstance(transactions, TransactionsScreen)
        table = transactions.query_one(TransactionsTable)
        await eventually(lambda: table.row_of(number) is not None, "the invoice listed")
        assert [cell.plain for cell in table.get_row(number)][:1] == ["⊘"]
        assert table.get_row(number)[COLUMNS.index("ksef")].plain == "offline: deadline after the outage"
        assert "emergency mode: the deadline will be known" in transactions.detail_text(table.row_of(number))

        # KSeF is back: the failure's end is announced; the app says offline invoices wait and their deadline is
        # 7 business days after the failure's end
        sim.state.availability.available()
        app.check_availability()
        await eventually(lambda: app.availability is not None and app.availability.available, "KSeF back")
        await eventually(lambda: sale_of(firm, number).record.offline.deadline is not None, "the deadline recorded")
        assert sale_of(firm, number).record.offline.deadline == add_business_days(TODAY, 7)
        await eventually(lambda: not offer.display, "no offer of offline issue once KSeF is back")
        await pilot.press("r")
        ksef_cell = COLUMNS.index("ksef")
        await eventually(lambda: table.get_row(number)[ksef_cell].plain == "offline: send by 09.12.2026", "the date")

        await pilot.press("f8")  # one key: the offline invoices waiting, through the transactions' send
        await eventually(lambda: isinstance(app.screen, ConfirmSendDialog), "the send's confirmation")
        assert app.screen_stack[-2] is transactions
        await pilot.press("enter")
        await eventually(lambda: sale_of(firm, number).status.state is SendState.ACCEPTED, "accepted", seconds=30)
        await settle(pilot)
        ksef_number = sale_of(firm, number).status.ksef_number
        await eventually(lambda: table.get_row(number)[0].plain == "✓", "✓ in the table")
        assert table.get_row(number)[ksef_cell].plain == ksef_number
    sent = sale_of(firm, number)
    assert sent.status.ksef_number and sent.status.ksef_number.startswith(sim.nip)
    xml = (sales_xml_root(firm.workspace.store_path(firm.profile)) / sent.record.xml_path).read_bytes()
    held = sim.state.invoices.with_hash(base64.b64encode(hashlib.sha256(xml).digest()).decode())
    assert held is not None and held.mode == "Offline"  # sent with offlineMode


async def test_a_rejected_offline_invoice_is_corrected_technically_from_the_transactions(
    make_sim: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """KSeF rejected an offline invoice (450, a schema error): ``t`` asks for the fixed FA(3) file (a path that is
    not a file is refused in the dialog), corrects it technically and sends it at once: accepted, linked to the
    rejected original's hash, still offline."""
    sim = make_sim(environment="TE", seed_purchases=0, **QUICK)
    firm = await asyncio.to_thread(firm_of, sim)
    await enroll(firm.workspace, firm.profile, kind="offline", algorithm="ec")
    good = sale_xml(sim.nip, "FV/7/2026")
    bad = broken(good)
    let_through(monkeypatch, bad)
    (tmp_path / "bad.xml").write_bytes(bad)
    fixed = tmp_path / "fixed.xml"
    fixed.write_bytes(good)

    def issue_bad() -> None:
        signer = offline_signer(firm.workspace, firm.profile)
        with firm.workspace.open_store(firm.profile) as store:
            result = import_offline(
                SalesRepository(store), sales_xml_root(store.path), firm.profile, [tmp_path / "bad.xml"],
                mode=OfflineMode.OFFLINE24, signer=signer,
            )  # fmt: skip
        assert result.imported == ["FV/7/2026"]

    await asyncio.to_thread(issue_bad)
    report = await firm.workspace.send(firm.profile, None, options=FAST)
    assert report is not None and report.rejected == ["FV/7/2026"]
    app = app_of(firm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await eventually(lambda: isinstance(app.screen, TransactionsScreen), "the transactions")
        transactions = app.screen
        assert isinstance(transactions, TransactionsScreen)
        transactions.send_options = FAST
        table = transactions.query_one(TransactionsTable)
        await eventually(lambda: table.row_of("FV/7/2026") is not None, "the invoice listed")
        row = table.row_of("FV/7/2026")
        assert row is not None and row.technical and table.get_row("FV/7/2026")[0].plain == "✗"
        await pilot.press("t")
        await eventually(lambda: isinstance(app.screen, OpenFileDialog), "the file asked for")
        dialog = app.screen
        assert isinstance(dialog, OpenFileDialog)
        path = dialog.query_one("#open-path", Input)
        path.value = str(tmp_path)  # a folder: refused in the dialog, which stays
        await pilot.press("enter")
        await eventually(lambda: "is not a file" in dialog.problem, "the folder refused")
        assert app.screen is dialog
        path.value = str(fixed)
        await pilot.press("enter")
        await eventually(lambda: sale_of(firm, "FV/7/2026").status.state is SendState.ACCEPTED, "accepted", seconds=30)
        await eventually(lambda: table.get_row("FV/7/2026")[0].plain == "✓", "✓ in the table")
        await settle(pilot)
    sale = sale_of(firm, "FV/7/2026")
    original = base64.b64encode(hashlib.sha256(bad).digest()).decode()
    assert sale.record.offline is not None and sale.record.offline.corrected_hash == original
    held = sim.state.invoices.with_hash(sale.record.invoice_hash)
    assert held is not None and held.mode == "Offline" and held.hash_of_corrected == original


async def test_the_forms_issue_choice_follows_ksefs_state_until_the_person_chooses(
    make_sim_in_process: Callable[..., Sim],
) -> None:
    sim, clock = late_sim(make_sim_in_process)
    firm = await asyncio.to_thread(firm_of, sim, in_process=True)
    clock.advance((FIXED_NOW - clock.now()).total_seconds())
    app = app_of(firm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await eventually(lambda: app.availability is not None, "the first look at KSeF")
        await pilot.press("f7")
        await eventually(lambda: bool(app.screen.query("#f-issue_mode")), "the form built")
        form = app.screen
        mode = form.query_one("#f-issue_mode", Select)
        assert mode.value == "online" and form.query_one("#form-offline-note").has_class("-online")
        sim.state.availability.announce_maintenance(FIXED_NOW - timedelta(minutes=5), FIXED_NOW + timedelta(hours=2))
        app.check_availability()
        await eventually(lambda: mode.value == "offline", "offline (KSeF unavailability) pre-selected")
        note = form.query_one("#form-offline-note", Static)
        # the unavailability ends at 12:00 today: the next business day after it
        await eventually(lambda: "Send it to KSeF by 01.12.2026" in text_of(note), "the deadline computed")
        mode.value = "offline24"  # the person's choice stays
        await settle(pilot)
        sim.state.availability.available()
        app.check_availability()
        await eventually(lambda: app.availability is not None and app.availability.available, "KSeF back")
        await settle(pilot)
        assert mode.value == "offline24"


# ------------------------------------------------------------------------------------------------ home warnings


def deterministic_kod2(monkeypatch: pytest.MonkeyPatch) -> None:
    """KOD II's signature made the same on every run (ECDSA and RSA-PSS are randomised): a snapshot's pictures."""

    def sign(signed_data: str, private_key: Any) -> str:
        return base64.urlsafe_b64encode(hashlib.sha512(signed_data.encode()).digest()).decode().rstrip("=")

    monkeypatch.setattr(kod2_module, "sign_kod2", sign)


def issue_on(firm: Firm, day: date, mode: OfflineMode = OfflineMode.OFFLINE24) -> str:
    """An invoice issued offline on ``day`` (at 10:00 UTC) through the services."""
    profile = firm.profile
    moment = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    invoice = SalesInvoice(
        "",
        day,
        Seller(profile.nip, "Firma Testowa sp. z o.o.", Address("ul. Długa 1", "00-001 Warszawa")),
        Buyer("Klient Testowy sp. z o.o.", tax_id=BUYER_NIP),
        (InvoiceLine("Konsultacje", Decimal(1), Decimal("100.00"), VatRate.R23),),
    )
    signer = offline_signer(firm.workspace, profile, now=moment)
    with firm.workspace.open_store(profile) as store:
        sale = issue_offline_invoice(
            SalesRepository(store), sales_xml_root(store.path), profile, invoice, mode=mode, signer=signer,
            clock=lambda: moment,
        )  # fmt: skip
    return sale.record.number


def late_sim(make_sim_in_process: Callable[..., Sim]) -> tuple[Sim, ManualClock]:
    """The simulator standing a week before FIXED_NOW (the Offline certificate it issues is valid from then)."""
    clock = fixed_clock(FIXED_NOW - timedelta(days=7))
    standing = {"auth_delay": 0.0, "certificate_delay": 0.0}  # its clock stands: nothing may wait for it
    return make_sim_in_process(environment="TE", seed_purchases=0, clock=clock, **standing), clock


def late_firm(sim: Sim, clock: ManualClock) -> tuple[Firm, str, str]:
    """Two offline24 invoices: one issued Thu 26.11 (due Fri 27.11: overdue), one Fri 27.11 (due today); the
    simulator's clock then at FIXED_NOW."""
    firm = firm_of(sim, in_process=True)
    overdue = issue_on(firm, date(2026, 11, 26))
    due_today = issue_on(firm, date(2026, 11, 27))
    clock.advance((FIXED_NOW - clock.now()).total_seconds())
    return firm, overdue, due_today


async def test_a_due_or_overdue_offline_invoice_is_warned_of_on_the_home_screen(
    make_sim_in_process: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, clock = late_sim(make_sim_in_process)
    firm, overdue, due_today = await asyncio.to_thread(late_firm, sim, clock)
    assert sale_of(firm, overdue).record.offline.deadline == date(2026, 11, 27)
    assert sale_of(firm, due_today).record.offline.deadline == TODAY
    app = app_of(firm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await eventually(lambda: "Offline to send: 2" in summary_text(app), "the offline invoices counted")
        text = summary_text(app)
        assert "✗ 2 offline invoices due today or overdue" in text
        assert f"most urgent: {overdue}" in text and "overdue by 1 business day (the deadline was 27.11.2026)" in text
        summary = app.screen.query_one(MonthSummary)
        bad = summary.get_component_rich_style("month-summary--bad")
        lines = summary.render().split("\n")
        warned = [line for line in lines if overdue in line.plain or "overdue" in line.plain]
        assert len(warned) == 3
        for line in warned:  # the error colour
            assert any(span.style == bad or str(span.style) == str(bad) for span in line.spans), line
        # KSeF is available: no offer of offline issue
        assert not app.screen.query_one("#dash-offline-offer", Static).display
        # and the app says they wait, with the key that sends them
        await eventually(
            lambda: any("2 offline invoices wait to be sent to KSeF (F8" in n.message for n in app._notifications),
            "the app says they wait",
        )

        # the transactions: the deadline in the warning colour (due today) and the error colour (overdue)
        await pilot.press("f6")
        await eventually(lambda: isinstance(app.screen, TransactionsScreen), "the transactions")
        transactions = app.screen
        assert isinstance(transactions, TransactionsScreen)
        table = transactions.query_one(TransactionsTable)
        await eventually(lambda: table.row_of(overdue) is not None, "the invoices listed")
        tones = table._tones()
        ksef_cell = COLUMNS.index("ksef")
        late, today_cell = table.get_row(overdue)[ksef_cell], table.get_row(due_today)[ksef_cell]
        assert (late.plain, late.style) == ("offline: send by 27.11.2026", tones["fail"])
        assert (today_cell.plain, today_cell.style) == ("offline: send by 30.11.2026", tones["warn"])
        table.move_cursor(row=table.get_row_index(overdue))
        await pilot.pause()
        shown = transactions.query_one("#tx-detail", Static).render()
        assert isinstance(shown, Content)
        start = shown.plain.index("overdue by 1 business day")
        assert any(span.start <= start < span.end for span in shown.spans)  # the error colour

        # the detail: both codes drawn, read back to the modules of their links, with their labels
        await pilot.press("d")
        await eventually(lambda: isinstance(app.screen, InvoiceDetailScreen) and app.screen.view is not None, "detail")
        detail = app.screen
        assert isinstance(detail, InvoiceDetailScreen) and detail.view is not None
        await settle(pilot)
        issue = sale_of(firm, overdue).record.offline
        for code, url in (("#detail-qr-code", issue.kod1), ("#detail-kod2-code", issue.kod2)):
            cells = screen_cells(detail.query_one(code, QrCode))
            expected = qr_modules(url)
            assert len(cells) == (len(expected) + 1) // 2 and len(cells[0]) == len(expected[0])
            assert cells_to_modules(cells)[: len(expected)] == expected
        assert detail.view.qr_url == issue.kod1 and detail.view.kod2_url == issue.kod2
        assert text_of(detail.query_one("#detail-qr-label", Static)) == "OFFLINE"
        assert text_of(detail.query_one("#detail-kod2-label", Static)) == "CERTYFIKAT"
        assert issue.kod2 in text_of(detail.query_one("#detail-kod2-link", Static)).replace("\n", "")
        facts = text_of(detail.query_one("#detail-facts", Static))
        assert "Issued offline: offline24 mode" in facts
        assert "Send to KSeF by: overdue by 1 business day (the deadline was 27.11.2026)" in facts


# ------------------------------------------------------------------------------------------------ snapshots


@pytest.fixture
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


@pytest.mark.parametrize(
    ("lang", "ascii_only"),
    [("pl", False), ("en", False), ("pl", True)],
    ids=["pl", "en", "pl-ascii"],
    indirect=["lang"],
)
def test_snapshot_home_offline_warnings(
    snap_compare: Any,
    lang: str,
    ascii_only: bool,
    make_sim_in_process: Callable[..., Sim],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two offline invoices due (one overdue) while KSeF has a failure: the header, the offer of offline issue
    and the warning lines in the error colour."""
    deterministic_kod2(monkeypatch)
    sim, clock = late_sim(make_sim_in_process)
    firm, _overdue, _today = late_firm(sim, clock)
    sim.state.availability.start_failure()
    app = app_of(firm, ascii_only=ascii_only)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await eventually(lambda: bool(app.screen.query_one("#dash-offline-offer", Static).display), "the offer")
        await eventually(lambda: "2" in summary_text(app) and "FV" in summary_text(app), "the warnings")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("lang", ["pl", "en"], indirect=True)
def test_snapshot_form_offers_emergency_during_a_failure(
    snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new-invoice form while KSeF has a failure: the emergency mode pre-selected, and what it means beside it
    (the deadline waits for the failure's end; KOD II's certificate)."""
    sim, clock = late_sim(make_sim_in_process)
    firm = firm_of(sim, in_process=True)
    clock.advance((FIXED_NOW - clock.now()).total_seconds())
    sim.state.availability.start_failure()
    app = app_of(firm)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await eventually(lambda: app.availability is not None and not app.availability.available, "the failure")
        await pilot.press("f7")
        await eventually(lambda: bool(app.screen.query("#form-offline-note")), "the form built")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("lang", ["pl", "en"], indirect=True)
def test_snapshot_detail_with_both_codes(
    snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An overdue offline invoice's detail: its mode and deadline (error colour) among the facts, KOD I labelled
    OFFLINE and KOD II labelled CERTYFIKAT side by side, with their links."""
    deterministic_kod2(monkeypatch)
    sim, clock = late_sim(make_sim_in_process)
    firm, overdue, _today = late_firm(sim, clock)
    app = app_of(firm)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        # the app says the offline invoices wait (KSeF available at its first look): told, then cleared
        await eventually(lambda: bool(app._notifications), "the app's word on the offline invoices")
        app.clear_notifications()
        screen = InvoiceDetailScreen(source="sale", key=overdue)
        await app.push_screen(screen)
        await eventually(lambda: screen.view is not None, "the detail read")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(150, 60), run_before=run_before)


def test_the_offline_glyph_is_one_narrow_cell_with_an_ascii_fallback() -> None:
    import unicodedata

    from rich.cells import cell_len

    from ksef_tui.services.transactions import TxStatus
    from ksef_tui.ui.widgets.transactions_table import status_glyph

    glyph = status_glyph(TxStatus.OFFLINE, ascii_only=False)
    assert unicodedata.east_asian_width(glyph) == "N" and cell_len(glyph) == 1
    assert status_glyph(TxStatus.OFFLINE, ascii_only=True) == "off"
    assert len({status_glyph(s, ascii_only=False) for s in TxStatus}) == len(TxStatus)  # one glyph each


async def test_the_ascii_detail_draws_both_codes_and_scrolls_sideways_to_kod2(
    make_sim_in_process: Callable[..., Sim], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASCII glyphs draw two cells a module: KOD II is then wider than 120 columns; the codes go one under the
    other and the body scrolls sideways (nothing cut), the cells read back to the links' modules."""
    sim, clock = late_sim(make_sim_in_process)
    firm, overdue, _today = await asyncio.to_thread(late_firm, sim, clock)
    app = app_of(firm, ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = InvoiceDetailScreen(source="sale", key=overdue)
        await app.push_screen(screen)
        await eventually(lambda: screen.view is not None, "the detail read")
        await settle(pilot)
        issue = sale_of(firm, overdue).record.offline
        kod1 = screen.query_one("#detail-qr-code", QrCode)
        kod2 = screen.query_one("#detail-kod2-code", QrCode)
        for code, url in ((kod1, issue.kod1), (kod2, issue.kod2)):
            assert cells_to_modules(screen_cells(code), ascii_only=True) == qr_modules(url)
        assert kod2.region.y > kod1.region.y and kod2.region.x == kod1.region.x  # one under the other
        body = screen.query_one("#detail-body")
        assert body.max_scroll_x >= kod2.size.width - body.scrollable_content_region.width > 0


@pytest.mark.parametrize(
    ("lang", "ascii_only"), [("en", False), ("pl", True)], ids=["en", "pl-ascii"], indirect=["lang"]
)
def test_snapshot_transactions_with_offline_deadlines(
    snap_compare: Any, lang: str, ascii_only: bool, make_sim_in_process: Callable[..., Sim]
) -> None:
    """The customer transactions with two offline invoices: the offline glyph, one due today (warning colour),
    one overdue (error colour, highlighted: its deadline in words on the detail line)."""
    sim, clock = late_sim(make_sim_in_process)
    firm, overdue, _today = late_firm(sim, clock)
    app = app_of(firm, ascii_only=ascii_only)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await eventually(lambda: bool(app._notifications), "the app's word on the offline invoices")
        app.clear_notifications()
        await pilot.press("f6")
        await eventually(lambda: isinstance(app.screen, TransactionsScreen), "the transactions")
        table = app.screen.query_one(TransactionsTable)
        await eventually(lambda: table.row_of(overdue) is not None, "the invoices listed")
        table.move_cursor(row=table.get_row_index(overdue))
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
