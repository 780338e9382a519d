"""The send pipeline against the simulator over real HTTP: online and batch sends, refusals, duplicates,
corrections, the start-date rule and reconciliation of every state a crash can leave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksef_tui.fa.validate import Schema, validate_bytes
from ksef_tui.ksef.send import open_batch_session, open_online_session, prepare_batch, send_invoice, upload_parts
from ksef_tui.services.sending import SendMode, plan_send, sales_upo_root
from ksef_tui.store.sales import SendState, SendStatus

from ..conftest import Sim
from .sending_kit import FAST, QUICK, api_for, company, sale_xml, sender, today


@pytest.fixture
def quick_sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim(**QUICK)


async def test_one_invoice_online_gets_its_ksef_number_and_a_valid_upo(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path) as firm:
        (number,) = firm.add(sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            report = await sender(firm, api).send()
        assert report.accepted == [number] and not (report.rejected or report.pending or report.duplicates)
        sale = firm.sale(number)
        status = sale.status
        assert status.state is SendState.ACCEPTED and status.intent == "online"
        assert status.ksef_number is not None and status.ksef_number.startswith(quick_sim.nip)
        assert status.acquisition_date is not None and status.acquisition_date.tzinfo is not None
        assert status.upo_path is not None
        upo = (sales_upo_root(firm.store.path) / status.upo_path).read_bytes()
        assert validate_bytes(upo, expect=Schema.UPO).ok
        assert status.ksef_number.encode() in upo
        sessions = list((sales_upo_root(firm.store.path) / "sessions").iterdir())
        assert len(sessions) == 1 and validate_bytes(sessions[0].read_bytes(), expect=Schema.UPO).ok
        assert report.calls.get("onlineSession") == 2  # open and close, once for the run
        assert report.calls.get("invoiceSend") == 1
    assert quick_sim.stats()["invoices"] == {"accepted": 1, "rejected": 0}


async def test_two_hundred_invoices_go_through_one_batch_session(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path) as firm:
        numbers = firm.add(*(sale_xml(quick_sim.nip) for _ in range(200)))
        async with api_for(quick_sim) as api:
            report = await sender(firm, api).send()
        assert sorted(report.accepted) == sorted(numbers)
        assert report.calls["batchSession"] == 2  # one open, one close
        assert "invoiceSend" not in report.calls and "onlineSession" not in report.calls
        assert report.calls["sessionInvoiceList"] == 1
        assert report.upo_saved == 200
        sales = firm.repo.list()
        assert {s.status.state for s in sales} == {SendState.ACCEPTED}
        assert len({s.status.session_ref for s in sales}) == 1
        assert len({s.status.ksef_number for s in sales}) == 200
    assert quick_sim.stats()["invoices"]["accepted"] == 200
    assert quick_sim.stats()["duplicates"] == 0


async def test_a_schema_invalid_invoice_is_rejected_with_the_schema_message(quick_sim: Sim, tmp_path: Path) -> None:
    from ..ksef.test_send import schema_invalid

    with company(quick_sim, tmp_path) as firm:
        good = firm.add(sale_xml(quick_sim.nip))
        # Imports validate against the XSD, so a bad file reaches the register only by being changed after it.
        (bad,) = firm.add(sale_xml(quick_sim.nip))
        sale = firm.sale(bad)
        from ksef_tui.services.sales import sales_xml_root

        broken = schema_invalid((sales_xml_root(firm.store.path) / sale.record.xml_path).read_bytes())
        record = _rehash(sale.record, broken, firm)
        firm.repo.table.write({record.issue_date.isoformat()[:7]: ({bad: record.to_doc()}, {})})
        async with api_for(quick_sim) as api:
            report = await sender(firm, api).send()
        assert report.accepted == good and report.rejected == [bad]
        status = firm.sale(bad).status
        assert status.state is SendState.REJECTED and status.error_code == 450
        assert any("Adnotacje" in detail and "not expected" in detail for detail in status.error_details)


def _rehash(record, xml: bytes, firm):  # type: ignore[no-untyped-def]
    import hashlib

    from ksef_tui.ksef.crypto import sha256_b64
    from ksef_tui.services.sales import sales_xml_root

    digest = hashlib.sha256(xml).hexdigest()
    path = f"{record.issue_date:%Y}/{record.issue_date:%m}/{digest}.xml"
    target = sales_xml_root(firm.store.path) / path
    target.write_bytes(xml)
    return replace(record, xml_path=path, xml_sha256=digest, invoice_hash=sha256_b64(xml))


async def test_an_invoice_ksef_already_has_is_marked_duplicate_with_the_original_number(
    quick_sim: Sim, tmp_path: Path
) -> None:
    xml = sale_xml(quick_sim.nip)
    async with api_for(quick_sim) as api:  # sent earlier by another program
        session = await open_online_session(api)
        await send_invoice(api, session, xml)
    with company(quick_sim, tmp_path) as firm:
        (number,) = firm.add(xml)
        async with api_for(quick_sim) as api:
            report = await sender(firm, api).send()
        assert report.duplicates == [number] and not report.accepted and not report.rejected
        status = firm.sale(number).status
        assert status.state is SendState.ACCEPTED and status.duplicate and status.error_code == 440
        assert status.ksef_number is not None and status.ksef_number.startswith(quick_sim.nip)
        assert status.extra["original_session"] == session.reference
        assert status.upo_path is not None  # the original session's UPO
    assert quick_sim.stats()["duplicates"] == 1 and quick_sim.stats()["invoices"]["accepted"] == 1


async def test_a_correction_waits_for_its_original(quick_sim: Sim, tmp_path: Path) -> None:
    nip = quick_sim.nip
    with company(quick_sim, tmp_path) as firm:
        (original,) = firm.add(sale_xml(nip))
        (correction,) = firm.add(sale_xml(nip, corrects=(original, today()), quantity=1))
        async with api_for(quick_sim) as api:
            alone = await sender(firm, api).send([correction])
            assert not alone.accepted and [s.key for s in alone.skipped] == ["send.skip.original_not_sent"]
            assert firm.sale(correction).status.state is SendState.QUEUED
            both = await sender(firm, api).send()
        assert both.accepted == [original, correction]  # the original first, then its correction
        first, second = firm.sale(original).status, firm.sale(correction).status
        assert first.acquisition_date is not None and second.acquisition_date is not None
        assert first.acquisition_date <= second.acquisition_date


async def test_invoices_dated_before_the_ksef_start_date_wait_unless_asked(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path, start=today()) as firm:
        (old,) = firm.add(sale_xml(quick_sim.nip, issue=today() - timedelta(days=3)))
        (new,) = firm.add(sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            report = await sender(firm, api).send()
            assert report.accepted == [new]
            assert [(s.number, s.key) for s in report.skipped] == [(old, "send.skip.before_start")]
            assert firm.sale(old).status.state is SendState.QUEUED
            asked = await sender(firm, api, replace(FAST, include_before_start=True)).send([old])
        assert asked.accepted == [old]


async def test_an_accepted_invoice_is_never_sent_again(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path) as firm:
        (number,) = firm.add(sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            await sender(firm, api).send()
            again = await sender(firm, api).send([number])
        assert not again.accepted and [s.key for s in again.skipped] == ["send.skip.accepted"]
        assert not again.calls.get("invoiceSend")
    assert quick_sim.stats()["invoices"]["accepted"] == 1 and quick_sim.stats()["duplicates"] == 0


async def test_plan_counts_and_totals_what_a_send_would_do(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path) as firm:
        firm.add(sale_xml(quick_sim.nip), sale_xml(quick_sim.nip, quantity=4))
        plan = plan_send(firm.repo, firm.profile, None)
        assert plan.count == 2 and plan.gross() == {"PLN": "77.49"}  # 2×10.50 and 4×10.50 at 23 %


# ---------------------------------------------------------------------------------------- reconciliation


def _crashed(firm, number: str, **fields: object) -> None:  # type: ignore[no-untyped-def]
    """Leave the journal as a run killed at that point leaves it."""
    sale = firm.sale(number)
    firm.repo.set_status(number, SendStatus(SendState.SENDING, datetime.now(UTC), attempts=1, **fields))  # type: ignore[arg-type]
    assert sale.status.state is SendState.QUEUED


async def test_a_send_whose_answer_was_lost_is_found_in_the_session_not_sent_again(
    quick_sim: Sim, tmp_path: Path
) -> None:
    with company(quick_sim, tmp_path) as firm:
        (number,) = firm.add(xml := sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            session = await open_online_session(api)
            await send_invoice(api, session, xml)  # KSeF took it; the process died before writing invoice_ref
            _crashed(firm, number, intent="online", session_ref=session.reference)
            report = await sender(firm, api).send()
        assert report.accepted == [number] and report.reconciled == 1
        assert "invoiceSend" not in report.calls
        assert firm.sale(number).status.session_ref == session.reference
    assert quick_sim.stats()["duplicates"] == 0 and quick_sim.stats()["invoices"]["accepted"] == 1


async def test_a_send_that_never_arrived_is_queued_again_and_sent_once(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path) as firm:
        (number,) = firm.add(sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            session = await open_online_session(api)  # the process died before its POST reached KSeF
            _crashed(firm, number, intent="online", session_ref=session.reference)
            report = await sender(firm, api).send()
        assert report.accepted == [number] and report.reconciled == 1
        assert firm.sale(number).status.session_ref != session.reference
    assert quick_sim.stats()["invoices"]["accepted"] == 1


async def test_a_batch_never_closed_is_sent_again_and_a_closed_one_is_waited_for(
    quick_sim: Sim, tmp_path: Path
) -> None:
    with company(quick_sim, tmp_path) as firm:
        unclosed = firm.add(*(sale_xml(quick_sim.nip) for _ in range(3)))
        closed = firm.add(*(sale_xml(quick_sim.nip) for _ in range(3)))
        orphan = firm.add(sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            from ksef_tui.ksef.send import close_batch_session
            from ksef_tui.services.sales import sales_xml_root

            root = sales_xml_root(firm.store.path)
            refs = []
            for numbers, close in ((unclosed, False), (closed, True)):
                files = {n.replace("/", "_"): (root / firm.sale(n).record.xml_path).read_bytes() for n in numbers}
                package = prepare_batch(files)
                batch = await open_batch_session(api, package)
                await upload_parts(api, batch, package)
                if close:
                    await close_batch_session(api, batch.reference)
                for number in numbers:
                    _crashed(firm, number, intent="batch", session_ref=batch.reference)
                refs.append(batch.reference)
            _crashed(firm, orphan[0], intent="batch")  # died before the open's answer
            report = await sender(firm, api, replace(FAST, mode=SendMode.ONLINE)).send()
        assert sorted(report.accepted) == sorted(unclosed + closed + orphan) and report.reconciled == 7
        assert {firm.sale(n).status.session_ref for n in closed} == {refs[1]}
        assert refs[0] not in {firm.sale(n).status.session_ref for n in unclosed}
    assert quick_sim.stats()["duplicates"] == 0 and quick_sim.stats()["invoices"]["accepted"] == 7


async def test_the_app_reuses_its_online_session_between_sends(quick_sim: Sim, tmp_path: Path) -> None:
    with company(quick_sim, tmp_path) as firm:
        first, second = firm.add(sale_xml(quick_sim.nip)), firm.add(sale_xml(quick_sim.nip))
        async with api_for(quick_sim) as api:
            app = sender(firm, api)
            one = await app.send(first, keep_session=True)
            two = await app.send(second, keep_session=True)
            await app.close()
        assert one.accepted == first and two.accepted == second
        assert one.calls["onlineSession"] == 1 and "onlineSession" not in two.calls  # one open for both
        assert firm.sale(first[0]).status.session_ref == firm.sale(second[0]).status.session_ref
        assert len(list((sales_upo_root(firm.store.path) / "sessions").iterdir())) == 1  # closed once, its UPO kept


def test_ksef_reason_says_each_thing_once() -> None:
    """KSeF often repeats its description as the only detail (with a full stop): said once; other details kept."""
    from ksef_tui.services.sending import ksef_reason

    said = SendStatus(
        SendState.REJECTED,
        datetime(2026, 11, 30, tzinfo=UTC),
        error_code=415,
        error_description="Brak możliwości wysyłania faktury z załącznikiem",
        error_details=("Brak możliwości wysyłania faktury z załącznikiem.", "Załącznik: umowa.pdf"),
    )
    assert ksef_reason(said) == "Brak możliwości wysyłania faktury z załącznikiem Załącznik: umowa.pdf"
    assert ksef_reason(SendStatus(SendState.REJECTED, datetime(2026, 11, 30, tzinfo=UTC))) == ""
