"""Snapshots (fixed size, clock and language) of the sales invoice form filled in, with its problems marked, and
of the correction form; Polish and English. The company's store is seeded through the services (customers, an
invoice issued and marked accepted with a fixed KSeF number), so every run draws the same screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from ksef_tui.domain.invoice import Address, InvoiceLine, Payment, PaymentForm, SalesInvoice, Seller
from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.domain.profile import Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.i18n import set_language
from ksef_tui.services.sales import add_customer, issue_invoice, sales_xml_root
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.customers import CustomerBook
from ksef_tui.store.sales import SalesRepository, SendState
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.invoice_form import InvoiceFormScreen
from ksef_tui.ui.widgets.invoice_lines import InvoiceLines
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from .conftest import FIXED_NOW, settle

SIZE = (120, 34)
ORIGINAL = "FV/1/11/2026"


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


def seed(workspace: Workspace, profile: Profile) -> None:
    """Two customers and one accepted invoice (KSeF number fixed) in the company's store."""
    with workspace.open_store(profile) as store:
        book = CustomerBook.of(store)
        bakery, _ = add_customer(book, "Piekarnia Złoty Kłos sp. z o.o.", nip="7680002466", email="a@example.com")
        add_customer(book, "Kancelaria Nowicka", nip="1132853869")
        seller = Seller(profile.nip, "Demo sp. z o.o.", Address("ul. Prosta 1", "00-850 Warszawa"))
        day = date(2026, 11, 3)
        invoice = SalesInvoice(
            "",
            day,
            seller,
            bakery.buyer(),
            (
                InvoiceLine("Abonament serwisowy", Decimal(1), Decimal("1200.00"), VatRate.R23, unit="mies."),
                InvoiceLine("Wdrożenie", Decimal("2.5"), Decimal("180.00"), VatRate.R23, unit="h"),
            ),
            payment=Payment(day + timedelta(days=14), PaymentForm.TRANSFER, "61109010140000071219812874"),
        )
        repo = SalesRepository(store)
        at = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
        sale = issue_invoice(repo, sales_xml_root(store.path), profile, invoice, clock=lambda: at)
        ksef = make_ksef_number(profile.nip, day, "0A1B2C3D4E5F")
        repo.set_status(sale.record.number, replace(sale.status, state=SendState.ACCEPTED, ksef_number=ksef))


def build(sim: Sim) -> KsefApp:
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()), transport=lambda _p: sim.transport)
    profile = workspace.add_profile("demo", sim.nip, sim.base_url, "2026-02-01", sim.tokens["full"])
    seed(workspace, profile)
    return make_app(Settings(theme="ksef-dark"), workspace, clock=lambda: FIXED_NOW)


async def open_form(pilot: Pilot[Any], correct: str | None = None) -> InvoiceFormScreen:
    await settle(pilot)
    screen = InvoiceFormScreen(correct)
    await pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def fill_new(pilot: Pilot[Any], screen: InvoiceFormScreen) -> None:
    screen.query_one("#f-customer", Select).value = "nip:7680002466"
    lines = screen.query_one(InvoiceLines)
    row = lines.rows[0]
    row.query_one(".line-name", Input).value = "Konsultacje wdrożeniowe"
    row.query_one(".line-unit", Input).value = "h"
    row.query_one(".line-quantity", Input).value = "12,5"
    row.query_one(".line-price", Input).value = "180"
    row.query_one(".line-name", Input).focus()
    await pilot.press("ctrl+n")
    row = lines.rows[1]
    row.query_one(".line-name", Input).value = "Podręcznik użytkownika"
    row.query_one(".line-quantity", Input).value = "3"
    row.query_one(".line-price", Input).value = "45,50"
    row.query_one(".line-rate", Select).value = VatRate.R5
    await settle(pilot)


def test_new_invoice_filled(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_form(pilot)
        await fill_new(pilot, screen)
        screen.query_one("#f-bank_account", Input).focus()

    assert snap_compare(build(make_sim_in_process()), terminal_size=SIZE, run_before=run_before)


def test_new_invoice_problems_marked(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_form(pilot)
        row = screen.query_one(InvoiceLines).rows[0]
        row.query_one(".line-quantity", Input).value = "dwa"
        screen.query_one("#f-due_date", Input).value = "01.11.2026"
        await pilot.press("ctrl+s")
        await settle(pilot)

    assert snap_compare(build(make_sim_in_process()), terminal_size=SIZE, run_before=run_before)


def test_correction(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_form(pilot, ORIGINAL)
        await pilot.press(*"Rabat")
        row = screen.query_one(InvoiceLines).rows[0]
        row.query_one(".line-price", Input).value = "1080"
        await settle(pilot)

    assert snap_compare(build(make_sim_in_process()), terminal_size=SIZE, run_before=run_before)


def test_saved_offers_to_send(snap_compare: Any, lang: str, make_sim_in_process: Callable[..., Sim]) -> None:
    """After the save: send to KSeF now (focused) or later."""

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_form(pilot)
        await fill_new(pilot, screen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ChoiceDialog"

    assert snap_compare(build(make_sim_in_process()), terminal_size=SIZE, run_before=run_before)
