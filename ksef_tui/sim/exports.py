"""Invoice exports (PROTOCOL §6.4): POST /invoices/exports, GET /invoices/exports/{ref}, encrypted parts.

The package is a ZIP (or tar.gz) of ``{ksefNumber}.xml`` files plus ``_metadata.json``
(``{"invoices": [InvoiceMetadata...]}``), split into parts before encryption; each part is
AES-256-CBC/PKCS#7 with the client's key and IV and is served from a pre-signed URL.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.archive import COMPRESSION_TYPES, pack
from ksef_tui.sim.clock import iso
from ksef_tui.sim.errors import ApiError, gone
from ksef_tui.sim.http import Ctx, Endpoint, jsonable, need_obj, ok, opt_bool, opt_enum, read_encryption
from ksef_tui.sim.keys import aes_cbc_encrypt, sha256_b64
from ksef_tui.sim.routes_invoices import HwmExceeded, metadata_json, select_invoices
from ksef_tui.sim.state import SimState

EXPORT_DESCRIPTIONS = {
    100: "Eksport faktur w toku",
    200: "Eksport faktur zakończony sukcesem",
    210: "Eksport faktur wygasł",
    415: "Błąd odszyfrowania dostarczonego klucza",
    420: "Zakres filtrowania wykracza poza dostępny zakres danych",
    500: "Nieznany błąd",
}
_LAST_FIELD = {
    "Issue": "lastIssueDate",
    "Invoicing": "lastInvoicingDate",
    "PermanentStorage": "lastPermanentStorageDate",
}


@dataclass
class ExportPart:
    ordinal: int
    name: str
    plain_size: int
    plain_hash: str
    data: bytes  # encrypted


@dataclass
class Export:
    reference: str
    context_nip: str
    created: datetime
    ready_at: datetime
    filters: dict[str, Any]
    only_metadata: bool
    compression: str
    key: bytes | None
    iv: bytes
    status: int = 100
    details: list[str] | None = None
    completed: datetime | None = None
    parts: list[ExportPart] = field(default_factory=list)
    package: dict[str, Any] | None = None


class ExportBook:
    """Exports of one simulator; :meth:`tick` is registered with :meth:`SimState.add_ticker`."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.exports: dict[str, Export] = {}

    def tick(self, now: datetime) -> None:
        for export in self.exports.values():
            if export.status == 100 and now >= export.ready_at:
                self._build(export, export.ready_at)

    def _build(self, export: Export, at: datetime) -> None:
        config = self.state.config
        export.completed = at
        if export.key is None:
            export.status = 415
            return
        try:
            selection = select_invoices(self.state, export.context_nip, export.filters, at)
        except HwmExceeded:
            export.status = 420
            return
        rows = selection.rows
        truncated = len(rows) > config.export_row_cap
        rows = rows[: config.export_row_cap]
        files: list[tuple[str, bytes]] = []
        if not export.only_metadata:
            files.extend((f"{inv.ksef_number}.xml", inv.xml) for inv in rows)
        metadata = {"invoices": [jsonable(metadata_json(inv)) for inv in rows]}
        files.append(("_metadata.json", json.dumps(metadata, ensure_ascii=False).encode("utf-8")))
        archive = pack(files, export.compression)
        size = config.export_part_size
        chunks = [archive[i : i + size] for i in range(0, len(archive), size)] or [archive]
        extension = "zip" if export.compression == "Zip" else "tar.gz"
        for ordinal, chunk in enumerate(chunks, start=1):
            export.parts.append(
                ExportPart(
                    ordinal=ordinal,
                    name=f"{export.reference}-{ordinal:03d}.{extension}.aes",
                    plain_size=len(chunk),
                    plain_hash=sha256_b64(chunk),
                    data=aes_cbc_encrypt(export.key, export.iv, chunk),
                )
            )
        # compressionType: not in the 2.6.1/2.7.0 OpenAPI, but newer KSeF versions name what was packed (Zip or
        # TarGz since 2.6.0), and clients must ignore properties they do not know (PROTOCOL §2).
        package: dict[str, Any] = {
            "invoiceCount": len(rows),
            "size": len(archive),
            "isTruncated": truncated,
            "compressionType": export.compression,
        }
        if rows:
            last = rows[-1]
            value = {
                "Issue": last.facts.issue_date.isoformat(),
                "Invoicing": iso(last.invoicing_date),
                "PermanentStorage": iso(last.permanent_storage),
            }[selection.date_type]
            package[_LAST_FIELD[selection.date_type]] = value
        if selection.hwm is not None:
            package["permanentStorageHwmDate"] = iso(selection.hwm)
        export.package = package
        export.status = 200


def _book(ctx: Ctx) -> ExportBook:
    book = ctx.state.extensions["exports"]
    assert isinstance(book, ExportBook)
    return book


def start_export(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    book = _book(ctx)
    body = ctx.json()
    encryption = read_encryption(ctx, body)
    filters = need_obj(body, "filters")
    compression = opt_enum(body, "compressionType", COMPRESSION_TYPES) or "Zip"
    only_metadata = bool(opt_bool(body, "onlyMetadata"))
    with contextlib.suppress(HwmExceeded):  # reported asynchronously as status 420
        select_invoices(ctx.state, bearer.context_value, filters, ctx.now)
    running = [e for e in book.exports.values() if e.context_nip == bearer.context_value and e.status == 100]
    limit = ctx.state.config.export_concurrency
    if len(running) >= limit:
        raise ApiError(
            21182,
            f"Dla uwierzytelnionego podmiotu w bieżącym kontekście osiągnięto maksymalny limit {limit} "
            "równoczesnych eksportów faktur. Spróbuj ponownie później.",
        )
    export = Export(
        reference=ctx.state.new_reference(ReferenceType.EXPORT),
        context_nip=bearer.context_value,
        created=ctx.now,
        ready_at=ctx.now + timedelta(seconds=ctx.state.config.export_delay),
        filters=filters,
        only_metadata=only_metadata,
        compression=compression,
        key=encryption.key(ctx.state),
        iv=encryption.iv,
    )
    book.exports[export.reference] = export
    return ok({"referenceNumber": export.reference}, 201)


def export_status(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    ref = ctx.params["referenceNumber"]
    export = _book(ctx).exports.get(ref)
    if export is None or export.context_nip != bearer.context_value:
        raise ApiError(21175)
    config = ctx.state.config
    if ctx.now > export.created + timedelta(seconds=config.export_retention):
        raise gone()
    body: dict[str, Any] = {"status": {"code": export.status, "description": EXPORT_DESCRIPTIONS[export.status]}}
    if export.completed is not None:
        body["completedDate"] = iso(export.completed)
    if export.status == 200 and export.package is not None and export.completed is not None:
        expires = export.completed + timedelta(seconds=config.export_retention)
        body["packageExpirationDate"] = iso(expires)
        parts = []
        for part in export.parts:
            url, until = ctx.state.sign_url(f"/storage/export/{export.reference}/{part.ordinal}", config.upo_url_ttl)
            parts.append(
                {
                    "ordinalNumber": part.ordinal,
                    "partName": part.name,
                    "method": "GET",
                    "url": ctx.base_url + url,
                    "partSize": part.plain_size,
                    "partHash": part.plain_hash,
                    "encryptedPartSize": len(part.data),
                    "encryptedPartHash": sha256_b64(part.data),
                    "expirationDate": iso(min(until, expires)),
                }
            )
        body["package"] = {**export.package, "parts": parts}
    return ok(body)


def part_bytes(state: SimState, reference: str, item: str) -> bytes | None:
    book = state.extensions.get("exports")
    if not isinstance(book, ExportBook):
        return None
    export = book.exports.get(reference)
    if export is None:
        return None
    return next((p.data for p in export.parts if str(p.ordinal) == item), None)


def install(state: SimState) -> None:
    book = ExportBook(state)
    state.extensions["exports"] = book
    state.tickers.append(book.tick)


ENDPOINTS = [
    Endpoint("POST", "/invoices/exports", "invoiceExport", "access", ("InvoiceRead",), start_export),
    Endpoint(
        "GET", "/invoices/exports/{referenceNumber}", "invoiceExportStatus", "access", ("InvoiceRead",), export_status
    ),
]
