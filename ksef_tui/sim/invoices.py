"""The book of invoices KSeF holds: numbered, permanently stored (a moment later), found by KSeF number,
and remembered by (seller NIP, RodzajFaktury, P_2) to refuse duplicates (PROTOCOL §5, §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.sim.core import Book, Core, secs
from ksef_tui.sim.invoicexml import InvoiceFacts, read_facts
from ksef_tui.sim.keys import sha256_b64
from ksef_tui.sim.upo import UpoDocument

WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw_date(dt: datetime) -> date:
    return dt.astimezone(WARSAW).date()


@dataclass
class StoredInvoice:
    ksef_number: str
    xml: bytes
    invoice_hash: str
    facts: InvoiceFacts
    invoicing_date: datetime
    acquisition: datetime
    permanent_storage: datetime
    mode: str
    session_ref: str
    form: tuple[str, str, str]
    hash_of_corrected: str | None = None

    def on_invoice(self, nip: str) -> bool:
        return (
            nip == self.facts.seller_nip
            or (self.facts.buyer_type == "Nip" and nip == self.facts.buyer_value)
            or any(value == nip for _, value, _, _ in self.facts.third_subjects)
        )

    def upo_document(self) -> UpoDocument:
        return UpoDocument(
            seller_nip=self.facts.seller_nip,
            ksef_number=self.ksef_number,
            invoice_number=self.facts.invoice_number,
            issue_date=self.facts.issue_date,
            sent=self.invoicing_date,
            numbered=self.acquisition,
            invoice_hash=self.invoice_hash,
            mode=self.mode,
        )


class InvoiceBook(Book[StoredInvoice]):
    """Stored invoices by KSeF number."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._by_identity: dict[tuple[str, str, str], StoredInvoice] = {}
        self._by_hash: dict[str, StoredInvoice] = {}
        self._corrections: dict[str, StoredInvoice] = {}  # hash of a rejected original -> its technical correction

    def store(
        self,
        xml: bytes,
        *,
        invoicing: datetime,
        acquisition: datetime,
        permanent_storage: datetime,
        session_ref: str,
        technical_hex: str | None = None,
        mode: str = "Online",
        hash_of_corrected: str | None = None,
    ) -> StoredInvoice:
        """Number and keep ``xml``; ``hash_of_corrected``: it is the technical correction of the rejected
        invoice with that hash (CERTS_OFFLINE §5.2), linked both ways."""
        facts = read_facts(xml)
        technical = technical_hex or f"{self.core.rng.getrandbits(48):012X}"
        number = make_ksef_number(facts.seller_nip, warsaw_date(acquisition), technical)
        stored = StoredInvoice(
            ksef_number=number,
            xml=xml,
            invoice_hash=sha256_b64(xml),
            facts=facts,
            invoicing_date=invoicing,
            acquisition=acquisition,
            permanent_storage=permanent_storage,
            mode=mode,
            session_ref=session_ref,
            form=(facts.system_code, facts.schema_version, facts.form_value),
            hash_of_corrected=hash_of_corrected,
        )
        self._records[number] = stored
        self._by_identity[(facts.seller_nip, facts.rodzaj, facts.invoice_number)] = stored
        self._by_hash.setdefault(stored.invoice_hash, stored)
        if hash_of_corrected is not None:
            self._corrections.setdefault(hash_of_corrected, stored)
        return stored

    def with_hash(self, invoice_hash: str) -> StoredInvoice | None:
        """The stored invoice whose file has this SHA-256 (Base64), if any."""
        return self._by_hash.get(invoice_hash)

    def correction_of(self, invoice_hash: str) -> StoredInvoice | None:
        """The accepted technical correction of the rejected invoice with this hash, if any."""
        return self._corrections.get(invoice_hash)

    def original_of(self, facts: InvoiceFacts) -> StoredInvoice | None:
        """The invoice already stored under the same seller NIP, RodzajFaktury and P_2 (a duplicate's original)."""
        return self._by_identity.get((facts.seller_nip, facts.rodzaj, facts.invoice_number))

    def hwm(self) -> datetime:
        """``permanentStorageHwmDate``: everything permanently stored up to it is final."""
        return self.core.now() - secs(self.core.config.hwm_lag)
