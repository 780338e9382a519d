"""The sandbox: the simulator in process, a demo company made by the real services, and the user's own
directories never touched (the user's XDG directories point into the test's ``home``, which must stay absent)."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ksef_tui import paths, sandbox
from ksef_tui.domain.ksef_number import is_valid_ksef_number
from ksef_tui.domain.nip import is_valid_nip
from ksef_tui.errors import Category, UserError
from ksef_tui.sandbox import Sandbox, SandboxFailed, SandboxNotIsolated, create_sandbox, open_sandbox
from ksef_tui.services.sending import SendOptions
from ksef_tui.services.workspace import today_in_warsaw
from ksef_tui.settings import Settings
from ksef_tui.store.customers import CustomerBook
from ksef_tui.store.outbox import Outbox, OutboxState
from ksef_tui.store.purchases import PurchaseRepository
from ksef_tui.store.sales import MailState, SalesRepository, SendState

XDG = sandbox.XDG_VARIABLES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's own directories (never created by the sandbox) and a private temporary directory."""
    user = tmp_path / "home"
    for name in XDG:
        monkeypatch.setenv(name, str(user / name.lower()))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return user


def user_env(home: Path) -> dict[str, str]:
    return {name: str(home / name.lower()) for name in XDG}


def scratch_is_empty() -> bool:
    """Nothing left in the (test's) temporary directory where the sandbox makes its own."""
    return not any(Path(tempfile.gettempdir()).iterdir())


def assert_in_scratch(box: Sandbox) -> None:
    assert box.data_dir.parent == Path(tempfile.gettempdir()).resolve()
    assert box.data_dir.name.startswith("ksef-tui-sandbox-")
    for where in (paths.config_dir(), paths.data_dir(), paths.log_dir()):
        assert where.is_relative_to(box.data_dir)


def assert_left_alone(home: Path) -> None:
    assert not home.exists(), sorted(home.rglob("*"))
    assert {name: os.environ.get(name) for name in XDG} == user_env(home)


async def test_the_sandbox_opens_with_a_ready_profile_and_leaves_the_user_alone(home: Path) -> None:
    """The TUI's way: created before the first frame, seeded behind it."""
    box = create_sandbox(Settings(language="en"))
    try:
        assert_in_scratch(box)
        assert box.demo is None
        assert [p.name for p in box.workspace.list_profiles()] == ["sandbox"]
        started = time.perf_counter()
        await box.seed()
        elapsed = time.perf_counter() - started
        assert elapsed < 15, elapsed  # about two seconds; generous for a busy machine
        assert box.demo is not None
        profile = box.profile
        assert (profile.nip, profile.environment, profile.base_url) == ("5265877635", box.base_url, box.base_url)
        assert profile.start_date == sandbox.start_date(today_in_warsaw())
        assert profile.mail.auto and profile.mail.file_dir == str(box.mail_dir)
        assert box.workspace.profile("sandbox") == profile  # as the faces load it
        verification = await box.workspace.verify(profile, fresh=True)
        assert verification.ok, verification.to_json()
        assert box.badge == "SANDBOX"
        assert "5265877635" in box.note
    finally:
        box.close()
    assert not box.data_dir.exists()
    assert_left_alone(home)
    box.close()  # twice is harmless
    assert_left_alone(home)


async def test_the_demo_company_has_purchases_customers_and_sales_in_every_state(home: Path) -> None:
    box = await open_sandbox(Settings(language="en"))
    try:
        demo = box.demo
        assert demo is not None
        with box.workspace.open_store(box.profile) as store:
            purchases = PurchaseRepository(store).all()
            corrections = [p for p in purchases if p.corrected_ksef_number]
            assert len(purchases) == demo.purchases >= 15
            assert len(corrections) == demo.purchase_corrections >= 2
            assert all(p.issue_date >= box.profile.start_date - timedelta(days=1) for p in purchases)
            assert all(p.xml_path for p in purchases)  # the XML came with them

            customers = CustomerBook.of(store).all()
            assert sorted(c.name for c in customers) == sorted(demo.customers)
            assert all(is_valid_nip(c.tax_id or "") for c in customers if c.id_type.value == "Nip")
            assert any(c.id_type.value == "UE" for c in customers)
            assert all((c.email or "").endswith("@example.com") for c in customers)

            sales = SalesRepository(store)
            assert len(demo.accepted) >= 5
            for number in demo.accepted:
                sale = sales.get(number)
                assert sale is not None and sale.status.state is SendState.ACCEPTED, number
                assert is_valid_ksef_number(sale.status.ksef_number or ""), number
                assert not sale.status.duplicate and sale.status.upo_path, number

            correction = sales.get(demo.correction)
            assert correction is not None and correction.record.kind == "KOR"
            assert correction.record.corrected_number == demo.accepted[0]

            rejected = sales.get(demo.rejected)
            assert rejected is not None and rejected.status.state is SendState.REJECTED
            assert rejected.status.error_code == 415 and rejected.status.error_description
            assert not rejected.status.ksef_number

            duplicate = sales.get(demo.duplicate)
            assert duplicate is not None and duplicate.status.state is SendState.ACCEPTED
            assert duplicate.status.duplicate and duplicate.status.error_code == 440
            assert box.sim is not None and duplicate.status.ksef_number in set(box.sim.invoices)

            for number, state in (
                (demo.before_start, SendState.QUEUED),
                (demo.queued, SendState.QUEUED),
                (demo.draft, SendState.DRAFT),
            ):
                sale = sales.get(number)
                assert sale is not None and sale.status.state is state, number
            early = sales.get(demo.before_start)
            assert early is not None and early.record.issue_date < box.profile.start_date
            skipped = [s for report in demo.reports for s in report.skipped if s.number == demo.before_start]
            assert skipped and {s.key for s in skipped} == {"send.skip.before_start"}

            numbers = {s.record.number for s in sales.list()}
            dates = {s.record.issue_date.replace(day=1) for s in sales.list() if s.record.number != demo.before_start}
            assert len(dates) == 2  # last month and this one
            assert numbers == {
                *demo.accepted,
                demo.rejected,
                demo.duplicate,
                demo.before_start,
                demo.queued,
                demo.draft,
            }

            assert demo.mail_sent and set(demo.mail_sent) <= set(demo.accepted)
            assert all(sales.get(n).status.mail is MailState.SENT for n in demo.mail_sent)  # type: ignore[union-attr]
            pending = sales.get(demo.mail_pending)
            assert pending is not None and pending.status.mail is MailState.PENDING
            outbox = Outbox.of(store)
            assert [m.invoice_number for m in outbox.in_state(OutboxState.PENDING)] == [demo.mail_pending]
        assert len(list(box.mail_dir.glob("*.eml"))) == len(demo.mail_sent)

        # The sandbox is the user's to play with: the queued invoice goes like any other.
        options = SendOptions(poll_first=0.05, poll_max_delay=0.2)
        report = await box.workspace.send(box.profile, [demo.queued], options=options)
        assert report is not None and report.accepted == [demo.queued]
    finally:
        box.close()
    assert_left_alone(home)


async def test_a_failed_step_is_named_and_leaves_nothing_behind(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "TOKEN", "revoked")  # KSeF refuses the demo company's token
    with pytest.raises(SandboxFailed) as failed:
        await open_sandbox(Settings(language="en"))
    error = failed.value
    assert error.step in ("purchases", "sales", "send")
    assert error.message().startswith("the sandbox could not be prepared (step: ")
    assert isinstance(error.cause, UserError) and error.cause.message() in error.message()
    assert error.category is error.cause.category
    assert "not changed" in error.hint()
    assert scratch_is_empty()
    assert_left_alone(home)


async def test_a_platform_whose_directories_ignore_xdg_gets_no_sandbox(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "data_dir", lambda: home / "Library" / "ksef-tui")  # as on macOS
    with pytest.raises(SandboxNotIsolated) as refused:
        await open_sandbox(Settings(language="en"))
    assert refused.value.category is Category.CONFIG
    assert str(home / "Library") in refused.value.message()
    assert scratch_is_empty()
    assert_left_alone(home)


async def test_a_given_directory_must_be_empty_and_is_kept(home: Path, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError) as refused:
        await open_sandbox(Settings(language="en"), root=used)
    assert refused.value.key == "sandbox.root_not_empty"
    assert (used / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert_left_alone(home)


async def test_invoices_cannot_be_dated_in_the_future(home: Path) -> None:
    with pytest.raises(ValueError, match="future"):
        await open_sandbox(Settings(language="en"), today=today_in_warsaw() + timedelta(days=1))
    assert scratch_is_empty()
    assert_left_alone(home)


def test_the_start_date_leaves_one_import_window() -> None:
    from datetime import date

    assert sandbox.start_date(date(2026, 11, 30)) == date(2026, 9, 1)
    assert sandbox.start_date(date(2026, 1, 1)) == date(2025, 11, 1)
    assert sandbox.start_date(date(2026, 3, 31)) == date(2026, 1, 1)


def test_the_sandbox_type_is_what_the_faces_use() -> None:
    assert {"workspace", "profile", "data_dir", "base_url"} <= set(Sandbox.__dataclass_fields__)


def test_what_went_wrong_is_told_in_the_users_language() -> None:
    from ksef_tui import i18n
    from ksef_tui.sandbox import DemoUnexpected

    unexpected = DemoUnexpected("FS 1/11/2026", "rejected", "duplicate")
    failed = SandboxFailed("send", unexpected)
    assert failed.category is Category.INTERNAL
    assert failed.message() == (
        "the sandbox could not be prepared (step: sending invoices to KSeF): "
        "demo invoice FS 1/11/2026 is “duplicate” where it should be “rejected”"
    )
    bug = SandboxFailed("purchases", RuntimeError("boom"))
    assert bug.message().endswith(": RuntimeError: boom") and bug.category is Category.INTERNAL
    i18n.set_language("pl")
    try:
        assert failed.message() == (
            "nie udało się przygotować piaskownicy (krok: wysyłka faktur do KSeF): "
            "faktura demonstracyjna FS 1/11/2026 jest w stanie „duplikat”, a miała być w stanie „odrzucona”"
        )
        assert "nie zostały zmienione" in failed.hint()
    finally:
        i18n.set_language(None)


def test_a_sandbox_whose_process_died_is_swept_at_the_next_start(home: Path) -> None:
    import subprocess
    import sys

    scratch = Path(tempfile.gettempdir())
    command = [sys.executable, "-c", "import os; print(os.getpid())"]
    gone = subprocess.run(command, check=True, capture_output=True, text=True)  # its number is free once it ended
    stale, live, foreign = (scratch / f"ksef-tui-sandbox-{name}" for name in ("stale", "live", "foreign"))
    for directory, owner in ((stale, gone.stdout.strip()), (live, str(os.getppid())), (foreign, None)):
        (directory / "data").mkdir(parents=True)
        if owner is not None:
            (directory / sandbox.OWNER_FILE).write_text(owner, encoding="ascii")
    box = create_sandbox(Settings(language="en"))
    try:
        assert (box.data_dir / sandbox.OWNER_FILE).read_text(encoding="ascii") == str(os.getpid())
        assert not stale.exists() and live.exists() and foreign.exists()
    finally:
        box.close()
    assert sorted(p.name for p in scratch.iterdir()) == ["ksef-tui-sandbox-foreign", "ksef-tui-sandbox-live"]
    assert_left_alone(home)
