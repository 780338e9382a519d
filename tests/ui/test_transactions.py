"""Customer transactions (issue 13 §2) against the simulator in process: a queued invoice sent from the screen
ends with ✓ and its KSeF number in the table, a refused one with ✗ and KSeF's reason on the detail line, and the
glyph column changes while the send runs (sampled as it goes); the confirmation shows the count and the gross
total; the UPO is saved to a new file and never over one; the legend; snapshots of every status (Polish and
English, Unicode and ASCII glyphs).

The register is made by the real services: invoices imported as FA(3) files (``import_invoices``) or issued in the
app (``issue_invoice``), customers added to the book. The snapshots' register has each status written through the
repository with fixed KSeF numbers and reasons, so the pictures do not change from run to run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    BuyerIdType,
    CorrectedInvoice,
    CorrectionType,
    InvoiceKind,
    InvoiceLine,
    SalesInvoice,
    Seller,
)
from ksef_tui.domain.profile import MailSecurity, MailSettings, Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.i18n import set_language
from ksef_tui.sandbox import _with_attachment
from ksef_tui.services.mail import save_settings as save_mail_settings
from ksef_tui.services.sales import add_customer, import_invoices, issue_invoice, sales_xml_root
from ksef_tui.services.sending import SendOptions, Skip
from ksef_tui.services.transactions import TxStatus
from ksef_tui.settings import Settings
from ksef_tui.store.customers import CustomerBook
from ksef_tui.store.db import lock_owner
from ksef_tui.store.sales import MailState, SalesRepository, SendState, SendStatus
from ksef_tui.ui.app import KsefApp
from ksef_tui.ui.screens.transactions import TransactionsScreen, skip_note
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog
from ksef_tui.ui.widgets.transaction_dialogs import ConfirmSendDialog, LegendDialog
from ksef_tui.ui.widgets.transactions_table import TransactionsTable

from ..conftest import Sim
from ..services.sending_kit import QUICK, sale_xml
from ..services.test_mail import SmtpServer, smtp_server
from .conftest import FIXED_NOW, add_token_profile, eventually, settle

__all__ = ["smtp_server"]  # the fixture, shared with the mail service tests

SIZE = (120, 34)
FAST = SendOptions(poll_first=0.05, poll_max_delay=0.2, max_wait=30.0)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def quick_sim(make_sim_in_process: Callable[..., Sim]) -> Sim:
    return make_sim_in_process(**QUICK)


def import_files(app: KsefApp, profile: Profile, tmp: Path, *xmls: bytes) -> list[str]:
    with app.workspace.open_store(profile) as store:
        paths = []
        for index, xml in enumerate(xmls):
            path = tmp / f"in-{index}.xml"
            path.write_bytes(xml)
            paths.append(path)
        result = import_invoices(SalesRepository(store), sales_xml_root(store.path), profile, paths)
    assert not result.refused, result.refused
    return result.imported


async def open_screen(pilot: Pilot[Any]) -> TransactionsScreen:
    await settle(pilot)
    screen = TransactionsScreen()
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def wait_for(pilot: Pilot[Any], kind: type[Any]) -> Any:
    """The dialog a worker opened (``settle`` would wait for that worker, which waits for the dialog)."""
    for _ in range(200):
        await pilot.pause(0.02)
        if isinstance(pilot.app.screen, kind):
            return pilot.app.screen
    raise AssertionError(f"no {kind.__name__}; on screen: {pilot.app.screen!r}")


def cell(table: TransactionsTable, number: str, column: str) -> str:
    return table.get_cell(number, column).plain


def detail(screen: TransactionsScreen) -> str:
    return str(screen.query_one("#tx-detail", Static).render())


def status(screen: TransactionsScreen) -> str:
    return str(screen.query_one("#tx-status", Static).render())


# ------------------------------------------------------------------------------------------------ Pilot


async def test_a_send_from_the_screen_ends_with_a_ksef_number_or_the_reason_and_the_glyphs_move(
    app_factory: Callable[..., KsefApp], make_sim_in_process: Callable[..., Sim], tmp_path: Path
) -> None:
    # KSeF takes its time over each invoice here, so the screen has a moment to show it being sent.
    quick_sim = make_sim_in_process(**{**QUICK, "invoice_processing_delay": 0.8})
    app = app_factory(quick_sim)
    profile = add_token_profile(app.workspace, quick_sim)
    good, refused = import_files(
        app, profile, tmp_path, sale_xml(quick_sim.nip), _with_attachment(sale_xml(quick_sim.nip))
    )
    seen: list[Any] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_screen(pilot)
        screen.send_options = FAST
        table = screen.query_one(TransactionsTable)
        assert cell(table, good, "glyph") == "◷" and cell(table, refused, "glyph") == "◷"
        assert cell(table, good, "ksef") == "queued"

        await pilot.press("a")
        dialog = await wait_for(pilot, ConfirmSendDialog)
        text = "\n".join(str(w.render()) for w in dialog.query(Static))
        assert "Send 2 invoices to KSeF?" in text
        assert "Gross total: 51.66 PLN" in text  # 2 × 21.00 net + 23% VAT, twice

        sampled: list[str] = []

        async def sample() -> None:
            while True:
                if table.row_count:
                    sampled.append(cell(table, good, "glyph"))
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        await pilot.press("y")
        await settle(pilot)
        for _ in range(100):
            if not screen.sending:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        sampler.cancel()

        assert cell(table, good, "glyph") == "✓"
        ksef_number = cell(table, good, "ksef")
        assert ksef_number.startswith(quick_sim.nip + "-")
        assert cell(table, refused, "glyph") == "✗"
        assert cell(table, refused, "ksef") == "rejected"
        table.move_cursor(row=table.get_row_index(refused))
        await pilot.pause()
        shown = detail(screen)
        assert shown.startswith("✗ rejected")
        assert "reason: 415" in shown

    statuses = [
        row.status
        for message in seen
        if isinstance(message, TransactionsScreen.Loaded)
        for row in message.transactions.rows
        if row.number == good
    ]
    assert TxStatus.SENDING in statuses and statuses[-1] is TxStatus.ACCEPTED
    assert statuses.index(TxStatus.SENDING) < statuses.index(TxStatus.ACCEPTED)
    assert "⟳" in sampled and sampled[-1] == "✓"  # the glyph column itself showed the send as it went
    assert sampled.index("⟳") < sampled.index("✓")


async def test_declining_the_confirmation_sends_nothing_and_send_one_sends_only_it(
    app_factory: Callable[..., KsefApp], quick_sim: Sim, tmp_path: Path
) -> None:
    app = app_factory(quick_sim)
    profile = add_token_profile(app.workspace, quick_sim)
    first, second = import_files(app, profile, tmp_path, sale_xml(quick_sim.nip), sale_xml(quick_sim.nip))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        screen.send_options = FAST
        table = screen.query_one(TransactionsTable)
        await pilot.press("a")
        await wait_for(pilot, ConfirmSendDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert quick_sim.stats()["invoices"] == {"accepted": 0, "rejected": 0}

        table.move_cursor(row=table.get_row_index(second))
        await pilot.press("s")
        dialog = await wait_for(pilot, ConfirmSendDialog)
        assert dialog.count == 1
        await pilot.press("y")
        for _ in range(100):
            await settle(pilot)
            if not screen.sending:
                break
        await settle(pilot)
        assert cell(table, second, "glyph") == "✓"
        assert cell(table, first, "glyph") == "◷"


async def test_the_upo_is_saved_to_a_new_file_never_over_one(
    app_factory: Callable[..., KsefApp], quick_sim: Sim, tmp_path: Path, home: Path
) -> None:
    app = app_factory(quick_sim)
    profile = add_token_profile(app.workspace, quick_sim)
    (number,) = import_files(app, profile, tmp_path, sale_xml(quick_sim.nip))
    report = await app.workspace.send(profile, None, options=FAST)
    assert report is not None and report.accepted == [number]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_screen(pilot)
        table = screen.query_one(TransactionsTable)
        ksef_number = cell(table, number, "ksef")
        await pilot.press("u")
        dialog = await wait_for(pilot, SaveFileDialog)
        assert dialog.query_one(Input).value == f"~/UPO-{ksef_number}.xml"
        await pilot.press("enter")
        await settle(pilot)
        target = home / f"UPO-{ksef_number}.xml"
        upo = target.read_bytes()
        assert ksef_number.encode() in upo
        target.write_bytes(b"kept")
        await pilot.press("u")
        dialog = await wait_for(pilot, SaveFileDialog)
        await pilot.press("enter")
        await eventually(lambda: "exists already" in dialog.problem, "the dialog refuses the existing file")
        assert dialog.is_active  # still open, for another name
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert target.read_bytes() == b"kept"


class Gate(httpx.AsyncBaseTransport):
    """A transport that holds every request while it is closed: a send that waits on KSeF for as long as a test
    wants (holding the store's single-writer lock meanwhile), released by :meth:`open`, never by a clock."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._open.is_set():
            self.held += 1
            await self._open.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Each KSeF connection closes its client; the gate (and its pool) outlives them (see ``shut``)."""

    async def shut(self) -> None:
        await self.inner.aclose()


def gated_company(
    app_factory: Callable[..., KsefApp], make_sim: Callable[..., Sim], tmp_path: Path, mail_port: int = 0
) -> tuple[KsefApp, Profile, Gate, str, str]:
    """A company on a simulator over real HTTP behind a gate, two invoices imported (the buyer has an e-mail),
    the first sent and accepted (its UPO kept), the second queued; mail through ``mail_port`` when given."""
    sim = make_sim(**QUICK)
    gate = Gate(httpx.AsyncHTTPTransport())
    sim.transport = gate
    app = app_factory(sim)
    profile = add_token_profile(app.workspace, sim)
    if mail_port:
        smtp = MailSettings(host="127.0.0.1", port=mail_port, sender="Firma <faktury@firma.pl>")
        profile = save_mail_settings(app.workspace.profiles, None, profile, replace(smtp, security=MailSecurity.NONE))
    accepted, queued = import_files(
        app,
        profile,
        tmp_path,
        sale_xml(sim.nip, email="ksiegowosc@klient.pl"),
        sale_xml(sim.nip, email="ksiegowosc@klient.pl"),
    )
    return app, profile, gate, accepted, queued


async def hold_a_send(pilot: Pilot[Any], screen: TransactionsScreen, gate: Gate, number: str) -> None:
    """Send ``number`` from the screen and leave the send waiting on KSeF (the gate closed), the lock held."""
    table = screen.query_one(TransactionsTable)
    table.move_cursor(row=table.get_row_index(number))
    await pilot.press("s")
    await wait_for(pilot, ConfirmSendDialog)
    gate.close()
    await pilot.press("y")
    await eventually(lambda: gate.held > 0, "the send waits on KSeF")
    assert screen.sending


def told(app: KsefApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_mail_and_upo_pressed_during_a_send_wait_for_it_or_read_what_they_need(
    app_factory: Callable[..., KsefApp],
    make_sim: Callable[..., Sim],
    smtp_server: Callable[..., SmtpServer],
    tmp_path: Path,
    home: Path,
) -> None:
    """While a send holds the store's lock (KSeF held by the gate): ``m`` on an accepted invoice is neither lost
    nor refused, the screen says it waits, and the mail reaches the SMTP server once the send ends; ``u``
    saves the UPO kept on disk at once (a read-only look). Never the store's "open in another session"."""
    server = smtp_server()
    app, profile, gate, mailed, later = gated_company(app_factory, make_sim, tmp_path, server.port)
    report = await app.workspace.send(profile, [mailed], options=FAST)
    assert report is not None and report.accepted == [mailed]
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_screen(pilot)
            screen.send_options = FAST
            table = screen.query_one(TransactionsTable)
            ksef_number = cell(table, mailed, "ksef")
            await hold_a_send(pilot, screen, gate, later)
            assert lock_owner(app.workspace.store_path(profile)) is not None  # the send holds the writer's lock

            table.move_cursor(row=table.get_row_index(mailed))
            await pilot.press("m")
            waits = f"The KSeF number of invoice {mailed} will be e-mailed when the send to KSeF finishes"
            await eventually(lambda: waits in told(app), "the wait is told")
            assert f"e-mail {mailed}: when the send finishes" in status(screen)
            await pilot.press("m")  # again: told again, not queued twice
            await eventually(lambda: told(app).count(waits) == 2, "the wait is told again")

            await pilot.press("u")
            dialog = await wait_for(pilot, SaveFileDialog)
            assert dialog.query_one(Input).value == f"~/UPO-{ksef_number}.xml"
            await pilot.press("enter")
            target = home / f"UPO-{ksef_number}.xml"
            await eventually(target.exists, "the UPO saved during the send")
            assert ksef_number.encode() in target.read_bytes()
            assert screen.sending and server.inbox.received == []  # the mail still waits for the send

            gate.open()
            await eventually(lambda: len(server.inbox.received) == 1, "the mail delivered after the send")
            await settle(pilot)
            assert not screen.sending
            assert cell(table, later, "glyph") == "✓"
            message = server.inbox.messages()[0]
            assert ksef_number in message["Subject"] and mailed in message["Subject"]
            assert f"The KSeF number of invoice {mailed} was e-mailed" in told(app)
            assert "when the send finishes" not in status(screen)
            assert not any("another session" in text or "pid" in text for text in told(app)), told(app)
            assert len(server.inbox.received) == 1  # once, though pressed twice
    finally:
        await gate.shut()


async def test_a_upo_not_on_disk_pressed_during_a_send_is_downloaded_when_it_ends(
    app_factory: Callable[..., KsefApp], make_sim: Callable[..., Sim], tmp_path: Path, home: Path
) -> None:
    """``u`` on an accepted invoice whose UPO is not kept (downloading it writes the store): the screen says it
    comes after the send, then the save dialog opens by itself and the UPO is saved."""
    app, profile, gate, accepted, later = gated_company(app_factory, make_sim, tmp_path)
    report = await app.workspace.send(profile, [accepted], options=FAST)
    assert report is not None and report.accepted == [accepted]
    with app.workspace.open_store(profile) as store:
        SalesRepository(store).update_statuses([accepted], lambda sale: replace(sale.status, upo_path=None))
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_screen(pilot)
            screen.send_options = FAST
            table = screen.query_one(TransactionsTable)
            ksef_number = cell(table, accepted, "ksef")
            await hold_a_send(pilot, screen, gate, later)

            table.move_cursor(row=table.get_row_index(accepted))
            await pilot.press("u")
            waits = (
                f"The UPO of invoice {accepted} is not on disk yet; it is downloaded from KSeF when the send finishes"
            )
            await eventually(lambda: any(text.startswith(waits) for text in told(app)), "the wait is told")
            assert f"UPO {accepted}: when the send finishes" in status(screen)
            assert app.screen is screen and screen.sending

            gate.open()
            await eventually(lambda: isinstance(app.screen, SaveFileDialog), "the save dialog after the send")
            assert not screen.sending
            await pilot.press("enter")
            target = home / f"UPO-{ksef_number}.xml"
            await eventually(target.exists, "the UPO saved")
            assert ksef_number.encode() in target.read_bytes()
            await settle(pilot)
            assert not any("another session" in text or "pid" in text for text in told(app)), told(app)
    finally:
        await gate.shut()


async def test_customers_filter_the_table_and_the_legend_explains_every_glyph(
    app_factory: Callable[..., KsefApp], quick_sim: Sim, tmp_path: Path
) -> None:
    app = app_factory(quick_sim)
    profile = add_token_profile(app.workspace, quick_sim)
    make_register(app, profile)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        table = screen.query_one(TransactionsTable)
        assert table.row_count == 9
        screen.query_one("#tx-customers").focus()
        await pilot.press("down")
        await pilot.pause()
        assert screen.customer.startswith("id:DE")
        assert {row.customer for row in table.rows_shown} == {"Brandt Maschinenbau GmbH"}
        await pilot.press("enter", "question_mark")
        await pilot.pause()
        legend = app.screen
        assert isinstance(legend, LegendDialog)
        text = str(legend.query_one("#tx-legend-text", Static).render())
        for glyph in ("✎", "◷", "⟳", "✓", "✗", "⇉", "⇤", "⚠", "✉"):
            assert glyph in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
    left_out = skip_note(Skip("FV/1/01/2026", "send.skip.before_start", {"start": "2026-02-01"}))
    assert left_out == "FV/1/01/2026: issued before the company's KSeF start date (01.02.2026); not sent"


# --------------------------------------------------------------------------------------------- snapshots

SELLER_NIP = "5265877635"
CREATED = datetime(2026, 11, 20, 9, 0, tzinfo=FIXED_NOW.tzinfo)
BUYERS = {
    "bakery": Buyer(
        "Piekarnia Złoty Kłos sp. z o.o.", tax_id="5273011005", address=Address("ul. Chlebowa 4", "02-495 Warszawa")
    ),
    "law": Buyer(
        "Kancelaria Nowicka i Wspólnicy", tax_id="6772211007", address=Address("ul. Sądowa 12", "31-158 Kraków")
    ),
    "brandt": Buyer(
        "Brandt Maschinenbau GmbH",
        id_type=BuyerIdType.EU,
        tax_id="811907980",
        eu_code="DE",
        address=Address("Industriestraße 21", "04129 Leipzig", "DE"),
    ),
}
LINE = InvoiceLine("Abonament serwisowy IT", Decimal(1), Decimal("1200.00"), VatRate.R23, unit="mies.")


def ksef(day: str, tail: str) -> str:
    return f"{SELLER_NIP}-{day}-{tail}"


def make_register(app: KsefApp, profile: Profile) -> dict[str, str]:
    """Nine invoices, one in each status (and a correction, and each mail state), by the real services; the
    statuses KSeF would have given written through the repository with fixed numbers and reasons."""
    seller = Seller(profile.nip, "Demo Sp. z o.o.", Address("ul. Prosta 1", "00-001 Warszawa"))
    plan = [
        ("accepted", "bakery", date(2026, 11, 3)),
        ("duplicate", "law", date(2026, 11, 4)),
        ("rejected", "bakery", date(2026, 11, 5)),
        ("sending", "brandt", date(2026, 11, 6)),
        ("queued", "law", date(2026, 11, 9)),
        ("attention", "law", date(2026, 11, 10)),
        ("before", "bakery", date(2026, 1, 27)),
        ("draft", "brandt", date(2026, 11, 12)),
    ]
    numbers: dict[str, str] = {}
    with app.workspace.open_store(profile) as store:
        book = CustomerBook.of(store)
        add_customer(book, BUYERS["bakery"].name, nip="5273011005", email="zloty.klos@example.com")
        add_customer(book, BUYERS["law"].name, nip="6772211007", email="biuro@example.com")
        add_customer(book, BUYERS["brandt"].name, eu_vat="DE811907980", email="einkauf@example.com", language="en")
        repo, root = SalesRepository(store), sales_xml_root(store.path)
        for name, buyer, day in plan:
            invoice = SalesInvoice("", day, seller, BUYERS[buyer], (LINE,))
            sale = issue_invoice(repo, root, profile, invoice, queue=name != "draft", clock=lambda: CREATED)
            numbers[name] = sale.record.number
        original = repo.get(numbers["accepted"])
        assert original is not None
        correction = SalesInvoice(
            "",
            date(2026, 11, 13),
            seller,
            BUYERS["bakery"],
            (replace(LINE, unit_price=Decimal("1080.00")),),
            kind=InvoiceKind.KOR,
            corrected=(
                CorrectedInvoice(
                    original.record.issue_date, original.record.number, ksef("20261103", "A1B2C3D4E5F6-0A")
                ),
            ),
            correction_reason="Rabat 10%",
            correction_type=CorrectionType.AT_CORRECTION_DATE,
            lines_before=(LINE,),
        )
        numbers["correction"] = issue_invoice(repo, root, profile, correction, clock=lambda: CREATED).record.number
        at = CREATED
        statuses = {
            numbers["accepted"]: SendStatus(
                SendState.ACCEPTED,
                at,
                ksef_number=ksef("20261103", "A1B2C3D4E5F6-0A"),
                mail=MailState.SENT,
                upo_path="x",
            ),
            numbers["correction"]: SendStatus(
                SendState.ACCEPTED, at, ksef_number=ksef("20261113", "0F1E2D3C4B5A-77"), mail=MailState.PENDING
            ),
            numbers["duplicate"]: SendStatus(
                SendState.ACCEPTED,
                at,
                ksef_number=ksef("20261104", "99AA88BB77CC-3D"),
                duplicate=True,
                error_code=440,
                error_description="Duplikat faktury",
                mail=MailState.FAILED,
            ),
            numbers["rejected"]: SendStatus(
                SendState.REJECTED,
                at,
                error_code=450,
                error_description="Błąd weryfikacji semantyki dokumentu faktury",
                error_details=("P_15 nie zgadza się z sumą pozycji",),
            ),
            numbers["sending"]: SendStatus(SendState.SENDING, at, intent="online", session_ref="S-1"),
            numbers["attention"]: SendStatus(
                SendState.NEEDS_ATTENTION, at, error_description="KSeF nie zna sesji; nie znaleziono faktury"
            ),
        }
        repo.set_statuses(statuses)
    return numbers


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


@pytest.mark.parametrize("glyph_set", ["unicode", "ascii"])
def test_snapshot_every_status(
    snap_compare: Any,
    app_factory: Callable[..., KsefApp],
    make_sim_in_process: Callable[..., Sim],
    lang: str,
    glyph_set: str,
) -> None:
    sim = make_sim_in_process()
    app = app_factory(sim, settings=Settings(theme="ksef-dark", ascii=glyph_set == "ascii"))
    profile = app.workspace.add_profile("firma", SELLER_NIP, sim.base_url, "2026-02-01", sim.tokens["full"])
    numbers = make_register(app, profile)

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_screen(pilot)
        table = screen.query_one(TransactionsTable)
        table.move_cursor(row=table.get_row_index(numbers["rejected"]))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
