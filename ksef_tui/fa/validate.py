"""Validation of invoice XML: the official XSDs (shipped as package data) plus KSeF's checks beyond them.

KSeF checks beyond the XSD (ksef-docs ``weryfikacja-faktury.md``): UTF-8 without a BOM, no processing
instructions, no "discouraged" Unicode code points, at most 1 MB (3 MB with an attachment). We also refuse a
DOCTYPE (an invoice never needs one and it is the door for entity attacks).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path

from lxml import etree

from ksef_tui.fa.xmlsafe import safe_parser
from ksef_tui.i18n import t

FA3_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
FA2_NS = "http://crd.gov.pl/wzor/2023/06/29/12648/"
UPO_NS = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"

MAX_INVOICE_BYTES = 1_000_000
MAX_INVOICE_WITH_ATTACHMENT_BYTES = 3_000_000


class Schema(Enum):
    FA3 = ("FA (3)", FA3_NS, "schemat_FA(3)_v1-0E.xsd")
    FA2 = ("FA (2)", FA2_NS, "schemat_FA(2)_v1-0E.xsd")
    UPO = ("UPO v4-3", UPO_NS, "upo-v4-3.xsd")

    def __init__(self, label: str, namespace: str, filename: str) -> None:
        self.label = label
        self.namespace = namespace
        self.filename = filename

    @classmethod
    def for_namespace(cls, namespace: str | None) -> Schema | None:
        for schema in cls:
            if schema.namespace == namespace:
                return schema
        return None


def schema_dir() -> Path:
    return Path(str(resources.files("ksef_tui.fa") / "schemas"))


_local = threading.local()


def xml_schema(schema: Schema) -> etree.XMLSchema:
    """The compiled schema, cached per thread (compiling FA(3) takes about a tenth of a second)."""
    cache: dict[Schema, etree.XMLSchema] = getattr(_local, "schemas", None) or {}
    _local.schemas = cache
    if schema not in cache:
        doc = etree.parse(str(schema_dir() / schema.filename), safe_parser())
        cache[schema] = etree.XMLSchema(doc)
    return cache[schema]


class Problem(Enum):
    """Kinds of findings; ``XSD`` carries the validator's own message."""

    EMPTY = "empty"
    BOM = "bom"
    ENCODING = "encoding"
    NOT_XML = "not-xml"
    DOCTYPE = "doctype"
    PROCESSING_INSTRUCTION = "processing-instruction"
    DISCOURAGED_CHARACTER = "discouraged-character"
    UNKNOWN_SCHEMA = "unknown-schema"
    TOO_LARGE = "too-large"
    XSD = "xsd"


@dataclass(frozen=True, slots=True)
class Finding:
    problem: Problem
    line: int | None
    message: str

    def __str__(self) -> str:
        where = t("val.line", line=self.line) if self.line else ""
        return f"{where}{self.message}"


@dataclass(frozen=True, slots=True)
class ValidationResult:
    schema: Schema | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


# "Discouraged" code points of XML 1.0 §2.2 that KSeF rejects; surrogates cannot appear in decoded text.
_DISCOURAGED = re.compile(
    "[\x7f-\x84\x86-\x9f\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    + "]"
)
_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _prechecks(data: bytes) -> tuple[list[Finding], str | None]:
    """Byte-level checks; returns findings and the decoded text (``None`` when it is not UTF-8)."""
    if not data.strip():
        return [Finding(Problem.EMPTY, None, t("val.empty"))], None
    if data.startswith(b"\xef\xbb\xbf"):
        return [Finding(Problem.BOM, 1, t("val.bom"))], None
    declared = _DECLARATION.match(data)
    if declared and declared.group(1).upper().replace(b"_", b"-") not in (b"UTF-8", b"UTF8"):
        name = declared.group(1).decode("ascii")
        return [Finding(Problem.ENCODING, 1, t("val.encoding", name=name))], None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [Finding(Problem.ENCODING, line, t("val.not_utf8"))], None
    findings: list[Finding] = []
    match = _DISCOURAGED.search(text)
    if match:
        findings.append(
            Finding(
                Problem.DISCOURAGED_CHARACTER,
                _line_of(text, match.start()),
                t("val.discouraged", code=f"U+{ord(match.group()):04X}"),
            )
        )
    return findings, text


def detect_schema(root: etree._Element) -> Schema | None:
    return Schema.for_namespace(etree.QName(root).namespace)


def validate_bytes(data: bytes, *, expect: Schema | None = None) -> ValidationResult:
    """All findings for an invoice (or a UPO with ``expect=Schema.UPO``); never raises on bad input."""
    findings, text = _prechecks(data)
    if text is None:
        return ValidationResult(None, findings)
    try:
        tree = etree.fromstring(data, parser=safe_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        return ValidationResult(None, [*findings, Finding(Problem.NOT_XML, line, t("val.not_xml", detail=exc.msg))])
    if tree.docinfo.doctype:
        # Entities stay unexpanded, so the document cannot be judged further: stop here.
        return ValidationResult(None, [*findings, Finding(Problem.DOCTYPE, 1, t("val.doctype"))])
    root = tree.getroot()
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    for node in [*outside, *root.iter()]:
        if isinstance(node, etree._ProcessingInstruction):
            message = t("val.pi", target=node.target)
            findings.append(Finding(Problem.PROCESSING_INSTRUCTION, node.sourceline, message))
    schema = detect_schema(tree.getroot())
    if schema is None or (expect is not None and schema is not expect) or (expect is None and schema is Schema.UPO):
        namespace = etree.QName(tree.getroot()).namespace or "(none)"
        return ValidationResult(
            None,
            [
                *findings,
                Finding(
                    Problem.UNKNOWN_SCHEMA,
                    tree.getroot().sourceline,
                    t("val.unknown_schema", namespace=namespace),
                ),
            ]
            if expect is None
            else [
                *findings,
                Finding(
                    Problem.UNKNOWN_SCHEMA,
                    tree.getroot().sourceline,
                    t("val.expected_schema", label=expect.label, namespace=namespace),
                ),
            ],
        )
    if schema is not Schema.UPO:
        has_attachment = tree.getroot().find(f"{{{schema.namespace}}}Zalacznik") is not None
        limit = MAX_INVOICE_WITH_ATTACHMENT_BYTES if has_attachment else MAX_INVOICE_BYTES
        if len(data) > limit:
            findings.append(Finding(Problem.TOO_LARGE, None, t("val.too_large", size=len(data), limit=limit)))
    xsd = xml_schema(schema)
    try:
        valid = xsd.validate(tree)
    except etree.XMLSchemaValidateError as exc:  # libxml2 gives up on some inputs; report, never raise
        return ValidationResult(schema, [*findings, Finding(Problem.XSD, None, t("val.xsd_failed", detail=exc))])
    if not valid:
        findings.extend(Finding(Problem.XSD, error.line or None, error.message) for error in xsd.error_log)
    return ValidationResult(schema, findings)
