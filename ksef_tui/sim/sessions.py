"""The book of sessions (PROTOCOL §5): online and batch sessions, the invoices sent in them, their
asynchronous processing (decrypt, check, number, store) and the UPOs.

Processing is modelled with due times settled by :meth:`SessionBook.tick`, in due-time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ksef_tui.domain.ksef_number import ReferenceType
from ksef_tui.fa.validate import Schema
from ksef_tui.sim.archive import unpack_archive
from ksef_tui.sim.auth import Bearer
from ksef_tui.sim.checks import check_invoice
from ksef_tui.sim.core import Book, Core, secs
from ksef_tui.sim.invoices import InvoiceBook, StoredInvoice, warsaw_date
from ksef_tui.sim.invoicexml import read_facts
from ksef_tui.sim.keys import aes_cbc_decrypt, sha256_b64
from ksef_tui.sim.upo import build_upo

# (systemCode, schemaVersion, value) accepted when opening a session, per environment.
FORM_CODES_PRD = {
    ("FA (3)", "1-0E", "FA"),
    ("PEF (3)", "2-1", "PEF"),
    ("PEF_KOR (3)", "2-1", "PEF"),
    ("FA_RR (1)", "1-1E", "FA_RR"),
}
FORM_CODES_TE = {*FORM_CODES_PRD, ("FA (2)", "1-0E", "FA")}
SCHEMA_FOR_CODE = {"FA (3)": Schema.FA3, "FA (2)": Schema.FA2}

SESSION_DESCRIPTIONS = {
    100: "Sesja interaktywna otwarta",
    170: "Sesja interaktywna zamknięta",
    200: "Sesja interaktywna przetworzona pomyślnie",
    415: "Błąd odszyfrowania dostarczonego klucza",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
}
BATCH_DESCRIPTIONS = {
    100: "Sesja wsadowa rozpoczęta",
    150: "Trwa przetwarzanie",
    200: "Sesja wsadowa przetworzona pomyślnie",
    405: "Błąd weryfikacji poprawności dostarczonych elementów paczki",
    415: "Błąd odszyfrowania dostarczonego klucza",
    420: "Przekroczony limit faktur w sesji",
    430: "Błąd dekompresji pierwotnego archiwum",
    435: "Błąd odszyfrowania pliku",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
}
INVOICE_DESCRIPTIONS = {
    100: "Faktura przyjęta do dalszego przetwarzania",
    150: "Trwa przetwarzanie",
    200: "Sukces",
    410: "Nieprawidłowy zakres uprawnień",
    415: "Brak możliwości wysyłania faktury z załącznikiem",
    430: "Błąd weryfikacji pliku faktury",
    435: "Błąd odszyfrowania pliku",
    440: "Duplikat faktury",
    450: "Błąd weryfikacji semantyki dokumentu faktury",
}
UPO_PAGE_SIZE = 10_000


@dataclass
class SessionInvoice:
    ordinal: int
    reference: str
    session_ref: str
    received: datetime
    invoice_hash: str
    invoice_size: int
    content: bytes
    offline_mode: bool
    queue_until: datetime
    done_at: datetime
    status: int | None = None  # final status once processed
    details: list[str] | None = None
    extensions: dict[str, Any] | None = None
    invoice_number: str | None = None
    stored: StoredInvoice | None = None
    upo: bytes | None = None
    plain: bytes | None = None  # batch: already decrypted and unpacked
    file_name: str | None = None  # batch: the file's name inside the archive
    hash_of_corrected: str | None = None  # a technical correction: the hash of the rejected original

    def code(self, now: datetime) -> int:
        if self.status is not None:
            return self.status
        return 100 if now < self.queue_until else 150


@dataclass
class UpoPage:
    reference: str
    xml: bytes


@dataclass
class BatchPackage:
    file_size: int
    file_hash: str
    compression: str
    parts: dict[int, tuple[int, str]]  # ordinal -> declared (encrypted size, encrypted hash)
    offline_mode: bool
    uploaded: dict[int, bytes] = field(default_factory=dict)
    unpacked: bool = False


@dataclass
class Session:
    reference: str
    context_nip: str
    auth_ref: str
    token_ref: str | None
    created: datetime
    updated: datetime
    valid_until: datetime
    form: tuple[str, str, str]
    key: bytes | None
    iv: bytes
    status: int = 100
    closed_at: datetime | None = None
    final_at: datetime | None = None
    status_details: list[str] | None = None
    invoices: list[SessionInvoice] = field(default_factory=list)
    upo_pages: list[UpoPage] = field(default_factory=list)
    kind: str = "Online"  # Online | Batch
    batch: BatchPackage | None = None

    @property
    def descriptions(self) -> dict[int, str]:
        return BATCH_DESCRIPTIONS if self.kind == "Batch" else SESSION_DESCRIPTIONS


class SessionBook(Book[Session]):
    """Sessions by reference number, and the invoices waiting to be processed."""

    def __init__(self, core: Core, invoices: InvoiceBook) -> None:
        super().__init__(core)
        self.invoices = invoices
        self._pending: list[SessionInvoice] = []

    # ----------------------------------------------------------------- opening and closing
    def open(
        self,
        bearer: Bearer,
        form: tuple[str, str, str],
        key: bytes | None,
        iv: bytes,
        *,
        batch: BatchPackage | None = None,
    ) -> Session:
        """An online session (``batch`` is ``None``) or a batch session; ``key`` is ``None`` when the
        symmetric key could not be opened (an online session is then 415 at once, a batch one when processed)."""
        now = self.core.now()
        kind = ReferenceType.BATCH_SESSION if batch is not None else ReferenceType.ONLINE_SESSION
        session = Session(
            reference=self.core.new_reference(kind),
            context_nip=bearer.context_value,
            auth_ref=bearer.arn,
            token_ref=bearer.token_ref,
            created=now,
            updated=now,
            valid_until=now + secs(self.core.config.session_ttl),
            form=form,
            key=key,
            iv=iv,
            kind="Batch" if batch is not None else "Online",
            batch=batch,
        )
        if key is None and batch is None:
            session.status = 415
        self._records[session.reference] = session
        return session

    def add_invoice(
        self,
        session: Session,
        invoice_hash: str,
        invoice_size: int,
        content: bytes,
        offline_mode: bool,
        *,
        hash_of_corrected: str | None = None,
    ) -> SessionInvoice:
        now = self.core.now()
        queue = now + secs(self.core.config.invoice_queue_delay)
        inv = SessionInvoice(
            ordinal=len(session.invoices) + 1,
            reference=self.core.new_reference(ReferenceType.SESSION_INVOICE),
            session_ref=session.reference,
            received=now,
            invoice_hash=invoice_hash,
            invoice_size=invoice_size,
            content=content,
            offline_mode=offline_mode,
            queue_until=queue,
            done_at=queue + secs(self.core.config.invoice_processing_delay),
            hash_of_corrected=hash_of_corrected,
        )
        session.invoices.append(inv)
        session.updated = now
        self._pending.append(inv)
        return inv

    def sent_elsewhere(self, stored: StoredInvoice, reference: str) -> Session:
        """The finished online session in which another program sent ``stored`` (the demo API's "invoice issued
        elsewhere"): closed, the invoice accepted with its UPO, so a client told of a duplicate (440, which names
        this session) can fetch the original's UPO as it would from KSeF."""
        at = stored.acquisition
        session = Session(
            reference=reference,
            context_nip=stored.facts.seller_nip,
            auth_ref="",
            token_ref=None,
            created=at,
            updated=at,
            valid_until=at,
            form=stored.form,
            key=None,
            iv=b"",
            status=200,
            closed_at=at,
            final_at=at,
        )
        inv = SessionInvoice(
            ordinal=1,
            reference=self.core.new_reference(ReferenceType.SESSION_INVOICE, at),
            session_ref=reference,
            received=at,
            invoice_hash=stored.invoice_hash,
            invoice_size=len(stored.xml),
            content=b"",
            offline_mode=False,
            queue_until=at,
            done_at=at,
            status=200,
            invoice_number=stored.facts.invoice_number,
            stored=stored,
        )
        inv.upo = self._upo(session, [stored])
        session.invoices.append(inv)
        session.upo_pages.append(UpoPage(self.core.new_reference(ReferenceType.UPO, at), self._upo(session, [stored])))
        self._records[reference] = session
        return session

    def close(self, session: Session) -> None:
        """Online: 170 now, the final status after ``session_close_delay``; batch: 150 (processing)."""
        now = self.core.now()
        session.status = 150 if session.kind == "Batch" else 170
        session.closed_at = now
        session.updated = now
        session.final_at = now + secs(self.core.config.session_close_delay)

    def upload_part(self, reference: str, item: str, data: bytes) -> int:
        """Store an uploaded batch part; returns the HTTP status for the storage endpoint."""
        session = self._records.get(reference)
        if session is None or session.batch is None or not item.isdigit():
            return 404
        ordinal = int(item)
        if ordinal not in session.batch.parts:
            return 404
        if session.status != 100:
            return 403
        session.batch.uploaded[ordinal] = data
        session.updated = self.core.now()
        return 201

    # ----------------------------------------------------------------- technical correction
    def correction_refusal(self, context_nip: str, original_hash: str) -> tuple[int, str] | None:
        """Why a technical correction of the invoice with ``original_hash`` is refused (21166 or 21167 and the
        detail), or ``None`` (CERTS_OFFLINE §5.2, PROTOCOL §5.3). The original is sought among the invoices sent in
        the context's sessions (online or batch: either may have rejected it) and those KSeF holds with the
        context as seller.

        * it already has an accepted technical correction: 21166 (the OpenAPI's detail);
        * it was accepted (KSeF holds it): 21167 (the OpenAPI's detail).

        The simulator's readings where the sources are silent (CERTS_OFFLINE §8 item 11): no invoice with that
        hash is 21167 "not found" (the original must exist and have been rejected); an original still being
        processed is 21167 (its status does not allow a correction yet); one rejected only for want of rights
        (410) is 21167 (a technical correction is not for permission problems). A correction still being processed
        does not block another; the later one is then refused when processed, as a duplicate (440) of the
        accepted one (both carry the original's number).
        """
        correction = self.invoices.correction_of(original_hash)
        if correction is not None and correction.facts.seller_nip == context_nip:
            return 21166, "Faktura posiada już przetworzoną prawidłowo korektę techniczną."
        held = self.invoices.with_hash(original_hash)
        sent = [
            inv
            for session in self._records.values()
            if session.context_nip == context_nip
            for inv in session.invoices
            if inv.invoice_hash == original_hash
        ]
        if (held is not None and held.facts.seller_nip == context_nip) or any(inv.status == 200 for inv in sent):
            return 21167, "Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury."
        if not sent:
            return 21167, f"Nie odnaleziono odrzuconej faktury o skrócie {original_hash}."
        if any(inv.status is None for inv in sent):
            return 21167, f"Faktura o skrócie {original_hash} jest jeszcze przetwarzana."
        if all(inv.status == 410 for inv in sent):
            return 21167, "Korekta techniczna nie dotyczy faktury odrzuconej z powodu braku uprawnień."
        return None

    # ----------------------------------------------------------------- settling due work
    def tick(self, now: datetime) -> None:
        due = sorted((inv for inv in self._pending if inv.done_at <= now), key=lambda inv: (inv.done_at, inv.ordinal))
        for inv in due:
            self._pending.remove(inv)
            self._process(inv, inv.done_at)
        for session in self._records.values():
            if session.kind == "Batch":
                self._advance_batch(session, now)
                continue
            if session.status == 100 and now >= session.valid_until:
                session.status = 170
                session.closed_at = session.valid_until
                session.final_at = session.valid_until
                session.updated = session.valid_until
            if (
                session.status == 170
                and session.final_at is not None
                and now >= session.final_at
                and all(inv.status is not None for inv in session.invoices)
            ):
                self._finalize(session, max(now, session.final_at))

    def _advance_batch(self, session: Session, now: datetime) -> None:
        package = session.batch
        assert package is not None
        if session.status == 100 and now >= session.valid_until:
            session.status = 440
            session.status_details = ["Przekroczono czas wysyłki"]
            session.updated = session.valid_until
            return
        if session.status != 150 or session.final_at is None or now < session.final_at:
            return
        if not package.unpacked:
            package.unpacked = True
            self._unpack(session, package, session.final_at)
            return
        if all(inv.status is not None for inv in session.invoices):
            self._finalize(session, max(now, session.final_at))

    def _unpack(self, session: Session, package: BatchPackage, at: datetime) -> None:
        session.updated = at
        if session.key is None:
            session.status = 415
            return
        try:
            archive = b"".join(
                aes_cbc_decrypt(session.key, session.iv, package.uploaded[n]) for n in sorted(package.uploaded)
            )
        except ValueError:
            session.status = 435
            return
        if len(archive) != package.file_size or sha256_b64(archive) != package.file_hash:
            session.status = 405
            session.status_details = ["Rozmiar lub skrót paczki nie zgadza się z zadeklarowaną wartością."]
            return
        try:
            files = unpack_archive(archive, package.compression)
        except ValueError:
            session.status = 430
            return
        if len(files) > self.core.config.session_invoice_limit:
            session.status = 420
            return
        done = at + secs(self.core.config.invoice_processing_delay)
        for name, data in files:
            inv = SessionInvoice(
                ordinal=len(session.invoices) + 1,
                reference=self.core.new_reference(ReferenceType.SESSION_INVOICE, at),
                session_ref=session.reference,
                received=session.created,  # batch: invoicingDate is the session opening time
                invoice_hash=sha256_b64(data),
                invoice_size=len(data),
                content=b"",
                offline_mode=package.offline_mode,
                queue_until=at,
                done_at=done,
                plain=data,
                file_name=name,
            )
            session.invoices.append(inv)
            self._pending.append(inv)

    def _process(self, inv: SessionInvoice, at: datetime) -> None:
        session = self._records[inv.session_ref]
        session.updated = at
        if inv.plain is not None:
            self._check(session, inv, inv.plain, at)
            return
        if session.key is None:
            self._reject(inv, 435, ["Plik niepoprawnie zaszyfrowany"])
            return
        try:
            plain = aes_cbc_decrypt(session.key, session.iv, inv.content)
        except ValueError:
            self._reject(inv, 435, ["Plik niepoprawnie zaszyfrowany"])
            return
        if len(plain) != inv.invoice_size:
            self._reject(
                inv,
                430,
                [f"Rozmiar przesłanego pliku faktury nie zgadza się z zadeklarowaną wartością: {inv.invoice_size}."],
            )
            return
        if sha256_b64(plain) != inv.invoice_hash:
            self._reject(
                inv,
                430,
                [f"Skrót przesłanego pliku faktury nie zgadza się z zadeklarowaną wartością: {inv.invoice_hash}."],
            )
            return
        self._check(session, inv, plain, at)

    def _check(self, session: Session, inv: SessionInvoice, plain: bytes, at: datetime) -> None:
        verdict = check_invoice(plain)
        if not verdict.ok:
            self._reject(inv, 450, verdict.details)
            return
        facts = read_facts(plain)
        inv.invoice_number = facts.invoice_number or None
        expected = SCHEMA_FOR_CODE.get(session.form[0])
        if (
            expected is None
            or verdict.schema is not expected
            or (facts.system_code, facts.schema_version, facts.form_value) != session.form
        ):
            self._reject(
                inv,
                450,
                [
                    f"Kod formularza faktury ({facts.system_code} {facts.schema_version} {facts.form_value}, "
                    f"przestrzeń nazw {facts.namespace}) nie jest zgodny z kodem formularza sesji "
                    f"({session.form[0]} {session.form[1]} {session.form[2]})."
                ],
            )
            return
        if facts.seller_nip != session.context_nip:
            self._reject(inv, 410, [f"Brak uprawnień do wystawienia faktury w imieniu podmiotu {facts.seller_nip}."])
            return
        if facts.has_attachment:
            self._reject(inv, 415, ["Brak możliwości wysyłania faktury z załącznikiem."])
            return
        received_day = warsaw_date(inv.received)
        if facts.issue_date > received_day:
            self._reject(inv, 450, ["Data wystawienia faktury (P_1) jest późniejsza niż data jej przyjęcia."])
            return
        original = self.invoices.original_of(facts)
        if original is not None:
            self.core.stats.duplicates += 1
            self._reject(
                inv,
                440,
                [
                    f"Duplikat faktury. Faktura o numerze KSeF: {original.ksef_number} została już prawidłowo "
                    f"przesłana do systemu w sesji: {original.session_ref}"
                ],
                {"originalSessionReferenceNumber": original.session_ref, "originalKsefNumber": original.ksef_number},
            )
            return
        offline = inv.offline_mode or facts.issue_date < received_day
        stored = self.invoices.store(
            plain,
            invoicing=inv.received,
            acquisition=at,
            permanent_storage=at + secs(self.core.config.permanent_storage_delay),
            session_ref=session.reference,
            mode="Offline" if offline else "Online",
            hash_of_corrected=inv.hash_of_corrected,
        )
        inv.stored = stored
        inv.status = 200
        self.core.stats.accepted += 1
        inv.upo = self._upo(session, [stored])

    def _reject(
        self, inv: SessionInvoice, code: int, details: list[str], extensions: dict[str, Any] | None = None
    ) -> None:
        inv.status = code
        inv.details = details
        inv.extensions = extensions
        self.core.stats.rejected += 1

    def _upo(
        self, session: Session, stored: list[StoredInvoice], page: tuple[int, int, int, int, int] | None = None
    ) -> bytes:
        return build_upo(
            receiver=self.core.config.receiver_name,
            session_reference=session.reference,
            context_nip=session.context_nip,
            token_reference=session.token_ref,
            auth_hash=None if session.token_ref else sha256_b64(session.auth_ref.encode()),
            system_code=session.form[0],
            documents=[item.upo_document() for item in stored],
            page=page,
        )

    def _finalize(self, session: Session, at: datetime) -> None:
        session.updated = at
        ok = [inv.stored for inv in session.invoices if inv.status == 200 and inv.stored is not None]
        if not session.invoices:
            session.status = 440
            session.status_details = ["Nie przesłano faktur"]
            return
        if not ok:
            session.status = 445
            return
        session.status = 200
        chunks = [ok[i : i + UPO_PAGE_SIZE] for i in range(0, len(ok), UPO_PAGE_SIZE)]
        for index, chunk in enumerate(chunks, start=1):
            first = (index - 1) * UPO_PAGE_SIZE + 1
            xml = self._upo(session, chunk, (index, len(chunks), first, first + len(chunk) - 1, len(ok)))
            session.upo_pages.append(UpoPage(self.core.new_reference(ReferenceType.UPO, at), xml))
