"""The dashboard's numbers against the sandbox's seeded store (purchases with corrections, one in EUR, sales in
every state), each computed here again from the store's own rows; and a store that cannot be read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ksef_tui.domain.booking import Period, warsaw_date
from ksef_tui.i18n import set_language
from ksef_tui.sandbox import Sandbox, open_sandbox_sync
from ksef_tui.services.booking import BookingRequest, book
from ksef_tui.services.dashboard import DAYS, Amounts, dashboard
from ksef_tui.settings import Settings
from ksef_tui.sim.seed import OTHER
from ksef_tui.store.purchases import PurchaseRepository
from ksef_tui.store.sales import SalesRepository, SendState


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = open_sandbox_sync(Settings(language="en"), root=tmp_path_factory.mktemp("sandbox"))
    try:
        yield box
    finally:
        box.close()


def test_the_numbers_are_the_stores(sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    today = warsaw_date(now)
    month = Period.of(today)
    store = sandbox.workspace.store(sandbox.profile)
    try:
        purchases = PurchaseRepository(store).all()
        # book two of this month's purchases into this month, one at half the deduction
        mine = [p for p in purchases if Period.of(p.issue_date) == month][:2]
        for record, deduction in zip(mine, (100, 50), strict=False):
            book(PurchaseRepository(store), record.ksef_number, BookingRequest("goods", deduction, str(month)))
        purchases = PurchaseRepository(store).all()
        sales = SalesRepository(store).list()
    finally:
        store.close()

    seen = dashboard(sandbox.workspace, sandbox.profile, now)

    assert seen.problem == ""
    this_month = [p for p in purchases if Period.of(p.issue_date) == month]
    assert seen.purchases is not None and seen.purchases.count == len(this_month) > 0
    pln = sum((p.gross for p in this_month if p.currency == "PLN"), Decimal(0))
    assert seen.purchases.gross.pln == pln
    issued = [s for s in sales if Period.of(s.record.issue_date) == month and s.status.state is not SendState.DRAFT]
    assert seen.sales is not None and seen.sales.count == len(issued) > 0
    assert seen.sales.gross.pln == sum((s.record.gross for s in issued if s.record.currency == "PLN"), Decimal(0))
    assert seen.vat_due is not None
    assert seen.vat_due.pln == sum((s.record.vat for s in issued if s.record.currency == "PLN"), Decimal(0))
    deductible = sum(
        (
            (p.vat * p.booking.vat_deduction / 100).quantize(Decimal("0.01"))
            for p in purchases
            if p.booking is not None and p.booking.period == str(month)
        ),
        Decimal(0),
    )
    assert seen.vat_deductible == deductible and deductible > 0
    assert seen.unsent == sum(
        1 for s in sales if s.status.state.value in ("draft", "queued", "sending", "rejected", "needs-attention")
    )
    assert seen.rejected == sum(1 for s in sales if s.status.state is SendState.REJECTED) == 1

    assert seen.traffic is not None
    days = [today - timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
    assert seen.traffic.days == days
    received = Counter(warsaw_date(p.acquisition_date) for p in purchases)
    assert list(seen.traffic.received) == [received[day] for day in days]
    sent = Counter(
        warsaw_date(s.status.acquisition_date)
        for s in sales
        if s.status.state is SendState.ACCEPTED and s.status.acquisition_date and not s.status.duplicate
    )
    assert list(seen.traffic.sent) == [sent[day] for day in days]
    assert seen.traffic.sent[-1] == len(sandbox.demo.accepted) if sandbox.demo else False


def test_amounts_put_pln_first_and_round_to_the_grosz() -> None:
    amounts = Amounts.of([("EUR", Decimal("1.005")), ("PLN", Decimal("2")), ("CZK", Decimal(3)), ("PLN", Decimal(1))])
    assert amounts.sums == (("PLN", Decimal("3.00")), ("CZK", Decimal("3.00")), ("EUR", Decimal("1.01")))
    assert amounts.others == (("CZK", Decimal("3.00")), ("EUR", Decimal("1.01")))
    assert Amounts().pln == Decimal("0.00")


def test_a_store_that_cannot_be_read_gives_the_reason_not_an_error(sandbox: Sandbox) -> None:
    set_language("en")
    try:
        fresh = sandbox.workspace.add_profile("other", OTHER.nip, sandbox.base_url, "2026-02-01", _other_token(sandbox))
        seen = dashboard(sandbox.workspace, fresh)
        assert seen.sales is None and seen.traffic is None
        assert "no company data" in seen.problem
        path = sandbox.workspace.store_path(fresh)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{not json", encoding="utf-8")
        seen = dashboard(sandbox.workspace, fresh)
        assert seen.sales is None and seen.problem
    finally:
        set_language(None)


def _other_token(sandbox: Sandbox) -> str:
    assert sandbox.sim is not None
    return sandbox.sim.named_tokens["other_nip"]
