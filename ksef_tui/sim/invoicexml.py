"""Facts the simulator reads from an accepted FA invoice (for duplicates, metadata and UPO)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

from ksef_tui.domain.money import q2
from ksef_tui.fa.xmlsafe import parse_bytes

INVOICE_TYPES = {
    "VAT": "Vat",
    "ZAL": "Zal",
    "KOR": "Kor",
    "ROZ": "Roz",
    "UPR": "Upr",
    "KOR_ZAL": "KorZal",
    "KOR_ROZ": "KorRoz",
}
_NET_FIELDS = [f"P_13_{n}" for n in ("1", "2", "3", "4", "5", "6_1", "6_2", "6_3", "7", "8", "9", "10", "11")]
_TAX_FIELDS = [f"P_14_{n}" for n in ("1", "2", "3", "4", "5")]


@dataclass
class InvoiceFacts:
    namespace: str
    system_code: str
    schema_version: str
    form_value: str
    seller_nip: str
    seller_name: str | None
    buyer_type: str  # Nip | VatUe | Other | None
    buyer_value: str | None
    buyer_name: str | None
    third_subjects: list[tuple[str, str, str | None, int]] = field(default_factory=list)  # (type, value, name, role)
    invoice_number: str = ""
    issue_date: date = date(2026, 1, 1)
    currency: str = "PLN"
    rodzaj: str = "VAT"
    net: Decimal = Decimal("0.00")
    vat_pln: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")
    has_attachment: bool = False
    is_self_invoicing: bool = False

    @property
    def invoice_type(self) -> str:
        return INVOICE_TYPES.get(self.rodzaj, "Vat")


def _text(node: etree._Element | None, path: str, ns: dict[str, str]) -> str | None:
    if node is None:
        return None
    found = node.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _dec(value: str | None) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def read_facts(data: bytes) -> InvoiceFacts:
    """Parse an XSD-valid FA(2)/FA(3) document (raises on anything unexpected)."""
    root = parse_bytes(data).getroot()
    namespace = etree.QName(root).namespace or ""
    ns = {"f": namespace}
    kod = root.find("f:Naglowek/f:KodFormularza", ns)
    p1 = root.find("f:Podmiot1", ns)
    p2 = root.find("f:Podmiot2", ns)
    fa = root.find("f:Fa", ns)
    if kod is None or p1 is None or p2 is None or fa is None:
        raise ValueError("not an FA invoice")
    buyer_type, buyer_value = "None", None
    ident = p2.find("f:DaneIdentyfikacyjne", ns)
    if ident is not None:
        if (nip := _text(ident, "f:NIP", ns)) is not None:
            buyer_type, buyer_value = "Nip", nip
        elif (ue := _text(ident, "f:NrVatUE", ns)) is not None:
            buyer_type, buyer_value = "VatUe", (_text(ident, "f:KodUE", ns) or "") + ue
        elif (other := _text(ident, "f:NrID", ns)) is not None:
            buyer_type, buyer_value = "Other", other
    thirds: list[tuple[str, str, str | None, int]] = []
    for p3 in root.findall("f:Podmiot3", ns):
        nip3 = _text(p3, "f:DaneIdentyfikacyjne/f:NIP", ns)
        if nip3:
            role = _text(p3, "f:Rola", ns)
            thirds.append(("Nip", nip3, _text(p3, "f:DaneIdentyfikacyjne/f:Nazwa", ns), int(role) if role else 0))
    currency = _text(fa, "f:KodWaluty", ns) or "PLN"
    net = sum((_dec(_text(fa, f"f:{name}", ns)) for name in _NET_FIELDS), Decimal(0))
    vat = Decimal(0)
    for name in _TAX_FIELDS:
        pln = _text(fa, f"f:{name}W", ns) if currency != "PLN" else None
        vat += _dec(pln if pln is not None else _text(fa, f"f:{name}", ns))
    rodzaj = _text(fa, "f:RodzajFaktury", ns) or "VAT"
    return InvoiceFacts(
        namespace=namespace,
        system_code=kod.get("kodSystemowy", ""),
        schema_version=kod.get("wersjaSchemy", ""),
        form_value=(kod.text or "").strip(),
        seller_nip=_text(p1, "f:DaneIdentyfikacyjne/f:NIP", ns) or "",
        seller_name=_text(p1, "f:DaneIdentyfikacyjne/f:Nazwa", ns),
        buyer_type=buyer_type,
        buyer_value=buyer_value,
        buyer_name=_text(p2, "f:DaneIdentyfikacyjne/f:Nazwa", ns),
        third_subjects=thirds,
        invoice_number=_text(fa, "f:P_2", ns) or "",
        issue_date=date.fromisoformat(_text(fa, "f:P_1", ns) or "2026-01-01"),
        currency=currency,
        rodzaj=rodzaj,
        net=q2(net),
        vat_pln=q2(vat),
        gross=q2(_dec(_text(fa, "f:P_15", ns))),
        has_attachment=root.find("f:Zalacznik", ns) is not None,
        is_self_invoicing=_text(fa, "f:Adnotacje/f:P_17", ns) == "1",
    )
