"""Test data built once: a purchase record with sensible defaults that a test changes where it matters."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.store.purchases import PurchaseRecord

SELLER = "5265877635"


def number(day: date, index: int) -> str:
    return make_ksef_number(SELLER, day, f"{index:012X}")


def record(index: int, day: date = date(2026, 3, 5), *, offset: tzinfo = UTC, **changes: Any) -> PurchaseRecord:
    """Purchase ``index`` issued on ``day``, numbered by KSeF at 10:30 Warsaw time (09:30 UTC) that day; its
    moments are written with ``offset`` (the store must keep whatever offset it is given)."""
    at = datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC).astimezone(offset)
    base = PurchaseRecord(
        ksef_number=number(day, index),
        invoice_number=f"FV/{index}/2026",
        issue_date=day,
        seller_nip=SELLER,
        seller_name="Dostawca sp. z o.o.",
        buyer_id="7740001454",
        net=Decimal("100.00"),
        vat=Decimal("23.00"),
        gross=Decimal("123.00"),
        currency="PLN",
        kind="VAT",
        corrected_ksef_number=None,
        invoicing_date=at,
        acquisition_date=at + timedelta(minutes=1),
        permanent_storage_date=at + timedelta(minutes=2),
        invoice_hash="3q2+7w==",
        xml_path=None,
        xml_sha256=None,
        booking=None,
        first_seen=datetime(2026, 4, 1, 8, 0, tzinfo=UTC),
    )
    return dataclasses.replace(base, **changes)
