"""Hypothesis strategies for sales invoices (shared by the FA tests and the benchmark's generator)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    BuyerIdType,
    CorrectedInvoice,
    CorrectionType,
    Exemption,
    ExemptionBasis,
    InvoiceKind,
    InvoiceLine,
    MarginProcedure,
    Payment,
    PaymentForm,
    PriceBasis,
    SalesInvoice,
    Seller,
)
from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.domain.vat import VatRate

VALID_NIPS = ["5265877635", "9999999999", "1111111111", "7740001454", "5261040828"]
# Letters (Polish included), digits, punctuation and the XML specials that must be escaped.
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZąćęłńóśźżĄĆĘŁŃÓŚŹŻ0123456789 .,-/&<>\"'%()"

text = st.text(alphabet=_ALPHABET, min_size=1, max_size=40).map(lambda s: " ".join(s.split())).filter(bool)
days = st.dates(min_value=date(2026, 2, 1), max_value=date(2026, 12, 31))


@st.composite
def lines(draw: st.DrawFn, rates: st.SearchStrategy[VatRate]) -> InvoiceLine:
    price = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(20000), places=4))
    discount = draw(st.none() | st.decimals(min_value=Decimal("0.01"), max_value=price, places=2))
    return InvoiceLine(
        name=draw(text),
        quantity=draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(5000), places=3)),
        unit_price=price,
        discount=discount,
        rate=draw(rates),
        unit=draw(st.sampled_from(["szt.", "h", "kg", "usł."])),
        gtu=draw(st.none() | st.sampled_from(["GTU_01", "GTU_06", "GTU_12"])),
    )


@st.composite
def buyers(draw: st.DrawFn) -> Buyer:
    kind = draw(st.sampled_from(list(BuyerIdType)))
    address = draw(st.none() | st.builds(Address, text, st.none() | text, st.sampled_from(["PL", "DE", "US"])))
    if kind is BuyerIdType.NIP:
        return Buyer(draw(text), kind, draw(st.sampled_from(VALID_NIPS)), address=address)
    if kind is BuyerIdType.EU:
        tax_id = draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
        return Buyer(draw(text), kind, tax_id, eu_code=draw(st.sampled_from(["DE", "CZ", "FR"])), address=address)
    if kind is BuyerIdType.OTHER:
        tax_id = draw(st.from_regex(r"[A-Z0-9]{5,12}", fullmatch=True))
        return Buyer(draw(text), kind, tax_id, country=draw(st.sampled_from(["US", "GB", "UA"])), address=address)
    return Buyer(draw(text), kind, None, address=address)


@st.composite
def invoices(draw: st.DrawFn, *, corrections: bool = True) -> SalesInvoice:
    rates = st.sampled_from(list(VatRate))
    kind = draw(st.sampled_from([InvoiceKind.VAT, InvoiceKind.KOR] if corrections else [InvoiceKind.VAT]))
    after = tuple(draw(st.lists(lines(rates), min_size=1, max_size=6)))
    before: tuple[InvoiceLine, ...] = ()
    corrected: tuple[CorrectedInvoice, ...] = ()
    issue = draw(days)
    if kind is InvoiceKind.KOR:
        before = tuple(draw(st.lists(lines(rates), min_size=0, max_size=4)))
        in_ksef = draw(st.booleans())
        technical = draw(st.from_regex(r"[0-9A-F]{12}", fullmatch=True))
        corrected = (
            CorrectedInvoice(
                date(2026, 1, 30),
                draw(text),
                make_ksef_number("5265877635", date(2026, 1, 30), technical) if in_ksef else None,
            ),
        )
    currency = draw(st.sampled_from(["PLN", "PLN", "EUR", "USD", "CHF"]))
    rate = draw(st.decimals(min_value=Decimal("0.5"), max_value=Decimal(6), places=4)) if currency != "PLN" else None
    all_rates = {line.rate for line in before + after}
    return SalesInvoice(
        number=draw(text),
        issue_date=issue,
        seller=Seller("5265877635", draw(text), Address(draw(text), draw(st.none() | text))),
        buyer=draw(buyers()),
        lines=after,
        kind=kind,
        sale_date=draw(st.none() | days),
        place=draw(st.none() | text),
        currency=currency,
        exchange_rate=rate,
        price_basis=draw(st.sampled_from(list(PriceBasis))),
        payment=draw(
            st.none()
            | st.builds(
                Payment,
                st.none() | days,
                st.none() | st.sampled_from(list(PaymentForm)),
                st.none() | st.from_regex(r"[0-9]{26}", fullmatch=True),
            )
        ),
        exemption=Exemption(ExemptionBasis.POLISH_ACT, "art. 43 ust. 1 pkt 37")
        if VatRate.EXEMPT in all_rates
        else None,
        margin=MarginProcedure.USED_GOODS if VatRate.MARGIN in all_rates else None,
        split_payment=draw(st.booleans()),
        corrected=corrected,
        correction_reason=draw(text) if kind is InvoiceKind.KOR else None,
        correction_type=CorrectionType.OTHER if kind is InvoiceKind.KOR else None,
        lines_before=before,
    )
