"""The shape of a KSeF token, checked before any network call.

KSeF 2.0 tokens look like ``<reference>|nip-<NIP>|<64 hex>`` (or ``internalId-<NIP>-<5 digits>`` as the
context). KSeF 1.0 tokens were a bare 64-character hex string; they do not work in 2.0 and we say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ksef_tui.domain.ksef_number import REFERENCE_RE
from ksef_tui.domain.nip import is_valid_nip

_CONTEXT_RE = re.compile(r"^(nip)-(\d{10})$|^(internalId)-(\d{10})-(\d{5})$")
_SECRET_RE = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_TOKEN_LENGTH = 160


class TokenShapeProblem(Enum):
    EMPTY = "empty"
    WHITESPACE = "whitespace"
    LEGACY_1_0 = "legacy-1.0"
    PARTS = "parts"
    REFERENCE = "reference"
    CONTEXT = "context"
    CONTEXT_NIP = "context-nip"
    SECRET = "secret"
    TOO_LONG = "too-long"


class InvalidTokenShape(ValueError):
    """Never carries the token text itself: only the problem."""

    def __init__(self, problem: TokenShapeProblem) -> None:
        super().__init__(f"KSeF token has the wrong shape: {problem.value}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class KsefTokenInfo:
    """The public parts of a token (the secret part is deliberately not kept)."""

    reference: str
    context_type: str  # "Nip" or "InternalId", as the API names context types
    context_value: str  # the NIP, or "<NIP>-<5 digits>"

    @property
    def nip(self) -> str:
        return self.context_value[:10]


def token_shape_problem(token: str) -> TokenShapeProblem | None:
    if not token:
        return TokenShapeProblem.EMPTY
    if token != token.strip() or any(c.isspace() for c in token):
        return TokenShapeProblem.WHITESPACE
    if len(token) > MAX_TOKEN_LENGTH:
        return TokenShapeProblem.TOO_LONG
    if "|" not in token:
        return TokenShapeProblem.LEGACY_1_0 if _SECRET_RE.match(token) else TokenShapeProblem.PARTS
    parts = token.split("|")
    if len(parts) != 3:
        return TokenShapeProblem.PARTS
    reference, context, secret = parts
    match = REFERENCE_RE.match(reference)
    if not match or match.group(2) != "EC":
        return TokenShapeProblem.REFERENCE
    context_match = _CONTEXT_RE.match(context)
    if not context_match:
        return TokenShapeProblem.CONTEXT
    nip = context_match.group(2) or context_match.group(4)
    if not is_valid_nip(nip):
        return TokenShapeProblem.CONTEXT_NIP
    if not _SECRET_RE.match(secret):
        return TokenShapeProblem.SECRET
    return None


def parse_token_shape(token: str) -> KsefTokenInfo:
    """Check the shape and return the public parts; raises :class:`InvalidTokenShape`."""
    problem = token_shape_problem(token)
    if problem is not None:
        raise InvalidTokenShape(problem)
    reference, context, _ = token.split("|")
    match = _CONTEXT_RE.match(context)
    assert match is not None
    if match.group(1):
        return KsefTokenInfo(reference, "Nip", match.group(2))
    return KsefTokenInfo(reference, "InternalId", f"{match.group(4)}-{match.group(5)}")
