"""Receiving invoices (PROTOCOL §6): metadata query and download by KSeF number."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from ksef_tui.sim.clock import iso
from ksef_tui.sim.errors import UNREADABLE, VALIDATION, ApiError, HttpProblem
from ksef_tui.sim.http import (
    Ctx,
    Endpoint,
    need,
    need_enum,
    need_obj,
    ok,
    opt_bool,
    opt_enum,
    opt_enum_list,
    opt_obj,
    opt_str,
    query_enum,
    query_int,
)
from ksef_tui.sim.invoices import StoredInvoice
from ksef_tui.sim.routes_sessions import xml_response
from ksef_tui.sim.state import SimState

WARSAW = ZoneInfo("Europe/Warsaw")
# The enums of InvoiceQueryFilters (OpenAPI 2.6.1 / 2.7.0).
SUBJECT_TYPES = ("Subject1", "Subject2", "Subject3", "SubjectAuthorized")
DATE_TYPES = ("Issue", "Invoicing", "PermanentStorage")
AMOUNT_TYPES = ("Brutto", "Netto", "Vat")
BUYER_IDENTIFIER_TYPES = ("Nip", "VatUe", "Other", "None")
INVOICING_MODES = ("Online", "Offline")
FORM_TYPES = ("FA", "PEF", "FA_RR")
INVOICE_TYPES = (
    "Vat",
    "Zal",
    "Kor",
    "Roz",
    "Upr",
    "KorZal",
    "KorRoz",
    "VatPef",
    "VatPefSp",
    "KorPef",
    "VatRr",
    "KorVatRr",
)
# ISO 4217 as listed by the OpenAPI's CurrencyCode (with GGP, IMP, JEP, XCG and the funds codes it names).
_CURRENCIES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
    CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GGP GHS GIP
    GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS IMP INR IQD IRR ISK JEP JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
    KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD
    XCD XCG XDR XOF XPD XPF XPT XSU XUA XXX YER ZAR ZMW ZWL
"""
CURRENCY_CODES = tuple(_CURRENCIES.split())


def parse_api_datetime(value: Any, name: str) -> datetime:
    """ISO-8601; a value without an offset is Europe/Warsaw local time (PROTOCOL §2)."""
    if not isinstance(value, str):
        raise ApiError(UNREADABLE, f"Pole '{name}' musi być datą i czasem w formacie ISO-8601.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(UNREADABLE, f"Pole '{name}' musi być datą i czasem w formacie ISO-8601.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WARSAW)
    return parsed.astimezone(UTC)


def _add_months(value: datetime, months: int) -> datetime:
    month = value.month - 1 + months
    year = value.year + month // 12
    month = month % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def within_three_months(start: datetime, end: datetime) -> bool:
    """Valid when the span fits in three months in UTC or in Warsaw time."""
    zones: tuple[tzinfo, ...] = (UTC, WARSAW)
    for zone in zones:
        a = start.astimezone(zone).replace(tzinfo=None)
        b = end.astimezone(zone).replace(tzinfo=None)
        if b <= _add_months(a, 3):
            return True
    return False


def _date_of(inv: StoredInvoice, date_type: str) -> datetime:
    if date_type == "Issue":
        return datetime.combine(inv.facts.issue_date, time(0), WARSAW).astimezone(UTC)
    if date_type == "Invoicing":
        return inv.invoicing_date
    return inv.permanent_storage


def _in_range(inv: StoredInvoice, date_type: str, start: datetime, end: datetime) -> bool:
    if date_type == "Issue":
        day: date = inv.facts.issue_date
        return start.astimezone(WARSAW).date() <= day <= end.astimezone(WARSAW).date()
    return start <= _date_of(inv, date_type) <= end


def _subject_match(inv: StoredInvoice, subject: str, nip: str) -> bool:
    facts = inv.facts
    if subject == "Subject1":
        return facts.seller_nip == nip
    if subject == "Subject2":
        return facts.buyer_type == "Nip" and facts.buyer_value == nip
    if subject == "Subject3":
        return any(value == nip for _, value, _, _ in facts.third_subjects)
    return False


def _decimal(obj: dict[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(UNREADABLE, f"Pole 'amount.{key}' musi być liczbą.")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - json numbers are always decimal
        raise ApiError(UNREADABLE, f"Pole 'amount.{key}' musi być liczbą.") from exc


def _amount_filter(amount: dict[str, Any]) -> Callable[[StoredInvoice], bool]:
    kind = need_enum(amount, "type", AMOUNT_TYPES, "amount.")
    low, high = _decimal(amount, "from"), _decimal(amount, "to")

    def keep(r: StoredInvoice) -> bool:
        value = {"Brutto": r.facts.gross, "Netto": r.facts.net, "Vat": r.facts.vat_pln}[kind]
        return (low is None or value >= low) and (high is None or value <= high)

    return keep


def read_filters(body: dict[str, Any]) -> list[Callable[[StoredInvoice], bool]]:
    """The optional filters of ``InvoiceQueryFilters``, each read and checked (21001 for an unreadable value)."""
    keep: list[Callable[[StoredInvoice], bool]] = []
    if (number := opt_str(body, "ksefNumber")) is not None:
        keep.append(lambda r: r.ksef_number == number)
    if (invoice_number := opt_str(body, "invoiceNumber")) is not None:
        keep.append(lambda r: invoice_number.lower() in r.facts.invoice_number.lower())
    if (seller := opt_str(body, "sellerNip")) is not None:
        keep.append(lambda r: r.facts.seller_nip == seller)
    if (buyer := opt_obj(body, "buyerIdentifier")) is not None:
        buyer_type = need_enum(buyer, "type", BUYER_IDENTIFIER_TYPES, "buyerIdentifier.")
        buyer_value = opt_str(buyer, "value", "buyerIdentifier.")
        keep.append(
            lambda r: r.facts.buyer_type == buyer_type and (buyer_value is None or r.facts.buyer_value == buyer_value)
        )
    if currencies := opt_enum_list(body, "currencyCodes", CURRENCY_CODES):
        keep.append(lambda r: r.facts.currency in currencies)
    if types := opt_enum_list(body, "invoiceTypes", INVOICE_TYPES):
        keep.append(lambda r: r.facts.invoice_type in types)
    if (mode := opt_enum(body, "invoicingMode", INVOICING_MODES)) is not None:
        keep.append(lambda r: r.mode == mode)
    if (form := opt_enum(body, "formType", FORM_TYPES)) is not None:
        keep.append(lambda r: r.form[2] == form)
    if (attachment := opt_bool(body, "hasAttachment")) is not None:
        keep.append(lambda r: r.facts.has_attachment == attachment)
    if (self_invoicing := opt_bool(body, "isSelfInvoicing")) is not None:
        keep.append(lambda r: r.facts.is_self_invoicing == self_invoicing)
    if (amount := opt_obj(body, "amount")) is not None:
        keep.append(_amount_filter(amount))
    return keep


def metadata_json(inv: StoredInvoice) -> dict[str, Any]:
    facts = inv.facts
    buyer_identifier: dict[str, Any] = {"type": facts.buyer_type}
    if facts.buyer_value is not None:
        buyer_identifier["value"] = facts.buyer_value
    body: dict[str, Any] = {
        "ksefNumber": inv.ksef_number,
        "invoiceNumber": facts.invoice_number,
        "issueDate": facts.issue_date.isoformat(),
        "invoicingDate": iso(inv.invoicing_date),
        "acquisitionDate": iso(inv.acquisition),
        "permanentStorageDate": iso(inv.permanent_storage),
        "seller": {"nip": facts.seller_nip, "name": facts.seller_name},
        "buyer": {"identifier": buyer_identifier, "name": facts.buyer_name},
        "netAmount": facts.net,
        "grossAmount": facts.gross,
        "vatAmount": facts.vat_pln,
        "currency": facts.currency,
        "invoicingMode": inv.mode,
        "invoiceType": facts.invoice_type,
        "formCode": {"systemCode": inv.form[0], "schemaVersion": inv.form[1], "value": inv.form[2]},
        "isSelfInvoicing": facts.is_self_invoicing,
        "hasAttachment": facts.has_attachment,
        "invoiceHash": inv.invoice_hash,
        "thirdSubjects": [
            {"identifier": {"type": kind, "value": value}, "name": name, "role": role}
            for kind, value, name, role in facts.third_subjects
        ]
        or None,
    }
    # The spec example shows "hashOfCorrectedInvoice": null and "authorizedSubject": null, but both are
    # declared as non-nullable $ref properties in 2.6.1; they are left out when empty.
    if inv.hash_of_corrected is not None:
        body["hashOfCorrectedInvoice"] = inv.hash_of_corrected
    return body


class HwmExceeded(ApiError):
    def __init__(self) -> None:
        super().__init__(
            21183,
            "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym "
            "restrictToPermanentStorageHwmDate.",
        )


@dataclass
class Selection:
    rows: list[StoredInvoice]
    date_type: str
    hwm: datetime | None


def select_invoices(
    state: SimState, nip: str, body: dict[str, Any], now: datetime, *, descending: bool = False
) -> Selection:
    """Validate ``InvoiceQueryFilters`` and return the matching, sorted invoices (shared by query and export)."""
    subject = need_enum(body, "subjectType", SUBJECT_TYPES)
    date_range = need_obj(body, "dateRange")
    date_type = need_enum(date_range, "dateType", DATE_TYPES, "dateRange.")
    restrict = opt_bool(date_range, "restrictToPermanentStorageHwmDate", "dateRange.")
    filters = read_filters(body)
    start = parse_api_datetime(need(date_range, "from", "dateRange."), "dateRange.from")
    raw_to = date_range.get("to")
    end = parse_api_datetime(raw_to, "dateRange.to") if raw_to is not None else now
    if not within_three_months(start, end):
        raise ApiError(VALIDATION, "Zakres dat 'dateRange' nie może przekraczać 3 miesięcy.")
    hwm = state.invoices.hwm() if date_type == "PermanentStorage" else None
    if hwm is not None and restrict:
        if start > hwm:
            raise HwmExceeded()
        end = min(end, hwm)
    if start > end:
        raise ApiError(VALIDATION, "Data 'dateRange.from' nie może być późniejsza niż 'dateRange.to'.")
    rows = [
        inv
        for inv in state.invoices.values()
        # Metadata exist once the invoice is permanently stored (the schema requires the date).
        if inv.permanent_storage <= now
        and _subject_match(inv, subject, nip)
        and _in_range(inv, date_type, start, end)
        and all(keep(inv) for keep in filters)
    ]
    rows.sort(key=lambda inv: (_date_of(inv, date_type), inv.ksef_number), reverse=descending)
    # The OpenAPI text: for the latest period the HWM may be slightly below the requested upper bound; for older
    # periods it equals the query's bound. So the reported value never exceeds the (clamped) upper bound.
    return Selection(rows, date_type, min(hwm, end) if hwm is not None else None)


def query_metadata(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    offset = query_int(ctx, "pageOffset", 0, 0, None)
    size = query_int(ctx, "pageSize", 10, 10, 250)
    order = query_enum(ctx, "sortOrder", ("Asc", "Desc")) or "Asc"
    selection = select_invoices(ctx.state, bearer.context_value, ctx.json(), ctx.now, descending=order == "Desc")
    rows, hwm = selection.rows, selection.hwm
    cap = ctx.state.config.metadata_row_cap
    first = offset * size
    last = min(first + size, cap)
    chunk = rows[first:last] if first < cap else []
    truncated = len(rows) > cap and first + size >= cap
    has_more = len(rows) > max(last, first)
    return ok(
        {
            "hasMore": has_more,
            "isTruncated": truncated,
            "permanentStorageHwmDate": iso(hwm) if hwm is not None else None,
            "invoices": [metadata_json(inv) for inv in chunk],
        }
    )


def download(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    number = ctx.params["ksefNumber"]
    inv = ctx.state.invoices.get(number)
    if inv is None:
        raise ApiError(21164, f"Faktura o numerze KSeF {number} nie została znaleziona.")
    if not inv.on_invoice(bearer.context_value):
        raise HttpProblem(
            403,
            "Brak dostępu do wskazanego zasobu.",
            reasonCode="insufficient-resource-access",
            security=None,
        )
    if ctx.now < inv.permanent_storage:
        raise ApiError(
            21165,
            f"Faktura o numerze KSeF {number} została przetworzona, ale nie jest jeszcze dostępna do pobrania. "
            "Spróbuj ponownie później.",
        )
    return xml_response(inv.xml)


ENDPOINTS = [
    Endpoint("POST", "/invoices/query/metadata", "invoiceMetadata", "access", ("InvoiceRead",), query_metadata),
    Endpoint("GET", "/invoices/ksef/{ksefNumber}", "invoiceDownload", "access", ("InvoiceRead",), download),
]
