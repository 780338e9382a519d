"""One hardened lxml parser for untrusted invoice XML: no network, no DTD, no entity expansion."""

from __future__ import annotations

import threading

from lxml import etree

_local = threading.local()


def safe_parser() -> etree.XMLParser:
    """A per-thread parser (lxml parsers must not be shared between threads)."""
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
        _local.parser = parser
    return parser


def parse_bytes(data: bytes) -> etree._ElementTree:
    """Parse ``data``; raises ``etree.XMLSyntaxError`` (with ``lineno``) on malformed input."""
    root = etree.fromstring(data, parser=safe_parser())
    return root.getroottree()
