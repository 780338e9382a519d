"""Validation of invoice XML: the official XSDs (shipped as package data) plus KSeF's checks beyond them.

KSeF checks beyond the XSD (ksef-docs ``weryfikacja-faktury.md``): UTF-8 without a BOM, no processing
instructions, no "discouraged" Unicode code points, at most 1 MB (3 MB with an attachment). We also refuse a
DOCTYPE, any DOCTYPE, before parsing (an invoice never needs one and it is the door for entity attacks and for
reading local files: see ``xmlsafe``).

Findings carry a message key and its parameters and are translated when shown (``Finding.message``); the
validator's own (libxml2, English) messages are mapped to catalog messages by ``fa.messages``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path

from lxml import etree

from ksef_tui.errors import Category
from ksef_tui.fa.errors import FaError, Text, Translate, english, one_line
from ksef_tui.fa.messages import syntax_text, xsd_text
from ksef_tui.fa.xmlsafe import XmlRefused, parse_bytes, refuse_doctype
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


def _compile(schema: Schema) -> etree.XMLSchema:
    # Our own package files (their xs:import of sibling files must resolve): not the untrusted-input parser.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.XMLSchema(etree.parse(str(schema_dir() / schema.filename), parser))


# One compiled schema for the whole process. lxml's FAQ allows sharing an XMLSchema between threads (each
# validation gets its own libxml2 context), but the object's ``error_log`` is one per schema: every validation
# clears it and fills it, so two at once mix their errors (8 threads sharing one unlocked: about 1 result in 5
# wrong). Hence a lock per schema around validate-and-read-the-log: about 0.1-0.2 ms held for a typical invoice
# (the XSD part of a ~0.5 ms validation), against 11-20 ms to compile FA(3) again in each new thread, which
# dominated a validation run from a thread worker. Compiling takes another lock, once per schema.
_shared: dict[Schema, etree.XMLSchema] = {}
_compile_lock = threading.Lock()
_validate_locks = {schema: threading.Lock() for schema in Schema}


def _shared_schema(schema: Schema) -> etree.XMLSchema:
    xsd = _shared.get(schema)
    if xsd is None:
        with _compile_lock:
            xsd = _shared.get(schema)
            if xsd is None:
                xsd = _shared[schema] = _compile(schema)
    return xsd


def xsd_errors(schema: Schema, tree: etree._ElementTree) -> list[etree._LogEntry]:
    """The XSD errors of ``tree`` (empty when it is valid), from the one compiled ``schema`` of the process;
    safe from any thread. Raises ``etree.XMLSchemaValidateError`` when libxml2 gives up on the input."""
    xsd = _shared_schema(schema)
    with _validate_locks[schema]:
        return [] if xsd.validate(tree) else list(xsd.error_log)


_local = threading.local()


def xml_schema(schema: Schema) -> etree.XMLSchema:
    """A compiled schema of the calling thread's own, for a caller that reads its ``error_log`` itself (one
    compile per thread, 11-20 ms for FA(3)); ``xsd_errors`` shares one compiled schema and is cheaper."""
    cache: dict[Schema, etree.XMLSchema] = getattr(_local, "schemas", None) or {}
    _local.schemas = cache
    if schema not in cache:
        cache[schema] = _compile(schema)
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
    """One problem; its message is a catalog key with parameters, translated when shown."""

    problem: Problem
    line: int | None
    text: Text

    @property
    def message(self) -> str:
        """The message in the current language."""
        return self.text.render()

    @property
    def english(self) -> str:
        return self.text.render(english)

    def __str__(self) -> str:
        where = t("val.line", line=self.line) if self.line else ""
        return f"{where}{self.message}"


def _finding(problem: Problem, line: int | None, key: str, **params: object) -> Finding:
    return Finding(problem, line, Text(key, params))


class InvoiceInvalid(FaError):
    """An invoice KSeF would refuse (``Category.INVALID``): its first findings, translated when shown."""

    key = "val.invalid"
    category = Category.INVALID

    def __init__(self, findings: list[Finding], *, shown: int = 3) -> None:
        self.findings = list(findings)
        self.shown = shown
        super().__init__("val.invalid", count=len(self.findings))

    def _text(self, translate: Translate) -> str:
        parts = [
            (translate("val.line", line=f.line) if f.line else "") + f.text.render(translate)
            for f in self.findings[: self.shown]
        ]
        text = "; ".join(parts)
        more = len(self.findings) - self.shown
        if more > 0:
            text += " " + translate("validate.more", count=more)
        return one_line(translate(self.key, findings=text))


@dataclass(frozen=True, slots=True)
class ValidationResult:
    schema: Schema | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def error(self, *, shown: int = 3) -> InvoiceInvalid | None:
        """The findings as one ``UserError`` (for a caller that refuses an invalid invoice), or ``None``."""
        return InvoiceInvalid(self.findings, shown=shown) if self.findings else None


# "Discouraged" code points of XML 1.0 §2.2 that KSeF rejects; surrogates cannot appear in decoded text.
# The class is split: one with the astral xFFFE/xFFFF of planes 1-16 made every search about 13 times slower
# (325 µs on a 3 KB invoice, most of validation); those are looked for only when the bytes can hold one.
_DISCOURAGED_BMP = re.compile("[\x7f-\x84\x86-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_DISCOURAGED_ASTRAL = re.compile(
    "[" + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)) + "]"
)


def _discouraged(data: bytes, text: str) -> re.Match[str] | None:
    """The first discouraged code point of ``text`` (``data`` is its UTF-8)."""
    found = _DISCOURAGED_BMP.search(text)
    # In UTF-8 every U+xFFFE and U+xFFFF ends in BF BE or BF BF: without those bytes there is none.
    if b"\xbf\xbe" in data or b"\xbf\xbf" in data:
        astral = _DISCOURAGED_ASTRAL.search(text)
        if astral is not None and (found is None or astral.start() < found.start()):
            return astral
    return found


_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _prechecks(data: bytes) -> tuple[list[Finding], str | None]:
    """Byte-level checks; returns findings and the decoded text (``None`` when it is not UTF-8)."""
    if not data.strip():
        return [_finding(Problem.EMPTY, None, "val.empty")], None
    if data.startswith(b"\xef\xbb\xbf"):
        return [_finding(Problem.BOM, 1, "val.bom")], None
    declared = _DECLARATION.match(data)
    if declared and declared.group(1).upper().replace(b"_", b"-") not in (b"UTF-8", b"UTF8"):
        name = declared.group(1).decode("ascii")
        return [_finding(Problem.ENCODING, 1, "val.encoding", name=name)], None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [_finding(Problem.ENCODING, line, "val.not_utf8")], None
    findings: list[Finding] = []
    match = _discouraged(data, text)
    if match:
        code = f"U+{ord(match.group()):04X}"
        findings.append(
            _finding(Problem.DISCOURAGED_CHARACTER, _line_of(text, match.start()), "val.discouraged", code=code)
        )
    return findings, text


def detect_schema(root: etree._Element) -> Schema | None:
    return Schema.for_namespace(etree.QName(root).namespace)


def validate_bytes(data: bytes, *, expect: Schema | None = None) -> ValidationResult:
    """All findings for an invoice (or a UPO with ``expect=Schema.UPO``); never raises on bad input.

    A DOCTYPE is looked for first, in the raw bytes and whatever their encoding, and stops the validation:
    the document is never parsed, and nothing the DOCTYPE names is read."""
    try:
        refuse_doctype(data)
    except XmlRefused as exc:
        problem = Problem.ENCODING if exc.key == "val.encoding_unknown" else Problem.DOCTYPE
        return ValidationResult(None, [Finding(problem, exc.line, Text(exc.key, exc.params))])
    findings, text = _prechecks(data)
    if text is None:
        return ValidationResult(None, findings)
    try:
        tree = parse_bytes(data)
    except XmlRefused as exc:  # an external reference the pre-check did not see: still refused, nothing read
        return ValidationResult(None, [*findings, Finding(Problem.DOCTYPE, exc.line, Text(exc.key, exc.params))])
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        detail = syntax_text(exc.msg)
        return ValidationResult(None, [*findings, _finding(Problem.NOT_XML, line, "val.not_xml", detail=detail)])
    root = tree.getroot()
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    for node in [*outside, *root.iter()]:
        if isinstance(node, etree._ProcessingInstruction):
            findings.append(_finding(Problem.PROCESSING_INSTRUCTION, node.sourceline, "val.pi", target=node.target))
    schema = detect_schema(root)
    if schema is None or (expect is not None and schema is not expect) or (expect is None and schema is Schema.UPO):
        namespace = etree.QName(root).namespace or "(none)"
        unknown = (
            _finding(Problem.UNKNOWN_SCHEMA, root.sourceline, "val.unknown_schema", namespace=namespace)
            if expect is None
            else _finding(
                Problem.UNKNOWN_SCHEMA, root.sourceline, "val.expected_schema", label=expect.label, namespace=namespace
            )
        )
        return ValidationResult(None, [*findings, unknown])
    if schema is not Schema.UPO:
        has_attachment = root.find(f"{{{schema.namespace}}}Zalacznik") is not None
        limit = MAX_INVOICE_WITH_ATTACHMENT_BYTES if has_attachment else MAX_INVOICE_BYTES
        if len(data) > limit:
            findings.append(
                _finding(Problem.TOO_LARGE, None, "val.too_large", count=len(data), size=len(data), limit=limit)
            )
    try:
        errors = xsd_errors(schema, tree)
    except etree.XMLSchemaValidateError as exc:  # libxml2 gives up on some inputs; report, never raise
        return ValidationResult(schema, [*findings, _finding(Problem.XSD, None, "val.xsd_failed", detail=str(exc))])
    findings.extend(Finding(Problem.XSD, error.line or None, xsd_text(error.message)) for error in errors)
    return ValidationResult(schema, findings)
