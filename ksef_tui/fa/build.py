"""Build FA(3) XML from a :class:`~ksef_tui.domain.invoice.SalesInvoice`.

Element order follows the official XSD (``schemat_FA(3)_v1-0E.xsd``); every document this module produces
is meant to validate against it (the tests check that for generated invoices). The VAT summary comes from
:func:`ksef_tui.domain.invoice.compute_totals`, never from the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from ksef_tui.domain.invoice import (
    Buyer,
    BuyerIdType,
    InvoiceLine,
    PriceBasis,
    SalesInvoice,
    Seller,
    compute_totals,
)
from ksef_tui.domain.money import xml_amount
from ksef_tui.fa.errors import FaError
from ksef_tui.fa.validate import FA3_NS

SYSTEM_INFO = "ksef-tui"
_NS = f"{{{FA3_NS}}}"


class BuildError(FaError):
    """The model cannot be expressed as FA(3) (e.g. text with characters XML cannot carry)."""

    key = "build.failed"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _NS + name)
    if text is not None:
        element.text = text
    return element


def _address(parent: etree._Element, name: str, line1: str, line2: str | None, country: str) -> None:
    address = _sub(parent, name)
    _sub(address, "KodKraju", country)
    _sub(address, "AdresL1", line1)
    if line2:
        _sub(address, "AdresL2", line2)


def _seller(root: etree._Element, seller: Seller) -> None:
    podmiot = _sub(root, "Podmiot1")
    ids = _sub(podmiot, "DaneIdentyfikacyjne")
    _sub(ids, "NIP", seller.nip)
    _sub(ids, "Nazwa", seller.name)
    _address(podmiot, "Adres", seller.address.line1, seller.address.line2, seller.address.country)
    if seller.email or seller.phone:
        contact = _sub(podmiot, "DaneKontaktowe")
        if seller.email:
            _sub(contact, "Email", seller.email)
        if seller.phone:
            _sub(contact, "Telefon", seller.phone)


def _buyer(root: etree._Element, buyer: Buyer) -> None:
    podmiot = _sub(root, "Podmiot2")
    ids = _sub(podmiot, "DaneIdentyfikacyjne")
    if buyer.id_type is BuyerIdType.NIP:
        _sub(ids, "NIP", buyer.tax_id or "")
    elif buyer.id_type is BuyerIdType.EU:
        _sub(ids, "KodUE", buyer.eu_code or "")
        _sub(ids, "NrVatUE", buyer.tax_id or "")
    elif buyer.id_type is BuyerIdType.OTHER:
        if buyer.country:
            _sub(ids, "KodKraju", buyer.country)
        _sub(ids, "NrID", buyer.tax_id or "")
    else:
        _sub(ids, "BrakID", "1")
    if buyer.name:
        _sub(ids, "Nazwa", buyer.name)
    if buyer.address is not None:
        _address(podmiot, "Adres", buyer.address.line1, buyer.address.line2, buyer.address.country)
    if buyer.email:
        _sub(_sub(podmiot, "DaneKontaktowe"), "Email", buyer.email)
    if buyer.customer_number:
        _sub(podmiot, "NrKlienta", buyer.customer_number)
    _sub(podmiot, "JST", "2")
    _sub(podmiot, "GV", "2")


def _annotations(fa: etree._Element, invoice: SalesInvoice) -> None:
    adnotacje = _sub(fa, "Adnotacje")
    _sub(adnotacje, "P_16", "1" if invoice.cash_accounting else "2")
    _sub(adnotacje, "P_17", "2")
    _sub(adnotacje, "P_18", "1" if invoice.reverse_charge else "2")
    _sub(adnotacje, "P_18A", "1" if invoice.split_payment else "2")
    zwolnienie = _sub(adnotacje, "Zwolnienie")
    if invoice.exemption is not None:
        _sub(zwolnienie, "P_19", "1")
        _sub(zwolnienie, invoice.exemption.basis.value, invoice.exemption.text)
    else:
        _sub(zwolnienie, "P_19N", "1")
    _sub(_sub(adnotacje, "NoweSrodkiTransportu"), "P_22N", "1")
    _sub(adnotacje, "P_23", "2")
    marza = _sub(adnotacje, "PMarzy")
    if invoice.margin is not None:
        _sub(marza, "P_PMarzy", "1")
        _sub(marza, invoice.margin.value, "1")
    else:
        _sub(marza, "P_PMarzyN", "1")


def _line(fa: etree._Element, number: int, line: InvoiceLine, invoice: SalesInvoice, *, before: bool) -> None:
    row = _sub(fa, "FaWiersz")
    _sub(row, "NrWierszaFa", str(number))
    _sub(row, "P_7", line.name)
    _sub(row, "P_8A", line.unit)
    _sub(row, "P_8B", xml_amount(line.quantity, 6))
    gross = invoice.price_basis is PriceBasis.GROSS
    _sub(row, "P_9B" if gross else "P_9A", xml_amount(line.unit_price, 8))
    if line.discount:
        _sub(row, "P_10", xml_amount(line.discount, 8))
    _sub(row, "P_11A" if gross else "P_11", xml_amount(line.amount))
    if line.rate.p12 is not None:
        _sub(row, "P_12", line.rate.p12)
    if line.gtu:
        _sub(row, "GTU", line.gtu)
    rate = line.exchange_rate or invoice.exchange_rate
    if invoice.foreign and rate is not None:
        _sub(row, "KursWaluty", xml_amount(rate, 6))
    if before:
        _sub(row, "StanPrzed", "1")


def _lines(fa: etree._Element, invoice: SalesInvoice) -> None:
    before, after = invoice.lines_before, invoice.lines
    if not invoice.kind.is_correction or not before:
        for number, line in enumerate(after, start=1):
            _line(fa, number, line, invoice, before=False)
        return
    # MF example 2: the "before" row (StanPrzed=1) and the "after" row share a line number.
    for index in range(max(len(before), len(after))):
        if index < len(before):
            _line(fa, index + 1, before[index], invoice, before=True)
        if index < len(after):
            _line(fa, index + 1, after[index], invoice, before=False)


def _correction(fa: etree._Element, invoice: SalesInvoice) -> None:
    if invoice.correction_reason:
        _sub(fa, "PrzyczynaKorekty", invoice.correction_reason)
    if invoice.correction_type is not None:
        _sub(fa, "TypKorekty", str(int(invoice.correction_type)))
    for ref in invoice.corrected:
        dane = _sub(fa, "DaneFaKorygowanej")
        _sub(dane, "DataWystFaKorygowanej", ref.issue_date.isoformat())
        _sub(dane, "NrFaKorygowanej", ref.number)
        if ref.ksef_number:
            _sub(dane, "NrKSeF", "1")
            _sub(dane, "NrKSeFFaKorygowanej", ref.ksef_number)
        else:
            _sub(dane, "NrKSeFN", "1")


def _payment(fa: etree._Element, invoice: SalesInvoice) -> None:
    payment = invoice.payment
    if payment is None:
        return
    platnosc = _sub(fa, "Platnosc")
    if payment.paid_on is not None:
        _sub(platnosc, "Zaplacono", "1")
        _sub(platnosc, "DataZaplaty", payment.paid_on.isoformat())
    if payment.due_date is not None:
        _sub(_sub(platnosc, "TerminPlatnosci"), "Termin", payment.due_date.isoformat())
    if payment.form is not None:
        _sub(platnosc, "FormaPlatnosci", str(int(payment.form)))
    if payment.bank_account:
        _sub(_sub(platnosc, "RachunekBankowy"), "NrRB", payment.bank_account)


def build_element(invoice: SalesInvoice, *, created_at: datetime | None = None) -> etree._Element:
    """The ``Faktura`` element of ``invoice`` (FA(3), schema version 1-0E)."""
    totals = compute_totals(invoice)
    root = etree.Element(_NS + "Faktura", nsmap={None: FA3_NS})
    naglowek = _sub(root, "Naglowek")
    kod = _sub(naglowek, "KodFormularza", "FA")
    kod.set("kodSystemowy", "FA (3)")
    kod.set("wersjaSchemy", "1-0E")
    _sub(naglowek, "WariantFormularza", "3")
    stamp = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    _sub(naglowek, "DataWytworzeniaFa", stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _sub(naglowek, "SystemInfo", SYSTEM_INFO)
    _seller(root, invoice.seller)
    _buyer(root, invoice.buyer)

    fa = _sub(root, "Fa")
    _sub(fa, "KodWaluty", invoice.currency)
    _sub(fa, "P_1", invoice.issue_date.isoformat())
    if invoice.place:
        _sub(fa, "P_1M", invoice.place)
    _sub(fa, "P_2", invoice.number)
    if invoice.sale_date is not None and invoice.sale_date != invoice.issue_date:
        _sub(fa, "P_6", invoice.sale_date.isoformat())
    for name, amount in totals.fields.items():
        _sub(fa, name, xml_amount(amount))
    _sub(fa, "P_15", xml_amount(totals.gross))
    _annotations(fa, invoice)
    _sub(fa, "RodzajFaktury", invoice.kind.value)
    if invoice.kind.is_correction:
        _correction(fa, invoice)
    _lines(fa, invoice)
    _payment(fa, invoice)
    if invoice.footer:
        _sub(_sub(_sub(root, "Stopka"), "Informacje"), "StopkaFaktury", invoice.footer)
    return root


def build_xml(invoice: SalesInvoice, *, created_at: datetime | None = None) -> bytes:
    """UTF-8 bytes (no BOM, XML declaration only, no processing instructions) ready to send to KSeF."""
    try:
        root = build_element(invoice, created_at=created_at)
    except ValueError as exc:  # lxml refuses text that XML cannot carry (control characters, NUL)
        if isinstance(exc, BuildError):
            raise
        raise BuildError("build.failed", detail=str(exc)) from exc
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


__all__ = ["SYSTEM_INFO", "BuildError", "build_element", "build_xml"]
