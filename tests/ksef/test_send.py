"""Sending invoices (PROTOCOL §5) against the simulator over real HTTP: online sessions, statuses, UPO, batch."""

from __future__ import annotations

import dataclasses
import io
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
from ksef_tui.domain.vat import VatRate
from ksef_tui.fa.build import build_xml
from ksef_tui.fa.validate import FA3_NS, UPO_NS, Schema, validate_bytes
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.crypto import SymmetricKey, sha256_b64
from ksef_tui.ksef.send import (
    MAX_PARTS,
    SessionNotDone,
    SessionStatus,
    close_batch_session,
    close_session,
    download_presigned,
    invoice_status,
    invoice_upo,
    open_batch_session,
    open_online_session,
    prepare_batch,
    send_invoice,
    session_invoices,
    session_status,
    session_upo,
    upload_parts,
    wait_for_session,
)

from ..conftest import Sim, make_api

#: The simulator's processing delays (seconds): the protocol's steps are all there, only shorter.
QUICK = {"invoice_queue_delay": 0.02, "invoice_processing_delay": 0.05, "session_close_delay": 0.05}
POLL = 0.05


@pytest.fixture
def quick_sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim(**QUICK)


def invoice_xml(seller_nip: str, number: str | None = None) -> bytes:
    """A valid FA(3) sales invoice of the context NIP, issued today (Warsaw), with a number no other test uses."""
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    invoice = SalesInvoice(
        number or f"FV/{uuid.uuid4().hex[:10].upper()}/2026",
        today,
        Seller(seller_nip, "Sprzedawca sp. z o.o.", Address("ul. Długa 1", "00-001 Warszawa")),
        Buyer("Klient sp. z o.o.", tax_id="9999999999"),
        (InvoiceLine("usługa", Decimal(2), Decimal("10.50"), VatRate.R23),),
    )
    return build_xml(invoice, created_at=datetime.now(UTC))


def schema_invalid(xml: bytes) -> bytes:
    """The invoice without its total ``P_15`` (required by the XSD)."""
    root = etree.fromstring(xml)
    total = root.find(f"{{{FA3_NS}}}Fa/{{{FA3_NS}}}P_15")
    parent = None if total is None else total.getparent()
    assert total is not None and parent is not None
    parent.remove(total)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def api_for(sim: Sim) -> KsefApi:
    return make_api(sim.base_url, sim.tokens["full"], sim.nip)


def no_signatures_logged(api: KsefApi) -> None:
    lines = api.log_lines()
    assert lines
    assert not [line for line in lines if "sig=" in line or "se=" in line]


async def test_online_session_end_to_end(quick_sim: Sim) -> None:
    sim = quick_sim
    async with api_for(sim) as api:
        session = await open_online_session(api)
        assert session.reference[9:11] == "SO"
        assert session.valid_until.tzinfo is not None
        good_xml = invoice_xml(sim.nip)
        good = await send_invoice(api, session, good_xml)
        bad = await send_invoice(api, session, schema_invalid(invoice_xml(sim.nip)))
        assert (await session_status(api, session.reference)).code == 100  # open until closed
        await close_session(api, session.reference)

        done = await wait_for_session(api, session.reference, first_wait=POLL)
        assert (done.code, done.invoice_count, done.successful_count, done.failed_count) == (200, 2, 1, 1)
        assert done.created <= done.updated and done.created.tzinfo is not None
        assert len(done.upo_pages) == 1

        accepted = await invoice_status(api, session.reference, good)
        assert accepted.accepted and accepted.code == 200
        assert accepted.ksef_number is not None and accepted.ksef_number.startswith(sim.nip)
        assert accepted.acquisition_date is not None and accepted.acquisition_date.tzinfo is not None
        assert accepted.acquisition_date >= accepted.invoicing_date
        assert accepted.invoicing_mode == "Online"
        assert accepted.upo_download_url is not None

        rejected = await invoice_status(api, session.reference, bad)
        assert rejected.code == 450
        assert rejected.details
        assert rejected.ksef_number is None and not rejected.accepted and not rejected.in_progress

        # the invoice UPO, by KSeF number, by reference and through its pre-signed link: one document
        by_number = await invoice_upo(api, session.reference, ksef_number=accepted.ksef_number)
        assert await invoice_upo(api, session.reference, invoice_ref=good) == by_number
        assert await download_presigned(api, accepted.upo_download_url) == by_number
        assert validate_bytes(by_number, expect=Schema.UPO).ok
        upo = etree.fromstring(by_number)
        assert upo.findtext(f"{{{UPO_NS}}}Dokument/{{{UPO_NS}}}NumerKSeFDokumentu") == accepted.ksef_number
        assert upo.findtext(f"{{{UPO_NS}}}NumerReferencyjnySesji") == session.reference
        assert upo.findtext(f"{{{UPO_NS}}}Dokument/{{{UPO_NS}}}SkrotDokumentu") == sha256_b64(good_xml)

        # the session UPO: by reference and through its pre-signed link
        page = done.upo_pages[0]
        session_doc = await session_upo(api, session.reference, page.reference)
        assert await download_presigned(api, page.download_url) == session_doc
        assert validate_bytes(session_doc, expect=Schema.UPO).ok

        listed = await session_invoices(api, session.reference)
        assert [(i.reference, i.code) for i in listed] == [(good, 200), (bad, 450)]
        assert [i.ordinal for i in listed] == [1, 2]
        failed = await session_invoices(api, session.reference, failed_only=True)
        assert [i.reference for i in failed] == [bad]
        no_signatures_logged(api)


async def test_sending_an_invoice_again_is_a_duplicate_naming_the_original(quick_sim: Sim) -> None:
    sim = quick_sim
    xml = invoice_xml(sim.nip)
    async with api_for(sim) as api:
        first = await open_online_session(api)
        original = await send_invoice(api, first, xml)
        await close_session(api, first.reference)
        await wait_for_session(api, first.reference, first_wait=POLL)
        numbered = await invoice_status(api, first.reference, original)
        assert numbered.accepted

        second = await open_online_session(api)
        again = await send_invoice(api, second, xml)
        await close_session(api, second.reference)
        done = await wait_for_session(api, second.reference, first_wait=POLL)
        assert done.code == 445  # no valid invoice in the session
        assert done.upo_pages == ()
        duplicate = await invoice_status(api, second.reference, again)
        assert duplicate.code == 440
        assert duplicate.details
        assert duplicate.original_ksef_number == numbered.ksef_number
        assert duplicate.original_session == first.reference
        assert duplicate.ksef_number is None


async def test_batch_of_thirty_invoices(quick_sim: Sim) -> None:
    sim = quick_sim
    invoices = {f"faktura-{n:02}.xml": invoice_xml(sim.nip) for n in range(1, 31)}
    async with api_for(sim) as api:
        package = prepare_batch(invoices, part_size=8_000)
        assert len(package.parts) > 1
        batch = await open_batch_session(api, package)
        assert batch.reference[9:11] == "SB"
        assert [u.ordinal for u in batch.uploads] == [p.ordinal for p in package.parts]
        await upload_parts(api, batch, package)
        await close_batch_session(api, batch.reference)

        done = await wait_for_session(api, batch.reference, first_wait=POLL)
        assert (done.code, done.invoice_count, done.successful_count, done.failed_count) == (200, 30, 30, 0)
        assert len(done.upo_pages) == 1

        listed = await session_invoices(api, batch.reference, page_size=10)  # three pages
        assert len(listed) == 30
        assert {i.file_name for i in listed} == set(invoices)
        assert all(i.accepted and i.ksef_number and i.acquisition_date for i in listed)
        assert len({i.ksef_number for i in listed}) == 30
        assert await session_invoices(api, batch.reference, failed_only=True) == []
        upo = await session_upo(api, batch.reference, done.upo_pages[0].reference)
        numbers = etree.fromstring(upo).findall(f"{{{UPO_NS}}}Dokument/{{{UPO_NS}}}NumerKSeFDokumentu")
        assert {n.text for n in numbers} == {i.ksef_number for i in listed}
        # part uploads went to pre-signed URLs without the bearer (the storage refuses one) and unlogged signatures
        assert sum(1 for line in api.log_lines() if "/storage/batch-part/" in line) == len(package.parts)
        no_signatures_logged(api)


def test_prepare_batch_parts_join_to_the_archive() -> None:
    key = SymmetricKey.generate()
    invoices = {f"{n}.xml": f"<x>{n}</x>".encode() * 50 for n in range(20)}
    package = prepare_batch(invoices, key, part_size=300)
    assert [p.ordinal for p in package.parts] == list(range(1, len(package.parts) + 1))
    plain = b"".join(key.decrypt(p.data) for p in package.parts)
    assert len(plain) == package.archive_size
    assert sha256_b64(plain) == package.archive_hash
    assert all(p.size == len(p.data) and p.hash == sha256_b64(p.data) for p in package.parts)
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == invoices
    declared = package.batch_file()
    assert declared["compressionType"] == "Zip"
    assert [p["fileSize"] for p in declared["fileParts"]] == [p.size for p in package.parts]


def test_prepare_batch_refuses_what_ksef_would() -> None:
    with pytest.raises(ValueError):
        prepare_batch({})
    with pytest.raises(ValueError):
        prepare_batch({"a.xml": b"<a/>"}, part_size=100_000_001)
    many = {f"{n}.xml": uuid.uuid4().bytes * 8 for n in range(40)}
    with pytest.raises(ValueError, match=f"at most {MAX_PARTS}"):
        prepare_batch(many, part_size=64)


async def test_waiting_gives_up_with_the_last_status(quick_sim: Sim) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with api_for(quick_sim) as api:
        session = await open_online_session(api)
        with pytest.raises(SessionNotDone) as info:
            await wait_for_session(api, session.reference, max_wait=5, first_wait=1, max_delay=2, sleep=sleep)
        assert info.value.status.code == 100
        assert slept == [1, 2, 2]
        assert "status 100" in info.value.message()  # the user's words, not "unexpected KSeF error"

        def opened(status: SessionStatus) -> bool:
            return status.code == 100

        assert (await wait_for_session(api, session.reference, until=opened, sleep=sleep)).code == 100


async def test_a_technical_correction_is_sent_offline(quick_sim: Sim) -> None:
    async with api_for(quick_sim) as api:
        session = await open_online_session(api)
        with pytest.raises(ValueError):
            await send_invoice(api, session, invoice_xml(quick_sim.nip), hash_of_corrected="x" * 44)


async def test_a_withdrawn_key_id_is_retried_once_with_fresh_certificates(quick_sim: Sim) -> None:
    async with api_for(quick_sim) as api:
        await api.auth.tokens()
        certs = await api.auth.certificates()
        api.auth._certs = [dataclasses.replace(c, public_key_id="d2l0aGRyYXdu") for c in certs]
        session = await open_online_session(api)
        assert api.auth._certs == certs  # refreshed after 21470
        reference = await send_invoice(api, session, invoice_xml(quick_sim.nip))
        await close_session(api, session.reference)
        assert (await wait_for_session(api, session.reference, first_wait=POLL)).code == 200
        assert (await invoice_status(api, session.reference, reference)).accepted
        assert any("codes=21470" in line for line in api.log_lines())
