"""One reader for FA(3) and FA(2) invoices into one read model (:class:`ParsedInvoice`).

Element names are resolved in the document's own namespace, so a single code path serves both schemas
(every FA(2) element path also exists in FA(3)). The differences a reader must bridge are handled here:
FA(2) line rates ``0`` and ``np`` are mapped to their FA(3) spelling from the header buckets, ``JST``/``GV``
are not read, and ``Platnosc/TerminPlatnosci/Termin`` may be absent.

The reader is tolerant of what it does not need (a missing ``Adnotacje`` reads as "no flags") and strict about
what it does: a missing required element or a malformed date, amount or number raises
:class:`InvoiceParseError` naming the element and its line. Amounts are ``Decimal`` read from the text,
never float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Final
from zoneinfo import ZoneInfo

from lxml import etree

from ksef_tui.domain.money import ZERO, q2
from ksef_tui.domain.vat import SUMMARY_FIELDS
from ksef_tui.fa.errors import FaError, Text
from ksef_tui.fa.messages import syntax_text
from ksef_tui.fa.validate import Schema, detect_schema
from ksef_tui.fa.xmlsafe import XmlRefused, parse_bytes

__all__ = [
    "CorrectedRef",
    "InvoiceParseError",
    "ParsedInvoice",
    "ParsedLine",
    "Party",
    "parse_element",
    "parse_invoice",
]

INVOICE_KINDS: Final = frozenset({"VAT", "KOR", "ZAL", "ROZ", "UPR", "KOR_ZAL", "KOR_ROZ"})


WARSAW = ZoneInfo("Europe/Warsaw")


class InvoiceParseError(FaError):
    """The document cannot be read as an invoice (``Category.INPUT``). ``line`` is the source line when one
    is known; the message is translated when shown, ``str()`` is the English text."""

    key = "parse.unreadable"


@dataclass(frozen=True, slots=True)
class Party:
    id_type: str  # "Nip" | "UE" | "Other" | "None" (Podmiot1 is always "Nip")
    id: str | None
    name: str | None
    country: str | None
    address: tuple[str, ...]
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class ParsedLine:
    number: str
    name: str | None
    unit: str | None
    quantity: Decimal | None
    unit_net: Decimal | None
    unit_gross: Decimal | None
    net: Decimal | None
    gross: Decimal | None
    vat: Decimal | None
    rate: str | None
    exchange_rate: Decimal | None
    before: bool
    discount: Decimal | None = None  # P_10, per unit (MF example 4)


@dataclass(frozen=True, slots=True)
class CorrectedRef:
    ksef_number: str | None
    number: str
    issue_date: date


def _amount_str(value: Decimal) -> str:
    rounded = q2(value)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.00"
    return format(rounded, "f")


@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    schema: str
    kind: str
    number: str
    issue_date: date
    sale_date: date | None
    period: tuple[date, date] | None
    place: str | None
    created_at: datetime
    system_info: str | None
    seller: Party
    buyer: Party
    currency: str
    buckets: dict[str, Decimal]
    gross: Decimal
    amount_due: Decimal | None
    lines: tuple[ParsedLine, ...]
    corrected: tuple[CorrectedRef, ...]
    correction_reason: str | None
    correction_type: int | None
    payment_due: tuple[date, ...]
    payment_form: int | None
    bank_accounts: tuple[str, ...]
    paid: bool
    reverse_charge: bool
    split_payment: bool
    cash_accounting: bool
    self_billing: bool
    exemption: str | None
    margin: bool

    @property
    def net_total(self) -> Decimal:
        """Sum of the ``P_13_x`` buckets."""
        return sum((v for k, v in self.buckets.items() if k.startswith("P_13_")), ZERO)

    @property
    def vat_total(self) -> Decimal:
        """Sum of the ``P_14_x`` buckets in the invoice currency (the PLN ``P_14_xW`` fields excluded)."""
        return sum(
            (v for k, v in self.buckets.items() if k.startswith("P_14_") and not k.endswith("W")),
            ZERO,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "schema": self.schema,
            "type": self.kind,
            "number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "seller": {"nip": self.seller.id, "name": self.seller.name},
            "buyer": {"id_type": self.buyer.id_type, "id": self.buyer.id, "name": self.buyer.name},
            "currency": self.currency,
            "gross": _amount_str(self.gross),
            "buckets": {name: _amount_str(value) for name, value in self.buckets.items()},
            "lines": len(self.lines),
            "corrected": [
                {
                    "ksef_number": ref.ksef_number,
                    "number": ref.number,
                    "issue_date": ref.issue_date.isoformat(),
                }
                for ref in self.corrected
            ],
        }


# --- value parsing ------------------------------------------------------------------------------------------

# xsd:decimal lexical space (no exponent, no comma, no grouping).
_DECIMAL_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INT_RE: Final = re.compile(r"[+-]?[0-9]+")
_DATE_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:Z|[+-][0-9]{2}:[0-9]{2})?")
_DATETIME_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|([+-])([0-9]{2}):([0-9]{2}))?"
)


def _text(el: etree._Element) -> str | None:
    """Stripped text content; ``None`` when empty. Comments inside the element are skipped."""
    raw = el.text if len(el) == 0 else "".join(el.itertext())
    if raw is None:
        return None
    return raw.strip() or None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _bad(el: etree._Element, what: str, text: str | None) -> InvoiceParseError:
    return InvoiceParseError(
        "parse.bad_value", line=el.sourceline, element=_local(el), what=Text(f"parse.what.{what}"), text=repr(text)
    )


def _decimal(el: etree._Element) -> Decimal:
    text = _text(el)
    if text is None or not _DECIMAL_RE.fullmatch(text):
        raise _bad(el, "amount", text)
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise _bad(el, "amount", text) from exc


def _int(el: etree._Element) -> int:
    text = _text(el)
    if text is None or not _INT_RE.fullmatch(text):
        raise _bad(el, "integer", text)
    return int(text)


def _date(el: etree._Element) -> date:
    text = _text(el)
    match = _DATE_RE.fullmatch(text) if text is not None else None
    if match is None:
        raise _bad(el, "date", text)
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise _bad(el, "date", text) from exc


def _datetime(el: etree._Element) -> datetime:
    """An xsd:dateTime. Fractions beyond microseconds are truncated; no zone means Europe/Warsaw (as KSeF
    reads dates without an offset)."""
    text = _text(el)
    match = _DATETIME_RE.fullmatch(text) if text is not None else None
    if match is None:
        raise _bad(el, "datetime", text)
    year, month, day, hour, minute, second, fraction, zone, sign, zh, zm = match.groups()
    try:
        tz: tzinfo = WARSAW
        if zone == "Z":
            tz = UTC
        elif zone is not None and zone != "Z":
            offset = timedelta(hours=int(zh), minutes=int(zm))
            tz = timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    except ValueError as exc:
        raise _bad(el, "datetime", text) from exc


# --- element access -----------------------------------------------------------------------------------------


class _Tags(dict[str, str]):
    """Local name -> Clark name (``{ns}Name``) in one namespace, filled on first use."""

    __slots__ = ("prefix",)

    def __init__(self, namespace: str) -> None:
        super().__init__()
        self.prefix = "{" + namespace + "}"

    def __missing__(self, key: str) -> str:
        value = self[key] = self.prefix + key
        return value


_TAGS: Final = {schema.namespace: _Tags(schema.namespace) for schema in (Schema.FA3, Schema.FA2)}
#: Per namespace: Clark name of every summary field -> its local name.
_BUCKET_TAGS: Final = {namespace: {tags[name]: name for name in SUMMARY_FIELDS} for namespace, tags in _TAGS.items()}


class _Node:
    """An element with its children indexed by tag (first occurrence wins), read by local name."""

    __slots__ = ("el", "kids", "tags")

    def __init__(self, el: etree._Element, tags: _Tags, kids: dict[object, etree._Element] | None = None) -> None:
        self.el = el
        self.tags = tags
        if kids is None:
            kids = {}
            for child in el:
                kids.setdefault(child.tag, child)
        self.kids = kids

    def get(self, name: str) -> etree._Element | None:
        return self.kids.get(self.tags[name])

    def req(self, name: str) -> etree._Element:
        child = self.kids.get(self.tags[name])
        if child is None:
            raise InvoiceParseError("parse.missing", line=self.el.sourceline, name=name, parent=_local(self.el))
        return child

    def node(self, name: str) -> _Node | None:
        child = self.get(name)
        return None if child is None else _Node(child, self.tags)

    def req_node(self, name: str) -> _Node:
        return _Node(self.req(name), self.tags)

    def all(self, name: str) -> list[etree._Element]:
        return list(self.el.iterchildren(self.tags[name]))

    def text(self, name: str) -> str | None:
        child = self.get(name)
        return None if child is None else _text(child)

    def req_text(self, name: str) -> str:
        child = self.req(name)
        text = _text(child)
        if text is None:
            raise InvoiceParseError("parse.empty", line=child.sourceline, name=name)
        return text

    def decimal(self, name: str) -> Decimal | None:
        child = self.get(name)
        return None if child is None else _decimal(child)

    def date(self, name: str) -> date | None:
        child = self.get(name)
        return None if child is None else _date(child)

    def int(self, name: str) -> int | None:
        child = self.get(name)
        return None if child is None else _int(child)

    def flag(self, name: str) -> bool:
        """``True`` when the element says ``1`` (the "yes" of TWybor1/TWybor1_2)."""
        return self.text(name) == "1"


# --- the parts of an invoice --------------------------------------------------------------------------------


def _party(node: _Node, *, seller: bool) -> Party:
    ident = node.req_node("DaneIdentyfikacyjne")
    id_type: str
    ident_id: str | None
    id_country: str | None = None
    if seller or ident.get("NIP") is not None:
        id_type, ident_id = "Nip", ident.req_text("NIP")
    elif ident.get("NrVatUE") is not None:
        id_type, ident_id = "UE", (ident.text("KodUE") or "") + ident.req_text("NrVatUE")
    elif ident.get("NrID") is not None:
        id_type, ident_id = "Other", ident.req_text("NrID")
        id_country = ident.text("KodKraju")
    else:  # BrakID
        id_type, ident_id = "None", None

    country = id_country
    address: tuple[str, ...] = ()
    adres = node.node("Adres")
    if adres is not None:
        country = adres.text("KodKraju") or country
        address = tuple(t for t in (adres.text("AdresL1"), adres.text("AdresL2")) if t is not None)

    email: str | None = None
    phone: str | None = None
    for contact_el in node.all("DaneKontaktowe"):
        contact = _Node(contact_el, node.tags)
        email = email or contact.text("Email")
        phone = phone or contact.text("Telefon")

    return Party(
        id_type=id_type,
        id=ident_id,
        name=ident.text("Nazwa"),
        country=country,
        address=address,
        email=email,
        phone=phone,
    )


def _line(node: _Node, zero_rate: str, np_rate: str) -> ParsedLine:
    rate = node.text("P_12")
    if rate == "0":
        rate = zero_rate
    elif rate == "np":
        rate = np_rate
    return ParsedLine(
        number=node.req_text("NrWierszaFa"),
        name=node.text("P_7"),
        unit=node.text("P_8A"),
        quantity=node.decimal("P_8B"),
        unit_net=node.decimal("P_9A"),
        unit_gross=node.decimal("P_9B"),
        net=node.decimal("P_11"),
        gross=node.decimal("P_11A"),
        vat=node.decimal("P_11Vat"),
        rate=rate,
        exchange_rate=node.decimal("KursWaluty"),
        before=node.flag("StanPrzed"),
        discount=node.decimal("P_10"),
    )


def _corrected(node: _Node) -> CorrectedRef:
    return CorrectedRef(
        ksef_number=None if node.flag("NrKSeFN") else node.text("NrKSeFFaKorygowanej"),
        number=node.req_text("NrFaKorygowanej"),
        issue_date=_date(node.req("DataWystFaKorygowanej")),
    )


def _first_present(buckets: dict[str, Decimal], choices: tuple[tuple[str, str], ...]) -> str:
    for field, rate in choices:
        if field in buckets:
            return rate
    return choices[0][1]


_ZERO_RATES: Final = (("P_13_6_1", "0 KR"), ("P_13_6_2", "0 WDT"), ("P_13_6_3", "0 EX"))
_NP_RATES: Final = (("P_13_8", "np I"), ("P_13_9", "np II"))


def _parse_root(root: etree._Element) -> ParsedInvoice:
    schema = detect_schema(root)
    if schema is None or schema is Schema.UPO or _local(root) != "Faktura":
        namespace = etree.QName(root).namespace or "(none)"
        raise InvoiceParseError("parse.not_invoice", line=root.sourceline, root=_local(root), namespace=namespace)
    tags = _TAGS[schema.namespace]
    doc = _Node(root, tags)
    header = doc.req_node("Naglowek")
    seller = _party(doc.req_node("Podmiot1"), seller=True)
    buyer = _party(doc.req_node("Podmiot2"), seller=False)
    fa_el = doc.req("Fa")

    # One pass over Fa: the summary buckets (in document order, sorted below), the lines and the corrected
    # invoices; everything else is looked up through the index.
    bucket_tags = _BUCKET_TAGS[schema.namespace]
    line_tag, corrected_tag = tags["FaWiersz"], tags["DaneFaKorygowanej"]
    found: dict[str, Decimal] = {}
    line_els: list[etree._Element] = []
    corrected_els: list[etree._Element] = []
    kids: dict[object, etree._Element] = {}
    for child in fa_el:
        tag = child.tag
        if tag == line_tag:
            line_els.append(child)
        elif tag == corrected_tag:
            corrected_els.append(child)
        elif tag in bucket_tags:
            found.setdefault(bucket_tags[tag], _decimal(child))
        kids.setdefault(tag, child)
    fa = _Node(fa_el, tags, kids)
    buckets = {name: found[name] for name in SUMMARY_FIELDS if name in found}

    kind = fa.req_text("RodzajFaktury")
    if kind not in INVOICE_KINDS:
        raise _bad(fa.req("RodzajFaktury"), "kind", kind)

    period: tuple[date, date] | None = None
    okres = fa.node("OkresFa")
    if okres is not None:
        period = (_date(okres.req("P_6_Od")), _date(okres.req("P_6_Do")))

    amount_due: Decimal | None = None
    rozliczenie = fa.node("Rozliczenie")
    if rozliczenie is not None:
        amount_due = rozliczenie.decimal("DoZaplaty")

    payment_due: list[date] = []
    payment_form: int | None = None
    bank_accounts: list[str] = []
    paid = False
    platnosc = fa.node("Platnosc")
    if platnosc is not None:
        paid = platnosc.flag("Zaplacono") or platnosc.text("ZnacznikZaplatyCzesciowej") == "2"
        for term_el in platnosc.all("TerminPlatnosci"):
            due = _Node(term_el, tags).date("Termin")
            if due is not None:
                payment_due.append(due)
        payment_form = platnosc.int("FormaPlatnosci")
        for account_el in platnosc.all("RachunekBankowy"):
            account = _Node(account_el, tags).text("NrRB")
            if account is not None:
                bank_accounts.append(account)

    cash_accounting = self_billing = reverse_charge = split_payment = margin = False
    exemption: str | None = None
    adnotacje = fa.node("Adnotacje")
    if adnotacje is not None:
        cash_accounting = adnotacje.flag("P_16")
        self_billing = adnotacje.flag("P_17")
        reverse_charge = adnotacje.flag("P_18")
        split_payment = adnotacje.flag("P_18A")
        zwolnienie = adnotacje.node("Zwolnienie")
        if zwolnienie is not None and zwolnienie.flag("P_19"):
            exemption = zwolnienie.text("P_19A") or zwolnienie.text("P_19B") or zwolnienie.text("P_19C")
        pmarzy = adnotacje.node("PMarzy")
        margin = pmarzy is not None and pmarzy.flag("P_PMarzy")

    zero_rate = _first_present(buckets, _ZERO_RATES)
    np_rate = _first_present(buckets, _NP_RATES)

    return ParsedInvoice(
        schema=schema.label,
        kind=kind,
        number=fa.req_text("P_2"),
        issue_date=_date(fa.req("P_1")),
        sale_date=fa.date("P_6"),
        period=period,
        place=fa.text("P_1M"),
        created_at=_datetime(header.req("DataWytworzeniaFa")),
        system_info=header.text("SystemInfo"),
        seller=seller,
        buyer=buyer,
        currency=fa.req_text("KodWaluty"),
        buckets=buckets,
        gross=_decimal(fa.req("P_15")),
        amount_due=amount_due,
        lines=tuple(_line(_Node(el, tags), zero_rate, np_rate) for el in line_els),
        corrected=tuple(_corrected(_Node(el, tags)) for el in corrected_els),
        correction_reason=fa.text("PrzyczynaKorekty"),
        correction_type=fa.int("TypKorekty"),
        payment_due=tuple(payment_due),
        payment_form=payment_form,
        bank_accounts=tuple(bank_accounts),
        paid=paid,
        reverse_charge=reverse_charge,
        split_payment=split_payment,
        cash_accounting=cash_accounting,
        self_billing=self_billing,
        exemption=exemption,
        margin=margin,
    )


def parse_element(root: etree._Element) -> ParsedInvoice:
    """Read an already parsed ``Faktura`` root element (FA(3) or FA(2))."""
    try:
        return _parse_root(root)
    except InvoiceParseError:
        raise
    except (ValueError, ArithmeticError, TypeError, etree.LxmlError) as exc:  # defensive: one error type out
        raise InvoiceParseError("parse.unreadable", detail=str(exc)) from exc


def parse_invoice(data: bytes) -> ParsedInvoice:
    """Parse invoice bytes with the hardened parser and read them (FA(3) or FA(2))."""
    try:
        tree = parse_bytes(data)
    except XmlRefused as exc:  # a DOCTYPE: refused before parsing, nothing it names was read
        raise InvoiceParseError.like(exc) from None
    except etree.XMLSyntaxError as exc:
        raise InvoiceParseError("val.not_xml", line=exc.lineno or None, detail=syntax_text(exc.msg)) from exc
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise InvoiceParseError("val.not_xml", detail=str(exc)) from exc
    return parse_element(tree.getroot())
