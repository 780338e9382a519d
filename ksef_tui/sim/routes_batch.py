"""Batch sessions (PROTOCOL §5.8): open with declared parts, upload via pre-signed PUT, close, process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import Response

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.sim.errors import ApiError
from ksef_tui.sim.http import (
    Ctx,
    Endpoint,
    b64decode_field,
    need_int,
    need_obj,
    need_str,
    no_content,
    ok,
)
from ksef_tui.sim.keys import SYMMETRIC_USAGE
from ksef_tui.sim.routes_sessions import find_session
from ksef_tui.sim.state import FORM_CODES_PRD, FORM_CODES_TE, BatchPackage, Session, SimState

MAX_PARTS = 50
MAX_PART_BYTES = 100_000_000
WRITE = ("InvoiceWrite", "EnforcementOperations")


def open_batch(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    state = ctx.state
    body = ctx.json()
    form = need_obj(body, "formCode")
    code = (
        need_str(form, "systemCode", "formCode."),
        need_str(form, "schemaVersion", "formCode."),
        need_str(form, "value", "formCode."),
    )
    encryption = need_obj(body, "encryption")
    encrypted_key = b64decode_field(
        need_str(encryption, "encryptedSymmetricKey", "encryption."), "encryptedSymmetricKey"
    )
    iv = b64decode_field(need_str(encryption, "initializationVector", "encryption."), "initializationVector")
    key_id = encryption.get("publicKeyId")
    if key_id is not None and key_id not in state.known_key_ids():
        raise ApiError(21470, f"Klucz o identyfikatorze {key_id} nie jest wspierany.")
    allowed = FORM_CODES_TE if state.config.environment == "TE" else FORM_CODES_PRD
    if code not in allowed:
        raise ApiError(21405, "Wskazany kod formularza nie jest wspierany.")
    batch_file = need_obj(body, "batchFile")
    file_size = need_int(batch_file, "fileSize", "batchFile.")
    file_hash = need_str(batch_file, "fileHash", "batchFile.")
    compression = batch_file.get("compressionType") or "Zip"
    if compression not in ("Zip", "TarGz"):
        raise ApiError(21405, "Pole 'batchFile.compressionType' musi mieć wartość Zip lub TarGz.")
    raw_parts = batch_file.get("fileParts")
    if not isinstance(raw_parts, list) or not raw_parts:
        raise ApiError(21405, "Pole 'batchFile.fileParts' jest wymagane.")
    if len(raw_parts) > MAX_PARTS:
        raise ApiError(21161, f"Liczba części pakietu ({len(raw_parts)}) przekracza dozwolone {MAX_PARTS}.")
    parts: dict[int, tuple[int, str]] = {}
    for raw in raw_parts:
        if not isinstance(raw, dict):
            raise ApiError(21405, "Element 'batchFile.fileParts' musi być obiektem.")
        ordinal = need_int(raw, "ordinalNumber", "fileParts.")
        size = need_int(raw, "fileSize", "fileParts.")
        if size < 1 or size > MAX_PART_BYTES + 16:
            raise ApiError(21157, f"Rozmiar części '{ordinal}' wynosi {size} B, dozwolone najwyżej {MAX_PART_BYTES} B.")
        parts[ordinal] = (size, need_str(raw, "fileHash", "fileParts."))
    if sorted(parts) != list(range(1, len(parts) + 1)):
        raise ApiError(21405, "Numery części muszą być kolejnymi liczbami od 1.")
    key: bytes | None
    try:
        key = state.decrypt_for(SYMMETRIC_USAGE, key_id, encrypted_key)
        if len(key) != 32 or len(iv) != 16:
            key = None
    except ValueError:
        key = None
    now = ctx.now
    session = Session(
        reference=state.new_reference(ReferenceType.BATCH_SESSION),
        context_nip=bearer.context_value,
        auth_ref=bearer.arn,
        token_ref=bearer.token_ref,
        created=now,
        updated=now,
        valid_until=now + timedelta(seconds=state.config.session_ttl),
        form=code,
        key=key,
        iv=iv,
        kind="Batch",
        batch=BatchPackage(file_size, file_hash, str(compression), parts, bool(body.get("offlineMode", False))),
    )
    state.sessions[session.reference] = session
    requests: list[dict[str, Any]] = []
    for ordinal in sorted(parts):
        url, _ = state.sign_url(f"/storage/batch-part/{session.reference}/{ordinal}", 20 * 60.0 * len(parts))
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
    session.status = 150
    session.closed_at = ctx.now
    session.updated = ctx.now
    session.final_at = ctx.now + timedelta(seconds=ctx.state.config.session_close_delay)
    return no_content()


def upload_part(state: SimState, reference: str, item: str, data: bytes) -> int:
    """Store an uploaded part; returns the HTTP status for the storage endpoint."""
    session = state.sessions.get(reference)
    if session is None or session.batch is None or not item.isdigit():
        return 404
    ordinal = int(item)
    if ordinal not in session.batch.parts:
        return 404
    if session.status != 100:
        return 403
    session.batch.uploaded[ordinal] = data
    session.updated = state.now()
    return 201


ENDPOINTS = [
    Endpoint("POST", "/sessions/batch", "batchSession", "access", WRITE, open_batch),
    Endpoint("POST", "/sessions/batch/{referenceNumber}/close", "batchSession", "access", WRITE, close_batch),
]
