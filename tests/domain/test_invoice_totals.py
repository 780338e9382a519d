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


# Rounding ties: the tax lands exactly on half a grosz. Half-up (art. 106e ust. 11: "końcówki poniżej 0,5 grosza
# pomija się, końcówki 0,5 grosza i wyższe zaokrągla się do 1 grosza") rounds them up; banker's rounding, half-down
# and truncation would not. Each tie below has an even grosz digit before the 5, where half-even differs.
@pytest.mark.parametrize(
    ("net", "rate", "tax"),
    [
        ("1.50", VatRate.R23, "0.35"),  # 0.345
        ("3.50", VatRate.R23, "0.81"),  # 0.805
        ("0.75", VatRate.R22, "0.17"),  # 0.165
        ("0.50", VatRate.R5, "0.03"),  # 0.025
        ("0.10", VatRate.R5, "0.01"),  # 0.005
    ],
)
def test_net_method_ties_round_half_up(net: str, rate: VatRate, tax: str) -> None:
    totals = compute_totals(invoice(InvoiceLine("a", D(1), D(net), rate)))
    assert rate.bucket.tax is not None
    assert totals.fields == {rate.bucket.net: D(net), rate.bucket.tax: D(tax)}
    assert totals.gross == D(net) + D(tax)


def test_a_tie_reached_only_by_the_bucket_sum_rounds_once_half_up() -> None:
    # Two lines of 0.75 at 23 %: 0.1725 each (0.17 + 0.17 = 0.34 line by line); the sum 1.50 gives 0.345 -> 0.35.
    totals = compute_totals(
        invoice(InvoiceLine("a", D(1), D("0.75"), VatRate.R23), InvoiceLine("b", D(1), D("0.75"), VatRate.R23))
    )
    assert totals.fields == {"P_13_1": D("1.50"), "P_14_1": D("0.35")}


def test_a_line_amount_on_a_tie_rounds_half_up() -> None:
    line = InvoiceLine("a", D("0.5"), D("0.05"), VatRate.R23)  # 0.025
    assert line.amount == D("0.03")
    assert InvoiceLine("b", D(3), D("0.125"), VatRate.R23, discount=D("0.01")).amount == D("0.35")  # 0.345


@pytest.mark.parametrize(
    ("gross", "tax"),
    [
        # At 4 % the tax in a gross amount is g × 4/104 = g/26: an odd multiple of 0.13 gives a tie (at 23 %, 8 % and
        # 5 % no gross amount in grosz can: the divisor 123, 108 or 105 leaves no half-grosz).
        ("0.13", "0.01"),  # 0.005
        ("0.65", "0.03"),  # 0.025
        ("1.17", "0.05"),  # 0.045
    ],
)
def test_gross_method_ties_round_half_up(gross: str, tax: str) -> None:
    totals = compute_totals(invoice(InvoiceLine("a", D(1), D(gross), VatRate.R4), price_basis=PriceBasis.GROSS))
    assert totals.fields == {"P_13_4": D(gross) - D(tax), "P_14_4": D(tax)}
    assert totals.gross == D(gross)


def test_tax_in_pln_on_a_tie_rounds_half_up() -> None:
    # 10 EUR at 23 % and 4.35 PLN/EUR: 10.005 PLN of tax -> 10.01 (half-even would keep 10.00).
    totals = compute_totals(
        invoice(InvoiceLine("a", D(1), D(10), VatRate.R23), currency="EUR", exchange_rate=D("4.35"))
    )
    assert totals.fields["P_14_1W"] == D("10.01")


def correction(before: tuple[InvoiceLine, ...], after: tuple[InvoiceLine, ...], **kwargs: object) -> SalesInvoice:
    return invoice(
        *after,
        kind=InvoiceKind.KOR,
        lines_before=before,
        corrected=(CorrectedInvoice(date(2026, 2, 1), "FV0"),),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("before", "after", "net", "tax"),
    [
        # The invoice before said 1.50 + 0.35 (0.345 rounded up); after, 3.00 + 0.69: the correction adds 0.34.
        # Rounding the difference (1.50 × 23 % = 0.345 -> 0.35) would make the two documents state 0.70 of VAT
        # for a 3.00 net sale that carries 0.69.
        ("1.50", "3.00", "1.50", "0.34"),
        ("3.00", "1.50", "-1.50", "-0.34"),
        ("1.50", None, "-1.50", "-0.35"),  # the line removed: its whole tax, 0.35, taken back
        (None, "1.50", "1.50", "0.35"),  # a line added
    ],
)
def test_a_correction_on_a_tie_is_after_minus_before_each_rounded(
    before: str | None, after: str | None, net: str, tax: str
) -> None:
    def lines(amount: str | None) -> tuple[InvoiceLine, ...]:
        return (InvoiceLine("a", D(1), D(amount), VatRate.R23),) if amount else ()

    totals = compute_totals(correction(lines(before), lines(after)))
    assert totals.fields == {"P_13_1": D(net), "P_14_1": D(tax)}
    assert totals.gross == D(net) + D(tax)


def test_a_gross_priced_correction_on_a_tie() -> None:
    # Before: 0.65 gross at 4 % = 0.62 + 0.03 (0.025 up); after: 1.30 = 1.25 + 0.05; the correction: 0.63 + 0.02.
    before = (InvoiceLine("a", D(1), D("0.65"), VatRate.R4),)
    after = (InvoiceLine("a", D(1), D("1.30"), VatRate.R4),)
    totals = compute_totals(correction(before, after, price_basis=PriceBasis.GROSS))
    assert totals.fields == {"P_13_4": D("0.63"), "P_14_4": D("0.02")}
    assert totals.gross == D("0.65")


def test_a_gross_priced_foreign_invoice_takes_the_pln_tax_from_the_gross() -> None:
    # 123 EUR gross at 23 % holds 23 EUR of tax; at 4.30 PLN/EUR that is 98.90 PLN (from the net, 28.29 × 4.3).
    totals = compute_totals(
        invoice(
            InvoiceLine("a", D(1), D(123), VatRate.R23),
            currency="EUR",
            exchange_rate=D("4.30"),
            price_basis=PriceBasis.GROSS,
        )
    )
    assert totals.fields == {"P_13_1": D("100.00"), "P_14_1": D("23.00"), "P_14_1W": D("98.90")}
    assert totals.gross == D("123.00")


def test_a_correction_of_data_only_has_zero_totals() -> None:
    # A correction of the buyer's name: no lines before or after, nothing to pay or to deduct.
    totals = compute_totals(correction((), ()))
    assert totals.fields == {}
    assert (totals.gross, totals.net, totals.vat) == (D("0.00"), D("0.00"), D("0.00"))
    assert str(totals.gross) == "0.00"


def test_net_and_vat_of_the_summary_leave_out_the_pln_tax() -> None:
    totals = compute_totals(
        invoice(
            InvoiceLine("a", D(1), D(100), VatRate.R23),
            InvoiceLine("b", D(1), D(50), VatRate.R8),
            InvoiceLine("c", D(1), D(10), VatRate.EXEMPT),
            currency="EUR",
            exchange_rate=D("4.00"),
            exemption=Exemption(ExemptionBasis.POLISH_ACT, "art. 43"),
        )
    )
    assert totals.net == D("160.00")
    assert totals.vat == D("27.00")  # 23 + 4, not the 108 PLN of P_14_xW
    assert totals.gross == D("187.00")


def test_a_correct_invoice_has_no_problems() -> None:
    assert check_invoice(invoice(InvoiceLine("a", D(1), D(1), VatRate.R23))) == []


@pytest.mark.parametrize(
    ("kwargs", "problems"),
    [
        ({"number": "  "}, [InvoiceProblem.NUMBER_MISSING]),
        ({"lines": ()}, [InvoiceProblem.NO_LINES]),
        ({"buyer": Buyer("X", tax_id=None)}, [InvoiceProblem.BUYER_NIP]),
        ({"buyer": Buyer("X", id_type=BuyerIdType.OTHER)}, [InvoiceProblem.BUYER_ID_MISSING]),
        ({"buyer": Buyer("X", id_type=BuyerIdType.OTHER, tax_id="A123")}, []),
        ({"buyer": Buyer("X", id_type=BuyerIdType.EU, tax_id="123", eu_code="DE")}, []),
        ({"buyer": Buyer("X", id_type=BuyerIdType.NONE)}, []),
        ({"lines": (InvoiceLine("a", D(0), D(1), VatRate.R23),)}, [InvoiceProblem.NON_POSITIVE_QUANTITY]),
        ({"lines": (InvoiceLine("a", D("0.5"), D(1), VatRate.R23),)}, []),
        ({"currency": "EUR", "lines": (InvoiceLine("a", D(1), D(1), VatRate.R23, exchange_rate=D(4)),)}, []),
        ({"currency": "EUR", "lines": (InvoiceLine("a", D(1), D(1), VatRate.ZERO_EXPORT),)}, []),  # no tax to convert
    ],
)
def test_each_problem_on_its_own(kwargs: dict[str, object], problems: list[InvoiceProblem]) -> None:
    base = invoice(InvoiceLine("a", D(1), D(1), VatRate.R23))
    assert check_invoice(replace(base, **kwargs)) == problems  # type: ignore[arg-type]


def test_a_correction_may_have_no_lines_and_negative_quantities() -> None:
    kor = correction((InvoiceLine("a", D(2), D(1), VatRate.R23),), (InvoiceLine("a", D(-1), D(1), VatRate.R23),))
    assert check_invoice(kor) == []
    assert check_invoice(correction((), ())) == []
