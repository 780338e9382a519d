"""The invoice detail's read model from a real store: the sandbox's demo company (its purchases imported from
the simulator, its sales sent to it), and official MF samples imported as sales."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ksef_tui.errors import UserError
from ksef_tui.fa.qr import kod1_url_for_invoice, qr_modules
from ksef_tui.i18n import set_language
from ksef_tui.sandbox import Sandbox, open_sandbox_sync
from ksef_tui.services.invoice_view import (
    InvoiceNotFound,
    content,
    default_path,
    load_invoice,
    save_new,
    save_temporary,
)
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.settings import Settings
from ksef_tui.store.purchases import PurchaseRepository
from ksef_tui.store.sales import SalesRepository, SendState

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fa3"
TODAY = date(2026, 11, 30)


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "home" / name.lower()))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    set_language("en")
    sandbox = open_sandbox_sync(Settings(language="en"), today=TODAY)
    try:
        yield sandbox
    finally:
        sandbox.close()
        set_language(None)


def test_a_purchase_correction_shows_everything_and_its_kod_i(box: Sandbox) -> None:
    with box.workspace.open_store(box.profile, read_only=True) as store:
        records = PurchaseRepository(store).all()
    correction = next(r for r in records if r.corrected_ksef_number)
    view = load_invoice(box.workspace, box.profile, "purchase", correction.ksef_number)
    assert view.ksef_number == correction.ksef_number == view.qr_label
    assert view.number == correction.invoice_number and view.kind == "KOR" and view.kind_text == "corrective"
    assert view.seller.id_label == f"NIP {correction.seller_nip}"
    assert view.buyer.id_label == f"NIP {box.profile.nip}"
    assert view.issue_date == f"{correction.issue_date:%d.%m.%Y}"
    assert view.acquired.startswith(f"{correction.acquisition_date.astimezone(UTC):%d.%m.%Y}"[:6])
    assert view.lines and all(line.name and line.rate for line in view.lines)
    [row] = view.vat_rows  # one rate: its net, VAT and gross are the invoice's totals
    assert (row.net, row.vat, row.gross) == (view.net, view.vat, view.gross)
    assert view.correction_reason
    # the corrected invoice (before the company's KSeF start) is named with its KSeF number, not in the store
    [link] = [c for c in view.corrections if c.corrects]
    assert link.ksef_number == correction.corrected_ksef_number and link.target is None
    # KOD I: the link of the stored bytes, the matrix of that link
    assert view.qr_url == kod1_url_for_invoice(box.profile.qr_environment, view.xml)
    assert [list(row) for row in view.qr_modules] == qr_modules(view.qr_url)
    assert view.send_state == "" and not view.has_upo


def test_a_sales_correction_links_to_its_invoice_and_has_its_upo(box: Sandbox) -> None:
    with box.workspace.open_store(box.profile, read_only=True) as store:
        sales = SalesRepository(store).list()
    kor = next(s for s in sales if s.record.kind == "KOR")
    view = load_invoice(box.workspace, box.profile, "sale", kor.record.number)
    assert view.send_state_code == "accepted" and view.send_state.startswith("accepted")
    assert view.ksef_number == kor.status.ksef_number == view.qr_label
    assert view.has_upo
    [link] = view.corrections
    assert link.number == kor.record.corrected_number and link.target == ("sale", link.number)
    corrected = load_invoice(box.workspace, box.profile, "sale", link.number)
    assert corrected.number == link.number and corrected.kind == "VAT"
    upo = content(box.workspace, box.profile, view, "upo")
    assert upo.startswith(b"<?xml") and kor.status.ksef_number.encode() in upo


def test_unsent_and_rejected_sales_show_their_state(box: Sandbox) -> None:
    with box.workspace.open_store(box.profile, read_only=True) as store:
        sales = SalesRepository(store).list()
    draft = next(s for s in sales if s.status.state is SendState.DRAFT)
    view = load_invoice(box.workspace, box.profile, "sale", draft.record.number)
    assert (view.send_state, view.ksef_number, view.qr_label, view.acquired) == ("draft", "", "OFFLINE", "")
    with pytest.raises(UserError) as no_upo:
        content(box.workspace, box.profile, view, "upo")
    assert no_upo.value.key == "detail.no_upo"
    rejected = next(s for s in sales if s.status.state is SendState.REJECTED)
    view = load_invoice(box.workspace, box.profile, "sale", rejected.record.number)
    assert view.send_state.startswith(f"rejected ({rejected.status.error_code}): ")
    assert (rejected.status.error_description or "") in view.send_state


def test_an_unknown_invoice_is_a_user_error(box: Sandbox) -> None:
    with pytest.raises(InvoiceNotFound):
        load_invoice(box.workspace, box.profile, "purchase", "1111111111-20260101-AAAAAAAAAAAA-AA")
    with pytest.raises(InvoiceNotFound):
        load_invoice(box.workspace, box.profile, "sale", "NO/SUCH/1")


def test_saving_never_overwrites_and_the_visualisation_is_mf_html(box: Sandbox, tmp_path: Path) -> None:
    with box.workspace.open_store(box.profile, read_only=True) as store:
        number = PurchaseRepository(store).all()[0].ksef_number
    view = load_invoice(box.workspace, box.profile, "purchase", number)
    assert default_path(view, "html") == f"~/{number}.html"
    html = content(box.workspace, box.profile, view, "html")
    assert b"<html" in html.lower() and number.encode() in html
    target = tmp_path / "out.html"
    assert save_new(html, str(target)) == target and target.read_bytes() == html
    with pytest.raises(UserError) as exists:
        save_new(b"other", str(target))
    assert exists.value.key == "detail.save.exists" and target.read_bytes() == html
    xml = tmp_path / "out.xml"
    save_new(content(box.workspace, box.profile, view, "xml"), str(xml))
    assert xml.read_bytes() == view.xml
    temp = save_temporary(view)
    assert temp.read_bytes() == html and temp.suffix == ".html"


@pytest.mark.parametrize(
    "sample", ["FA3_example_1.xml", "FA3_example_2.xml", "FA3_example_3.xml", "fa3_basic_vat_23_8.xml"]
)
def test_official_samples_imported_as_sales(box: Sandbox, sample: str) -> None:
    """MF's samples are sold by NIP 9999999999: that company's register (the same profile otherwise)."""
    profile = replace(box.profile, nip="9999999999")
    with box.workspace.open_store(profile) as store:
        result = import_invoices(
            SalesRepository(store),
            sales_xml_root(store.path),
            profile,
            [FIXTURES / sample],
            clock=lambda: datetime(2026, 11, 30, 9, tzinfo=UTC),
        )
    assert result.refused == []
    view = load_invoice(box.workspace, profile, "sale", result.imported[0])
    assert view.lines and view.vat_rows and view.qr_label == "OFFLINE" and view.send_state == "queued"
    assert view.seller.id_label == "NIP 9999999999" and view.buyer.name
    if sample == "FA3_example_1.xml":  # paid by transfer (FormaPlatnosci 6, Zaplacono 1)
        assert view.payment_form == "bank transfer (paid)"
    if sample == "fa3_basic_vat_23_8.xml":  # two rates, a due date and an account
        assert [row.rate for row in view.vat_rows] == ["23%", "8%"]
        assert (view.payment_due, view.bank_accounts) == ("15.02.2026", ("PL61109010140000071219812874",))
    assert [list(row) for row in view.qr_modules] == qr_modules(view.qr_url)


def test_a_sale_built_in_the_app_shows_its_payment(box: Sandbox) -> None:
    with box.workspace.open_store(box.profile, read_only=True) as store:
        sales = SalesRepository(store).list()
    for sale in sales:
        view = load_invoice(box.workspace, box.profile, "sale", sale.record.number)
        if view.kind == "VAT":  # the sandbox's invoices are paid by transfer with a due date
            assert view.payment_form == "bank transfer" and view.payment_due.endswith(".2026"), view
