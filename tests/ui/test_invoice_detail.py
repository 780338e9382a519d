"""The invoice detail on the sandbox's real store (purchases imported from the simulator, sales sent to it):
what it shows, KOD I read back from the screen's cells into the module matrix the link encodes (Unicode half
blocks and the ASCII fallback), the correction link, saving without overwriting; snapshots (PL, EN)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from ksef_tui.fa.qr import qr_modules
from ksef_tui.i18n import set_language
from ksef_tui.sandbox import Sandbox, open_sandbox_sync
from ksef_tui.services.sales import import_invoices, sales_xml_root
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.sales import SalesRepository, SendState
from ksef_tui.ui.app import KsefApp, make_app
from ksef_tui.ui.screens.invoice_detail import InvoiceDetailScreen
from ksef_tui.ui.widgets.qr import QR_STYLE, QrCode, cells_to_modules
from ksef_tui.ui.widgets.save_dialog import SaveFileDialog
from ksef_tui.vault import Vault

from .conftest import FIXED_NOW, eventually, settle

TODAY = date(2026, 11, 30)
#: The sandbox's first purchase correction (seed 1): sold 04.09.2026, it corrects an invoice from before the start.
CORRECTION = "6791234564-20260904-557DE2D28DA8-CF"


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    sandbox = open_sandbox_sync(Settings(language="en"), today=TODAY)
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture(params=["pl", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language(None)


def build(box: Sandbox, *, ascii_only: bool = False) -> KsefApp:
    settings = Settings(theme="ksef-dark", ascii=ascii_only)
    return make_app(settings, box.workspace, clock=lambda: FIXED_NOW, profile_name=box.profile.name)


async def open_detail(pilot: Pilot[Any], source: str, key: str) -> InvoiceDetailScreen:
    await settle(pilot)
    screen = InvoiceDetailScreen(source, key)  # type: ignore[arg-type]
    await pilot.app.push_screen(screen)
    await settle(pilot)
    assert screen.view is not None, "the invoice did not load"
    return screen


def screen_cells(widget: QrCode) -> list[str]:
    """The QR widget's cells as the terminal gets them (every cell black on white)."""
    width, height = widget.size
    lines = []
    for strip in widget.render_lines(Region(0, 0, width, height)):
        for segment in strip:
            assert segment.style is not None and segment.style.bgcolor == QR_STYLE.bgcolor  # white
            if segment.text.strip():
                assert segment.style.color == QR_STYLE.color  # drawn halves black
        lines.append(strip.text)
    return lines


def text_of(screen: InvoiceDetailScreen, selector: str) -> str:
    """What the widget shows, line by line as on the screen (wrapped lines joined again)."""
    widget = screen.query_one(selector, Static)
    width, height = widget.size
    return "\n".join(strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, width, height)))


def sale_numbers(box: Sandbox) -> dict[str, str]:
    with box.workspace.open_store(box.profile, read_only=True) as store:
        sales = SalesRepository(store).list()
    return {
        "correction": next(s.record.number for s in sales if s.record.kind == "KOR"),
        "accepted": next(s.record.number for s in sales if s.status.state is SendState.ACCEPTED and s.status.upo_path),
        "draft": next(s.record.number for s in sales if s.status.state is SendState.DRAFT),
    }


async def test_a_purchase_shows_its_parties_lines_and_a_scannable_kod_i(box: Sandbox) -> None:
    set_language("en")
    try:
        app = build(box)
        async with app.run_test(size=(120, 34)) as pilot:
            screen = await open_detail(pilot, "purchase", CORRECTION)
            view = screen.view
            assert view is not None
            facts = text_of(screen, "#detail-facts")
            assert f"KSeF number: {CORRECTION}" in facts and "Issue date: 04.09.2026" in facts
            assert "Correction reason: " in facts
            parties = text_of(screen, "#detail-parties")
            assert "Catering Smaczny Kąsek" in parties and "NIP 6791234564" in parties and "NIP 5265877635" in parties
            assert view.lines[0].name in text_of(screen, "#detail-lines")
            assert view.vat_rows[0].vat in text_of(screen, "#detail-summary")
            assert text_of(screen, "#detail-qr-label") == CORRECTION
            assert text_of(screen, "#detail-qr-link").replace("\n", "") == view.qr_url
            # KOD I: the screen's cells read back are the matrix of the link, quiet zone included
            qr = screen.query_one(QrCode)
            cells = screen_cells(qr)
            expected = qr_modules(view.qr_url)
            assert len(cells) == (len(expected) + 1) // 2 and len(cells[0]) == len(expected[0])
            assert cells_to_modules(cells)[: len(expected)] == expected
            # the corrected invoice is before the company's KSeF start: named, not in the store
            links = screen.query_one("#detail-links", OptionList)
            assert links.option_count == 1 and "not in the company's data" in str(links.get_option_at_index(0).prompt)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, InvoiceDetailScreen)
    finally:
        set_language(None)


async def test_the_ascii_fallback_draws_the_same_code_larger(box: Sandbox) -> None:
    app = build(box, ascii_only=True)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_detail(pilot, "purchase", CORRECTION)
        assert screen.view is not None
        cells = screen_cells(screen.query_one(QrCode))
        assert set("".join(cells)) <= {"#", " "}
        assert cells_to_modules(cells, ascii_only=True) == qr_modules(screen.view.qr_url)


async def test_enter_on_a_correction_link_opens_the_corrected_sale(box: Sandbox) -> None:
    numbers = sale_numbers(box)
    app = build(box)
    async with app.run_test(size=(120, 34)) as pilot:
        screen = await open_detail(pilot, "sale", numbers["correction"])
        assert screen.view is not None and screen.view.kind == "KOR"
        assert screen.query_one("#detail-links", OptionList).has_focus
        await pilot.press("enter")
        await settle(pilot)
        corrected = app.screen
        assert isinstance(corrected, InvoiceDetailScreen) and corrected is not screen
        assert corrected.view is not None and corrected.view.number == screen.view.corrections[0].number
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_xml_and_upo_are_saved_to_new_files_only(box: Sandbox, tmp_path: Path) -> None:
    numbers = sale_numbers(box)
    app = build(box)
    async with app.run_test(size=(120, 34)) as pilot:
        screen = await open_detail(pilot, "sale", numbers["accepted"])
        view = screen.view
        assert view is not None and view.has_upo and view.ksef_number
        assert view.ksef_number in text_of(screen, "#detail-facts")
        target = tmp_path / "invoice.xml"
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveFileDialog)
        assert dialog.title_text == "Save the invoice XML"
        path_input = dialog.query_one("#save-path", Input)
        assert path_input.value == f"~/{view.file_stem}.xml"
        path_input.value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert target.read_bytes() == view.xml
        target.write_bytes(b"kept")
        await pilot.press("x")  # the same path again: refused in the dialog, the file untouched
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveFileDialog)
        dialog.query_one("#save-path", Input).value = str(target)
        await pilot.press("enter")
        await eventually(lambda: "exists already" in dialog.problem, "the dialog refuses the existing file")
        assert dialog.is_active
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert target.read_bytes() == b"kept"
        upo = tmp_path / "upo.xml"
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, SaveFileDialog)
        app.screen.query_one("#save-path", Input).value = str(upo)
        await pilot.press("enter")
        await settle(pilot)
        assert view.ksef_number.encode() in upo.read_bytes()


async def test_the_visualisation_is_written_for_a_browser(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No display (an SSH login): the visualisation is saved to a temporary file and its path told."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    numbers = sale_numbers(box)
    scratch = Path(tempfile.gettempdir())
    app = build(box)
    async with app.run_test(size=(120, 34)) as pilot:
        screen = await open_detail(pilot, "sale", numbers["draft"])
        assert screen.view is not None and screen.view.qr_label == "OFFLINE" and not screen.view.has_upo
        first = screen.view
        await pilot.press("r")  # read again: a new view of the same invoice
        await settle(pilot)
        assert screen.view is not first and screen.view == first
        await pilot.press("o")
        await settle(pilot)
        [written] = list(scratch.glob("ksef-*.html"))  # noqa: ASYNC240 (a test's look at its own directory)
        assert any(str(written) in n.message for n in app._notifications)
        assert b"<html" in written.read_bytes().lower()
        await pilot.press("u")  # a draft has no UPO: said, no dialog
        await pilot.pause()
        assert app.screen is screen


async def test_an_unknown_invoice_says_so(box: Sandbox) -> None:
    app = build(box)
    async with app.run_test(size=(120, 34)) as pilot:
        await settle(pilot)
        screen = InvoiceDetailScreen("purchase", "1111111111-20260101-AAAAAAAAAAAA-AA")
        await app.push_screen(screen)
        await settle(pilot)
        assert screen.view is None
        assert "not in the company's data" in text_of(screen, "#detail-status")


# ---------------------------------------------------------------------------------------------- snapshots

#: MF's official samples: an invoice of NIP 9999999999 (example 1) and its correction (example 2).
FIXTURES = Path(__file__).parent.parent / "fixtures" / "fa3"
MF_TOKEN = "20251130-EC-0123456789-ABCDEF0123-45|nip-9999999999|" + "ab" * 32


def mf_company(vault: Vault, *, ascii_only: bool = False) -> KsefApp:
    """A company whose sales register holds MF's samples 1 (FV2026/02/150) and 2 (its correction FK2026/03/200),
    imported by the service as the CLI imports them (queued, no KSeF number yet: the label reads OFFLINE)."""
    settings = Settings(theme="ksef-dark", ascii=ascii_only)
    workspace = Workspace(settings, vault=vault, transport=lambda _profile: None)
    profile = workspace.add_profile("mf", "9999999999", "test", "2026-02-01", MF_TOKEN)
    with workspace.open_store(profile) as store:
        result = import_invoices(
            SalesRepository(store),
            sales_xml_root(store.path),
            profile,
            [FIXTURES / "FA3_example_1.xml", FIXTURES / "FA3_example_2.xml"],
            clock=lambda: FIXED_NOW,
        )
    assert result.imported == ["FV2026/02/150", "FK2026/03/200"], result.refused
    return make_app(settings, workspace, clock=lambda: FIXED_NOW, profile_name="mf")


async def test_mf_samples_correction_opens_its_invoice(vault: Vault) -> None:
    app = mf_company(vault)
    async with app.run_test(size=(120, 34)) as pilot:
        screen = await open_detail(pilot, "sale", "FK2026/03/200")
        view = screen.view
        assert view is not None and view.qr_label == "OFFLINE" and view.send_state == "queued"
        assert text_of(screen, "#detail-qr-label") == "OFFLINE"
        cells = screen_cells(screen.query_one(QrCode))
        assert cells_to_modules(cells)[: len(view.qr_modules)] == qr_modules(view.qr_url)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceDetailScreen) and app.screen.key == "FV2026/02/150"


def test_snapshot_purchase_detail_with_kod_i(snap_compare: Any, box: Sandbox, lang: str) -> None:
    """A purchase correction from the simulator. Its receipt time is the simulator's clock (minutes apart from
    run to run): pinned here, every other value is the store's."""

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_detail(pilot, "purchase", CORRECTION)
        assert screen.view is not None
        screen.post_message(InvoiceDetailScreen.Loaded(replace(screen.view, acquired="04.09.2026 03:40")))
        await pilot.pause()

    assert snap_compare(build(box), terminal_size=(120, 34), run_before=run_before)


def test_snapshot_sale_correction_with_kod_i(snap_compare: Any, vault: Vault, lang: str) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_detail(pilot, "sale", "FK2026/03/200")

    assert snap_compare(mf_company(vault), terminal_size=(120, 34), run_before=run_before)


def test_snapshot_sale_correction_lines_and_summary(snap_compare: Any, vault: Vault, lang: str) -> None:
    """The lower half: the correction link, the lines (before and after) and the VAT summary."""

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await open_detail(pilot, "sale", "FK2026/03/200")
        screen.query_one("#detail-body").scroll_end(animate=False)
        await pilot.pause()

    assert snap_compare(mf_company(vault), terminal_size=(120, 34), run_before=run_before)


def test_snapshot_ascii_kod_i_below_the_facts(snap_compare: Any, vault: Vault) -> None:
    """ASCII mode (PL): the code drawn with '##', below the facts, scrolled to it."""
    set_language("pl")
    try:

        async def run_before(pilot: Pilot[Any]) -> None:
            screen = await open_detail(pilot, "sale", "FK2026/03/200")
            screen.query_one("#detail-qr-title").scroll_visible(top=True, animate=False)
            await pilot.pause()

        assert snap_compare(mf_company(vault, ascii_only=True), terminal_size=(120, 34), run_before=run_before)
    finally:
        set_language(None)
