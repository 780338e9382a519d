"""KOD I, the verification link and QR code every KSeF invoice carries (PROTOCOL.md §9).

``{base}/invoice/{seller NIP}/{P_1 as DD-MM-YYYY}/{Base64URL(SHA-256(invoice bytes)) without padding}``; the
label under the code is the KSeF number, or ``OFFLINE`` while the invoice has none. The hash is taken over
the exact bytes sent to KSeF (the same value as KSeF's ``invoiceHash``), so never re-serialise the XML first.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import date
from pathlib import Path

import segno
from lxml import etree

from ksef_tui.fa.errors import FaError, Text
from ksef_tui.fa.messages import syntax_text
from ksef_tui.fa.validate import FA2_NS, FA3_NS
from ksef_tui.fa.xmlsafe import XmlRefused, parse_bytes


class QrError(FaError):
    """KOD I cannot be made: an unknown environment, or an invoice without a usable seller NIP or issue date
    (``Category.INPUT``). A ``UserError`` and a ``ValueError``."""

    key = "qr.failed"


QR_BASE: dict[str, str] = {
    "test": "https://qr-test.ksef.mf.gov.pl",
    "demo": "https://qr-demo.ksef.mf.gov.pl",
    "prod": "https://qr.ksef.mf.gov.pl",
}

#: Label under KOD I of an invoice that has no KSeF number (yet).
OFFLINE_LABEL = "OFFLINE"

#: Quiet zone around the symbol, in modules (ISO/IEC 18004 requires 4 for QR codes).
QUIET_ZONE = 4

_NIP = re.compile(r"\d{10}")


def _digest(xml: bytes) -> bytes:
    return hashlib.sha256(xml).digest()


def invoice_hash_b64(xml: bytes) -> str:
    """Standard Base64 of SHA-256 over the exact bytes: KSeF's ``invoiceHash``."""
    return base64.b64encode(_digest(xml)).decode("ascii")


def invoice_hash_b64url(xml: bytes) -> str:
    """The same hash as it appears in KOD I: Base64URL without ``=`` padding."""
    return base64.urlsafe_b64encode(_digest(xml)).decode("ascii").rstrip("=")


def qr_base(env: str) -> str:
    """The verification host of ``env`` (``test``, ``demo`` or ``prod``); ``ValueError`` otherwise."""
    try:
        return QR_BASE[env]
    except KeyError:
        known = ", ".join(QR_BASE)
        raise QrError("qr.unknown_env", env=env, known=known) from None


def kod1_url(env: str, seller_nip: str, issue_date: date, xml: bytes) -> str:
    """The KOD I link for an invoice of ``seller_nip`` issued (``P_1``) on ``issue_date``."""
    base = qr_base(env)
    if not _NIP.fullmatch(seller_nip):
        raise QrError("qr.bad_nip", nip=seller_nip)
    return f"{base}/invoice/{seller_nip}/{issue_date.strftime('%d-%m-%Y')}/{invoice_hash_b64url(xml)}"


def kod1_url_for_invoice(env: str, xml: bytes) -> str:
    """KOD I for an FA(3) or FA(2) invoice, reading the seller NIP (``Podmiot1``) and ``P_1`` from it.

    Raises ``ValueError`` for an unknown environment, input that is not an invoice, or a missing or
    malformed NIP or issue date.
    """
    qr_base(env)  # fail on the environment before looking at the document
    try:
        root = parse_bytes(xml).getroot()
    except XmlRefused:
        raise  # a DOCTYPE: a UserError of its own (and a ValueError), nothing it names was read
    except etree.XMLSyntaxError as exc:
        raise QrError("val.not_xml", line=exc.lineno or None, detail=syntax_text(exc.msg)) from None
    except ValueError as exc:
        raise QrError("val.not_xml", detail=str(exc)) from None
    namespace = etree.QName(root).namespace
    if namespace not in (FA3_NS, FA2_NS) or etree.QName(root).localname != "Faktura":
        raise QrError("parse.not_invoice", root=etree.QName(root).localname, namespace=namespace or "(none)")
    ns = {"tns": namespace}
    nip = root.findtext("tns:Podmiot1/tns:DaneIdentyfikacyjne/tns:NIP", namespaces=ns)
    p_1 = root.findtext("tns:Fa/tns:P_1", namespaces=ns)
    if not nip:
        raise QrError("parse.missing", name="NIP", parent="Podmiot1/DaneIdentyfikacyjne")
    if not p_1:
        raise QrError("parse.missing", name="P_1", parent="Fa")
    try:
        issued = date.fromisoformat(p_1.strip())
    except ValueError:
        raise QrError("parse.bad_value", element="P_1", what=Text("parse.what.date"), text=repr(p_1)) from None
    return kod1_url(env, nip.strip(), issued, xml)


def qr_label(ksef_number: str | None) -> str:
    """The caption under KOD I: the KSeF number, or ``OFFLINE`` when the invoice has none."""
    if ksef_number is None or not ksef_number.strip():
        return OFFLINE_LABEL
    return ksef_number.strip()


def make_qr(url: str) -> segno.QRCode:
    """The QR symbol for ``url``: a regular (not micro) code, error correction at least M."""
    return segno.make(url, error="m", micro=False)


def qr_modules(url: str, *, border: int = QUIET_ZONE) -> list[list[bool]]:
    """The module matrix including the quiet zone, ``True`` for a dark module."""
    return [[bool(module) for module in row] for row in make_qr(url).matrix_iter(scale=1, border=border)]


_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_text(url: str, *, ascii_only: bool = False, invert: bool = False) -> str:
    """A terminal drawing of the QR code for ``url``, quiet zone included, lines joined by ``\\n``.

    By default each character covers two module rows with the half blocks ``▀ ▄ █`` (a drawn half is a
    dark module), so the code is square-ish and compact. ``ascii_only`` draws one row per line with ``##``
    for a dark module and two spaces for a light one. Show it dark-on-light; on a dark terminal background
    pass ``invert=True`` so the drawn characters are the light modules and the code still scans.
    Lines keep their trailing spaces: they are part of the quiet zone.
    """
    rows = [[module != invert for module in row] for row in qr_modules(url)]
    if ascii_only:
        return "\n".join("".join("##" if module else "  " for module in row) for row in rows)
    if len(rows) % 2:
        rows.append([invert] * len(rows[0]))  # pad with a row of the quiet-zone colour
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        lines.append("".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def qr_svg(url: str, *, scale: int = 4) -> str:
    """A standalone SVG document (with XML declaration) of the QR code, quiet zone included."""
    buffer = io.BytesIO()
    make_qr(url).save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=True, title="KOD I")
    return buffer.getvalue().decode("utf-8")


def qr_png(url: str, path: Path, *, scale: int = 8) -> Path:
    """Write the QR code as a PNG to ``path`` (quiet zone included); returns ``path``."""
    make_qr(url).save(str(path), kind="png", scale=scale, border=QUIET_ZONE)
    return path
