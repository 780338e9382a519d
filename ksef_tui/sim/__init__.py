"""The KSeF 2.0 simulator: a Starlette app written from PROTOCOL.md and the official OpenAPI (2.6.1 PRD).

Entry points
    ``create_app(config: SimConfig | None = None, *, certs=None) -> (Starlette, SimState)`` in :mod:`.app`;
    ``serve_main(argv) -> int`` in :mod:`.serve` (``ksef-tui sim serve [--environment PRD|TE]``): prints one JSON line
    ``{"base_url", "admin_url", "latarnia_url", "nip", "tokens": {full, read_only, write_only, other_nip, revoked,
    inactive}}``
    and serves with uvicorn.

Layout
    ``config``   SimConfig (delays, lifetimes, limits profile, seed, faults) and ``parse_faults``
    ``clock``    SystemClock / OffsetClock / ManualClock, ISO formatting with 7 fractional digits
    ``keys``     own RSA certificates (KsefTokenEncryption, SymmetricKeyEncryption), OAEP and AES-CBC;
                 ``KeyRing.symmetric_key``, the one place a session's or an export's AES key is opened
    ``state``    the in-memory world (``SimState``, a ``core.Core``) holding one book per concern; async work
                 is modelled with due times settled by ``advance()``
    ``tokens``   KSeF tokens; ``auth`` challenges, token authentication, JWTs; ``invoices`` stored invoices;
                 ``sessions`` online and batch sessions, processing, UPO; ``checks`` the verdict on an invoice file
    ``xades``    a signed AuthTokenRequest read as KSeF reads it (UTF-8, the auth XSD with the anchor fix, one
                 XAdES-BES signature: digests, RSA/PSS/ECDSA r‖s values, C14N, SigningCertificate);
                 ``xades_login`` the judgement of a XAdES login (challenge, trust, identity, 460/470/415/200);
                 ``identity`` the NIP/PESEL/fingerprint a certificate names and its enrollment DN
    ``grants``   permissions: owner rights, person/entity/indirect grants, test persons (NIP–PESEL links),
                 grant operations; ``certificates`` the simulator's CA, enrollments and KSeF certificates
    ``http``     request context; reads bodies and queries as ASP.NET Core does (case-insensitive names and
                 enums, 21001 for an unreadable body, 21405 for validation)
    ``limits``   per-group sliding windows (1 s / 60 s / 3600 s), ``prod`` and ``fast`` profiles
    ``errors``   legacy envelope vs problem details, 401/403/410 always problem+json
    ``routes_*`` /v2 endpoints (auth + tokens + XAdES, online sessions, batch sessions, receiving, permissions,
                 KSeF certificates, TE-only /testdata), ``exports``
                 (a book and its endpoints); paths are canonical (``//`` is ``/``, a trailing slash is ignored)
    ``seed``     demo company, suppliers, purchase invoices (FA(3) XML from string templates)
    ``upo``      UPO v4-3 documents; ``admin`` the /sim API; ``archive`` zip / tar.gz
    ``availability``  KSeF up or down: Latarnia's status and messages, maintenance, failures, an unannounced
                 outage (every /v2 call 503 + Retry-After); ``qr`` the verifier of KOD I / KOD II links

Environments
    ``environment="PRD"`` (default): XAdES logins only with certificates of the simulator's CA or of
    ``trusted_issuers`` (else 21115), no SHA-1, no /testdata. ``"TE"``: self-signed certificates log in too
    (``verifyCertificateChain=true`` makes them 460), SHA-1 is accepted, FA (2) is accepted, and
    ``/v2/testdata/person`` (+``/remove``), ``/v2/testdata/permissions`` (+``/revoke``),
    ``/v2/testdata/context/block`` (+``/unblock``: logins there end in 480),
    ``/v2/testdata/limits/subject/certificate`` (POST/DELETE: the subject's certificate limits) and PUT
    ``/v2/testdata/certificates/{serialNumber}`` are served — e.g. "company C granted office B InvoiceRead and
    InvoiceWrite" is POST /v2/testdata/permissions ``{"contextIdentifier": {"type": "Nip", "value": C},
    "authorizedIdentifier": {"type": "Nip", "value": B}, "permissions": [{"permissionType": "InvoiceRead",
    "description": "..."}, {"permissionType": "InvoiceWrite", "description": "..."}]}``.

Outside /v2
    ``/storage/...``  pre-signed UPO, export-part (GET) and batch-part (PUT) URLs; an Authorization
                      header is refused with 403 (clients must not leak the bearer to storage).
    ``/sim/stats`` (GET), ``/sim/info`` (GET), ``/sim/subjects``, ``/sim/tokens``, ``/sim/invoices``,
    ``/sim/faults``, ``/sim/limits``, ``/sim/clock/advance`` (POST), ``/sim/availability`` (GET) and
    ``/sim/availability/{down,maintenance,failure,failure/end,available,latarnia}`` (POST), ``/sim/qr/verify``
    (POST) — see :mod:`.admin`.
    ``/latarnia/status``, ``/latarnia/messages`` (GET)  the availability service "Latarnia" (:mod:`.availability`).

Offline (CERTS_OFFLINE §5): ``offlineMode`` on online and batch sends and the automatic offline of PROTOCOL §10
give ``invoicingMode: "Offline"`` and UPO ``TrybWysylki`` Offline; ``hashOfCorrectedInvoice`` (online only) is the
technical correction of a rejected offline invoice (21166 / 21167, see ``SessionBook.correction_refusal``).
"""
