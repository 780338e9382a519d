"""Redaction of what the API log keeps of a call's request and response, for support staff.

What is kept: the headers (credential-bearing ones replaced by a size) and a JSON body with every secret-bearing
field replaced by ``‹redacted, N bytes›``. What never is: a bearer token, a cookie, a KSeF token in any form
(encrypted or not), a session JWT, a symmetric key, a password, a private key, invoice content (encrypted or
not), or the signature in a pre-signed URL's query. XML, binary and encrypted bodies are summarised by their
type and size, never shown. A body is cut at :data:`BODY_LIMIT` characters after redaction.

Belt and braces: whatever a field is called, a string that looks like a JWT is replaced, a URL loses its query
and a long base64 run is summarised (a certificate, a key, an encrypted blob), so a field this module does not
know by name still does not leak the usual credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: A body longer than this (after redaction) is cut, with the number of characters left out.
BODY_LIMIT = 4096
#: JSON bodies bigger than this are not parsed (summarised by size): a log must not cost a download's memory.
PARSE_LIMIT = 1_000_000
#: A base64-looking string at least this long is summarised whatever its field.
LONG_BASE64 = 256

#: JSON fields whose value is a secret (compared case-insensitively). A secret field holding an object keeps
#: only its :data:`SAFE_INSIDE` fields (``accessToken.validUntil``): everything else inside is redacted.
SECRET_FIELDS = frozenset(
    name.lower()
    for name in (
        "token",
        "accessToken",
        "refreshToken",
        "authenticationToken",
        "encryptedToken",
        "ksefToken",
        "encryptionKey",
        "encryptedSymmetricKey",
        "symmetricKey",
        "key",
        "privateKey",
        "password",
        "passphrase",
        "secret",
        "clientSecret",
        "invoicePayload",
        "invoiceContent",
        "encryptedInvoiceContent",
        "encryptedContent",
        "fileContent",
        "content",
    )
)
#: Parts of a field's name that make it secret wherever they appear (``certificatePassword``, ``keyPrivate``…).
SECRET_PARTS = ("password", "secret", "privatekey", "private_key")
#: Fields kept inside a secret object (its expiry and reference say what happened without giving anything away).
SAFE_INSIDE = frozenset({"validuntil", "referencenumber", "type"})

#: Headers whose value is a credential; any header whose name contains one of :data:`SECRET_HEADER_PARTS` too.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
SECRET_HEADER_PARTS = ("token", "secret", "password", "signature", "session", "auth")

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{" + str(LONG_BASE64) + r",}={0,2}")
_URL = re.compile(r"https?://[^\s\"'<>]+")


def redacted(size: int) -> str:
    return f"‹redacted, {size} bytes›"


def summary(kind: str, size: int) -> str:
    return f"‹{kind}, {size} bytes›"


def _byte_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def _url_without_query(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query and not parts.fragment:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + ("?…" if parts.query else "")


def scrub_text(text: str) -> str:
    """Free text with JWTs replaced, URLs without their query and long base64 runs summarised."""
    text = _JWT.sub(lambda m: redacted(len(m.group(0))), text)
    text = _URL.sub(lambda m: _url_without_query(m.group(0)), text)
    return _BASE64_RUN.sub(lambda m: summary("base64", len(m.group(0))), text)


def _is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELDS or any(part in lowered for part in SECRET_PARTS)


def redact_json(value: Any, *, secret: bool = False) -> Any:
    """A JSON value with its secrets replaced (``secret``: the value sits in a secret field)."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for name, item in value.items():
            key = str(name)
            if secret and key.lower() not in SAFE_INSIDE:
                result[key] = redact_json(item, secret=True)
            elif _is_secret_field(key):
                result[key] = redact_json(item, secret=True) if isinstance(item, dict | list) else _hide(item)
            else:
                result[key] = redact_json(item)
        return result
    if isinstance(value, list):
        return [redact_json(item, secret=secret) for item in value]
    if secret:
        return _hide(value)
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _hide(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    return redacted(_byte_size(value))


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Every header, a credential-bearing one with its value replaced by its size."""
    result = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in SECRET_HEADERS or any(part in lowered for part in SECRET_HEADER_PARTS):
            scheme, _, credential = value.partition(" ")
            if credential and scheme.lower() in ("bearer", "basic"):  # the scheme says which login it was
                result.append((name, f"{scheme} {redacted(len(credential.encode('utf-8')))}"))
            else:
                result.append((name, redacted(len(value.encode("utf-8")))))
        else:
            result.append((name, scrub_text(value)))
    return tuple(result)


def _cap(text: str, limit: int = BODY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ‹{len(text) - limit} more characters›"


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def redact_body(content: bytes, content_type: str = "") -> str:
    """What the log keeps of a body: redacted JSON (pretty, capped), capped plain text, else type and size."""
    if not content:
        return ""
    kind = media_type(content_type)
    size = len(content)
    if "xml" in kind:
        return summary(kind, size)
    looks_json = not kind and content.lstrip()[:1] in (b"{", b"[")
    if "json" in kind or looks_json:
        if size > PARSE_LIMIT:
            return summary(kind or "json", size)
        try:
            data = json.loads(content)
        except ValueError:
            return summary(kind or "json", size)
        return _cap(json.dumps(redact_json(data), ensure_ascii=False, indent=2))
    if kind.startswith("text/") and size <= PARSE_LIMIT:
        return _cap(scrub_text(content.decode("utf-8", errors="replace")))
    return summary(kind or "binary", size)


__all__ = [
    "BODY_LIMIT",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "redact_body",
    "redact_headers",
    "redact_json",
    "redacted",
    "scrub_text",
    "summary",
]
