"""From a read invoice back to the sales model: for importing FA(3) XML as sales invoices.

Only what the model can carry is taken; an invoice whose lines lack quantity, price or rate (simplified
invoices, collective corrections, advance invoices) cannot be re-issued from the model and is refused with
the reason, so nothing is silently changed.
"""

from __future__ import annotations

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
    Payment,
    PaymentForm,
    PriceBasis,
    SalesInvoice,
    Seller,
)
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.errors import FaError
from ksef_tui.fa.parse import ParsedInvoice, ParsedLine


class ConvertError(FaError):
    """The invoice cannot be represented by the sales model (the message says why; ``Category.INPUT``)."""

    key = "convert.unsupported"


def _address(lines: tuple[str, ...], country: str | None) -> Address | None:
    if not lines:
        return None
    return Address(lines[0], lines[1] if len(lines) > 1 else None, country or "PL")


def _line(parsed: ParsedLine, basis: PriceBasis) -> InvoiceLine:
    price = parsed.unit_gross if basis is PriceBasis.GROSS else parsed.unit_net
    if parsed.quantity is None or price is None:
        raise ConvertError("convert.no_price", row=parsed.number)
    if parsed.rate is None:
        raise ConvertError("convert.no_rate", row=parsed.number)
    try:
        rate = VatRate.from_p12(parsed.rate)
    except ValueError:
        raise ConvertError("convert.bad_rate", row=parsed.number, rate=parsed.rate) from None
    line = InvoiceLine(
        name=parsed.name or "",
        quantity=parsed.quantity,
        unit_price=price,
        rate=rate,
        unit=parsed.unit or "szt.",
        exchange_rate=parsed.exchange_rate,
        discount=parsed.discount,
    )
    stated = parsed.gross if basis is PriceBasis.GROSS else parsed.net
    if stated is not None and stated != line.amount:
        raise ConvertError("convert.amount", row=parsed.number, stated=stated, computed=line.amount)
    return line


def _buyer(parsed: ParsedInvoice) -> Buyer:
    party = parsed.buyer
    id_type = BuyerIdType(party.id_type)
    tax_id, eu_code = party.id, None
    if id_type is BuyerIdType.EU and party.id:
        eu_code, tax_id = party.id[:2], party.id[2:]
    return Buyer(
        name=party.name or "",
        id_type=id_type,
        tax_id=tax_id,
        eu_code=eu_code,
        country=party.country if id_type is BuyerIdType.OTHER else None,
        address=_address(party.address, party.country),
        email=party.email,
    )


def to_sales_invoice(parsed: ParsedInvoice) -> SalesInvoice:
    """The model of ``parsed``; raises :class:`ConvertError` when the model cannot carry it."""
    kind = InvoiceKind(parsed.kind)
    if kind not in (InvoiceKind.VAT, InvoiceKind.KOR):
        raise ConvertError("convert.kind", kind=kind.value)
    if not parsed.lines:
        raise ConvertError("convert.no_lines")
    if parsed.margin:
        raise ConvertError("convert.margin")
    gross_lines = [line.gross is not None and line.net is None for line in parsed.lines]
    basis = PriceBasis.GROSS if all(gross_lines) else PriceBasis.NET
    lines = [_line(line, basis) for line in parsed.lines]
    after = tuple(model for model, line in zip(lines, parsed.lines, strict=True) if not line.before)
    before = tuple(model for model, line in zip(lines, parsed.lines, strict=True) if line.before)
    rates = {line.exchange_rate for line in parsed.lines if line.exchange_rate is not None}
    exemption = None
    if parsed.exemption:
        exemption = Exemption(ExemptionBasis.POLISH_ACT, parsed.exemption)
    seller = parsed.seller
    return SalesInvoice(
        number=parsed.number,
        issue_date=parsed.issue_date,
        seller=Seller(
            seller.id or "",
            seller.name or "",
            _address(seller.address, seller.country) or Address(""),
            seller.email,
            seller.phone,
        ),
        buyer=_buyer(parsed),
        lines=after,
        kind=kind,
        sale_date=parsed.sale_date,
        place=parsed.place,
        currency=parsed.currency,
        exchange_rate=rates.pop() if len(rates) == 1 else None,
        price_basis=basis,
        payment=Payment(
            due_date=parsed.payment_due[0] if parsed.payment_due else None,
            form=PaymentForm(parsed.payment_form)
            if parsed.payment_form is not None and 1 <= parsed.payment_form <= 7
            else None,
            bank_account=parsed.bank_accounts[0] if parsed.bank_accounts else None,
        ),
        exemption=exemption,
        split_payment=parsed.split_payment,
        cash_accounting=parsed.cash_accounting,
        corrected=tuple(CorrectedInvoice(c.issue_date, c.number, c.ksef_number) for c in parsed.corrected),
        correction_reason=parsed.correction_reason,
        correction_type=CorrectionType(parsed.correction_type)
        if parsed.correction_type is not None and 1 <= parsed.correction_type <= 3
        else None,
        lines_before=before,
    )


__all__ = ["ConvertError", "to_sales_invoice"]
