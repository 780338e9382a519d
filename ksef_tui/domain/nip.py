"""Polish tax identifier (NIP): format and checksum.

The KSeF API accepts NIPs matching ``^[1-9]((\\d[1-9])|([1-9]\\d))\\d{7}$`` (the second and third digit are
not both zero); the checksum uses weights 6,5,7,2,3,4,5,6,7 over the first nine digits, the sum modulo 11
must equal the tenth digit (a remainder of 10 makes the number invalid).
"""

from __future__ import annotations

import re
from enum import Enum

NIP_API_RE = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")
_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)


class NipProblem(Enum):
    """Why a string is not a usable NIP (each has its own message in the UI catalogs)."""

    EMPTY = "empty"
    NOT_DIGITS = "not-digits"
    LENGTH = "length"
    API_FORMAT = "api-format"
    CHECKSUM = "checksum"


class InvalidNip(ValueError):
    def __init__(self, value: str, problem: NipProblem) -> None:
        super().__init__(f"invalid NIP {value!r}: {problem.value}")
        self.value = value
        self.problem = problem


def normalize_nip(value: str) -> str:
    """Strip the separators people type (spaces, hyphens) and an optional ``PL`` prefix."""
    text = value.strip().upper()
    text = text.removeprefix("PL")
    return re.sub(r"[\s-]", "", text)


def nip_checksum_ok(digits: str) -> bool:
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _WEIGHTS, strict=True)) % 11
    return total != 10 and total == int(digits[9])


def nip_problem(value: str) -> NipProblem | None:
    """Return the first problem with ``value`` (already normalised) or ``None`` when it is a valid NIP."""
    if not value:
        return NipProblem.EMPTY
    if not (value.isascii() and value.isdigit()):
        return NipProblem.NOT_DIGITS
    if len(value) != 10:
        return NipProblem.LENGTH
    if not NIP_API_RE.match(value):
        return NipProblem.API_FORMAT
    if not nip_checksum_ok(value):
        return NipProblem.CHECKSUM
    return None


def is_valid_nip(value: str) -> bool:
    return nip_problem(value) is None


def parse_nip(value: str) -> str:
    """Normalise and validate; raise :class:`InvalidNip` with the reason."""
    text = normalize_nip(value)
    problem = nip_problem(text)
    if problem is not None:
        raise InvalidNip(value, problem)
    return text


def nip_with_checksum(first_nine: str) -> str | None:
    """Complete nine digits with their check digit (``None`` when no digit can make it valid)."""
    if len(first_nine) != 9 or not (first_nine.isascii() and first_nine.isdigit()):
        return None
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True)) % 11
    if total == 10:
        return None
    candidate = first_nine + str(total)
    return candidate if NIP_API_RE.match(candidate) else None
