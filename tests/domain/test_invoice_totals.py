"""VAT summaries against the MF worked examples and the rounding rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    BuyerIdType,
    CorrectedInvoice,
    Exemption,
    ExemptionBasis,
    InvoiceKind,
    InvoiceLine,
    InvoiceProblem,
    PriceBasis,
    SalesInvoice,
    Seller,
    check_invoice,
    compute_totals,
)
from ksef_tui.domain.vat import VatRate

D = Decimal
SELLER = Seller("9999999999", "ABC AGD sp. z o. o.", Address("ul. Kwiatowa 1 m. 2", "00-001 Warszawa"))
BUYER = Buyer("F.H.U. Jan Kowalski", tax_id="1111111111", address=Address("ul. Polna 1"))


def invoice(*lines: InvoiceLine, **kwargs: object) -> SalesInvoice:
    base = SalesInvoice("FV1", date(2026, 2, 15), SELLER, BUYER, tuple(lines))
    return replace(base, **kwargs)  # type: ignore[arg-type]


def test_mf_example_1_net_method_tax_on_the_bucket_sum() -> None:
    totals = compute_totals(
        invoice(
            InvoiceLine("lodówka", D(1), D("1626.01"), VatRate.R23),
            InvoiceLine("wniesienie", D(1), D("40.65"), VatRate.R23),
            InvoiceLine("promocja", D(1), D("0.95"), VatRate.R5),
        )
    )
    assert totals.fields == {"P_13_1": D("1666.66"), "P_14_1": D("383.33"), "P_13_3": D("0.95"), "P_14_3": D("0.05")}
    # Line by line the tax would be 373.98 + 9.35 = 383.33 here too, but 0.0475 rounds to 0.05 only on the sum.
    # MF example 1 states P_15 = 2051 although its own buckets add up to 2050.99: it was priced gross.
    assert totals.gross == D("2050.99")


def test_mf_example_1_gross_method_gives_its_p15() -> None:
    totals = compute_totals(
        invoice(
            InvoiceLine("lodówka", D(1), D("2000"), VatRate.R23),
            InvoiceLine("wniesienie", D(1), D("50"), VatRate.R23),
            InvoiceLine("promocja", D(1), D("1"), VatRate.R5),
            price_basis=PriceBasis.GROSS,
        )
    )
    assert totals.fields["P_14_1"] == D("383.33")
    assert totals.fields["P_14_3"] == D("0.05")
    assert totals.fields["P_13_1"] == D("1666.67")
    assert totals.gross == D("2051.00")


def test_mf_example_2_correction_holds_differences() -> None:
    kor = invoice(
        InvoiceLine("lodówka", D(1), D("1463.41"), VatRate.R23),
        kind=InvoiceKind.KOR,
        lines_before=(InvoiceLine("lodówka", D(1), D("1626.01"), VatRate.R23),),
        corrected=(CorrectedInvoice(date(2026, 2, 15), "FV2026/02/150", "9999999999-20230908-8BEF280C8D35-4D"),),
    )
    totals = compute_totals(kor)
    assert totals.fields == {"P_13_1": D("-162.60"), "P_14_1": D("-37.40")}
    assert totals.gross == D("-200.00")
    assert check_invoice(kor) == []


def test_mf_example_20_foreign_currency() -> None:
    rate = D("4.5005")
    totals = compute_totals(
        invoice(
            InvoiceLine("lodówka", D(10), D(406), VatRate.R23),
            InvoiceLine("zamrażarka", D(20), D(250), VatRate.R23),
            InvoiceLine("zmywarka", D(15), D(300), VatRate.R23),
            currency="EUR",
            exchange_rate=rate,
        )
    )
    assert totals.fields == {"P_13_1": D("13560.00"), "P_14_1": D("3118.80"), "P_14_1W": D("14036.16")}
    assert totals.gross == D("16678.80")


def test_tax_in_pln_is_rounded_once_per_bucket_with_line_rates() -> None:
    # Each line's PLN tax is 10 × 23 % × 4.35 = 10.005: line by line 3 × 10.01 = 30.03, once 30.015 -> 30.02.
    lines = [InvoiceLine(name, D(1), D(10), VatRate.R23, exchange_rate=D("4.35")) for name in "abc"]
    totals = compute_totals(invoice(*lines, currency="EUR"))
    assert totals.fields["P_14_1W"] == D("30.02")


def test_untaxed_buckets_and_reverse_charge() -> None:
    inv = invoice(
        InvoiceLine("usługa", D(2), D("100"), VatRate.REVERSE_CHARGE),
        InvoiceLine("eksport", D(1), D("50"), VatRate.ZERO_EXPORT),
        InvoiceLine("WDT", D(1), D("40"), VatRate.ZERO_WDT),
        InvoiceLine("kraj 0", D(1), D("30"), VatRate.ZERO_DOMESTIC),
        InvoiceLine("zw", D(1), D("20"), VatRate.EXEMPT),
        InvoiceLine("np I", D(1), D("10"), VatRate.NP_I),
        InvoiceLine("np II", D(1), D("5"), VatRate.NP_II),
        exemption=Exemption(ExemptionBasis.POLISH_ACT, "art. 43 ust. 1 pkt 37"),
    )
    totals = compute_totals(inv)
    assert totals.fields == {
        "P_13_6_1": D("30.00"),
        "P_13_6_2": D("40.00"),
        "P_13_6_3": D("50.00"),
        "P_13_7": D("20.00"),
        "P_13_8": D("10.00"),
        "P_13_9": D("5.00"),
        "P_13_10": D("200.00"),
    }
    assert totals.gross == D("355.00")
    assert totals.vat == 0
    assert inv.reverse_charge


def test_mixed_rates_in_one_bucket_tax_each_rate_once() -> None:
    totals = compute_totals(
        invoice(InvoiceLine("a", D(1), D("100.05"), VatRate.R23), InvoiceLine("b", D(1), D("100.05"), VatRate.R22))
    )
    assert totals.fields["P_13_1"] == D("200.10")
    assert totals.fields["P_14_1"] == D("23.01") + D("22.01")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"currency": "EUR"}, InvoiceProblem.EXCHANGE_RATE_MISSING),
        ({"kind": InvoiceKind.KOR}, InvoiceProblem.CORRECTED_INVOICE_MISSING),
        ({"buyer": Buyer("X", tax_id="1234567890")}, InvoiceProblem.BUYER_NIP),
        ({"buyer": Buyer("X", id_type=BuyerIdType.EU, tax_id="123")}, InvoiceProblem.BUYER_ID_MISSING),
        ({"seller": Seller("1234567890", "X", Address("a"))}, InvoiceProblem.SELLER_NIP),
    ],
)
def test_model_problems(kwargs: dict[str, object], problem: InvoiceProblem) -> None:
    inv = invoice(InvoiceLine("a", D(1), D(1), VatRate.R23), **kwargs)
    assert problem in check_invoice(inv)


def test_exempt_line_needs_a_basis_and_margin_a_procedure() -> None:
    problems = check_invoice(
        invoice(InvoiceLine("a", D(1), D(1), VatRate.EXEMPT), InvoiceLine("b", D(1), D(1), VatRate.MARGIN))
    )
    assert InvoiceProblem.EXEMPTION_BASIS_MISSING in problems
    assert InvoiceProblem.MARGIN_PROCEDURE_MISSING in problems


def test_foreign_currency_without_rate_cannot_be_totalled() -> None:
    with pytest.raises(ValueError, match="exchange rate"):
        compute_totals(invoice(InvoiceLine("a", D(1), D(1), VatRate.R23), currency="EUR"))
