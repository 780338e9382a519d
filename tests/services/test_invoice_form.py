"""The invoice form's service: what a person typed read as an invoice with its problems by field, the totals
exactly as the built FA(3) XML carries them (P_13_x, P_14_x, P_14_xW, P_15), schema findings mapped back to
their fields, and a correction's summary as after minus before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import (
    Address,
    CorrectionType,
    InvoiceLine,
    PaymentForm,
    SalesInvoice,
    Seller,
)
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import build_xml
from ksef_tui.fa.validate import FA3_NS
from ksef_tui.services.invoice_form import (
    FormRefused,
    InvoiceDraft,
    LineDraft,
    Original,
    check_schema,
    line_field,
    load_form,
    nip_message,
    parse_date,
    parse_number,
    read_draft,
    totals_view,
)
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.vault import MemoryKeyring, Vault

NIP = "5265877635"
SELLER = Seller(NIP, "Demo sp. z o.o.", Address("ul. Prosta 1", "00-850 Warszawa"))
CUSTOMER = Customer.checked("Piekarnia sp. z o.o.", nip="7680002466")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TOKEN = "20251130-EC-0123456789-ABCDEF0123-45|nip-5265877635|" + "ab" * 32


def draft(*lines: LineDraft, **changes: object) -> InvoiceDraft:
    base = InvoiceDraft(
        seller=SELLER,
        customer=CUSTOMER,
        issue_date="30.11.2026",
        sale_date="30.11.2026",
        lines=list(lines) or [LineDraft("Usługa", "szt.", "1", "100", VatRate.R23)],
        due_date="14.12.2026",
        bank_account="61 1090 1014 0000 0712 1981 2874",
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def xml_summary(invoice: SalesInvoice) -> tuple[dict[str, Decimal], Decimal]:
    """The ``Fa`` summary of the built XML: every P_13_x/P_14_x(W) and P_15."""
    root = etree.fromstring(build_xml(numbered(invoice), created_at=NOW))
    fa = root.find(f"{{{FA3_NS}}}Fa")
    assert fa is not None
    fields = {
        etree.QName(el).localname: Decimal(el.text or "")
        for el in fa
        if etree.QName(el).localname.startswith(("P_13_", "P_14_"))
    }
    p15 = fa.find(f"{{{FA3_NS}}}P_15")
    assert p15 is not None
    return fields, Decimal(p15.text or "")


def numbered(invoice: SalesInvoice) -> SalesInvoice:
    from dataclasses import replace

    return replace(invoice, number="FV/1/11/2026")


# rounding traps: per-rate rounding of the summed nets (MF example 1), several rates in one bucket, 0 % and zw-free
# exempt-like rates, quantities with decimals, a foreign currency with P_14_xW
CASES = [
    [LineDraft("A", "szt.", "1", "1666,66")],
    [LineDraft("A", "szt.", "3", "0,33"), LineDraft("B", "szt.", "7", "0,07"), LineDraft("C", "h", "1,5", "33,33")],
    [
        LineDraft("A", "szt.", "1", "100,01", VatRate.R23),
        LineDraft("B", "szt.", "1", "100,01", VatRate.R22),
        LineDraft("C", "kg", "2,125", "9,99", VatRate.R8),
        LineDraft("D", "szt.", "1", "0,05", VatRate.R5),
        LineDraft("E", "szt.", "3", "1,11", VatRate.R4),
        LineDraft("F", "szt.", "1", "50", VatRate.ZERO_DOMESTIC),
        LineDraft("G", "szt.", "1", "20", VatRate.NP_I),
        LineDraft("H", "szt.", "1", "30", VatRate.REVERSE_CHARGE),
    ],
]


@pytest.mark.parametrize("lines", CASES)
def test_the_totals_are_the_xmls_to_the_grosz(lines: list[LineDraft]) -> None:
    reading = read_draft(draft(*lines))
    assert reading.ok, reading.errors
    assert reading.invoice is not None
    view = totals_view(reading.invoice)
    fields, p15 = xml_summary(reading.invoice)
    assert view.fields == fields
    assert view.gross_value == p15
    assert check_schema(reading.invoice, created_at=NOW) == {}


def test_a_foreign_currency_invoice_has_its_pln_tax_as_the_xml() -> None:
    lines = [LineDraft("Licencja", "szt.", "3", "333,33"), LineDraft("Wsparcie", "h", "1", "10,01", VatRate.R8)]
    reading = read_draft(draft(*lines, currency="eur", exchange_rate="4,2537"))
    assert reading.ok, reading.errors
    assert reading.invoice is not None and reading.invoice.currency == "EUR"
    view = totals_view(reading.invoice)
    fields, p15 = xml_summary(reading.invoice)
    assert view.fields == fields and "P_14_1W" in fields and view.gross_value == p15
    assert view.currency == "EUR"


def test_problems_are_named_by_field() -> None:
    reading = read_draft(
        draft(
            LineDraft("", "", "abc", "-1"),
            LineDraft("B", "szt.", "0", "1,123456789"),
            customer=None,
            issue_date="31.02.2026",
            sale_date="jutro",
            currency="EURO",
            due_date="01.01.2020",
            bank_account="12 34",
        )
    )
    assert set(reading.errors) == {
        "customer",
        "issue_date",
        "sale_date",
        "currency",
        "bank_account",
        line_field(0, "name"),
        line_field(0, "unit"),
        line_field(0, "quantity"),
        line_field(0, "price"),
        line_field(1, "quantity"),
        line_field(1, "price"),
    }
    assert not reading.ok
    assert read_draft(draft(due_date="01.11.2026")).errors == {"due_date": "payment due before the issue date"}
    assert set(read_draft(draft(currency="USD")).errors) == {"exchange_rate"}
    assert set(read_draft(draft(lines=[])).errors) == {"lines"}


def test_the_totals_follow_typing_even_while_a_field_is_wrong() -> None:
    reading = read_draft(draft(LineDraft("", "szt.", "2", "10"), customer=None))
    assert not reading.ok and reading.invoice is not None
    assert totals_view(reading.invoice).gross_value == Decimal("24.60")


def test_numbers_dates_and_nips_as_people_type_them() -> None:
    assert parse_number("1 234,56") == Decimal("1234.56")
    assert parse_number("1\u00a0234.5") == Decimal("1234.5")
    assert parse_number("12,3,4") is None and parse_number("") is None
    assert parse_date("5.1.2026") == date(2026, 1, 5) and parse_date("2026-01-05") == date(2026, 1, 5)
    assert parse_date("30.02.2026") is None
    assert nip_message("526-587-76-35") == ""
    assert "check digit" in nip_message("5265877636")
    assert nip_message("52658") == "a NIP has 10 digits"


def test_schema_findings_are_mapped_to_their_fields() -> None:
    reading = read_draft(draft(LineDraft("x" * 600, "szt.", "1", "10"), LineDraft("ok", "szt.", "1", "10")))
    assert reading.invoice is not None
    problems = check_schema(reading.invoice, created_at=NOW)
    assert set(problems) == {line_field(0, "name")}, problems
    reading = read_draft(draft(bank_account="PL" + "1" * 26, seller=Seller(NIP, "D", Address("a" * 600))))
    assert reading.invoice is not None
    assert "seller_address" in check_schema(reading.invoice, created_at=NOW)


def test_a_correction_totals_after_minus_before_and_names_its_original() -> None:
    before = InvoiceLine("Abonament", Decimal(1), Decimal("1200.00"), VatRate.R23, unit="mies.")
    original = SalesInvoice(
        "FV/1/10/2026",
        date(2026, 10, 3),
        SELLER,
        CUSTOMER.buyer(),
        (before,),
        payment=None,
    )
    ksef = "5265877635-20261003-0A1B2C3D4E5F-00"
    typed = draft(
        LineDraft("Abonament", "mies.", "1", "1080", VatRate.R23),
        customer=None,
        original=Original(original, ksef),
        reason="Rabat 10%",
        correction_type=CorrectionType.AT_CORRECTION_DATE,
        payment_form=PaymentForm.TRANSFER,
    )
    reading = read_draft(typed)
    assert reading.ok, reading.errors
    invoice = reading.invoice
    assert invoice is not None and invoice.lines_before == (before,)
    assert [c.ksef_number for c in invoice.corrected] == [ksef]
    view = totals_view(invoice)
    fields, p15 = xml_summary(invoice)
    assert view.fields == fields == {"P_13_1": Decimal("-120.00"), "P_14_1": Decimal("-27.60")}
    assert view.gross_value == p15 == Decimal("-147.60")
    assert set(read_draft(with_changes(typed, reason=" ")).errors) == {"reason"}


def with_changes(base: InvoiceDraft, **changes: object) -> InvoiceDraft:
    from dataclasses import replace

    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_company_without_a_store_gets_an_empty_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("nowa", NIP, "test", "2026-02-01", TOKEN)
    context = load_form(workspace, profile, date(2026, 11, 30))
    assert context.customers == () and context.next_number == "FV/1/11/2026"
    assert context.seller.nip == NIP and context.original is None
    with pytest.raises(FormRefused):
        load_form(workspace, profile, date(2026, 11, 30), "FV/1/11/2026")
