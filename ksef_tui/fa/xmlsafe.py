"""The one door for untrusted XML: no DOCTYPE, no network, no external file, no entity expansion.

Every reader of invoice bytes (show, validate, render, qr, the simulator, the future import) goes through
``parse_bytes``, or calls ``refuse_doctype`` first. Three layers, each enough on its own for what it guards:

1. ``refuse_doctype`` looks at the bytes *before* any parsing: it decodes the prolog the way an XML parser
   would (byte-order mark, UTF-16/32 and EBCDIC signatures, the declared encoding, and as a precaution every
   other decoding in which the first bytes could start a prolog), skips the XML declaration, whitespace, comments and
   processing instructions, and refuses any markup declaration (``<!DOCTYPE``, also a bare one, ``<!ENTITY``
   ...). Nothing a DOCTYPE names is ever opened: not a file, not a FIFO, not a URL.
2. The parser has a resolver that refuses every external load. (This matters: with ``collect_ids=False``,
   libxml2 opens a DOCTYPE's external subset even with ``load_dtd=False``; a FIFO there hangs the reader.)
3. After parsing, a document that still has a DOCTYPE is refused.
"""

from __future__ import annotations

import codecs
import re
import threading
from typing import Any, Final

from lxml import etree

from ksef_tui.fa.errors import FaError

__all__ = ["XmlRefused", "parse_bytes", "refuse_doctype", "safe_parser"]


class XmlRefused(FaError):
    """The document is refused before it is read: a DOCTYPE or another markup declaration, an external
    reference, or an encoding we cannot check."""

    key = "val.doctype"


# --- layer 1: the prolog, before any parsing ----------------------------------------------------------------

_BOMS: Final = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# XML 1.0 appendix F: the first four bytes of "<?xml" (or of "<") without a byte-order mark.
_SIGNATURES: Final = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)
#: EBCDIC bytes a prolog can start with: "<", space, tab, line feed, carriage return.
_EBCDIC_FIRST: Final = frozenset(b"\x4c\x40\x05\x25\x0d")
_DECLARED: Final = re.compile(r"\A\ufeff?<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")
_DECLARATIONS: Final = ("DOCTYPE", "ENTITY", "ELEMENT", "ATTLIST", "NOTATION")
_WHITESPACE: Final = frozenset(" \t\r\n")
_FIRST_HEAD: Final = 256


def _base_encoding(data: bytes) -> str:
    for prefix, name in (*_BOMS, *_SIGNATURES):
        if data.startswith(prefix):
            return name
    return "utf-8"


def _plausible(data: bytes) -> tuple[str, ...]:
    """Every decoding in which the bytes could start a prolog, besides the detected one, so that no guess of
    ours lets a DOCTYPE by. A prolog starts with "<" or whitespace, all ASCII: in UTF-16 or UTF-32 that puts
    a NUL byte among the first two or four bytes (after a byte-order mark), in EBCDIC one of five bytes."""
    start = data
    for prefix, _ in _BOMS:
        if data.startswith(prefix):
            start = data[len(prefix) :]
            break
    found = ["utf-8"]
    if 0 in start[:2]:
        found += ["utf-16-le", "utf-16-be"]
    if start[:4].count(0) >= 2:
        found += ["utf-32-le", "utf-32-be"]
    if start[:1] and start[0] in _EBCDIC_FIRST:
        found.append("cp037")
    return tuple(found)


def _pi_end(text: str, start: int) -> int:
    """The index after the processing instruction at ``start``. In the XML declaration a quoted value may hold
    ``?>`` (a parser reads it as the value, so must we); in any other instruction the first ``?>`` ends it."""
    i = start + 2
    quoted = text.startswith("xml", i) and text[i + 3 : i + 4] in _WHITESPACE
    while True:
        end = text.find("?>", i)
        if end < 0:
            raise EOFError
        if not quoted:
            return end + 2
        first = min((j for j in (text.find('"', i, end), text.find("'", i, end)) if j >= 0), default=-1)
        if first < 0:
            return end + 2
        close = text.find(text[first], first + 1)
        if close < 0:
            raise EOFError
        i = close + 1


def _declaration_at(text: str) -> int | None:
    """The index of the first markup declaration in the prolog of ``text``; ``None`` when there is none.

    Raises ``EOFError`` when ``text`` ends inside the prolog (the caller decodes more and asks again)."""
    i, n = 0, len(text)
    if text.startswith("\ufeff"):
        i = 1
    while i < n:
        if text[i] in _WHITESPACE:
            i += 1
        elif text.startswith("<?", i):
            i = _pi_end(text, i)
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                raise EOFError
            i = end + 3
        elif text.startswith("<!", i):
            word = text[i + 2 : i + 10].upper()
            if len(word) < 8 and i + 10 > n:
                raise EOFError
            return i if word.startswith(_DECLARATIONS) else None
        elif n - i < 2:
            raise EOFError
        else:
            return None  # the root element, or something the parser will refuse as not XML
    raise EOFError


def _scan(data: bytes, encoding: str) -> int | None:
    """The line of a markup declaration in the prolog of ``data`` read as ``encoding``, or ``None``."""
    size = _FIRST_HEAD
    while True:
        head = data[:size]
        text = codecs.decode(head, encoding, errors="replace")
        try:
            index = _declaration_at(text)
        except EOFError:
            if size >= len(data):
                return None  # the document ends inside its prolog: the parser says it is not XML
            size *= 4
            continue
        return None if index is None else text.count("\n", 0, index) + 1


def refuse_doctype(data: bytes) -> None:
    """Raise ``XmlRefused`` when the prolog of ``data`` holds a DOCTYPE (or another markup declaration), in
    any encoding a parser could read it in. Never parses, never opens anything."""
    base = _base_encoding(data)
    candidates = dict.fromkeys((base, *_plausible(data)))
    for encoding in list(candidates):
        head = codecs.decode(data[:1024], encoding, errors="replace")
        declared = _DECLARED.match(head)
        if declared is None:
            continue
        try:
            name = codecs.lookup(declared.group(1)).name
        except LookupError:
            raise XmlRefused("val.encoding_unknown", line=1, name=declared.group(1)) from None
        if name not in candidates:
            candidates[name] = None
    for encoding in candidates:
        line = _scan(data, encoding)
        if line is not None:
            raise XmlRefused("val.doctype", line=line)


# --- layer 2: the parser ------------------------------------------------------------------------------------


class _RefuseExternal(etree.Resolver):
    """Refuses every external load the parser attempts (a DTD subset, an entity, an XInclude)."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> Any:
        raise XmlRefused("val.external", url=system_url or public_id or "?")


_local = threading.local()


def safe_parser() -> etree.XMLParser:
    """A per-thread parser for untrusted bytes (lxml parsers must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=False,
            collect_ids=False,
        )
        parser.resolvers.add(_RefuseExternal())
        _local.parser = parser
    return parser


# --- the door -----------------------------------------------------------------------------------------------


def parse_bytes(data: bytes) -> etree._ElementTree:
    """Parse untrusted ``data``. Raises ``XmlRefused`` for a DOCTYPE (checked before parsing) or an external
    reference, and ``etree.XMLSyntaxError`` (with ``lineno``) for malformed input."""
    refuse_doctype(data)
    root = etree.fromstring(data, parser=safe_parser())
    tree = root.getroottree()
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise XmlRefused("val.doctype", line=1)  # layer 3: never reached while layer 1 holds
    return tree
