"""Sending invoices (PROTOCOL.md §5): online sessions, invoice and session status, UPO, batch sessions.

Small functions over :class:`KsefApi`, one KSeF call each (plus :func:`wait_for_session`, which polls). Nothing
here is retried on its own beyond what :class:`KsefHttp` does (429s; network failures and 5xx only for the
idempotent reads and pre-signed uploads): a send, an open or a close may have happened even when its answer was
lost, so what to do then is the caller's decision (it can look at :func:`session_invoices`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.client import field, parse_time
from ksef_tui.ksef.crypto import SYMMETRIC_USAGE, SymmetricKey, select_certificate, sha256_b64
from ksef_tui.ksef.errors import ApiError, KsefError, ProtocolViolation


@dataclass(frozen=True, slots=True)
class FormCode:
    """``formCode`` of a session (§5.2); the invoice's ``KodFormularza`` must match it."""

    system_code: str
    schema_version: str
    value: str

    def to_json(self) -> dict[str, str]:
        return {"systemCode": self.system_code, "schemaVersion": self.schema_version, "value": self.value}


FA3 = FormCode("FA (3)", "1-0E", "FA")

#: Online session codes (§5.5): open, closed and still processing.
SESSION_OPEN = 100
SESSION_CLOSED = 170
#: Batch session code while its package is processed (§5.5).
BATCH_PROCESSING = 150
SESSION_DONE = 200
#: Invoice codes (§5.6).
INVOICE_QUEUED = 100
INVOICE_PROCESSING = 150
INVOICE_OK = 200
INVOICE_DUPLICATE = 440
INVOICE_INVALID = 450

#: Batch package limits (§5.8): parts of the archive before encryption.
MAX_PARTS = 50
MAX_PART_BYTES = 100_000_000
MAX_PACKAGE_BYTES = 5_000_000_000

MIN_LIST_PAGE = 10
MAX_LIST_PAGE = 1000


# --------------------------------------------------------------------------------------------- encryption


async def _encryption(api: KsefApi, key: SymmetricKey, *, refresh: bool) -> dict[str, Any]:
    """The ``encryption`` object (§5.2): the session key under the MF ``SymmetricKeyEncryption`` certificate."""
    certs = await api.auth.certificates(refresh=refresh)
    cert = select_certificate(certs, SYMMETRIC_USAGE, api.auth._clock())
    encryption: dict[str, Any] = {"encryptedSymmetricKey": key.encrypted_key(cert), "initializationVector": key.iv_b64}
    if cert.public_key_id:
        encryption["publicKeyId"] = cert.public_key_id
    return encryption


async def _open(api: KsefApi, path: str, key: SymmetricKey, body: dict[str, Any]) -> dict[str, Any]:
    """POST an open request; on ``21470`` (the key id was withdrawn) once more with fresh certificates.
    A 400 opened nothing, so repeating it is safe."""
    for attempt in (1, 2):
        request = {**body, "encryption": await _encryption(api, key, refresh=attempt == 2)}
        try:
            return await api.call_json("POST", path, json=request)
        except ApiError as exc:
            if exc.has_code(21470) and attempt == 1:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------------------------- online sessions


@dataclass(frozen=True, slots=True)
class OnlineSession:
    reference: str
    valid_until: datetime
    key: SymmetricKey
    form_code: FormCode


async def open_online_session(
    api: KsefApi, form_code: FormCode = FA3, *, key: SymmetricKey | None = None
) -> OnlineSession:
    """POST /sessions/online (§5.2) with a new key (or ``key``, e.g. one kept in a journal)."""
    key = key or SymmetricKey.generate()
    body = await _open(api, "/sessions/online", key, {"formCode": form_code.to_json()})
    return OnlineSession(
        reference=str(field(body, "referenceNumber")),
        valid_until=parse_time(field(body, "validUntil")),
        key=key,
        form_code=form_code,
    )


def invoice_request(
    key: SymmetricKey, xml: bytes, *, offline: bool = False, hash_of_corrected: str | None = None
) -> dict[str, Any]:
    """The body of POST /sessions/online/{ref}/invoices (§5.3): hashes and byte sizes of the plain XML and of
    its ciphertext (AES-256-CBC with the session key, IV not prepended)."""
    encrypted = key.encrypt(xml)
    body: dict[str, Any] = {
        "invoiceHash": sha256_b64(xml),
        "invoiceSize": len(xml),
        "encryptedInvoiceHash": sha256_b64(encrypted),
        "encryptedInvoiceSize": len(encrypted),
        "encryptedInvoiceContent": _b64(encrypted),
        "offlineMode": offline,
    }
    if hash_of_corrected is not None:
        body["hashOfCorrectedInvoice"] = hash_of_corrected
    return body


async def send_invoice(
    api: KsefApi, session: OnlineSession, xml: bytes, *, offline: bool = False, hash_of_corrected: str | None = None
) -> str:
    """Send one invoice in an open session; its reference number (processing goes on asynchronously).

    ``hash_of_corrected`` is only for a technical correction of a rejected offline invoice, which KSeF takes
    only with ``offline=True`` (§5.3)."""
    if hash_of_corrected is not None and not offline:
        raise ValueError("a technical correction (hash_of_corrected) is sent in offline mode")
    body = await api.call_json(
        "POST",
        f"/sessions/online/{session.reference}/invoices",
        json=invoice_request(session.key, xml, offline=offline, hash_of_corrected=hash_of_corrected),
    )
    return str(field(body, "referenceNumber"))


async def close_session(api: KsefApi, reference: str) -> None:
    """POST /sessions/online/{ref}/close (§5.4): 204; KSeF then finishes the invoices and makes the session UPO."""
    await api.call("POST", f"/sessions/online/{reference}/close")


# --------------------------------------------------------------------------------------------- status


@dataclass(frozen=True, slots=True)
class UpoPage:
    reference: str
    download_url: str  # pre-signed: fetch with download_presigned, never log it
    expires: datetime


@dataclass(frozen=True, slots=True)
class SessionStatus:
    code: int
    description: str
    details: tuple[str, ...]
    created: datetime
    updated: datetime
    valid_until: datetime | None
    invoice_count: int  # KSeF omits zero counts; 0 here
    successful_count: int
    failed_count: int
    upo_pages: tuple[UpoPage, ...]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> SessionStatus:
        status = field(body, "status")
        upo = body.get("upo")
        pages = []
        for item in (upo.get("pages") or []) if isinstance(upo, dict) else []:
            pages.append(
                UpoPage(
                    reference=str(field(item, "referenceNumber")),
                    download_url=str(field(item, "downloadUrl")),
                    expires=parse_time(field(item, "downloadUrlExpirationDate")),
                )
            )
        valid_until = body.get("validUntil")
        try:
            return cls(
                code=int(field(status, "code")),
                description=str(status.get("description") or ""),
                details=tuple(str(d) for d in status.get("details") or ()),
                created=parse_time(field(body, "dateCreated")),
                updated=parse_time(field(body, "dateUpdated")),
                valid_until=parse_time(valid_until) if valid_until else None,
                invoice_count=int(body.get("invoiceCount") or 0),
                successful_count=int(body.get("successfulInvoiceCount") or 0),
                failed_count=int(body.get("failedInvoiceCount") or 0),
                upo_pages=tuple(pages),
            )
        except (TypeError, ValueError) as exc:
            raise ProtocolViolation(f"session status: {exc}") from None

    @property
    def in_progress(self) -> bool:
        """Open, closed but still processing, or a batch being processed (100, 150, 170)."""
        return self.code in (SESSION_OPEN, BATCH_PROCESSING, SESSION_CLOSED)


async def session_status(api: KsefApi, reference: str) -> SessionStatus:
    """GET /sessions/{ref} (§5.5), online or batch."""
    body = await api.call_json("GET", f"/sessions/{reference}", idempotent=True)
    return SessionStatus.from_json(body)


@dataclass(frozen=True, slots=True)
class InvoiceStatus:
    ordinal: int
    reference: str
    invoice_hash: str
    invoicing_date: datetime
    code: int
    description: str
    details: tuple[str, ...]
    extensions: dict[str, Any]
    invoice_number: str | None
    ksef_number: str | None
    acquisition_date: datetime | None
    permanent_storage_date: datetime | None
    upo_download_url: str | None  # pre-signed: never log it
    upo_download_url_expires: datetime | None
    invoicing_mode: str | None  # Online | Offline
    file_name: str | None  # batch only

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> InvoiceStatus:
        status = field(item, "status")
        extensions = status.get("extensions")
        try:
            return cls(
                ordinal=int(field(item, "ordinalNumber")),
                reference=str(field(item, "referenceNumber")),
                invoice_hash=str(field(item, "invoiceHash")),
                invoicing_date=parse_time(field(item, "invoicingDate")),
                code=int(field(status, "code")),
                description=str(status.get("description") or ""),
                details=tuple(str(d) for d in status.get("details") or ()),
                extensions=dict(extensions) if isinstance(extensions, dict) else {},
                invoice_number=_text(item.get("invoiceNumber")),
                ksef_number=_text(item.get("ksefNumber")),
                acquisition_date=_time(item.get("acquisitionDate")),
                permanent_storage_date=_time(item.get("permanentStorageDate")),
                upo_download_url=_text(item.get("upoDownloadUrl")),
                upo_download_url_expires=_time(item.get("upoDownloadUrlExpirationDate")),
                invoicing_mode=_text(item.get("invoicingMode")),
                file_name=_text(item.get("invoiceFileName")),
            )
        except (TypeError, ValueError) as exc:
            raise ProtocolViolation(f"invoice status: {exc}") from None

    @property
    def in_progress(self) -> bool:
        return self.code in (INVOICE_QUEUED, INVOICE_PROCESSING)

    @property
    def accepted(self) -> bool:
        return self.code == INVOICE_OK

    @property
    def original_ksef_number(self) -> str | None:
        """For a duplicate (440): the KSeF number the invoice already has (``extensions``, §5.6)."""
        return _text(self.extensions.get("originalKsefNumber"))

    @property
    def original_session(self) -> str | None:
        return _text(self.extensions.get("originalSessionReferenceNumber"))


async def invoice_status(api: KsefApi, session_ref: str, invoice_ref: str) -> InvoiceStatus:
    """GET /sessions/{ref}/invoices/{invoiceRef} (§5.6)."""
    body = await api.call_json("GET", f"/sessions/{session_ref}/invoices/{invoice_ref}", idempotent=True)
    return InvoiceStatus.from_json(body)


async def session_invoices(
    api: KsefApi, reference: str, *, failed_only: bool = False, page_size: int = MAX_LIST_PAGE
) -> list[InvoiceStatus]:
    """Every invoice of a session (or only the failed ones), following ``x-continuation-token`` (§5.6)."""
    path = f"/sessions/{reference}/invoices" + ("/failed" if failed_only else "")
    size = min(max(page_size, MIN_LIST_PAGE), MAX_LIST_PAGE)
    result: list[InvoiceStatus] = []
    token: str | None = None
    while True:
        headers = {"x-continuation-token": token} if token else None
        body = await api.call_json("GET", path, params={"pageSize": size}, headers=headers, idempotent=True)
        items = field(body, "invoices")
        if not isinstance(items, list):
            raise ProtocolViolation("invoices is not a list")
        result.extend(InvoiceStatus.from_json(item) for item in items)
        next_token = body.get("continuationToken")
        if not next_token or not items:
            return result
        if next_token == token:
            raise ProtocolViolation("the continuation token did not move")
        token = str(next_token)


# --------------------------------------------------------------------------------------------- UPO


def _checked_xml(content: bytes, declared: str | None, what: str) -> bytes:
    if declared and declared != sha256_b64(content):
        raise ProtocolViolation(f"{what}: the UPO does not match its hash")
    return content


async def invoice_upo(
    api: KsefApi, session_ref: str, *, ksef_number: str | None = None, invoice_ref: str | None = None
) -> bytes:
    """The UPO of one accepted invoice (§5.7), by its KSeF number or by its reference number (exactly one)."""
    if (ksef_number is None) == (invoice_ref is None):
        raise ValueError("give either ksef_number or invoice_ref")
    if ksef_number is not None:
        path = f"/sessions/{session_ref}/invoices/ksef/{ksef_number}/upo"
    else:
        path = f"/sessions/{session_ref}/invoices/{invoice_ref}/upo"
    response = await api.call("GET", path, idempotent=True, headers={"Accept": "application/xml"})
    return _checked_xml(response.content, response.headers.get("x-ms-meta-hash"), ksef_number or str(invoice_ref))


async def session_upo(api: KsefApi, session_ref: str, upo_ref: str) -> bytes:
    """One page of the session UPO (§5.5/§5.7): ``upo_ref`` from :attr:`SessionStatus.upo_pages`."""
    response = await api.call(
        "GET", f"/sessions/{session_ref}/upo/{upo_ref}", idempotent=True, headers={"Accept": "application/xml"}
    )
    return _checked_xml(response.content, response.headers.get("x-ms-meta-hash"), upo_ref)


async def download_presigned(api: KsefApi, url: str) -> bytes:
    """GET a pre-signed link (``upoDownloadUrl``, UPO page): no Authorization, not rate-limited, logged without
    its query (the signature)."""
    response = await api.http.request("GET", url, absolute=True, idempotent=True)
    return response.content


# --------------------------------------------------------------------------------------------- waiting


class SessionNotDone(KsefError):
    """The session did not reach the awaited state within the allowed time."""

    key = "ksef.err.session_not_done"

    def __init__(self, status: SessionStatus) -> None:
        super().__init__(
            f"session still at status {status.code} ({status.description})",
            code=status.code,
            description=status.description,
        )
        self.status = status


def is_processed(status: SessionStatus) -> bool:
    """The default wait: the session (closed) has a final status."""
    return not status.in_progress


async def wait_for_session(
    api: KsefApi,
    reference: str,
    *,
    until: Callable[[SessionStatus], bool] = is_processed,
    max_wait: float = 600.0,
    first_wait: float = 0.5,
    max_delay: float = 10.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SessionStatus:
    """Poll GET /sessions/{ref} until ``until(status)``: first after ``first_wait``, then doubling the pause up to
    ``max_delay``; :class:`SessionNotDone` (with the last status) once ``max_wait`` seconds were spent waiting.

    The default waits for a final status, so it is meant for a closed session (an open one stays at 100)."""
    delay = first_wait
    waited = 0.0
    while True:
        await sleep(delay)
        waited += delay
        status = await session_status(api, reference)
        if until(status):
            return status
        if waited >= max_wait:
            raise SessionNotDone(status)
        delay = min(delay * 2, max_delay)


# --------------------------------------------------------------------------------------------- batch


@dataclass(frozen=True, slots=True)
class BatchPart:
    ordinal: int
    data: bytes  # encrypted
    size: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"ordinalNumber": self.ordinal, "fileSize": self.size, "fileHash": self.hash}


@dataclass(frozen=True, slots=True)
class BatchPackage:
    """A ZIP of invoices split into encrypted parts (§5.8), ready to declare and upload."""

    key: SymmetricKey
    names: tuple[str, ...]
    archive_size: int
    archive_hash: str
    parts: tuple[BatchPart, ...]
    compression: str = "Zip"

    def batch_file(self) -> dict[str, Any]:
        return {
            "fileSize": self.archive_size,
            "fileHash": self.archive_hash,
            "compressionType": self.compression,
            "fileParts": [part.to_json() for part in self.parts],
        }


class PackageTooLarge(ValueError):
    pass


def zip_invoices(invoices: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in invoices.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def prepare_batch(
    invoices: dict[str, bytes], key: SymmetricKey | None = None, *, part_size: int = MAX_PART_BYTES
) -> BatchPackage:
    """Zip ``invoices`` (file name → XML), cut the archive into parts of at most ``part_size`` bytes (≤ 100 MB,
    ≤ 50 parts, ≤ 5 GB in all) and encrypt each part with ``key`` (a new one if not given)."""
    if not invoices:
        raise ValueError("a batch needs at least one invoice")
    if not 0 < part_size <= MAX_PART_BYTES:
        raise ValueError(f"part size must be 1..{MAX_PART_BYTES} bytes")
    key = key or SymmetricKey.generate()
    archive = zip_invoices(invoices)
    if len(archive) > MAX_PACKAGE_BYTES:
        raise PackageTooLarge(f"the archive has {len(archive)} bytes, at most {MAX_PACKAGE_BYTES} are allowed")
    chunks = [archive[i : i + part_size] for i in range(0, len(archive), part_size)]
    if len(chunks) > MAX_PARTS:
        raise PackageTooLarge(f"{len(chunks)} parts, at most {MAX_PARTS} are allowed")
    parts = []
    for ordinal, chunk in enumerate(chunks, start=1):
        encrypted = key.encrypt(chunk)
        parts.append(BatchPart(ordinal, encrypted, len(encrypted), sha256_b64(encrypted)))
    return BatchPackage(
        key=key,
        names=tuple(invoices),
        archive_size=len(archive),
        archive_hash=sha256_b64(archive),
        parts=tuple(parts),
    )


@dataclass(frozen=True, slots=True)
class PartUpload:
    ordinal: int
    method: str
    url: str  # pre-signed: never log it
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class BatchSession:
    reference: str
    uploads: tuple[PartUpload, ...]


async def open_batch_session(
    api: KsefApi, package: BatchPackage, form_code: FormCode = FA3, *, offline: bool = False
) -> BatchSession:
    """POST /sessions/batch (§5.8): declares the package; the answer has a pre-signed upload per part."""
    body = await _open(
        api,
        "/sessions/batch",
        package.key,
        {"formCode": form_code.to_json(), "batchFile": package.batch_file(), "offlineMode": offline},
    )
    raw = field(body, "partUploadRequests")
    if not isinstance(raw, list):
        raise ProtocolViolation("partUploadRequests is not a list")
    uploads = []
    for item in raw:
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise ProtocolViolation("partUploadRequests.headers is not an object")
        uploads.append(
            PartUpload(
                ordinal=int(field(item, "ordinalNumber")),
                method=str(field(item, "method")),
                url=str(field(item, "url")),
                headers={str(k): str(v) for k, v in headers.items()},
            )
        )
    declared = {part.ordinal for part in package.parts}
    if {u.ordinal for u in uploads} != declared:
        raise ProtocolViolation("partUploadRequests do not match the declared parts")
    return BatchSession(str(field(body, "referenceNumber")), tuple(sorted(uploads, key=lambda u: u.ordinal)))


async def upload_parts(api: KsefApi, session: BatchSession, package: BatchPackage) -> None:
    """Upload every part to its pre-signed URL with the headers KSeF gave (no Authorization; the URL is logged
    without its signature). A part is sent whole again if the connection fails (a blob PUT replaces)."""
    parts = {part.ordinal: part for part in package.parts}
    for upload in session.uploads:
        await api.http.request(
            upload.method,
            upload.url,
            absolute=True,
            content=parts[upload.ordinal].data,
            headers=upload.headers,
            idempotent=True,
        )


async def close_batch_session(api: KsefApi, reference: str) -> None:
    """POST /sessions/batch/{ref}/close (§5.8): 204; KSeF then processes the package."""
    await api.call("POST", f"/sessions/batch/{reference}/close")


# --------------------------------------------------------------------------------------------- helpers


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _time(value: object) -> datetime | None:
    return parse_time(value) if value else None
