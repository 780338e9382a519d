"""The verdict on an invoice file, in the words the simulator answers with (PROTOCOL §11 item 9).

Which checks fail comes from :func:`ksef_tui.fa.validate.validate_bytes` (UTF-8, no BOM, no DOCTYPE, no
processing instruction, no discouraged characters, size, namespace, XSD). The details are the simulator's
own and do not depend on the application's language: a syntax error or an XSD error is the XML library's
own English message, as KSeF passes on its validator's text; the other problems get a fixed Polish sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ksef_tui.fa.validate import Problem, Schema, validate_bytes, xsd_errors
from ksef_tui.fa.xmlsafe import parse_bytes

_TEXTS = {
    Problem.EMPTY: "Plik faktury jest pusty.",
    Problem.BOM: "Plik faktury zaczyna się od znacznika BOM.",
    Problem.ENCODING: "Plik faktury nie jest zapisany w kodowaniu UTF-8.",
    Problem.NOT_XML: "Plik faktury nie jest poprawnym dokumentem XML.",
    Problem.DOCTYPE: "Dokument zawiera deklarację DOCTYPE.",
    Problem.PROCESSING_INSTRUCTION: "Dokument zawiera instrukcję przetwarzania.",
    Problem.DISCOURAGED_CHARACTER: "Dokument zawiera niedozwolony znak.",
    Problem.UNKNOWN_SCHEMA: "Nieobsługiwana przestrzeń nazw dokumentu.",
    Problem.TOO_LARGE: "Plik faktury przekracza dozwolony rozmiar.",
    Problem.XSD: "Dokument nie jest zgodny ze schemą (xsd).",
}


@dataclass(frozen=True)
class Verdict:
    schema: Schema | None
    details: list[str]

    @property
    def ok(self) -> bool:
        return not self.details


def check_invoice(data: bytes) -> Verdict:
    result = validate_bytes(data)
    if result.ok:
        return Verdict(result.schema, [])
    details: list[str] = []
    xsd_told = False
    for finding in result.findings:
        if finding.problem is Problem.XSD:
            if not xsd_told:
                details.extend(_xsd_messages(data, result.schema) or [_TEXTS[Problem.XSD]])
                xsd_told = True
            continue
        text = _syntax_message(data) if finding.problem is Problem.NOT_XML else None
        if text is None:
            text = _TEXTS[finding.problem] + (f" (wiersz {finding.line})" if finding.line else "")
        details.append(text)
    return Verdict(result.schema, details)


def _syntax_message(data: bytes) -> str | None:
    try:
        parse_bytes(data)
    except etree.XMLSyntaxError as exc:
        return str(exc.msg)
    except ValueError:  # refused before parsing (reported as such by the validator)
        return None
    return None


def _xsd_messages(data: bytes, schema: Schema | None) -> list[str]:
    if schema is None:
        return []
    try:
        return [str(error.message) for error in xsd_errors(schema, parse_bytes(data))]
    except (etree.XMLSyntaxError, etree.XMLSchemaValidateError, ValueError):
        return []
