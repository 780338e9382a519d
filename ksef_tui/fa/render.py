"""The official HTML visualisation of an FA(3) invoice (the Ministry's ``styl.xsl``), rendered offline.

``styl.xsl`` (and ``WspolneSzablonyWizualizacji_v12-0E.xsl`` it imports) looks code names up with
``document($schema-…)``, where each ``$schema-…`` is a top-level parameter defaulting to a code-list XSD on
``http://crd.gov.pl``. We never go to the network:

* the transformation runs under an ``XSLTAccessControl`` that forbids network reads and all writes. libxslt
  checks that *before* any resolver sees the URL, so a ``document()`` of an http URL fails the render
  (``RenderError``) instead of fetching anything;
* hence every ``schema-…`` parameter is passed explicitly as a local ``file:///ksef-tui-code-lists/<name>``
  URI, and ``_CodeListResolver`` maps that to the XSD shipped in ``ksef_tui/fa/schemas/``;
* tax-office code lists (never looked up for an invoice) resolve to an empty-but-valid ``xs:schema``: the lookup
  (``$wschema//xs:simpleType[@name=$typ]//xs:enumeration[@value=$kod]//xs:documentation``) then yields an
  empty string and only the code itself is shown. Which lists those are, and why it does not matter for
  FA(3), is in ``_CODE_LISTS``.

``styl.xsl`` has no parameter for the KSeF number or KOD I, so ``render_html`` adds them to the result tree:
the number under the "Krajowy System e-Faktur (KSeF)" heading, the QR code (SVG data URI), its label and the
verification link at the end of the document, the way KSeF's own visualisation shows them. An offline invoice
also carries KOD II (the certificate verification link, CERTS_OFFLINE.md §5.3): drawn next to KOD I the same way,
with ``CERTYFIKAT`` under it and its link (KOD I's label stays ``OFFLINE`` until KSeF numbers the invoice).
"""

from __future__ import annotations

import base64
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from ksef_tui.errors import Category
from ksef_tui.fa.errors import FaError
from ksef_tui.fa.kod2 import CERTIFICATE_LABEL, kod2_svg
from ksef_tui.fa.messages import syntax_text
from ksef_tui.fa.qr import qr_label, qr_svg
from ksef_tui.fa.validate import FA2_NS, FA3_NS
from ksef_tui.fa.xmlsafe import XmlRefused, parse_bytes

__all__ = ["RenderError", "render_html"]


class RenderError(FaError):
    """The input cannot be visualised (not XML, not an FA(3) invoice), the link is not https, or the
    transformation failed: ``Category.INPUT``. A ``UserError`` and a ``ValueError``.

    Writing the result is not done here: ``services.files.write_output`` checks the output path (not the
    input, not a special file, not the application's data) and writes it atomically."""

    key = "render.failed"


#: Prefix of the local URIs handed to the stylesheet for its code lists; only ``_CodeListResolver`` serves it.
CODE_LIST_PREFIX = "file:///ksef-tui-code-lists/"

#: Top-level ``xsl:param`` of the stylesheet -> (official URL it defaults to, the XSD we ship or ``None``).
#: Lists we do not ship:
#: - ``schema-walut`` (KodyWalut_v1-0E): used only by the template matching ``KodWaluty``, which styl.xsl
#:   never applies (it prints ``Fa/KodWaluty`` with ``xsl:value-of``). It is served from the FA(3) schema,
#:   whose own ``TKodWaluty`` carries the same currency names, so a lookup would still work;
#: - ``schema-urzedow``, ``schema-urzedowexwus``, ``schema-naczelnikow-urzedow``: tax-office lists for
#:   declarations (``Naglowek/KodUrzedu``), which an invoice never has: an empty schema.
_CODE_LISTS: dict[str, tuple[str, str | None]] = {
    "schema-krajow": (
        "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/KodyKrajow_v10-0E.xsd",
        "KodyKrajow_v10-0E.xsd",
    ),
    "schema-walut": (
        "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2021/12/23/eD/KodyWalut/KodyWalut_v1-0E.xsd",
        "schemat_FA(3)_v1-0E.xsd",
    ),
    "schema-urzedow": (
        "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/KodyUrzedowSkarbowych/KodyUrzedowSkarbowych_v8-0E.xsd",
        None,
    ),
    "schema-urzedowexwus": (
        "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2021/12/23/eD/KodyUrzedowSkarbowychExWUS/KodyUrzedowSkarbowychExWUS_v8-0E.xsd",
        None,
    ),
    "schema-naczelnikow-urzedow": (
        "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2017/02/06/eD/KodyNaczelnikowUrzedowSkarbowych/KodyNaczelnikowUrzedowSkarbowych_v4-0E.xsd",
        None,
    ),
}

_EMPTY_SCHEMA = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>'


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("ksef_tui.fa") / name))


def _local_uri(official_url: str) -> str:
    """The local URI standing in for an official code-list URL (keyed by its file name)."""
    return CODE_LIST_PREFIX + official_url.rsplit("/", 1)[-1]


class _CodeListResolver(etree.Resolver):
    """Serves ``CODE_LIST_PREFIX`` URIs from the package; everything else goes to the default loader."""

    def __init__(self) -> None:
        super().__init__()
        self._schemas = _package_dir("schemas")
        self._files: dict[str, str | None] = {_local_uri(url): local for url, local in _CODE_LISTS.values()}

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> Any:
        if system_url is None or not system_url.startswith(CODE_LIST_PREFIX):
            return None
        if system_url not in self._files:
            # An unknown name under our prefix: an empty list rather than a look at the file system.
            return self.resolve_string(_EMPTY_SCHEMA, context)
        local = self._files[system_url]
        if local is None:
            return self.resolve_string(_EMPTY_SCHEMA, context)
        return self.resolve_filename(str(self._schemas / local), context)


#: No network at all and no writing; reading files stays on (the local code lists are read at run time).
ACCESS_CONTROL = etree.XSLTAccessControl(
    read_file=True, write_file=False, create_dir=False, read_network=False, write_network=False
)

_local = threading.local()


def _stylesheet() -> etree.XSLT:
    """The compiled ``styl.xsl`` of this thread (an ``XSLT`` object must not be shared across threads)."""
    xslt: etree.XSLT | None = getattr(_local, "xslt", None)
    if xslt is None:
        parser = etree.XMLParser(
            no_network=True, resolve_entities=False, load_dtd=False, dtd_validation=False, huge_tree=False
        )
        parser.resolvers.add(_CodeListResolver())
        doc = etree.parse(str(_package_dir("xsl") / "styl.xsl"), parser)
        xslt = etree.XSLT(doc, access_control=ACCESS_CONTROL)
        _local.xslt = xslt
    return xslt


def _parameters() -> dict[str, Any]:
    return {name: etree.XSLT.strparam(_local_uri(url)) for name, (url, _) in _CODE_LISTS.items()}


def _parse_invoice(xml: bytes) -> etree._ElementTree:
    if not isinstance(xml, bytes | bytearray | memoryview):
        raise RenderError("render.not_bytes", category=Category.INTERNAL, kind=type(xml).__name__)
    try:
        tree = parse_bytes(bytes(xml))
    except XmlRefused as exc:  # a DOCTYPE: refused before parsing, nothing it names was read
        raise RenderError.like(exc) from None
    except etree.XMLSyntaxError as exc:
        raise RenderError("val.not_xml", line=exc.lineno or None, detail=syntax_text(exc.msg)) from None
    except ValueError as exc:
        raise RenderError("val.not_xml", detail=str(exc)) from None
    root = tree.getroot()
    name = etree.QName(root)
    if name.namespace == FA2_NS and name.localname == "Faktura":
        raise RenderError("render.fa2")
    if name.namespace != FA3_NS or name.localname != "Faktura":
        raise RenderError("render.not_fa3", root=name.localname, namespace=name.namespace or "(none)")
    return tree


def _element(tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.Element(tag, attributes)
    element.text = text
    return element


def _ksef_number_block(ksef_number: str) -> etree._Element:
    block = _element("div", "Numer KSeF: ", **{"class": "numer-ksef", "style": "text-align:left"})
    block.append(_element("b", ksef_number))
    return block


def _qr_block(qr_url: str, ksef_number: str | None) -> etree._Element:
    svg = base64.b64encode(qr_svg(qr_url).encode("utf-8")).decode("ascii")
    block = _element("div", None, **{"class": "kod-qr", "style": "margin:2em 0; text-align:left"})
    block.append(_element("h2", "Sprawdź, czy Twoja faktura znajduje się w KSeF!"))
    block.append(_element("img", None, src=f"data:image/svg+xml;base64,{svg}", alt="KOD I", width="196"))
    block.append(_element("div", qr_label(ksef_number), **{"class": "etykieta-qr"}))
    intro = _element("p", "Nie możesz zeskanować kodu z obrazka? Kliknij w link weryfikacyjny: ")
    intro.append(_element("a", qr_url, href=qr_url))
    block.append(intro)
    return block


def _kod2_block(kod2_url: str) -> etree._Element:
    svg = base64.b64encode(kod2_svg(kod2_url).encode("utf-8")).decode("ascii")
    block = _element("div", None, **{"class": "kod-qr-certyfikat", "style": "margin:2em 0; text-align:left"})
    block.append(_element("h2", "Sprawdź certyfikat wystawcy faktury offline"))
    block.append(_element("img", None, src=f"data:image/svg+xml;base64,{svg}", alt="KOD II", width="196"))
    block.append(_element("div", CERTIFICATE_LABEL, **{"class": "etykieta-qr"}))
    intro = _element("p", "Nie możesz zeskanować kodu z obrazka? Kliknij w link weryfikacyjny certyfikatu: ")
    intro.append(_element("a", kod2_url, href=kod2_url))
    block.append(intro)
    return block


def _codes_block(qr_url: str, ksef_number: str | None, kod2_url: str) -> etree._Element:
    """KOD I and KOD II side by side (KOD II next to KOD I, as the documents ask), each with its label and link."""
    row = _element("div", None, **{"class": "kody-qr", "style": "display:flex; flex-wrap:wrap; column-gap:3em"})
    row.append(_qr_block(qr_url, ksef_number))
    row.append(_kod2_block(kod2_url))
    return row


def _decorate(
    result: etree._XSLTResultTree, ksef_number: str | None, qr_url: str | None, kod2_url: str | None = None
) -> None:
    root = result.getroot()
    if root is None:
        raise RenderError("render.failed", detail="no document")
    body = root.find("body")
    container = root.find("body/div[@class='deklaracja']")
    if container is None:
        container = body if body is not None else root
    if ksef_number:
        heading = container.xpath("div[b[starts-with(normalize-space(.), 'Krajowy System')]]")
        block = _ksef_number_block(ksef_number)
        if heading:
            heading[0].addnext(block)
        else:
            container.insert(0, block)
    if qr_url and kod2_url:
        container.append(_codes_block(qr_url, ksef_number, kod2_url))
    elif qr_url:
        container.append(_qr_block(qr_url, ksef_number))
    elif kod2_url:
        container.append(_kod2_block(kod2_url))


def render_html(
    xml: bytes, *, ksef_number: str | None = None, qr_url: str | None = None, kod2_url: str | None = None
) -> str:
    """The official visualisation of an FA(3) invoice as an HTML 4.01 document.

    ``ksef_number`` is shown under the KSeF heading; ``qr_url`` (KOD I, see ``ksef_tui.fa.qr.kod1_url``)
    adds the QR code with its label (the KSeF number or ``OFFLINE``) and the link; ``kod2_url`` (KOD II of an
    offline invoice, ``ksef_tui.fa.kod2.kod2_url``) adds the certificate's code next to it, labelled
    ``CERTYFIKAT``, and its link. Raises ``RenderError`` (a ``ValueError``) for input that is not an FA(3)
    invoice, FA(2) included, and never fetches anything.
    """
    for url in (qr_url, kod2_url):
        if url is not None and not url.startswith("https://"):
            raise RenderError("render.https", url=url)
    tree = _parse_invoice(xml)
    xslt = _stylesheet()
    try:
        result = xslt(tree, **_parameters())
    except etree.XSLTError as exc:
        raise RenderError("render.failed", detail=str(exc)) from None
    _decorate(result, ksef_number, qr_url, kod2_url)
    return str(result)
