"""FA(3) builder: documents validate against the official XSD and read back to the same invoice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    InvoiceKind,
    InvoiceLine,
    PriceBasis,
    SalesInvoice,
    Seller,
    compute_totals,
)
from ksef_tui.domain.money import q2
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import BuildError, build_xml
from ksef_tui.fa.parse import parse_invoice
from ksef_tui.fa.validate import FA3_NS, validate_bytes

from .strategies import invoices

D = Decimal


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_build_validate_parse_round_trip(invoice: SalesInvoice) -> None:
    data = build_xml(invoice, created_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    result = validate_bytes(data)
    assert result.ok, [str(f) for f in result.findings]

    parsed = parse_invoice(data)
    totals = compute_totals(invoice)
    assert parsed.schema == "FA (3)"
    assert parsed.kind == invoice.kind.value
    assert parsed.number == invoice.number
    assert parsed.issue_date == invoice.issue_date
    assert parsed.currency == invoice.currency
    assert parsed.buckets == totals.fields
    assert parsed.gross == totals.gross
    assert parsed.seller.id == invoice.seller.nip
    assert parsed.buyer.id_type == invoice.buyer.id_type.value
    assert parsed.buyer.name == invoice.buyer.name
    assert parsed.reverse_charge == invoice.reverse_charge
    assert parsed.split_payment == invoice.split_payment

    assert len(parsed.lines) == len(invoice.lines) + len(invoice.lines_before)
    after = [line for line in parsed.lines if not line.before]
    before = [line for line in parsed.lines if line.before]
    for model_lines, read_lines in ((invoice.lines, after), (invoice.lines_before, before)):
        for model, read in zip(model_lines, read_lines, strict=True):
            assert read.name == model.name
            assert read.quantity == q2(model.quantity) or read.quantity == model.quantity
            assert read.rate == model.rate.p12
            assert read.discount == model.discount
            amount = read.gross if invoice.price_basis is PriceBasis.GROSS else read.net
            assert amount == model.amount
    assert [(c.number, c.issue_date, c.ksef_number) for c in parsed.corrected] == [
        (c.number, c.issue_date, c.ksef_number) for c in invoice.corrected
    ]


SELLER = Seller("5265877635", "Firma & Syn <sp. z o.o.>", Address("ul. Długa 1", "00-001 Warszawa"))
BUYER = Buyer("Klient", tax_id="9999999999")


def simple(**kwargs: object) -> SalesInvoice:
    from dataclasses import replace

    base = SalesInvoice(
        "FV/1/2026", date(2026, 2, 2), SELLER, BUYER, (InvoiceLine("towar", D(2), D("10.5"), VatRate.R23),)
    )
    return replace(base, **kwargs)  # type: ignore[arg-type]


def test_document_shape() -> None:
    data = build_xml(simple(), created_at=datetime(2026, 2, 2, 10, 0, tzinfo=UTC))
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert not data.startswith(b"\xef\xbb\xbf")
    root = etree.fromstring(data)
    ns = {"f": FA3_NS}
    kod = root.find("f:Naglowek/f:KodFormularza", ns)
    assert kod is not None
    assert (kod.get("kodSystemowy"), kod.get("wersjaSchemy"), kod.text) == ("FA (3)", "1-0E", "FA")
    assert root.findtext("f:Naglowek/f:DataWytworzeniaFa", namespaces=ns) == "2026-02-02T10:00:00Z"
    assert root.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:Nazwa", namespaces=ns) == "Firma & Syn <sp. z o.o.>"
    assert root.findtext("f:Fa/f:P_13_1", namespaces=ns) == "21.00"
    assert root.findtext("f:Fa/f:P_14_1", namespaces=ns) == "4.83"
    assert root.findtext("f:Fa/f:P_15", namespaces=ns) == "25.83"
    assert root.findtext("f:Podmiot2/f:JST", namespaces=ns) == "2"
    assert root.findtext("f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19N", namespaces=ns) == "1"


def test_reverse_charge_sets_p18() -> None:
    data = build_xml(simple(lines=(InvoiceLine("usługa budowlana", D(1), D(1000), VatRate.REVERSE_CHARGE),)))
    root = etree.fromstring(data)
    assert root.findtext(f"{{{FA3_NS}}}Fa/{{{FA3_NS}}}Adnotacje/{{{FA3_NS}}}P_18") == "1"
    assert root.findtext(f"{{{FA3_NS}}}Fa/{{{FA3_NS}}}P_13_10") == "1000.00"
    assert validate_bytes(data).ok


def test_correction_outside_ksef_uses_nrksefn() -> None:
    from ksef_tui.domain.invoice import CorrectedInvoice

    data = build_xml(
        simple(
            kind=InvoiceKind.KOR,
            lines=(InvoiceLine("towar", D(1), D("10.5"), VatRate.R23),),
            lines_before=(InvoiceLine("towar", D(2), D("10.5"), VatRate.R23),),
            corrected=(CorrectedInvoice(date(2026, 1, 5), "FV/9/2025"),),
        )
    )
    assert validate_bytes(data).ok
    root = etree.fromstring(data)
    assert root.findtext(f".//{{{FA3_NS}}}NrKSeFN") == "1"
    assert root.find(f".//{{{FA3_NS}}}NrKSeFFaKorygowanej") is None
    assert (
        root.findtext(f"{{{FA3_NS}}}Fa/{{{FA3_NS}}}P_15") == "-12.91"
    )  # after 12.92 (tax 2.415 -> 2.42) minus before 25.83


def test_text_xml_cannot_carry_is_a_build_error() -> None:
    with pytest.raises(BuildError):
        build_xml(simple(number="FV\x00/1"))
