"""What the send tests share: a company register in a temporary directory, invoices built as FA(3) files and
imported the way a user imports them, and a ``Sender`` over real HTTP to a simulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    CorrectedInvoice,
    CorrectionType,
    InvoiceKind,
    InvoiceLine,
    SalesInvoice,
    Seller,
)
from ksef_tui.domain.profile import Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import build_xml
from ksef_tui.ksef.api import KsefApi
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.services.sending import Sender, SendOptions
from ksef_tui.store.db import Store
from ksef_tui.store.sales import Sale, SalesRepository

from ..conftest import Sim, make_api

#: The simulator's processing delays (seconds): every step of the protocol, only shorter.
QUICK = {"invoice_queue_delay": 0.02, "invoice_processing_delay": 0.05, "session_close_delay": 0.05}
#: Polling as fast as the quick simulator answers.
FAST = SendOptions(poll_first=0.05, poll_max_delay=0.2, max_wait=30.0)


def today() -> date:
    return datetime.now(ZoneInfo("Europe/Warsaw")).date()


def sale_xml(
    seller_nip: str,
    number: str | None = None,
    *,
    issue: date | None = None,
    corrects: tuple[str, date] | None = None,
    quantity: int = 2,
    email: str | None = None,
) -> bytes:
    """A valid FA(3) sales invoice of ``seller_nip`` (a correction of ``corrects`` = (number, issue date))."""
    kind = InvoiceKind.VAT
    corrected: tuple[CorrectedInvoice, ...] = ()
    extra: dict[str, Any] = {}
    if corrects is not None:
        kind = InvoiceKind.KOR
        corrected = (CorrectedInvoice(corrects[1], corrects[0]),)
        extra = {
            "correction_reason": "zmiana ilości",
            "correction_type": CorrectionType.AT_CORRECTION_DATE,
            "lines_before": (InvoiceLine("usługa", Decimal(2), Decimal("10.50"), VatRate.R23),),
        }
    invoice = SalesInvoice(
        number or f"FV/{uuid.uuid4().hex[:10].upper()}/2026",
        issue or today(),
        Seller(seller_nip, "Sprzedawca sp. z o.o.", Address("ul. Długa 1", "00-001 Warszawa")),
        Buyer("Klient sp. z o.o.", tax_id="9999999999", email=email),
        (InvoiceLine("usługa", Decimal(quantity), Decimal("10.50"), VatRate.R23),),
        kind=kind,
        corrected=corrected,
        **extra,
    )
    return build_xml(invoice, created_at=datetime.now(UTC))


@dataclass
class Company:
    profile: Profile
    store: Store
    directory: Path

    @property
    def repo(self) -> SalesRepository:
        return SalesRepository(self.store)

    def add(self, *xmls: bytes) -> list[str]:
        """Import FA(3) files into the register (queued), as ``ksef-tui sales import`` does."""
        paths = []
        for xml in xmls:
            path = self.directory / "in" / f"{uuid.uuid4().hex}.xml"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(xml)
            paths.append(path)
        result = import_invoices(self.repo, sales_xml_root(self.store.path), self.profile, paths)
        assert not result.refused, result.refused
        return result.imported

    def sale(self, number: str) -> Sale:
        sale = self.repo.get(number)
        assert sale is not None
        return sale


@contextmanager
def company(sim: Sim, directory: Path, *, start: date | None = None) -> Iterator[Company]:
    profile = Profile("firma", sim.nip, sim.base_url, start or today() - timedelta(days=30))
    with Store.open(directory / "store.json") as store:
        yield Company(profile, store, directory)


def api_for(sim: Sim) -> KsefApi:
    return make_api(sim.base_url, sim.tokens["full"], sim.nip)


def sender(firm: Company, api: KsefApi, options: SendOptions = FAST) -> Sender:
    return Sender(firm.profile, api, firm.store, options=options)
