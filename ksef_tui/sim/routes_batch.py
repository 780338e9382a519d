"""Batch sessions (PROTOCOL §5.8): open with declared parts, upload via pre-signed PUT, close, process."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ksef_tui.sim.archive import COMPRESSION_TYPES
from ksef_tui.sim.errors import UNREADABLE, VALIDATION, ApiError
from ksef_tui.sim.http import Ctx, Endpoint, need_int, need_obj, need_str, no_content, ok, opt_enum, opt_list
from ksef_tui.sim.routes_sessions import find_session, read_open_request
from ksef_tui.sim.sessions import BatchPackage

MAX_PARTS = 50
MAX_PART_BYTES = 100_000_000
WRITE = ("InvoiceWrite", "EnforcementOperations")


def _read_parts(batch_file: dict[str, Any]) -> dict[int, tuple[int, str]]:
    raw_parts = opt_list(batch_file, "fileParts", "batchFile.")
    if not raw_parts:
        raise ApiError(VALIDATION, "Pole 'batchFile.fileParts' jest wymagane.")
    if len(raw_parts) > MAX_PARTS:
        raise ApiError(21161, f"Liczba części pakietu ({len(raw_parts)}) przekracza dozwolone {MAX_PARTS}.")
    parts: dict[int, tuple[int, str]] = {}
    for raw in raw_parts:
        if not isinstance(raw, dict):
            raise ApiError(UNREADABLE, "Element 'batchFile.fileParts' musi być obiektem.")
        ordinal = need_int(raw, "ordinalNumber", "fileParts.")
        size = need_int(raw, "fileSize", "fileParts.")
        if size < 1 or size > MAX_PART_BYTES + 16:
            raise ApiError(21157, f"Rozmiar części '{ordinal}' wynosi {size} B, dozwolone najwyżej {MAX_PART_BYTES} B.")
        parts[ordinal] = (size, need_str(raw, "fileHash", "fileParts."))
    if sorted(parts) != list(range(1, len(parts) + 1)):
        raise ApiError(VALIDATION, "Numery części muszą być kolejnymi liczbami od 1.")
    return parts


def open_batch(ctx: Ctx) -> Response:
    request = read_open_request(ctx)
    batch_file = need_obj(request.body, "batchFile")
    package = BatchPackage(
        file_size=need_int(batch_file, "fileSize", "batchFile."),
        file_hash=need_str(batch_file, "fileHash", "batchFile."),
        compression=opt_enum(batch_file, "compressionType", COMPRESSION_TYPES, "batchFile.") or "Zip",
        parts=_read_parts(batch_file),
        offline_mode=request.offline_mode,
    )
    state = ctx.state
    session = state.sessions.open(
        ctx.bearer_or_fail(), request.form, request.encryption.key(state), request.encryption.iv, batch=package
    )
    requests: list[dict[str, Any]] = []
    for ordinal in sorted(package.parts):
        url, _ = state.sign_url(f"/storage/batch-part/{session.reference}/{ordinal}", 20 * 60.0 * len(package.parts))
        requests.append(
            {
                "ordinalNumber": ordinal,
                "method": "PUT",
                "url": ctx.base_url + url,
                "headers": {"x-ms-blob-type": "BlockBlob"},
            }
        )
    return ok({"referenceNumber": session.reference, "partUploadRequests": requests}, 201)


def close_batch(ctx: Ctx) -> Response:
    session = find_session(ctx, kind="Batch")
    package = session.batch
    assert package is not None
    if session.status != 100:
        raise ApiError(21180, f"Status sesji {session.status} uniemożliwia jej zamknięcie.")
    for ordinal, (size, _) in sorted(package.parts.items()):
        data = package.uploaded.get(ordinal)
        if data is None:
            raise ApiError(21205, f"Nie przesłano zadeklarowanej '{ordinal}' części pliku.")
        if len(data) != size:
            raise ApiError(21157, f"Zadeklarowany rozmiar części '{ordinal}' nie zgadza się z rzeczywistym.")
    ctx.state.sessions.close(session)
    return no_content()


ENDPOINTS = [
    Endpoint("POST", "/sessions/batch", "batchSession", "access", WRITE, open_batch),
    Endpoint("POST", "/sessions/batch/{referenceNumber}/close", "batchSession", "access", WRITE, close_batch),
]
