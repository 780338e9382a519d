"""UPO v4-3 documents (per invoice and per session), valid against ``upo-v4-3.xsd``.

The real UPO carries an XAdES signature from MF; the simulator's UPO is unsigned (the XSD does not
require the signature element).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from ksef_tui.fa.validate import UPO_NS
from ksef_tui.sim.clock import iso_ms_local

STRUCTURE_NAMES = {
    "FA (3)": "Schemat_FA(3)_v1-0E.xsd",
    "FA (2)": "Schemat_FA(2)_v1-0E.xsd",
}


@dataclass(frozen=True)
class UpoDocument:
    seller_nip: str
    ksef_number: str
    invoice_number: str
    issue_date: date
    sent: datetime
    numbered: datetime
    invoice_hash: str
    mode: str  # Online | Offline


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{UPO_NS}}}{name}")
    if text is not None:
        node.text = text
    return node


def build_upo(
    *,
    receiver: str,
    session_reference: str,
    context_nip: str,
    token_reference: str | None,
    auth_hash: str | None,
    system_code: str,
    documents: list[UpoDocument],
    page: tuple[int, int, int, int, int] | None = None,  # (page, pages, from, to, total) for session UPO
) -> bytes:
    root = etree.Element(f"{{{UPO_NS}}}Potwierdzenie", nsmap={None: UPO_NS})
    _sub(root, "NazwaPodmiotuPrzyjmujacego", receiver)
    _sub(root, "NumerReferencyjnySesji", session_reference)
    auth = _sub(root, "Uwierzytelnienie")
    _sub(_sub(auth, "IdKontekstu"), "Nip", context_nip)
    if token_reference is not None:
        _sub(auth, "NumerReferencyjnyTokenaKSeF", token_reference)
    else:
        _sub(auth, "SkrotDokumentuUwierzytelniajacego", auth_hash or "")
    if page is not None:
        desc = _sub(root, "OpisPotwierdzenia")
        for name, value in zip(
            ("Strona", "LiczbaStron", "ZakresDokumentowOd", "ZakresDokumentowDo", "CalkowitaLiczbaDokumentow"),
            page,
            strict=True,
        ):
            _sub(desc, name, str(value))
    _sub(root, "NazwaStrukturyLogicznej", STRUCTURE_NAMES.get(system_code, "Schemat_FA(3)_v1-0E.xsd"))
    _sub(root, "KodFormularza", system_code)
    for doc in documents:
        node = _sub(root, "Dokument")
        _sub(node, "NipSprzedawcy", doc.seller_nip)
        _sub(node, "NumerKSeFDokumentu", doc.ksef_number)
        _sub(node, "NumerFaktury", doc.invoice_number)
        _sub(node, "DataWystawieniaFaktury", doc.issue_date.isoformat())
        _sub(node, "DataPrzeslaniaDokumentu", iso_ms_local(doc.sent))
        _sub(node, "DataNadaniaNumeruKSeF", iso_ms_local(doc.numbered))
        _sub(node, "SkrotDokumentu", doc.invoice_hash)
        _sub(node, "TrybWysylki", doc.mode)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
