"""The KSeF 2.0 simulator: a Starlette app written from PROTOCOL.md and the official OpenAPI (2.6.1 PRD).

Entry points
    ``create_app(config: SimConfig | None = None, *, certs=None) -> (Starlette, SimState)`` in :mod:`.app`;
    ``serve_main(argv) -> int`` in :mod:`.serve` (``ksef-tui sim serve``): prints one JSON line
    ``{"base_url", "admin_url", "nip", "tokens": {full, read_only, write_only, other_nip, revoked, inactive}}``
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
    ``http``     request context; reads bodies and queries as ASP.NET Core does (case-insensitive names and
                 enums, 21001 for an unreadable body, 21405 for validation)
    ``limits``   per-group sliding windows (1 s / 60 s / 3600 s), ``prod`` and ``fast`` profiles
    ``errors``   legacy envelope vs problem details, 401/403/410 always problem+json
    ``routes_*`` /v2 endpoints (auth + tokens, online sessions, batch sessions, receiving), ``exports``
                 (a book and its endpoints); paths are canonical (``//`` is ``/``, a trailing slash is ignored)
    ``seed``     demo company, suppliers, purchase invoices (FA(3) XML from string templates)
    ``upo``      UPO v4-3 documents; ``admin`` the /sim API; ``archive`` zip / tar.gz

Outside /v2
    ``/storage/...``  pre-signed UPO, export-part (GET) and batch-part (PUT) URLs; an Authorization
                      header is refused with 403 (clients must not leak the bearer to storage).
    ``/sim/stats`` (GET), ``/sim/info`` (GET), ``/sim/subjects``, ``/sim/tokens``, ``/sim/invoices``,
    ``/sim/faults``, ``/sim/limits``, ``/sim/clock/advance`` (POST) — see :mod:`.admin`.
"""
