"""The sales invoice and correction model, and how their VAT summary is computed.

Two ways of pricing, as the VAT Act allows (art. 106e):

* net (default): lines carry net unit prices; per rate the tax is computed once on the sum of the line nets
  and rounded half-up to the grosz (MF example 1: 1666.66 × 23 % = 383.3318 → 383.33);
* gross (art. 106e ust. 7-8): lines carry gross unit prices; per rate the tax is derived once from the sum
  of the line grosses as gross × r / (100 + r), and net = gross − tax (MF example 1 priced 2000 + 50 at
  23 % and 1 at 5 %: 383.33 and 0.05 of tax, P_15 = 2051.00).

For an invoice in a foreign currency the tax in PLN (``P_14_xW``) is Σ(line tax base × rate × exchange
rate) rounded once per bucket (MF example 21). A correction's summary holds the differences: totals after
minus totals before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum, IntEnum

from ksef_tui.domain.money import q2
from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.domain.vat import BUCKETS, SUMMARY_FIELDS, VatRate

HUNDRED = Decimal(100)


class InvoiceKind(Enum):
    """``Fa/RodzajFaktury``."""

    VAT = "VAT"
    KOR = "KOR"
    ZAL = "ZAL"
    ROZ = "ROZ"
    UPR = "UPR"
    KOR_ZAL = "KOR_ZAL"
    KOR_ROZ = "KOR_ROZ"

    @property
    def is_correction(self) -> bool:
        return self in (InvoiceKind.KOR, InvoiceKind.KOR_ZAL, InvoiceKind.KOR_ROZ)


class BuyerIdType(Enum):
    """How the buyer is identified in ``Podmiot2/DaneIdentyfikacyjne``."""

    NIP = "Nip"
    EU = "UE"
    OTHER = "Other"
    NONE = "None"


class PaymentForm(IntEnum):
    CASH = 1
    CARD = 2
    VOUCHER = 3
    CHEQUE = 4
    CREDIT = 5
    TRANSFER = 6
    MOBILE = 7


class ExemptionBasis(Enum):
    """Which field carries the legal basis of an exempt supply."""

    POLISH_ACT = "P_19A"
    DIRECTIVE = "P_19B"
    OTHER = "P_19C"


class MarginProcedure(Enum):
    TRAVEL = "P_PMarzy_2"
    USED_GOODS = "P_PMarzy_3_1"
    ART = "P_PMarzy_3_2"
    ANTIQUES = "P_PMarzy_3_3"


class PriceBasis(Enum):
    NET = "net"
    GROSS = "gross"


class CorrectionType(IntEnum):
    AT_ORIGINAL_DATE = 1
    AT_CORRECTION_DATE = 2
    OTHER = 3


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    line2: str | None = None
    country: str = "PL"


@dataclass(frozen=True, slots=True)
class Seller:
    nip: str
    name: str
    address: Address
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Buyer:
    """The buyer. ``tax_id`` is the NIP, the EU VAT number without prefix, or any other tax id."""

    name: str
    id_type: BuyerIdType = BuyerIdType.NIP
    tax_id: str | None = None
    eu_code: str | None = None
    country: str | None = None
    address: Address | None = None
    email: str | None = None
    customer_number: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line. ``unit_price`` is net or gross as the invoice's ``price_basis`` says (margin-scheme lines
    carry no VAT, their price is the amount due)."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    rate: VatRate
    unit: str = "szt."
    exchange_rate: Decimal | None = None
    gtu: str | None = None
    discount: Decimal | None = None

    @property
    def amount(self) -> Decimal:
        """``P_11`` (net basis) or ``P_11A`` (gross basis): quantity × (unit price − discount), to the grosz.

        ``discount`` (``P_10``) is per unit, as MF example 4 applies it: 20 × (1000 − 100) = 18000.
        """
        return q2(self.quantity * (self.unit_price - (self.discount or 0)))


@dataclass(frozen=True, slots=True)
class Payment:
    due_date: date | None = None
    form: PaymentForm | None = None
    bank_account: str | None = None
    paid_on: date | None = None


@dataclass(frozen=True, slots=True)
class Exemption:
    basis: ExemptionBasis
    text: str


@dataclass(frozen=True, slots=True)
class CorrectedInvoice:
    """The invoice a correction refers to; ``ksef_number`` is ``None`` when it was issued outside KSeF."""

    issue_date: date
    number: str
    ksef_number: str | None = None


@dataclass(frozen=True, slots=True)
class SalesInvoice:
    number: str
    issue_date: date
    seller: Seller
    buyer: Buyer
    lines: tuple[InvoiceLine, ...]
    kind: InvoiceKind = InvoiceKind.VAT
    sale_date: date | None = None
    place: str | None = None
    currency: str = "PLN"
    exchange_rate: Decimal | None = None
    price_basis: PriceBasis = PriceBasis.NET
    payment: Payment | None = None
    exemption: Exemption | None = None
    margin: MarginProcedure | None = None
    split_payment: bool = False
    cash_accounting: bool = False
    footer: str | None = None
    # corrections only
    corrected: tuple[CorrectedInvoice, ...] = ()
    correction_reason: str | None = None
    correction_type: CorrectionType | None = None
    lines_before: tuple[InvoiceLine, ...] = field(default=())

    @property
    def reverse_charge(self) -> bool:
        return any(line.rate is VatRate.REVERSE_CHARGE for line in self.all_lines)

    @property
    def all_lines(self) -> tuple[InvoiceLine, ...]:
        return self.lines_before + self.lines

    @property
    def foreign(self) -> bool:
        return self.currency != "PLN"


@dataclass(frozen=True, slots=True)
class Totals:
    """The ``Fa`` VAT summary: only the fields that apply, in schema order, plus ``P_15``."""

    fields: dict[str, Decimal]
    gross: Decimal

    @property
    def net(self) -> Decimal:
        return sum((v for k, v in self.fields.items() if k.startswith("P_13")), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return sum(
            (v for k, v in self.fields.items() if k.startswith("P_14") and not k.endswith("W")),
            Decimal("0.00"),
        )


def _tax_part(amount: Decimal, percent: Decimal, basis: PriceBasis) -> Decimal:
    """The unrounded tax in ``amount`` (a net or a gross sum) at ``percent``."""
    if basis is PriceBasis.GROSS:
        return amount * percent / (HUNDRED + percent)
    return amount * percent / HUNDRED


def _sums(lines: tuple[InvoiceLine, ...], invoice: SalesInvoice) -> dict[str, Decimal]:
    basis = invoice.price_basis
    amount_by_rate: dict[VatRate, Decimal] = defaultdict(Decimal)
    pln_tax_by_bucket: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        amount_by_rate[line.rate] += line.amount
        percent = line.rate.percent
        if invoice.foreign and percent is not None and line.rate.bucket.tax_pln is not None:
            fx = line.exchange_rate or invoice.exchange_rate
            if fx is None:
                raise ValueError(f"line {line.name!r}: an exchange rate is needed for {invoice.currency}")
            pln_tax_by_bucket[line.rate.bucket.tax_pln] += _tax_part(line.amount, percent, basis) * fx
    result: dict[str, Decimal] = defaultdict(Decimal)
    for rate, amount in amount_by_rate.items():
        bucket = rate.bucket
        percent = rate.percent
        if bucket.tax is not None and percent is not None:
            tax = q2(_tax_part(amount, percent, basis))
            result[bucket.tax] += tax
            result[bucket.net] += amount - tax if basis is PriceBasis.GROSS else amount
        else:
            result[bucket.net] += amount
    for name, amount in pln_tax_by_bucket.items():
        result[name] = q2(amount)
    return dict(result)


def compute_totals(invoice: SalesInvoice) -> Totals:
    """The VAT summary of an invoice, or of a correction as after minus before."""
    after = _sums(invoice.lines, invoice)
    if invoice.kind.is_correction:
        before = _sums(invoice.lines_before, invoice)
        combined = {name: after.get(name, Decimal(0)) - before.get(name, Decimal(0)) for name in {*after, *before}}
    else:
        combined = after
    ordered = {name: q2(combined[name]) for name in SUMMARY_FIELDS if name in combined}
    gross = sum(
        (v for k, v in ordered.items() if k.startswith("P_13") or (k.startswith("P_14") and not k.endswith("W"))),
        Decimal("0.00"),
    )
    return Totals(fields=ordered, gross=q2(gross))


class InvoiceProblem(Enum):
    """Model-level problems found before any XML is built (each has a PL/EN message in the UI)."""

    NO_LINES = "no-lines"
    SELLER_NIP = "seller-nip"
    BUYER_NIP = "buyer-nip"
    BUYER_ID_MISSING = "buyer-id-missing"
    EXCHANGE_RATE_MISSING = "exchange-rate-missing"
    EXEMPTION_BASIS_MISSING = "exemption-basis-missing"
    MARGIN_PROCEDURE_MISSING = "margin-procedure-missing"
    CORRECTED_INVOICE_MISSING = "corrected-invoice-missing"
    NUMBER_MISSING = "number-missing"
    NON_POSITIVE_QUANTITY = "non-positive-quantity"
    SALE_DATE_AFTER = "sale-date"


def check_invoice(invoice: SalesInvoice) -> list[InvoiceProblem]:
    """Problems that would make the invoice wrong in law or rejected by KSeF (empty list: fine)."""
    problems: list[InvoiceProblem] = []
    if not invoice.number.strip():
        problems.append(InvoiceProblem.NUMBER_MISSING)
    if not invoice.lines and not invoice.kind.is_correction:
        problems.append(InvoiceProblem.NO_LINES)
    if not is_valid_nip(invoice.seller.nip):
        problems.append(InvoiceProblem.SELLER_NIP)
    buyer = invoice.buyer
    if buyer.id_type is BuyerIdType.NIP and not is_valid_nip(buyer.tax_id or ""):
        problems.append(InvoiceProblem.BUYER_NIP)
    if buyer.id_type in (BuyerIdType.EU, BuyerIdType.OTHER) and not buyer.tax_id:
        problems.append(InvoiceProblem.BUYER_ID_MISSING)
    if buyer.id_type is BuyerIdType.EU and not buyer.eu_code:
        problems.append(InvoiceProblem.BUYER_ID_MISSING)
    if (
        invoice.foreign
        and invoice.exchange_rate is None
        and any(line.exchange_rate is None and line.rate.percent is not None for line in invoice.all_lines)
    ):
        problems.append(InvoiceProblem.EXCHANGE_RATE_MISSING)
    rates = {line.rate for line in invoice.all_lines}
    if VatRate.EXEMPT in rates and invoice.exemption is None:
        problems.append(InvoiceProblem.EXEMPTION_BASIS_MISSING)
    if VatRate.MARGIN in rates and invoice.margin is None:
        problems.append(InvoiceProblem.MARGIN_PROCEDURE_MISSING)
    if invoice.kind.is_correction and not invoice.corrected:
        problems.append(InvoiceProblem.CORRECTED_INVOICE_MISSING)
    if any(line.quantity <= 0 for line in invoice.lines if not invoice.kind.is_correction):
        problems.append(InvoiceProblem.NON_POSITIVE_QUANTITY)
    return problems


__all__ = [
    "BUCKETS",
    "Address",
    "Buyer",
    "BuyerIdType",
    "CorrectedInvoice",
    "CorrectionType",
    "Exemption",
    "ExemptionBasis",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceProblem",
    "MarginProcedure",
    "Payment",
    "PaymentForm",
    "PriceBasis",
    "SalesInvoice",
    "Seller",
    "Totals",
    "check_invoice",
    "compute_totals",
]
