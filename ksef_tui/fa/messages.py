"""libxml2 speaks English: its frequent XSD and syntax messages as catalog messages, element names kept.

``xsd_text`` and ``syntax_text`` turn a libxml2 message into a ``Text`` (a key and its parameters, translated
when shown). Element and type names lose their namespace (``{http://crd.gov.pl/...}P_15`` reads ``P_15``).
A message no pattern knows is kept as libxml2 wrote it (``xsd.other`` / the raw detail).
"""

from __future__ import annotations

import re
from typing import Final

from ksef_tui.fa.errors import Text

__all__ = ["local_names", "syntax_text", "xsd_text"]

_CLARK: Final = re.compile(r"\{[^}]*\}")
_PREFIX: Final = re.compile(
    r"\AElement '(?P<element>[^']+)'(?:, attribute '(?P<attribute>[^']+)')?: (?P<rest>.*)\Z", re.S
)
#: Longer enumerations are not listed (the currency list has 180 codes).
MAX_LISTED: Final = 12


def local_names(text: str) -> str:
    """``{namespace}Name`` -> ``Name`` everywhere in ``text``."""
    return _CLARK.sub("", text)


def _expected(names: str) -> str:
    return ", ".join(f"<{name.strip()}>" for name in local_names(names).split(",") if name.strip())


def _enumeration(items: str) -> str:
    values = re.findall(r"'([^']*)'", items)
    return ", ".join(values) if len(values) <= MAX_LISTED else ""


_XSD: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.S), key)
    for pattern, key in (
        (r"This element is not expected\. Expected is \( (?P<expected>.+?) \)\.", "xsd.unexpected_one"),
        (r"This element is not expected\. Expected is one of \( (?P<expected>.+?) \)\.", "xsd.unexpected_many"),
        (r"This element is not expected\.", "xsd.unexpected"),
        (r"Missing child element\(s\)\. Expected is \( (?P<expected>.+?) \)\.", "xsd.missing_one"),
        (r"Missing child element\(s\)\. Expected is one of \( (?P<expected>.+?) \)\.", "xsd.missing_many"),
        (r"\[facet 'pattern'\] The value '(?P<value>.*)' is not accepted by the pattern '.*'\.", "xsd.pattern"),
        (r"'(?P<value>.*)' is not a valid value of the atomic type '(?P<type>[^']*)'\.", "xsd.atomic"),
        (r"'(?P<value>.*)' is not a valid value of the (?:local )?(?:atomic|union|list) type\.", "xsd.atomic_local"),
        (
            r"\[facet 'enumeration'\] The value '(?P<value>.*)' is not an element of the set \{(?P<allowed>.*)\}\.",
            "xsd.enumeration",
        ),
        (
            r"\[facet 'maxLength'\] The value has a length of '(?P<length>\d+)'; this exceeds the allowed maximum "
            r"length of '(?P<limit>\d+)'\.",
            "xsd.max_length",
        ),
        (
            r"\[facet 'minLength'\] The value has a length of '(?P<length>\d+)'; this underruns the allowed minimum "
            r"length of '(?P<limit>\d+)'\.",
            "xsd.min_length",
        ),
        (
            r"\[facet 'length'\] The value has a length of '(?P<length>\d+)'; this differs from the allowed length "
            r"of '(?P<limit>\d+)'\.",
            "xsd.length",
        ),
        (
            r"\[facet 'fractionDigits'\] The value '(?P<value>.*)' has more fractional digits than are allowed "
            r"\('(?P<limit>\d+)'\)\.",
            "xsd.fraction_digits",
        ),
        (
            r"\[facet 'totalDigits'\] The value '(?P<value>.*)' has more digits than are allowed "
            r"\('(?P<limit>\d+)'\)\.",
            "xsd.total_digits",
        ),
        (
            r"\[facet 'minInclusive'\] The value '(?P<value>.*)' is less than the minimum value allowed "
            r"\('(?P<limit>.*)'\)\.",
            "xsd.min_inclusive",
        ),
        (
            r"\[facet 'maxInclusive'\] The value '(?P<value>.*)' is greater than the maximum value allowed "
            r"\('(?P<limit>.*)'\)\.",
            "xsd.max_inclusive",
        ),
        (
            r"\[facet 'minExclusive'\] The value '(?P<value>.*)' must be greater than '(?P<limit>.*)'\.",
            "xsd.min_exclusive",
        ),
        (
            r"\[facet 'maxExclusive'\] The value '(?P<value>.*)' must be less than '(?P<limit>.*)'\.",
            "xsd.max_exclusive",
        ),
        (r"The attribute '(?P<name>[^']*)' is not allowed\.", "xsd.attribute_not_allowed"),
        (r"The attribute '(?P<name>[^']*)' is required but missing\.", "xsd.attribute_missing"),
        (
            r"Character content other than whitespace is not allowed because the content type is 'element-only'\.",
            "xsd.text_not_allowed",
        ),
        (r"Element content is not allowed, because the content type is a simple type definition\.", "xsd.simple_only"),
        (r"No matching global declaration available for the validation root\.", "xsd.no_root"),
    )
)


#: Schema types an accountant meets most, said in words (the parser's own words for them).
_TYPE_WORDS: Final = (
    (re.compile(r"TKwot\w*"), "parse.what.amount"),
    (re.compile(r"TDataCzas"), "parse.what.datetime"),
    (re.compile(r"TData\w*"), "parse.what.date"),
    (re.compile(r"T(?:Naturalny|Calkowity)"), "parse.what.integer"),
    (re.compile(r"TIlosci|TRzeczywisty|TProcentowy"), "parse.what.number"),
)


def _type_word(name: str) -> Text | None:
    for pattern, key in _TYPE_WORDS:
        if pattern.fullmatch(name):
            return Text(key)
    return None


def xsd_text(message: str) -> Text:
    """A libxml2 schema-validity message as a catalog message (``xsd.other`` with the raw text otherwise)."""
    text = message.strip()
    head = _PREFIX.match(text)
    if head is not None:
        rest = head["rest"].strip()
        for pattern, found in _XSD:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            key = found
            params: dict[str, object] = {"element": local_names(head["element"])}
            if head["attribute"]:
                params["attribute"] = head["attribute"]
            for name, value in match.groupdict().items():
                if name == "expected":
                    params[name] = _expected(value)
                elif name == "allowed":
                    listed = _enumeration(value)
                    key = "xsd.enumeration_listed" if listed else key
                    params[name] = listed
                elif name == "type":
                    type_name = params[name] = local_names(value)
                    what = _type_word(type_name)
                    if what is not None:
                        key = "xsd.atomic_what"
                        params["what"] = what
                else:
                    params[name] = value
            return Text(key, params)
    return Text("xsd.other", {"detail": text})


_SYNTAX: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.S), key)
    for pattern, key in (
        (r"Document is empty", "xml.empty"),
        (r"Start tag expected, '<' not found", "xml.no_start"),
        (r"Opening and ending tag mismatch: (?P<open>\S+) line \d+ and (?P<close>\S+)", "xml.mismatch"),
        (r"Premature end of data in tag (?P<name>\S+) line \d+", "xml.truncated"),
        (r"Couldn't find end of Start Tag (?P<name>\S+) line \d+", "xml.truncated"),
        (r"EndTag: '</' not found", "xml.truncated_end"),
        (r"Extra content at the end of the document", "xml.extra"),
        (r"Entity '(?P<name>[^']*)' not defined", "xml.entity"),
        (r"Invalid bytes in character encoding", "xml.bad_bytes"),
        (r"Input is not proper UTF-8, indicate encoding !.*", "xml.bad_bytes"),
        (r"Incomplete UTF-8 sequence starting with .*", "xml.bad_bytes"),
        (r"expected '(?P<char>.)'", "xml.expected_char"),
        (r"StartTag: invalid element name", "xml.bad_name"),
        (r"Specification mandates value for attribute (?P<name>\S+)", "xml.attribute_value"),
        (
            r"AttValue: .* expected|String not (?:closed|started) expecting .*|invalid character in "
            r"attribute value|attributes construct error|error parsing attribute name",
            "xml.attribute",
        ),
        (r"PCDATA invalid Char value \d+|Invalid character: Char 0x[0-9A-Fa-f]+ out of allowed range", "xml.bad_char"),
        (r"Comment not terminated.*", "xml.comment"),
        (r"parsing XML declaration: '\?>' expected|Malformed declaration expecting version", "xml.declaration"),
    )
)
_POSITION: Final = re.compile(r", line \d+, column \d+\Z")


def syntax_text(message: str | None) -> Text | str:
    """A libxml2 well-formedness message as a catalog message; the raw text when no pattern knows it."""
    text = _POSITION.sub("", (message or "").strip()).strip()
    for pattern, key in _SYNTAX:
        match = pattern.fullmatch(text)
        if match is not None:
            return Text(key, dict(match.groupdict()))
    return text
