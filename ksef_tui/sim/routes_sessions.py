"""Online sessions (PROTOCOL §5): open, send, close, status, invoice lists, UPO.

Sending: ``offlineMode: true`` declares an offline invoice (``invoicingMode: "Offline"`` and UPO ``TrybWysylki``
Offline; so is any invoice whose ``P_1`` day, in Warsaw, is before the day it was received: PROTOCOL §10).
``hashOfCorrectedInvoice`` makes the invoice the technical correction of a rejected offline invoice (CERTS_OFFLINE
§5.2; only here, online: the batch request has no such field); see ``SessionBook.correction_refusal``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from ksef_tui.sim.clock import iso
from ksef_tui.sim.errors import VALIDATION, ApiError
from ksef_tui.sim.http import (
    Ctx,
    EncryptionInfo,
    Endpoint,
    JsonObject,
    b64decode_field,
    decode_continuation,
    need_int,
    need_obj,
    need_str,
    no_content,
    ok,
    opt_bool,
    opt_str,
    page,
    query_enum,
    query_enum_value,
    query_int,
    read_encryption,
)
from ksef_tui.sim.keys import sha256_b64
from ksef_tui.sim.sessions import FORM_CODES_PRD, FORM_CODES_TE, INVOICE_DESCRIPTIONS, Session, SessionInvoice

WRITE = ("InvoiceWrite", "PefInvoiceWrite", "EnforcementOperations")
READ_SESSION = ("InvoiceWrite", "Introspection", "PefInvoiceWrite", "EnforcementOperations")


def xml_response(data: bytes) -> Response:
    return Response(
        data,
        media_type="application/xml",
        headers={"x-ms-meta-hash": base64.b64encode(hashlib.sha256(data).digest()).decode()},
    )


@dataclass(frozen=True)
class OpenRequest:
    """What opening an online or a batch session has in common: the form code and the encryption."""

    body: JsonObject
    form: tuple[str, str, str]
    encryption: EncryptionInfo
    offline_mode: bool


def read_open_request(ctx: Ctx) -> OpenRequest:
    """``formCode`` (checked against the environment's list) and ``encryption`` of POST /sessions/online and
    POST /sessions/batch."""
    body = ctx.json()
    form = need_obj(body, "formCode")
    code = (
        need_str(form, "systemCode", "formCode."),
        need_str(form, "schemaVersion", "formCode."),
        need_str(form, "value", "formCode."),
    )
    encryption = read_encryption(ctx, body)
    allowed = FORM_CODES_TE if ctx.state.config.environment == "TE" else FORM_CODES_PRD
    if code not in allowed:
        raise ApiError(VALIDATION, "Wskazany kod formularza nie jest wspierany.")
    return OpenRequest(body, code, encryption, bool(opt_bool(body, "offlineMode")))


def open_online(ctx: Ctx) -> Response:
    request = read_open_request(ctx)
    key = request.encryption.key(ctx.state)
    session = ctx.state.sessions.open(ctx.bearer_or_fail(), request.form, key, request.encryption.iv)
    return ok({"referenceNumber": session.reference, "validUntil": iso(session.valid_until)}, 201)


def find_session(ctx: Ctx, *, found: str = "znaleziona", kind: str | None = None) -> Session:
    bearer = ctx.bearer_or_fail()
    ref = ctx.params["referenceNumber"]
    session = ctx.state.sessions.get(ref)
    if session is None or session.context_nip != bearer.context_value or (kind is not None and session.kind != kind):
        raise ApiError(21173, f"Sesja o numerze referencyjnym {ref} nie została {found}.")
    return session


def send_invoice(ctx: Ctx) -> Response:
    session = find_session(ctx, found="odnaleziona", kind="Online")
    body = ctx.json()
    invoice_hash = need_str(body, "invoiceHash")
    invoice_size = need_int(body, "invoiceSize")
    encrypted_hash = need_str(body, "encryptedInvoiceHash")
    encrypted_size = need_int(body, "encryptedInvoiceSize")
    content = b64decode_field(need_str(body, "encryptedInvoiceContent"), "encryptedInvoiceContent")
    for name, value in (("invoiceHash", invoice_hash), ("encryptedInvoiceHash", encrypted_hash)):
        if len(value) != 44:
            raise ApiError(VALIDATION, f"Pole '{name}' musi mieć długość 44 znaków.")
    if invoice_size < 1 or encrypted_size < 1:
        raise ApiError(VALIDATION, "Rozmiar pliku musi być większy od zera.")
    offline = bool(opt_bool(body, "offlineMode"))
    corrected = opt_str(body, "hashOfCorrectedInvoice")
    if corrected is not None:
        if len(corrected) != 44:
            raise ApiError(VALIDATION, "Pole 'hashOfCorrectedInvoice' musi mieć długość 44 znaków.")
        if not offline:
            # Undocumented (CERTS_OFFLINE §8 item 11): the simulator refuses a technical correction that does not
            # declare offlineMode, as the documents require it (PROTOCOL §5.3), rather than ignoring the hash.
            raise ApiError(VALIDATION, "Korekta techniczna (hashOfCorrectedInvoice) wymaga offlineMode = true.")
    if session.status != 100:
        raise ApiError(21180, f"Status sesji {session.status} uniemożliwia wysyłkę faktur.")
    if len(session.invoices) >= ctx.state.config.session_invoice_limit:
        raise ApiError(
            21155,
            f"Sesja o numerze referencyjnym {session.reference} osiągnęła dozwolony limit liczby faktur "
            f"{ctx.state.config.session_invoice_limit}.",
        )
    if len(content) != encrypted_size:
        raise ApiError(21402, "Długość treści nie zgadza się z rozmiarem pliku.")
    if sha256_b64(content) != encrypted_hash:
        raise ApiError(21403, "Skrót treści nie zgadza się ze skrótem pliku.")
    if corrected is not None and (refusal := ctx.state.sessions.correction_refusal(session.context_nip, corrected)):
        raise ApiError(refusal[0], refusal[1])
    inv = ctx.state.sessions.add_invoice(
        session, invoice_hash, invoice_size, content, offline, hash_of_corrected=corrected
    )
    return ok({"referenceNumber": inv.reference}, 202)


def close_online(ctx: Ctx) -> Response:
    session = find_session(ctx, found="odnaleziona", kind="Online")
    if session.status != 100:
        raise ApiError(21180, f"Status sesji {session.status} uniemożliwia jej zamknięcie.")
    ctx.state.sessions.close(session)
    return no_content()


def _counts(session: Session) -> tuple[int, int, int]:
    total = len(session.invoices)
    good = sum(1 for inv in session.invoices if inv.status == 200)
    bad = sum(1 for inv in session.invoices if inv.status is not None and inv.status != 200)
    return total, good, bad


def session_status(ctx: Ctx) -> Response:
    session = find_session(ctx)
    total, good, bad = _counts(session)
    status: dict[str, Any] = {"code": session.status, "description": session.descriptions[session.status]}
    if session.status_details:
        status["details"] = session.status_details
    upo: dict[str, Any] | None = None
    if session.status == 200 and session.upo_pages:
        pages = []
        for upo_page in session.upo_pages:
            url, expires = ctx.state.sign_url(
                f"/storage/upo/{session.reference}/{upo_page.reference}", ctx.state.config.upo_url_ttl
            )
            pages.append(
                {
                    "referenceNumber": upo_page.reference,
                    "downloadUrl": ctx.base_url + url,
                    "downloadUrlExpirationDate": iso(expires),
                }
            )
        upo = {"pages": pages}
    body: dict[str, Any] = {
        "status": status,
        "dateCreated": iso(session.created),
        "dateUpdated": iso(session.updated),
        "validUntil": iso(session.valid_until),
        # Counts are null when zero (official E2E observation, PROTOCOL §5.5).
        "invoiceCount": total or None,
        "successfulInvoiceCount": good or None,
        "failedInvoiceCount": bad or None,
    }
    # Real KSeF sends "upo": null before the UPO exists, but the 2.6.1 spec declares `upo` non-nullable;
    # omitting it satisfies both readings (clients treat absent and null alike).
    if upo is not None:
        body["upo"] = upo
    return ok(body)


def _invoice_json(ctx: Ctx, inv: SessionInvoice) -> dict[str, Any]:
    code = inv.code(ctx.now)
    status: dict[str, Any] = {"code": code, "description": INVOICE_DESCRIPTIONS[code]}
    if inv.details:
        status["details"] = inv.details
    if inv.extensions:
        status["extensions"] = inv.extensions
    body: dict[str, Any] = {
        "ordinalNumber": inv.ordinal,
        "invoiceNumber": inv.invoice_number,
        "referenceNumber": inv.reference,
        "invoiceHash": inv.invoice_hash,
        "invoiceFileName": inv.file_name,
        "invoicingDate": iso(inv.received),
        "status": status,
    }
    stored = inv.stored
    if stored is not None:
        url, expires = ctx.state.sign_url(
            f"/storage/invoice-upo/{inv.session_ref}/{inv.reference}", ctx.state.config.upo_url_ttl
        )
        body.update(
            {
                "ksefNumber": stored.ksef_number,
                "acquisitionDate": iso(stored.acquisition),
                "permanentStorageDate": iso(stored.permanent_storage) if ctx.now >= stored.permanent_storage else None,
                "upoDownloadUrl": ctx.base_url + url,
                "upoDownloadUrlExpirationDate": iso(expires),
                "invoicingMode": stored.mode,
            }
        )
    else:
        body["invoicingMode"] = "Offline" if inv.offline_mode else "Online"
    return body


def _list(ctx: Ctx, *, failed: bool) -> Response:
    session = find_session(ctx)
    size = query_int(ctx, "pageSize", 10, 10, 1000)
    offset = decode_continuation(ctx)
    items = [inv for inv in session.invoices if not failed or (inv.status is not None and inv.status != 200)]
    chunk, token = page(items, offset, size)
    return ok({"continuationToken": token, "invoices": [_invoice_json(ctx, inv) for inv in chunk]})


def session_invoices(ctx: Ctx) -> Response:
    return _list(ctx, failed=False)


def session_failed_invoices(ctx: Ctx) -> Response:
    return _list(ctx, failed=True)


def _session_invoice(ctx: Ctx, session: Session) -> SessionInvoice:
    ref = ctx.params["invoiceReferenceNumber"]
    for inv in session.invoices:
        if inv.reference == ref:
            return inv
    raise ApiError(VALIDATION, f"Faktura o numerze referencyjnym {ref} nie została znaleziona.")


def session_invoice(ctx: Ctx) -> Response:
    session = find_session(ctx)
    return ok(_invoice_json(ctx, _session_invoice(ctx, session)))


def invoice_upo_by_ref(ctx: Ctx) -> Response:
    session = find_session(ctx)
    inv = _session_invoice(ctx, session)
    if inv.upo is None:
        raise ApiError(
            21178,
            f"UPO dla faktury o numerze referencyjnym {inv.reference} i numerze referencyjnym sesji "
            f"{session.reference} nie zostało znalezione.",
        )
    return xml_response(inv.upo)


def invoice_upo_by_ksef(ctx: Ctx) -> Response:
    session = find_session(ctx)
    number = ctx.params["ksefNumber"]
    for inv in session.invoices:
        if inv.stored is not None and inv.stored.ksef_number == number and inv.upo is not None:
            return xml_response(inv.upo)
    raise ApiError(
        21178,
        f"UPO o numerze KSeF {number} i numerze referencyjnym sesji {session.reference} nie zostało znalezione.",
    )


def session_upo(ctx: Ctx) -> Response:
    session = find_session(ctx)
    ref = ctx.params["upoReferenceNumber"]
    for upo_page in session.upo_pages:
        if upo_page.reference == ref:
            return xml_response(upo_page.xml)
    raise ApiError(21178, f"UPO o numerze referencyjnym {ref} dla sesji {session.reference} nie zostało znalezione.")


_STATUS_FILTER = {
    "InProgress": {100, 150, 170},
    "Succeeded": {200},
    "Failed": {405, 415, 420, 430, 435, 445},
    "Cancelled": {440},
}


def list_sessions(ctx: Ctx) -> Response:
    bearer = ctx.bearer_or_fail()
    query = ctx.query
    kind = query_enum(ctx, "sessionType", ("Online", "Batch"))
    if kind is None:
        raise ApiError(VALIDATION, "Parametr 'sessionType' jest wymagany (Online lub Batch).")
    size = query_int(ctx, "pageSize", 10, 10, 1000)
    offset = decode_continuation(ctx)
    sessions = [s for s in ctx.state.sessions.values() if s.context_nip == bearer.context_value and s.kind == kind]
    if "Introspection" not in bearer.permissions:
        sessions = [s for s in sessions if s.auth_ref == bearer.arn or s.token_ref == bearer.token_ref]
    if (ref := query.get("referenceNumber")) is not None:
        sessions = [s for s in sessions if s.reference == ref]
    wanted = [query_enum_value(raw, _STATUS_FILTER, "statuses") for raw in query.getlist("statuses")]
    if wanted:
        codes = set().union(*(_STATUS_FILTER[w] for w in wanted))
        sessions = [s for s in sessions if s.status in codes]
    sessions.sort(key=lambda s: s.created, reverse=True)
    chunk, token = page(sessions, offset, size)
    items = []
    for s in chunk:
        total, good, bad = _counts(s)
        items.append(
            {
                "referenceNumber": s.reference,
                "status": {"code": s.status, "description": s.descriptions[s.status]},
                "dateCreated": iso(s.created),
                "dateUpdated": iso(s.updated),
                "validUntil": iso(s.valid_until),
                "totalInvoiceCount": total,
                "successfulInvoiceCount": good,
                "failedInvoiceCount": bad,
            }
        )
    return ok({"continuationToken": token, "sessions": items})


ENDPOINTS = [
    Endpoint("POST", "/sessions/online", "onlineSession", "access", WRITE, open_online),
    Endpoint("POST", "/sessions/online/{referenceNumber}/invoices", "invoiceSend", "access", WRITE, send_invoice),
    Endpoint("POST", "/sessions/online/{referenceNumber}/close", "onlineSession", "access", WRITE, close_online),
    Endpoint(
        "GET",
        "/sessions",
        "sessionList",
        "access",
        ("InvoiceWrite", "Introspection", "EnforcementOperations"),
        list_sessions,
    ),
    Endpoint("GET", "/sessions/{referenceNumber}", "sessionMisc", "access", READ_SESSION, session_status),
    Endpoint(
        "GET", "/sessions/{referenceNumber}/invoices", "sessionInvoiceList", "access", READ_SESSION, session_invoices
    ),
    Endpoint(
        "GET",
        "/sessions/{referenceNumber}/invoices/failed",
        "sessionInvoiceList",
        "access",
        READ_SESSION,
        session_failed_invoices,
    ),
    Endpoint(
        "GET",
        "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
        "sessionMisc",
        "access",
        READ_SESSION,
        invoice_upo_by_ksef,
    ),
    Endpoint(
        "GET",
        "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
        "sessionMisc",
        "access",
        READ_SESSION,
        invoice_upo_by_ref,
    ),
    Endpoint(
        "GET",
        "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
        "invoiceStatus",
        "access",
        READ_SESSION,
        session_invoice,
    ),
    Endpoint(
        "GET",
        "/sessions/{referenceNumber}/upo/{upoReferenceNumber}",
        "sessionMisc",
        "access",
        READ_SESSION,
        session_upo,
    ),
]
