"""Offline invoicing (issue 14) through the services, over real HTTP against the TE simulator: a company signing in
with its seal enrols a KSeF Offline certificate; while KSeF is down it issues invoices offline (offline24 by choice,
emergency in an announced failure) with KOD I and KOD II; KOD II is checked here with ``cryptography`` alone (the
link taken apart by hand, the signature verified with the public key of the certificate KSeF issued); they are sent
with ``offlineMode`` when KSeF is back (the simulator's metadata says ``Offline``), their deadlines tracked, then
cleared; a rejected offline invoice is corrected technically and accepted; the refusals say why."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from ksef_tui.domain.offline import OfflineMode, Outage, OutageKind, add_business_days, next_business_day
from ksef_tui.domain.profile import Profile
from ksef_tui.services import offline
from ksef_tui.services.certificates import enroll
from ksef_tui.services.sales import sale_json, sales_xml_root
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.sales import SalesRepository, SendState, SendStatus
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from ..ksef.certkit import PASSWORD, certificate, p12, rsa_key, seal_name
from .sending_kit import FAST, QUICK, sale_xml, today

QR_TEST = "https://qr-test.ksef.mf.gov.pl"


# ------------------------------------------------------------------------------------------------ helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kod2_verifies(url: str, certificate_der: bytes) -> bool:
    """KOD II checked as CERTS_OFFLINE.md §5.3 says, with ``cryptography`` only: the signed text is the link without
    ``https://`` and without its last segment; RSA-PSS (SHA-256, MGF1-SHA-256, salt 32) or ECDSA P-256 r‖s."""
    assert url.startswith("https://")
    signed, signature_segment = url.removeprefix("https://").rsplit("/", 1)
    signature = unb64url(signature_segment)
    key = x509.load_der_x509_certificate(certificate_der).public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(signature, signed.encode(), pss, hashes.SHA256())
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), signed.encode(), ec.ECDSA(hashes.SHA256()))
    except Exception:  # InvalidSignature (or a malformed one): not verified
        return False
    return True


@dataclass
class Firm:
    sim: Sim
    workspace: Workspace
    home: Path

    @property
    def profile(self) -> Profile:
        return self.workspace.profile("firma")

    def enrol_offline(self, algorithm: str = "ec") -> bytes:
        """A KSeF Offline certificate for the company, kept in the vault; its DER as the simulator issued it."""
        done = asyncio.run(enroll(self.workspace, self.profile, kind="offline", algorithm=algorithm))
        issued = self.sim.state.certificates.get(done.credential.serial.rjust(16, "0"))
        assert issued is not None and issued.type == "Offline"
        return issued.der

    def store(self, *, read_only: bool = False) -> Any:
        return self.workspace.open_store(self.profile, read_only=read_only)


@pytest.fixture
def firm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]) -> Firm:
    """A company signing in with its seal (the TE simulator, quick processing), in an in-memory vault; no Offline
    certificate yet."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    sim = make_sim(environment="TE", **QUICK)
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    key = rsa_key()
    seal = p12(key, certificate(key, seal_name(sim.nip)))
    workspace.add_certificate_profile("firma", sim.nip, sim.base_url, "2026-02-01", seal, password=PASSWORD)
    return Firm(sim, workspace, tmp_path)


def write(home: Path, name: str, data: bytes) -> Path:
    path = home / name
    path.write_bytes(data)
    return path


def broken(xml: bytes) -> bytes:
    """The invoice with an element FA(3) does not know after ``P_1``: KSeF rejects it (450, a technical reason)."""
    root = etree.fromstring(xml)
    ns = etree.QName(root).namespace
    p1 = root.find(f"{{{ns}}}Fa/{{{ns}}}P_1")
    assert p1 is not None
    p1.addnext(etree.Element(f"{{{ns}}}NieznanyElement"))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def let_through(monkeypatch: pytest.MonkeyPatch, *accepted: bytes) -> None:
    """Our validator passes ``accepted`` (as if KSeF's checks were stricter than ours); the simulator's own checks
    are untouched (it imported its validator long before)."""
    from ksef_tui.fa import validate

    real = validate.validate_bytes
    good = sale_xml("5265877635", "FV/OK/2026")

    def patched(data: bytes, **kwargs: Any) -> Any:
        return real(good if data in accepted else data, **kwargs)

    monkeypatch.setattr(validate, "validate_bytes", patched)


def metadata_mode(workspace: Workspace, ksef_number: str) -> dict[str, Any]:
    """The invoice's metadata as KSeF serves it to the seller (POST /invoices/query/metadata, over HTTP)."""
    profile = workspace.profile("firma")
    now = datetime.now(UTC)
    body = {
        "subjectType": "Subject1",
        "dateRange": {
            "dateType": "Invoicing",
            "from": (now - timedelta(hours=2)).isoformat(),
            "to": (now + timedelta(hours=2)).isoformat(),
        },
        "ksefNumber": ksef_number,
    }

    async def query() -> dict[str, Any]:
        async with workspace.api(profile) as api:
            for _ in range(50):
                found = await api.call_json("POST", "/invoices/query/metadata", json=body)
                if found["invoices"]:
                    return dict(found["invoices"][0])
                await asyncio.sleep(0.05)
        raise AssertionError(f"{ksef_number} not in KSeF's metadata")

    return asyncio.run(query())


# ------------------------------------------------------------------------------------------------ tests


def test_issued_while_ksef_is_down_with_kod2_then_sent_offline_and_the_deadline_cleared(firm: Firm) -> None:
    sim, workspace, profile, home = firm.sim, firm.workspace, firm.profile, firm.home
    certificate = firm.enrol_offline()
    sim.state.availability.go_down(retry_after=1)
    signer = offline.offline_signer(workspace, profile)
    serial = f"{x509.load_der_x509_certificate(certificate).serial_number:016X}"
    assert signer.serial == serial and "key" not in repr(signer).lower()

    xml = sale_xml(sim.nip, "FV/1/2026")
    emergency_xml = sale_xml(sim.nip, "FV/2/2026", quantity=3)
    issued_day = today()
    with workspace.open_store(profile) as store:
        repo, root = SalesRepository(store), sales_xml_root(store.path)
        result = offline.import_offline(
            repo, root, profile, [write(home, "a.xml", xml)], mode=OfflineMode.OFFLINE24, signer=signer
        )
        assert result.imported == ["FV/1/2026"] and not result.refused
        sale = repo.get("FV/1/2026")
        assert sale is not None and sale.record.offline is not None
        assert (root / sale.record.xml_path).read_bytes() == xml  # the bytes kept exactly
        # A failure announced now: emergency mode, its end not known yet, so no date yet.
        sim.state.availability.start_failure()
        failure = Outage(OutageKind.FAILURE, issued_day)
        result = offline.import_offline(
            repo, root, profile, [write(home, "b.xml", emergency_xml)], mode=OfflineMode.EMERGENCY, signer=signer,
            outages=[failure],
        )  # fmt: skip
        assert result.imported == ["FV/2/2026"]
        waiting = repo.get("FV/2/2026")
        assert waiting is not None and waiting.record.offline is not None
        assert waiting.record.offline.deadline is None
        listed = {s.record.number: sale_json(s, profile=profile) for s in repo.list()}

    issue = sale.record.offline
    digest = hashlib.sha256(xml).digest()
    assert issue.mode is OfflineMode.OFFLINE24 and issue.issued_at.tzinfo is not None
    assert issue.kod1 == f"{QR_TEST}/invoice/{sim.nip}/{issued_day:%d-%m-%Y}/{b64url(digest)}"
    parts = issue.kod2.removeprefix("https://").split("/")
    assert parts[:7] == [
        "qr-test.ksef.mf.gov.pl", "certificate", "Nip", sim.nip, sim.nip, serial, b64url(digest)
    ]  # fmt: skip
    assert kod2_verifies(issue.kod2, certificate)
    assert not kod2_verifies(issue.kod2.replace(b64url(digest), b64url(hashlib.sha256(b"x").digest())), certificate)
    assert sim.admin("POST", "/qr/verify", {"url": issue.kod2})["valid"] is True  # KSeF's own check too
    due = next_business_day(issued_day)
    assert issue.deadline == due
    assert listed["FV/1/2026"]["offline_mode"] == "offline24" and listed["FV/1/2026"]["deadline"] == due.isoformat()
    assert (listed["FV/1/2026"]["kod1"], listed["FV/1/2026"]["kod2"]) == (issue.kod1, issue.kod2)
    assert listed["FV/1/2026"]["state"] == "queued" and listed["FV/1/2026"]["ksef_number"] is None
    assert listed["FV/2/2026"]["offline_mode"] == "emergency" and listed["FV/2/2026"]["deadline"] is None
    assert listed["FV/2/2026"]["deadline_status"] == "waiting"

    # Sending while KSeF is down: nothing is lost, they stay queued.
    report = asyncio.run(workspace.send(profile, None, options=FAST))
    assert report is not None and report.network and not report.accepted
    assert set(report.pending) == {"FV/1/2026", "FV/2/2026"}

    # KSeF is back and the failure's end is announced: the emergency deadline is 7 business days after it, and the
    # failure, announced while the offline24 invoice was pending, moves that one's deadline there too.
    sim.state.availability.available()
    moved = add_business_days(issued_day, 7)
    with workspace.open_store(profile) as store:
        changes = offline.record_outages(SalesRepository(store), [replace(failure, end=issued_day)])
        assert [(c.number, c.before, c.after) for c in changes] == [
            ("FV/1/2026", due, moved),
            ("FV/2/2026", None, moved),
        ]
    report = asyncio.run(workspace.send(profile, None, options=FAST))
    assert report is not None and sorted(report.accepted) == ["FV/1/2026", "FV/2/2026"], report
    assert not report.late
    with workspace.open_store(profile, read_only=True) as store:
        after = {s.record.number: sale_json(s, profile=profile) for s in SalesRepository(store).list()}
    for number in ("FV/1/2026", "FV/2/2026"):
        row = after[number]
        ksef_number = str(row["ksef_number"])
        assert row["state"] == "accepted" and ksef_number.startswith(sim.nip)
        assert row["deadline"] is None and row["deadline_status"] == "met"  # tracked, then cleared
        sent_bytes = xml if number == "FV/1/2026" else emergency_xml
        held = sim.state.invoices.with_hash(base64.b64encode(hashlib.sha256(sent_bytes).digest()).decode())
        assert held is not None and held.mode == "Offline"
        assert metadata_mode(workspace, ksef_number)["invoicingMode"] == "Offline"
    assert after["FV/1/2026"]["offline_deadline"] == after["FV/2/2026"]["offline_deadline"] == moved.isoformat()
    assert after["FV/1/2026"]["kod2"] == issue.kod2


def test_a_rejected_offline_invoice_is_corrected_technically_and_accepted(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, workspace, profile, home = firm.sim, firm.workspace, firm.profile, firm.home
    certificate = firm.enrol_offline("rsa")
    good = sale_xml(sim.nip, "FV/7/2026")
    bad = broken(good)
    signer = offline.offline_signer(workspace, profile)
    online_bad = broken(sale_xml(sim.nip, "FV/8/2026"))
    let_through(monkeypatch, bad, online_bad)
    with workspace.open_store(profile) as store:
        repo, root = SalesRepository(store), sales_xml_root(store.path)
        result = offline.import_offline(
            repo, root, profile, [write(home, "bad.xml", bad)], mode=OfflineMode.OFFLINE24, signer=signer
        )
        assert result.imported == ["FV/7/2026"]
        from ksef_tui.services.sales import import_invoices

        assert import_invoices(repo, root, profile, [write(home, "online.xml", online_bad)]).imported == ["FV/8/2026"]
    report = asyncio.run(workspace.send(profile, None, options=FAST))
    assert report is not None and sorted(report.rejected) == ["FV/7/2026", "FV/8/2026"]
    original_hash = base64.b64encode(hashlib.sha256(bad).digest()).decode()

    fixed = write(home, "fixed.xml", good)
    with workspace.open_store(profile) as store:
        repo, root = SalesRepository(store), sales_xml_root(store.path)
        with pytest.raises(offline.NotCorrectable) as online:  # an invoice issued in KSeF (online)
            offline.correct_technically(repo, root, profile, "FV/8/2026", fixed, signer=signer)
        assert "was not issued offline" in online.value.message()
        with pytest.raises(offline.NotCorrectable) as other:  # another invoice's file
            offline.correct_technically(repo, root, profile, "FV/7/2026", write(home, "o.xml", sale_xml(sim.nip)),
                                        signer=signer)  # fmt: skip
        assert "keeps the invoice number" in other.value.message()
        with pytest.raises(offline.NotCorrectable) as same:
            offline.correct_technically(repo, root, profile, "FV/7/2026", write(home, "b2.xml", bad), signer=signer)
        assert "very bytes KSeF rejected" in same.value.message()
        # Rejected for want of rights: not a technical reason.
        rejected = repo.get("FV/7/2026")
        assert rejected is not None and rejected.status.error_code == 450
        repo.set_status("FV/7/2026", replace(rejected.status, error_code=410, error_description="Brak uprawnień"))
        with pytest.raises(offline.NotCorrectable) as rights:
            offline.correct_technically(repo, root, profile, "FV/7/2026", fixed, signer=signer)
        assert "not for permissions" in rights.value.message() and "send --invoice FV/7/2026" in rights.value.hint()
        repo.set_status("FV/7/2026", rejected.status)

    sale, sent = asyncio.run(offline.correct_and_send(workspace, profile, "FV/7/2026", fixed))
    assert sent is not None and sent.accepted == ["FV/7/2026"], sent
    issue = sale.record.offline
    assert issue is not None and issue.corrected_hash == original_hash and issue.mode is OfflineMode.OFFLINE24
    assert sale.record.number == "FV/7/2026" and sale.record.invoice_hash != original_hash
    assert kod2_verifies(issue.kod2, certificate) and b64url(hashlib.sha256(good).digest()) in issue.kod2
    held = sim.state.invoices.with_hash(sale.record.invoice_hash)
    assert held is not None and held.mode == "Offline" and held.hash_of_corrected == original_hash
    with workspace.open_store(profile, read_only=True) as store:
        repo = SalesRepository(store)
        done = repo.get("FV/7/2026")
        assert done is not None and done.status.state is SendState.ACCEPTED
        assert (sales_xml_root(store.path) / done.record.xml_path).read_bytes() == good
        assert issue.corrected_xml_path is not None
        assert (sales_xml_root(store.path) / issue.corrected_xml_path).read_bytes() == bad  # the rejected bytes stay
        assert sale_json(done)["hash_of_corrected"] == original_hash
        with pytest.raises(offline.NotCorrectable) as accepted:
            offline.refusal_of_invoice(done)
        assert "not rejected" in accepted.value.message()


def test_no_offline_certificate_or_no_known_outage_is_refused_with_what_to_do(firm: Firm) -> None:
    workspace, profile, home = firm.workspace, firm.profile, firm.home
    with pytest.raises(offline.NoOfflineCertificate) as missing:
        offline.offline_signer(workspace, profile)
    assert missing.value.category.value == "config"
    assert "ksef-tui cert enroll --profile firma --type offline" in missing.value.hint()
    firm.enrol_offline()
    signer = offline.offline_signer(workspace, profile)
    with pytest.raises(offline.NoOfflineCertificate):  # an authentication certificate is never one
        offline.offline_signer(workspace, profile, credential="firma")
    with pytest.raises(offline.OutageUnknown) as unknown:
        offline.check_outages(OfflineMode.OFFLINE, [])
    assert "--outage-start" in unknown.value.hint()
    later = Outage(OutageKind.UNAVAILABILITY, today() + timedelta(days=3), today() + timedelta(days=4))
    with workspace.open_store(profile) as store:
        repo, root = SalesRepository(store), sales_xml_root(store.path)
        result = offline.import_offline(
            repo, root, profile, [write(home, "a.xml", sale_xml(firm.sim.nip, "FV/3/2026"))], mode=OfflineMode.OFFLINE,
            signer=signer, outages=[later],
        )  # fmt: skip
        assert not result.imported and len(result.refused) == 1  # the announced outage does not cover its day
        assert "covering its issue day" in result.refused[0][1].message()
        assert repo.count() == 0


def test_an_invoice_built_in_the_app_is_issued_offline_and_batches_keep_offline_apart(firm: Firm) -> None:
    """Entered in the app (numbered, built, validated) and issued offline; in a batch send the offline invoices
    go in a session of their own with ``offlineMode`` and the online one in another, without it."""
    from decimal import Decimal

    from ksef_tui.domain.invoice import Address, Buyer, InvoiceLine, SalesInvoice, Seller
    from ksef_tui.domain.vat import VatRate
    from ksef_tui.services.sales import import_invoices
    from ksef_tui.services.sending import SendMode

    sim, workspace, profile, home = firm.sim, firm.workspace, firm.profile, firm.home
    certificate = firm.enrol_offline()
    signer = offline.offline_signer(workspace, profile)
    invoice = SalesInvoice(
        "",
        today(),
        Seller(sim.nip, "Sprzedawca sp. z o.o.", Address("ul. Długa 1", "00-001 Warszawa")),
        Buyer("Klient sp. z o.o.", tax_id="9999999999"),
        (InvoiceLine("usługa", Decimal(1), Decimal("100.00"), VatRate.R23),),
    )
    with firm.store() as store:
        repo, root = SalesRepository(store), sales_xml_root(store.path)
        built = offline.issue_offline_invoice(repo, root, profile, invoice, mode=OfflineMode.OFFLINE24, signer=signer)
        issue = built.record.offline
        assert issue is not None and built.status.state is SendState.QUEUED
        data = (root / built.record.xml_path).read_bytes()
        assert b64url(hashlib.sha256(data).digest()) in issue.kod1 and kod2_verifies(issue.kod2, certificate)
        imported = offline.import_offline(
            repo, root, profile, [write(home, "a.xml", sale_xml(sim.nip, "FV/A/2026"))], mode=OfflineMode.OFFLINE24,
            signer=signer,
        )  # fmt: skip
        online = import_invoices(repo, root, profile, [write(home, "b.xml", sale_xml(sim.nip, "FV/B/2026"))])
        numbers = [built.record.number, *imported.imported, *online.imported]
        hashes = {n: sale.record.invoice_hash for n in numbers if (sale := repo.get(n)) is not None}
    report = asyncio.run(workspace.send(profile, None, options=replace(FAST, mode=SendMode.BATCH)))
    assert report is not None and sorted(report.accepted) == sorted(numbers), report
    held = {n: sim.state.invoices.with_hash(h) for n, h in hashes.items()}
    modes = {n: (inv.mode, inv.session_ref) for n, inv in held.items() if inv is not None}
    assert modes[built.record.number][0] == modes["FV/A/2026"][0] == "Offline" and modes["FV/B/2026"][0] == "Online"
    assert modes[built.record.number][1] == modes["FV/A/2026"][1] != modes["FV/B/2026"][1]  # two sessions
    with firm.store(read_only=True) as store:  # an online invoice KSeF accepted lists its KOD I, no KOD II
        accepted = SalesRepository(store).get("FV/B/2026")
        assert accepted is not None
        row = sale_json(accepted, profile=profile)
        xml = (sales_xml_root(store.path) / accepted.record.xml_path).read_bytes()
    assert row["offline_mode"] is None and row["deadline"] is None and row["kod2"] is None
    assert row["kod1"] == f"{QR_TEST}/invoice/{sim.nip}/{today():%d-%m-%Y}/{b64url(hashlib.sha256(xml).digest())}"


def test_records_from_before_offline_load_and_offline_ones_round_trip(tmp_path: Path) -> None:
    from ksef_tui.store.db import Store
    from ksef_tui.store.sales import OfflineIssue, SaleRecord

    from ..store.test_sales import sale as make_record

    legacy = {  # a header as ksef-tui wrote it before issue 14
        "number": "FV/1/03/2026", "issue_date": "2026-03-05", "customer_id": "7740001454", "customer_id_type": "nip",
        "customer_name": "Klient", "net": "100.00", "vat": "23.00", "gross": "123.00", "currency": "PLN",
        "kind": "VAT", "corrected_number": None, "xml_path": "2026/03/x.xml", "xml_sha256": "ab" * 32,
        "invoice_hash": "3q2+7w==", "source": "imported", "created_at": "2026-03-01T09:00:00+01:00",
    }  # fmt: skip
    old = SaleRecord.from_doc(legacy)
    assert old.offline is None and old.to_doc() == legacy  # written back exactly as it was
    issue = OfflineIssue(
        mode=OfflineMode.EMERGENCY,
        issued_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        kod1=f"{QR_TEST}/invoice/5265877635/05-03-2026/abc",
        kod2=f"{QR_TEST}/certificate/Nip/5265877635/5265877635/0123456789ABCDEF/abc/sig",
        certificate_serial="0123456789ABCDEF",
        deadline=None,
        outages=(Outage(OutageKind.FAILURE, datetime(2026, 3, 5, 7, 30, tzinfo=UTC)),),
        corrected_hash="3q2+7w==",
        corrected_xml_path="2026/03/y.xml",
    )
    record = make_record(1, offline=issue)
    assert SaleRecord.from_doc(json.loads(json.dumps(record.to_doc()))) == record
    with Store.open(tmp_path / "store.json") as store:
        repo = SalesRepository(store)
        repo.add_many([(old, SendStatus(SendState.QUEUED, datetime.now(UTC)))])
        loaded = repo.get("FV/1/03/2026")
        assert loaded is not None and loaded.record == old
        row = sale_json(loaded)
        assert (row["offline_mode"], row["deadline"], row["kod1"], row["kod2"]) == (None, None, None, None)
        assert row["number"] == "FV/1/03/2026" and row["state"] == "queued" and row["customer_nip"] == "7740001454"
        # the failure ends: recorded, the deadline computed (7 business days after 2026-03-06 is 2026-03-17)
        repo.update_records(["FV/1/03/2026"], lambda s: (replace(s.record, offline=issue), None))
        changes = offline.record_outages(
            repo, [Outage(OutageKind.FAILURE, datetime(2026, 3, 5, 7, 30, tzinfo=UTC), date(2026, 3, 6))]
        )
        assert [(c.before, c.after) for c in changes] == [(None, date(2026, 3, 17))]
        again = repo.get("FV/1/03/2026")
        assert again is not None and again.record.offline is not None
        assert again.record.offline.deadline == date(2026, 3, 17) and len(again.record.offline.outages) == 1
        assert sale_json(again, today=date(2026, 3, 16))["deadline_status"] == "open"
        assert sale_json(again, today=date(2026, 3, 18))["deadline_status"] == "overdue"
