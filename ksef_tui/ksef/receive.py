"""Receiving invoices (PROTOCOL.md §6): metadata queries, single downloads and exports."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.client import field, json_object, parse_time
from ksef_tui.ksef.crypto import SYMMETRIC_USAGE, SymmetricKey, select_certificate, sha256_b64
from ksef_tui.ksef.errors import ApiError, KsefError, ProtocolViolation

MAX_PAGE_SIZE = 250
ROW_CAP = 10_000


@dataclass(frozen=True, slots=True)
class InvoiceMetadata:
    ksef_number: str
    invoice_number: str
    issue_date: date
    invoicing_date: datetime
    acquisition_date: datetime
    permanent_storage_date: datetime
    seller_nip: str
    seller_name: str
    buyer_id_type: str
    buyer_id: str | None
    buyer_name: str
    net: Decimal
    vat: Decimal  # in PLN
    gross: Decimal
    currency: str
    invoice_type: str
    invoice_hash: str
    hash_of_corrected_invoice: str | None
    form_code: str

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> InvoiceMetadata:
        try:
            buyer = field(item, "buyer")
            identifier = field(buyer, "identifier")
            return cls(
                ksef_number=str(field(item, "ksefNumber")),
                invoice_number=str(field(item, "invoiceNumber")),
                issue_date=date.fromisoformat(str(field(item, "issueDate"))[:10]),
                invoicing_date=parse_time(field(item, "invoicingDate")),
                acquisition_date=parse_time(field(item, "acquisitionDate")),
                permanent_storage_date=parse_time(field(item, "permanentStorageDate")),
                seller_nip=str(field(item, "seller", "nip")),
                seller_name=str(item["seller"].get("name") or ""),
                buyer_id_type=str(field(identifier, "type")),
                buyer_id=identifier.get("value"),
                buyer_name=str(buyer.get("name") or ""),
                net=Decimal(str(field(item, "netAmount"))),
                vat=Decimal(str(field(item, "vatAmount"))),
                gross=Decimal(str(field(item, "grossAmount"))),
                currency=str(field(item, "currency")),
                invoice_type=str(field(item, "invoiceType")),
                invoice_hash=str(field(item, "invoiceHash")),
                hash_of_corrected_invoice=item.get("hashOfCorrectedInvoice"),
                form_code=str(field(item, "formCode", "systemCode")),
            )
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise ProtocolViolation(f"invoice metadata: {exc}") from None


@dataclass(frozen=True, slots=True)
class MetadataPage:
    invoices: list[InvoiceMetadata]
    has_more: bool
    is_truncated: bool
    hwm: datetime | None


def date_range(date_type: str, start: datetime, end: datetime | None, *, restrict_to_hwm: bool) -> dict[str, Any]:
    value: dict[str, Any] = {"dateType": date_type, "from": start.isoformat(timespec="milliseconds")}
    if end is not None:
        value["to"] = end.isoformat(timespec="milliseconds")
    if restrict_to_hwm:
        value["restrictToPermanentStorageHwmDate"] = True
    return value


async def query_metadata(
    api: KsefApi, filters: dict[str, Any], *, page: int = 0, page_size: int = MAX_PAGE_SIZE, sort: str = "Asc"
) -> MetadataPage:
    response = await api.call(
        "POST",
        "/invoices/query/metadata",
        params={"pageOffset": page, "pageSize": page_size, "sortOrder": sort},
        json=filters,
    )
    body = json_object(response.content, "query metadata")
    items = field(body, "invoices")
    if not isinstance(items, list):
        raise ProtocolViolation("invoices is not a list")
    hwm = body.get("permanentStorageHwmDate")
    return MetadataPage(
        invoices=[InvoiceMetadata.from_json(item) for item in items],
        has_more=bool(field(body, "hasMore")),
        is_truncated=bool(field(body, "isTruncated")),
        hwm=parse_time(hwm) if hwm else None,
    )


async def download_invoice(api: KsefApi, ksef_number: str) -> bytes:
    """The invoice XML exactly as stored by KSeF, checked against ``x-ms-meta-hash``."""
    response = await api.call(
        "GET", f"/invoices/ksef/{ksef_number}", idempotent=True, headers={"Accept": "application/xml"}
    )
    declared = response.headers.get("x-ms-meta-hash")
    if declared and declared != sha256_b64(response.content):
        raise ProtocolViolation(f"{ksef_number}: the downloaded XML does not match its hash")
    return response.content


def is_not_yet_available(error: KsefError) -> bool:
    return isinstance(error, ApiError) and error.has_code(21165)


# --------------------------------------------------------------------------------------------- exports


@dataclass(frozen=True, slots=True)
class ExportPart:
    ordinal: int
    url: str
    method: str
    part_hash: str | None
    encrypted_hash: str | None


@dataclass(frozen=True, slots=True)
class ExportPackage:
    invoice_count: int
    parts: list[ExportPart]
    is_truncated: bool
    last_permanent_storage_date: datetime | None
    hwm: datetime | None


@dataclass(frozen=True, slots=True)
class ExportStatus:
    code: int
    description: str
    details: tuple[str, ...]
    package: ExportPackage | None


class ExportFailed(KsefError):
    key = "ksef.err.export_failed"

    def __init__(self, status: ExportStatus) -> None:
        detail = "; ".join(status.details)
        super().__init__(
            f"export ended with status {status.code}: {status.description} {detail}".strip(),
            code=status.code,
            description=status.description,
        )
        self.status = status


async def start_export(api: KsefApi, filters: dict[str, Any], key: SymmetricKey, *, only_metadata: bool = False) -> str:
    for attempt in (1, 2):
        certs = await api.auth.certificates(refresh=attempt == 2)
        cert = select_certificate(certs, SYMMETRIC_USAGE, api.auth._clock())
        encryption: dict[str, Any] = {
            "encryptedSymmetricKey": key.encrypted_key(cert),
            "initializationVector": key.iv_b64,
        }
        if cert.public_key_id:
            encryption["publicKeyId"] = cert.public_key_id
        request = {"encryption": encryption, "onlyMetadata": only_metadata, "filters": filters}
        try:
            body = await api.call_json("POST", "/invoices/exports", json=request)
        except ApiError as exc:
            if exc.has_code(21470) and attempt == 1:
                continue
            raise
        return str(field(body, "referenceNumber"))
    raise AssertionError("unreachable")  # pragma: no cover


def _package(raw: Any) -> ExportPackage | None:
    if not isinstance(raw, dict):
        return None
    parts = []
    for item in raw.get("parts") or []:
        parts.append(
            ExportPart(
                ordinal=int(field(item, "ordinalNumber")),
                url=str(field(item, "url")),
                method=str(item.get("method") or "GET"),
                part_hash=item.get("partHash"),
                encrypted_hash=item.get("encryptedPartHash"),
            )
        )
    last = raw.get("lastPermanentStorageDate")
    hwm = raw.get("permanentStorageHwmDate")
    return ExportPackage(
        invoice_count=int(raw.get("invoiceCount") or 0),
        parts=sorted(parts, key=lambda p: p.ordinal),
        is_truncated=bool(raw.get("isTruncated")),
        last_permanent_storage_date=parse_time(last) if last else None,
        hwm=parse_time(hwm) if hwm else None,
    )


async def export_status(api: KsefApi, reference: str) -> ExportStatus:
    body = await api.call_json("GET", f"/invoices/exports/{reference}", idempotent=True)
    status = field(body, "status")
    return ExportStatus(
        code=int(field(status, "code")),
        description=str(status.get("description") or ""),
        details=tuple(str(d) for d in status.get("details") or ()),
        package=_package(body.get("package")),
    )


async def wait_for_export(
    api: KsefApi,
    reference: str,
    *,
    max_wait: float = 600.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first_wait: float = 1.0,
) -> ExportPackage:
    """Poll the export until it is ready: first after ``first_wait`` (an export is never instant), then backing
    off up to 10 s between polls, so a package costs one or two status calls, not a burst."""
    await sleep(first_wait)
    delay = first_wait
    waited = first_wait
    while True:
        status = await export_status(api, reference)
        if status.code == 200 and status.package is not None:
            return status.package
        if status.code != 100:
            raise ExportFailed(status)
        if waited > max_wait:
            raise ExportFailed(ExportStatus(100, "timeout", ("export still in progress",), None))
        await sleep(delay)
        waited += delay
        delay = min(delay * 2, 10.0)


async def download_package(api: KsefApi, package: ExportPackage, key: SymmetricKey) -> dict[str, bytes]:
    """Download every part (pre-signed URLs: no Authorization), check hashes, decrypt, join, unzip."""
    plain = bytearray()
    for part in package.parts:
        response = await api.http.request(part.method, part.url, absolute=True, idempotent=True)
        data = response.content
        if part.encrypted_hash and part.encrypted_hash != sha256_b64(data):
            raise ProtocolViolation(f"export part {part.ordinal}: encrypted hash mismatch")
        try:
            decrypted = key.decrypt(data)
        except ValueError:
            raise ProtocolViolation(f"export part {part.ordinal}: cannot be decrypted") from None
        if part.part_hash and part.part_hash != sha256_b64(decrypted):
            raise ProtocolViolation(f"export part {part.ordinal}: hash mismatch after decryption")
        plain.extend(decrypted)
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(plain))) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        raise ProtocolViolation("export package is not a zip archive") from None


def package_metadata(files: dict[str, bytes]) -> list[InvoiceMetadata]:
    raw = files.get("_metadata.json")
    if raw is None:
        raise ProtocolViolation("export package has no _metadata.json")
    body = json_object(raw, "_metadata.json")
    items = field(body, "invoices")
    if not isinstance(items, list):
        raise ProtocolViolation("_metadata.json: invoices is not a list")
    return [InvoiceMetadata.from_json(item) for item in items]
