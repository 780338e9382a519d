"""The sales invoice form and the correction form against the sandbox's real store (the seeded demo company:
customers, accepted invoices with KSeF numbers): a new invoice saved from the form is in the register with the
totals the form showed, a correction carries its original's KSeF number, invalid fields are marked, and the
keys (ctrl+s, ctrl+n, ctrl+r, Escape) do what the footer says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from ksef_tui.domain.invoice import BuyerIdType
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.parse import parse_invoice
from ksef_tui.sandbox import Sandbox, open_sandbox
from ksef_tui.services.sales import sales_xml_root
from ksef_tui.settings import Settings
from ksef_tui.store.sales import SalesRepository, SendState
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.invoice_form import ChoiceDialog, FormResult, InvoiceFormScreen, NewCustomerDialog
from ksef_tui.ui.widgets.invoice_lines import InvoiceLines, LineRow

from .conftest import FIXED_NOW, settle

TODAY = date(2026, 11, 30)
SIZE = (120, 34)


@pytest.fixture
async def box() -> AsyncIterator[Sandbox]:
    sandbox = await open_sandbox(Settings(language="en"), today=TODAY)
    try:
        yield sandbox
    finally:
        sandbox.close()


def sandbox_app(box: Sandbox) -> KsefApp:
    return make_app(Settings(theme="ksef-dark"), box.workspace, clock=lambda: FIXED_NOW, profile_name=box.profile.name)


async def open_form(pilot: Pilot[Any], correct: str | None = None) -> tuple[InvoiceFormScreen, list[FormResult | None]]:
    results: list[FormResult | None] = []
    await settle(pilot)
    screen = InvoiceFormScreen(correct)
    await pilot.app.push_screen(screen, results.append)
    await settle(pilot)
    return screen, results


async def type_into(pilot: Pilot[Any], widget: Input, text: str) -> None:
    widget.focus()
    widget.value = ""
    await pilot.press(*text)


async def fill_line(pilot: Pilot[Any], row: LineRow, name: str, quantity: str, price: str) -> None:
    await type_into(pilot, row.query_one(".line-name", Input), name)
    await type_into(pilot, row.query_one(".line-quantity", Input), quantity)
    await type_into(pilot, row.query_one(".line-price", Input), price)


def focused(screen: InvoiceFormScreen) -> Widget | None:
    return screen.focused


def static_text(screen: InvoiceFormScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_a_new_invoice_is_saved_with_the_totals_the_form_shows(box: Sandbox) -> None:
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        screen, results = await open_form(pilot)
        customer = screen.query_one("#f-customer", Select)
        assert screen.focused is customer
        assert screen.context is not None
        customer.value = next(c.key for c in screen.context.customers if c.id_type is BuyerIdType.NIP)
        lines = screen.query_one(InvoiceLines)
        await fill_line(pilot, lines.rows[0], "Konsultacje", "3", "333,33")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert len(lines.rows) == 2 and focused(screen) is lines.rows[1].query_one(".line-name", Input)
        await fill_line(pilot, lines.rows[1], "Książka", "2", "45,50")
        lines.rows[1].query_one(".line-rate", Select).value = VatRate.R5
        await pilot.pause()
        totals = static_text(screen, "#grand-total")
        # 999.99 at 23 %: 230.00 of VAT; 91.00 at 5 %: 4.55; P_15 = 1325.54
        assert "1,325.54 PLN" in totals, totals
        shown = screen.shown_totals
        assert shown is not None
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        await pilot.press("enter")  # "Send to KSeF" is focused
        await settle(pilot)
    assert len(results) == 1 and results[0] is not None and results[0].send is True
    number = results[0].number
    with box.workspace.open_store(box.profile, read_only=True) as store:
        sale = SalesRepository(store).get(number)
        assert sale is not None and sale.status.state is SendState.QUEUED
        assert sale.record.gross == Decimal("1325.54")
        parsed = parse_invoice((sales_xml_root(store.path) / sale.record.xml_path).read_bytes())
    assert (
        parsed.buckets
        == shown.fields
        == {
            "P_13_1": Decimal("999.99"),
            "P_14_1": Decimal("230.00"),
            "P_13_3": Decimal("91.00"),
            "P_14_3": Decimal("4.55"),
        }
    )
    assert parsed.gross == shown.gross_value == Decimal("1325.54")


async def test_invalid_fields_are_marked_and_nothing_is_saved(box: Sandbox) -> None:
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        screen, results = await open_form(pilot)
        with box.workspace.open_store(box.profile, read_only=True) as store:
            before = SalesRepository(store).count()
        row = screen.query_one(InvoiceLines).rows[0]
        await type_into(pilot, row.query_one(".line-quantity", Input), "abc")
        await type_into(pilot, screen.query_one("#f-issue_date", Input), "31.02.2026")
        await type_into(pilot, screen.query_one("#f-bank_account", Input), "12 34")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and not results
        for name in ("customer", "issue_date", "bank_account"):
            assert screen.query_one(f"#f-{name}").has_class("-error"), name
            assert static_text(screen, f"#e-{name}"), name
        assert row.query_one(".line-quantity", Input).has_class("-error")
        assert row.query_one(".line-name", Input).has_class("-error")
        assert "errors" in static_text(screen, "#form-status")
        assert screen.focused is not None and screen.focused.has_class("-error")
        with box.workspace.open_store(box.profile, read_only=True) as store:
            assert SalesRepository(store).count() == before
        # Escape on an edited form asks first; "Back to the form" keeps it
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
    assert results == [None]


async def test_a_customer_added_in_the_form_is_checked_as_typed_and_chosen(box: Sandbox) -> None:
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_form(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, NewCustomerDialog)
        await pilot.press(*"Nowy Klient", "tab", *"5265877636")
        await pilot.pause()
        assert "check digit" in str(dialog.query_one("#e-customer-nip", Static).render())
        await pilot.press("backspace", "5")
        await pilot.pause()
        assert "valid" in str(dialog.query_one("#e-customer-nip", Static).render())
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#f-customer", Select).value == "nip:5265877635"


async def test_a_correction_carries_its_originals_ksef_number(box: Sandbox) -> None:
    assert box.demo is not None
    original = box.demo.accepted[1]
    with box.workspace.open_store(box.profile, read_only=True) as store:
        sale = SalesRepository(store).get(original)
        assert sale is not None
        ksef_number = sale.status.ksef_number
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        screen, results = await open_form(pilot, original)
        assert screen.focused is screen.query_one("#f-reason", Input)
        assert ksef_number is not None and ksef_number in static_text(screen, "#form-corrects")
        assert "0.00 PLN" in static_text(screen, "#grand-total")
        await pilot.press(*"Rabat")
        row = screen.query_one(InvoiceLines).rows[0]
        price = row.query_one(".line-price", Input)
        old = Decimal(price.value.replace(",", "."))
        await type_into(pilot, price, str(old - 100))
        await pilot.pause()
        assert "-123.00 PLN" in static_text(screen, "#grand-total")  # 100 × quantity 1 at 23 %
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("tab", "enter")  # later
        await settle(pilot)
    assert len(results) == 1 and results[0] is not None and results[0].send is False
    with box.workspace.open_store(box.profile, read_only=True) as store:
        saved = SalesRepository(store).get(results[0].number)
        assert saved is not None
        assert saved.record.kind == "KOR" and saved.record.corrected_number == original
        parsed = parse_invoice((sales_xml_root(store.path) / saved.record.xml_path).read_bytes())
    assert [c.ksef_number for c in parsed.corrected] == [ksef_number]
    assert parsed.correction_reason == "Rabat" and parsed.gross == Decimal("-123.00")


async def test_an_invoice_not_in_ksef_cannot_be_corrected(box: Sandbox) -> None:
    assert box.demo is not None
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        _, results = await open_form(pilot, box.demo.queued)
        assert results == [None]


async def test_tab_runs_through_the_form_in_reading_order(box: Sandbox) -> None:
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await open_form(pilot)
        order: list[str] = []
        for _ in range(14):
            widget = focused(screen)
            assert widget is not None
            order.append(widget.id or next(c for c in widget.classes if c.startswith("line-")))
            await pilot.press("tab")
        assert order == [
            "f-customer",
            "f-issue_date",
            "f-sale_date",
            "line-name",
            "line-unit",
            "line-quantity",
            "line-price",
            "line-rate",
            "f-currency",  # the exchange rate is skipped while the currency is PLN
            "f-payment_form",
            "f-due_date",
            "f-bank_account",
            "f-issue_mode",  # in KSeF, or offline (issue 14)
            "f-seller_name",
        ]
        await type_into(pilot, screen.query_one("#f-currency", Input), "EUR")
        assert not screen.query_one("#f-exchange_rate", Input).disabled


async def test_a_schema_finding_is_shown_at_its_field(box: Sandbox) -> None:
    app = sandbox_app(box)
    async with app.run_test(size=SIZE) as pilot:
        screen, results = await open_form(pilot)
        assert screen.context is not None
        screen.query_one("#f-customer", Select).value = screen.context.customers[0].key
        row = screen.query_one(InvoiceLines).rows[0]
        row.query_one(".line-name", Input).value = "x" * 600  # FA(3) allows 512 characters
        row.query_one(".line-price", Input).value = "10"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and not results
        name = row.query_one(".line-name", Input)
        assert name.has_class("-error")
        assert "512" in str(row.query_one(".line-error", Static).render())
        assert focused(screen) is name
