"""Invoices entered in the app: numbered per series without gaps or reuse, built, validated and registered."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

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
from ksef_tui.domain.profile import Numbering, Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.errors import UserError
from ksef_tui.fa.parse import parse_invoice
from ksef_tui.services.sales import SaleRefused, issue_invoice, sales_xml_root
from ksef_tui.store.db import Store
from ksef_tui.store.sales import SalesRepository, SendState

NIP = "5265877635"
PROFILE = Profile("firma", NIP, "test", date(2026, 2, 1))


def draft(day: date, **changes: object) -> SalesInvoice:
    invoice = SalesInvoice(
        "",
        day,
        Seller(NIP, "Sprzedawca sp. z o.o.", Address("ul. Długa 1", "00-001 Warszawa")),
        Buyer("Klient sp. z o.o.", tax_id="9999999999"),
        (InvoiceLine("usługa", Decimal(3), Decimal("10.50"), VatRate.R23),),
    )
    return replace(invoice, **changes)  # type: ignore[arg-type]


def test_numbers_follow_the_series_per_month_without_gaps(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.json") as store:
        repo = SalesRepository(store)
        root = sales_xml_root(store.path)
        numbers = [issue_invoice(repo, root, PROFILE, draft(date(2026, 11, d))).record.number for d in (2, 3, 30)]
        assert numbers == ["FV/1/11/2026", "FV/2/11/2026", "FV/3/11/2026"]
        assert issue_invoice(repo, root, PROFILE, draft(date(2026, 12, 1))).record.number == "FV/1/12/2026"
        own = issue_invoice(repo, root, PROFILE, draft(date(2026, 11, 30)), series="S/{YYYY}/{n:4}")
        assert own.record.number == "S/2026/0001"
        theirs = replace(PROFILE, numbering=Numbering(invoices="R/{YY}/{n}"))  # the profile's own series
        assert issue_invoice(repo, root, theirs, draft(date(2026, 11, 30))).record.number == "R/26/1"
        sale = issue_invoice(repo, root, PROFILE, draft(date(2026, 11, 30)), queue=False)
        assert sale.record.number == "FV/4/11/2026" and sale.status.state is SendState.DRAFT
        assert sale.record.source == "built"
        xml = (root / sale.record.xml_path).read_bytes()
        parsed = parse_invoice(xml)  # the register says what the XML says
        assert (parsed.number, parsed.gross, sale.record.gross) == ("FV/4/11/2026", Decimal("38.75"), Decimal("38.75"))
        correction = issue_invoice(
            repo,
            root,
            PROFILE,
            draft(
                date(2026, 11, 30),
                kind=InvoiceKind.KOR,
                corrected=(CorrectedInvoice(date(2026, 11, 2), "FV/1/11/2026"),),
                correction_reason="zwrot",
                correction_type=CorrectionType.AT_CORRECTION_DATE,
                lines_before=(InvoiceLine("usługa", Decimal(3), Decimal("10.50"), VatRate.R23),),
            ),
        )
        assert correction.record.number == "KOR/1/11/2026"
        assert correction.record.corrected_number == "FV/1/11/2026"


def test_two_issuers_at_once_never_take_the_same_number(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.json") as store:
        repo = SalesRepository(store)
        root = sales_xml_root(store.path)
        taken: list[str] = []

        def issue() -> None:
            for _ in range(5):
                taken.append(issue_invoice(repo, root, PROFILE, draft(date(2026, 11, 30))).record.number)

        threads = [threading.Thread(target=issue) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(taken, key=lambda n: int(n.split("/")[1])) == [f"FV/{n}/11/2026" for n in range(1, 21)]


def test_an_invoice_of_another_seller_or_a_bad_series_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.json") as store:
        repo = SalesRepository(store)
        root = sales_xml_root(store.path)
        other = draft(date(2026, 11, 30), seller=Seller("7740001454", "Ktoś", Address("a", "b")))
        with pytest.raises(SaleRefused):
            issue_invoice(repo, root, PROFILE, other)
        with pytest.raises(SaleRefused) as bad:
            issue_invoice(repo, root, PROFILE, draft(date(2026, 11, 30)), series="FV/bez-numeru")
        assert "FV/bez-numeru" in bad.value.message()
        with pytest.raises(UserError):  # XML cannot carry a NUL: refused, not a traceback
            issue_invoice(
                repo, root, PROFILE, draft(date(2026, 11, 30), buyer=Buyer("Klient\x00", tax_id="9999999999"))
            )
        assert repo.count() == 0
