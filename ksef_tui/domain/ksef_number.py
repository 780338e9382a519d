"""KSeF invoice numbers and KSeF reference numbers.

* KSeF 2.0 number (35 chars): ``NNNNNNNNNN-YYYYMMDD-FFFFFFFFFFFF-CC``; ``CC`` is CRC-8 (poly 0x07, init 0,
  no reflection, no final XOR) over the first 32 characters, two uppercase hex digits.
* KSeF 1.0 number (36 chars): the technical part is split ``FFFFFF-FFFFFF``; the API still accepts it.
* Reference numbers (36 chars): ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC``; ``TT`` names the object type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from ksef_tui.domain.nip import NIP_API_RE

KSEF_NUMBER_RE = re.compile(
    r"^([1-9](\d[1-9]|[1-9]\d)\d{7})-(20[2-9][0-9]|2[1-9]\d{2}|[3-9]\d{3})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
    r"-([0-9A-F]{6})-?([0-9A-F]{6})-([0-9A-F]{2})$"
)
REFERENCE_RE = re.compile(r"^(\d{8})-([A-Z]{2})-([0-9A-F]{10})-([0-9A-F]{10})-([0-9A-F]{2})$")


def crc8(data: bytes) -> int:
    """CRC-8/SMBUS: polynomial 0x07, init 0x00, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class KsefNumberProblem(Enum):
    FORMAT = "format"
    NIP = "nip"
    DATE = "date"
    CHECKSUM = "checksum"


class InvalidKsefNumber(ValueError):
    def __init__(self, value: str, problem: KsefNumberProblem) -> None:
        super().__init__(f"invalid KSeF number {value!r}: {problem.value}")
        self.value = value
        self.problem = problem


@dataclass(frozen=True, slots=True)
class KsefNumber:
    """A parsed, checked KSeF number. ``legacy`` is True for the 36-char KSeF 1.0 form."""

    text: str
    seller_nip: str
    acquisition_date: date
    technical: str
    legacy: bool

    def __str__(self) -> str:
        return self.text


def _checksum_input(text: str) -> str:
    # 2.0: the first 32 characters. 1.0: the same characters including the extra hyphen.
    return text[: len(text) - 3]


def ksef_number_problem(text: str) -> KsefNumberProblem | None:
    match = KSEF_NUMBER_RE.fullmatch(text)  # fullmatch: "$" also matches before a final "\n"
    if not match or len(text) not in (35, 36):
        return KsefNumberProblem.FORMAT
    if not NIP_API_RE.match(match.group(1)):
        return KsefNumberProblem.NIP
    try:
        date(int(text[11:15]), int(text[15:17]), int(text[17:19]))
    except ValueError:
        return KsefNumberProblem.DATE
    if f"{crc8(_checksum_input(text).encode('ascii')):02X}" != match.group(8):
        return KsefNumberProblem.CHECKSUM
    return None


def parse_ksef_number(text: str) -> KsefNumber:
    value = text.strip()
    problem = ksef_number_problem(value)
    if problem is not None:
        raise InvalidKsefNumber(text, problem)
    match = KSEF_NUMBER_RE.fullmatch(value)
    assert match is not None
    return KsefNumber(
        text=value,
        seller_nip=match.group(1),
        acquisition_date=date(int(value[11:15]), int(value[15:17]), int(value[17:19])),
        technical=match.group(6) + match.group(7),
        legacy=len(value) == 36,
    )


def is_valid_ksef_number(text: str) -> bool:
    return ksef_number_problem(text) is None


def make_ksef_number(seller_nip: str, day: date, technical_hex: str) -> str:
    """Build a 2.0 number from its parts (the technical part is 12 uppercase hex characters)."""
    technical = technical_hex.upper()
    if len(technical) != 12 or any(c not in "0123456789ABCDEF" for c in technical):
        raise ValueError("the technical part must be 12 hex characters")
    head = f"{seller_nip}-{day:%Y%m%d}-{technical}"
    return f"{head}-{crc8(head.encode('ascii')):02X}"


class ReferenceType(Enum):
    """The ``TT`` part of a reference number (PROTOCOL.md §2)."""

    CHALLENGE = "CR"
    AUTHENTICATION = "AU"
    ONLINE_SESSION = "SO"
    BATCH_SESSION = "SB"
    SESSION_INVOICE = "EE"
    UPO = "EU"
    KSEF_TOKEN = "EC"
    EXPORT = "EH"
    PERMISSION_OPERATION = "EG"


def make_reference_number(day: date, kind: ReferenceType, random_hex: str) -> str:
    """Build a 36-char reference number; ``random_hex`` gives the 20 hex digits of the middle part."""
    digits = random_hex.upper()
    if len(digits) != 20 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError("the random part must be 20 hex characters")
    head = f"{day:%Y%m%d}-{kind.value}-{digits[:10]}-{digits[10:]}"
    return f"{head}-{crc8(head.encode('ascii')):02X}"


def is_reference_number(text: str) -> bool:
    """Shape check only: clients treat reference numbers as opaque 36-char strings."""
    return len(text) == 36 and REFERENCE_RE.match(text) is not None


def reference_checksum_ok(text: str) -> bool:
    return is_reference_number(text) and f"{crc8(text[:33].encode('ascii')):02X}" == text[34:]
