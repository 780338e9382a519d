"""The sandbox (``ksef-tui sandbox``): the KSeF simulator in this process, a demo company with a history, a
temporary data directory, an in-memory vault and a ready profile, so every screen works without a KSeF account.

Nothing it does touches the user's real profiles: the XDG base directories of the process (``XDG_CONFIG_HOME``,
``XDG_DATA_HOME``, ``XDG_STATE_HOME``, ``XDG_CACHE_HOME``) point into a fresh temporary directory while the
sandbox is open, and :meth:`Sandbox.close` puts them back and removes the directory. Where the platform's
directories do not follow those variables (``ksef_tui.paths`` on macOS or Windows), the sandbox refuses to start
rather than write beside the user's data. A sandbox whose process was killed before it could close (its terminal
closed) leaves its directory behind; the next sandbox of the same user removes it. The settings come from the
caller, read from the user's real configuration before the switch (the language, the glyphs); only the vault is
replaced (memory).

The demo company's history is made by the real services against the simulator, never written into the store by
hand, so every state on screen is one KSeF and the app really produced. The purchase import and the sales side run
at the same time over one open store and one KSeF connection (the store's repositories take turns under its
mutex), so the import's wait for its export costs no time:

* purchases: ``services.purchase_sync.PurchaseSync`` over the invoices the simulator seeds for the demo company
  (every fifth a correction of an earlier one);
* customers (``services.sales.add_customer``): Polish companies and one EU company, mail at ``example.com``;
* sales invoices issued in the app (``services.sales.issue_invoice``) or imported as FA(3) files
  (``import_invoices``), dated in the previous and the current month, then sent by ``services.sending.Sender``
  (two sends in one online session, the mail queued on acceptance and delivered as ``Workspace.send`` does):

  - accepted, with KSeF numbers and UPOs; a correction of one of them, sent after it with its KSeF number;
  - rejected: an imported invoice with an attachment (``Zalacznik``); KSeF refuses attachments until the
    company has enabled them in e-Urząd Skarbowy (invoice status 415, PROTOCOL.md §5.6);
  - duplicate: an invoice already issued in KSeF's own taxpayer app (put into the simulator through its
    demo API, as another program would have sent it) and imported here too: KSeF answers 440 and the app
    keeps the original's KSeF number;
  - dated before the company's KSeF start date: left out of every send, the reason in the send's report;
  - queued (issued after the send) and a draft;
  - mail with the KSeF number (the file transport, ``.eml`` files in the sandbox's ``mail`` directory): sent
    automatically after acceptance, and one queued by hand for a customer whose address came later
    (``pending``).

The company's KSeF start date is the first day of the month before last: the purchase import then takes one
export window (KSeF allows three months per window, and the client waits a second for each export), which keeps
opening the sandbox within about two seconds. One sandbox at a time per process (the environment is the
process's).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ksef_tui import paths
from ksef_tui.domain.customer import Customer
from ksef_tui.domain.invoice import (
    Address,
    Buyer,
    CorrectedInvoice,
    CorrectionType,
    InvoiceKind,
    InvoiceLine,
    Payment,
    PaymentForm,
    SalesInvoice,
    Seller,
)
from ksef_tui.domain.profile import BackendChoice, MailSettings, MailTransport, Profile
from ksef_tui.domain.vat import VatRate
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.i18n import has_key, t
from ksef_tui.services.workspace import Workspace, today_in_warsaw
from ksef_tui.settings import SecretSettings, Settings
from ksef_tui.sim.app import create_app, describe
from ksef_tui.sim.config import SimConfig
from ksef_tui.sim.seed import DEMO
from ksef_tui.vault import MemoryKeyring, Vault

if TYPE_CHECKING:
    from ksef_tui.ksef.api import KsefApi
    from ksef_tui.services.sending import Sender, SendReport
    from ksef_tui.sim.state import SimState
    from ksef_tui.store.db import Store
    from ksef_tui.store.sales import Sale

#: The simulator's address inside this process (never resolved: ``.invalid`` is reserved, RFC 2606).
ROOT = "http://sandbox.ksef.invalid"
PROFILE_NAME = "sandbox"
DIR_PREFIX = "ksef-tui-sandbox-"
#: In the sandbox's own directory: the number of the process that made it (stale ones are swept at the next start).
OWNER_FILE = ".owner-pid"
XDG_VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
#: How many purchases the simulator seeds for the demo company, spread from 2026-02-01 to now: about thirty of
#: them fall after the sandbox's start date (the months the import brings).
SEED_PURCHASES = 120
#: The simulator's ready token the profile signs in with (``SimState.named_tokens``).
TOKEN = "full"
SENDER = '"Demo Sp. z o.o." <faktury@example.com>'
#: Poll KSeF as fast as the sandbox's simulator answers.
_SEND_POLL_FIRST = 0.05
_SEND_POLL_MAX = 0.2


class SandboxFailed(UserError):
    """A step of preparing the sandbox failed; the cause is told in the user's words when shown."""

    key = "sandbox.failed"
    category = Category.INTERNAL

    def __init__(self, step: str, cause: BaseException) -> None:
        self.step = step
        self.cause = cause
        kept = cause.category if isinstance(cause, UserError) else Category.INTERNAL
        super().__init__(category=kept, step=step)

    def message(self) -> str:
        if isinstance(self.cause, UserError):
            reason = self.cause.message()
        else:
            reason = t("sandbox.cause", kind=type(self.cause).__name__, detail=str(self.cause))
        return t(self.key, step=t(f"sandbox.step.{self.step}"), reason=reason)

    def hint(self) -> str:
        return t("sandbox.failed.hint")


class DemoUnexpected(UserError):
    """An invoice of the demo did not come out in the state it was made for (``expected`` and ``found`` name
    states: ``sandbox.state.*``, translated when shown)."""

    key = "sandbox.unexpected"
    category = Category.INTERNAL

    def __init__(self, number: str, expected: str, found: str) -> None:
        super().__init__(number=number, expected=expected, found=found)

    def message(self) -> str:
        def state(name: object) -> str:
            key = f"sandbox.state.{name}"
            return t(key) if has_key(key) else str(name)

        return t(
            self.key,
            number=self.params["number"],
            expected=state(self.params["expected"]),
            found=state(self.params["found"]),
        )


def _state_of(sale: Sale | None) -> str:
    if sale is None:
        return "missing"
    return "duplicate" if sale.status.duplicate else sale.status.state.value


class SandboxNotIsolated(UserError):
    """The platform's data directories do not follow the XDG variables: the sandbox would write beside the
    user's real data, so it does not start."""

    key = "sandbox.not_isolated"
    category = Category.CONFIG


@dataclass(frozen=True, slots=True)
class DemoData:
    """What the sandbox seeded (invoice numbers of the sales register by state), for the faces and tests."""

    purchases: int
    purchase_corrections: int
    customers: tuple[str, ...]
    accepted: tuple[str, ...]  # invoices and the correction, with KSeF numbers
    correction: str  # corrects ``accepted[0]``, accepted after it
    rejected: str
    duplicate: str
    before_start: str
    queued: str
    draft: str
    mail_sent: tuple[str, ...]
    mail_pending: str
    reports: tuple[SendReport, ...] = ()


@dataclass
class Sandbox:
    """An open sandbox: use ``workspace`` and ``profile`` as the real ones; :meth:`close` when done.

    Made in two parts so a face can show its first frame in between: :func:`create_sandbox` (the directory, the
    simulator and the ready profile: quick, blocking) and :meth:`seed` (the demo company's history: async, about
    two seconds). :func:`open_sandbox` does both."""

    workspace: Workspace
    profile: Profile
    data_dir: Path
    base_url: str
    today: date  # the day the demo's invoices are dated from
    demo: DemoData | None = None  # what :meth:`seed` made
    sim: SimState | None = None
    _transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)
    _owns_dir: bool = field(default=True, repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def mail_dir(self) -> Path:
        """Where the demo's e-mail goes (``.eml`` files: the profile's file transport)."""
        return self.data_dir / "mail"

    @property
    def badge(self) -> str:
        """The word the faces show while the sandbox is open (translated when asked)."""
        return t("sandbox.badge")

    @property
    def note(self) -> str:
        """One sentence on what the sandbox is and that it is thrown away (translated when asked)."""
        return t("sandbox.note", nip=self.profile.nip, path=self.data_dir)

    async def seed(self) -> None:
        """Give the demo company its history (see the module's docstring); :attr:`demo` says what was made.
        Raises :class:`SandboxFailed` naming the step that failed (the sandbox stays usable as far as it got)."""
        if self.demo is not None:
            return
        assert self._transport is not None
        self.demo = await _Seeder(self, self._transport, self.today).run()

    def close(self) -> None:
        """Put the environment back and remove the temporary directory (idempotent)."""
        if self._closed:
            return
        self._closed = True
        _restore_env(self._saved_env)
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------- opening


def create_sandbox(
    settings: Settings, *, seed: int = 1, today: date | None = None, root: Path | None = None
) -> Sandbox:
    """The sandbox without its demo history yet: the temporary directory (the XDG variables point into it from
    now until :meth:`Sandbox.close`), the simulator and the demo company's ready profile. Blocking (a fraction of
    a second: the simulator makes its keys); :meth:`Sandbox.seed` next.

    ``seed`` seeds the simulator's random choices; ``today`` dates the demo's invoices (default: today in
    Warsaw; it must not be later than the real day, as KSeF refuses invoices from the future); ``root`` is the
    sandbox's directory instead of a fresh temporary one (it must be empty; it and what the sandbox wrote into
    it are kept on close, to be looked at). On failure the environment and the directory are as they were."""
    real_today = today_in_warsaw()
    day = today or real_today
    if day > real_today:
        raise ValueError(f"the sandbox cannot date invoices in the future ({day} is after {real_today})")
    data_dir, owned = _make_dir(root)
    saved = _switch_env(data_dir)
    try:
        _check_isolation(data_dir)
        with _step("simulator"):
            app, state = create_app(_sim_config(seed))
        transport = httpx.ASGITransport(app=app)
        base_url = describe(state, ROOT)["base_url"]
        workspace = Workspace(
            replace(settings, secrets=SecretSettings(backend=BackendChoice.MEMORY)),
            transport=lambda _profile: transport,
            vault=Vault(MemoryKeyring()),
        )
        with _step("profile"):
            profile = workspace.add_profile(
                PROFILE_NAME, DEMO.nip, base_url, start_date(day).isoformat(), state.named_tokens[TOKEN]
            )
    except BaseException:
        _restore_env(saved)
        if owned:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return Sandbox(
        workspace, profile, data_dir, base_url, day, sim=state, _transport=transport, _saved_env=saved, _owns_dir=owned
    )


async def open_sandbox(
    settings: Settings, *, seed: int = 1, today: date | None = None, root: Path | None = None
) -> Sandbox:
    """:func:`create_sandbox` (in a thread) and :meth:`Sandbox.seed`: the sandbox ready to use, or
    :class:`SandboxFailed` naming the step that failed, the environment and the directory then as they were."""
    sandbox = await asyncio.to_thread(create_sandbox, settings, seed=seed, today=today, root=root)
    try:
        await sandbox.seed()
    except BaseException:
        sandbox.close()
        raise
    return sandbox


def open_sandbox_sync(
    settings: Settings, *, seed: int = 1, today: date | None = None, root: Path | None = None
) -> Sandbox:
    """:func:`open_sandbox` for callers without an event loop (scripts)."""
    return asyncio.run(open_sandbox(settings, seed=seed, today=today, root=root))


def start_date(today: date) -> date:
    """The demo company's KSeF start date: the first day of the month before last (one export window)."""
    first = today.replace(day=1)
    return _month_before(_month_before(first))


def _month_before(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def _sim_config(seed: int) -> SimConfig:
    """A simulator that answers at once: short delays, the wide ``fast`` limits."""
    return SimConfig(
        seed=seed,
        seed_purchases=SEED_PURCHASES,
        limits="fast",
        auth_delay=0.02,
        token_activation_delay=0.2,
        token_revocation_delay=0.2,
        permission_delay=0.1,
        certificate_delay=0.2,
        certificate_revocation_delay=0.2,
        invoice_queue_delay=0.02,
        invoice_processing_delay=0.03,
        permanent_storage_delay=0.2,
        session_close_delay=0.05,
        export_delay=0.05,
    )


def _make_dir(root: Path | None) -> tuple[Path, bool]:
    try:
        if root is None:
            _sweep_stale()
            made = Path(tempfile.mkdtemp(prefix=DIR_PREFIX)).resolve()
            (made / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
            return made, True
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if any(root.iterdir()):
            raise UserError("sandbox.root_not_empty", category=Category.INPUT, path=root)
        return root.resolve(), False
    except OSError as exc:
        raise PathError(exc.filename or root or tempfile.gettempdir(), exc, category=Category.CONFIG) from None


def _sweep_stale() -> None:
    """Remove the directories of this user's sandboxes whose process is gone (killed, or its terminal closed,
    before :meth:`Sandbox.close` could run); a directory without its owner's number is left alone."""
    if sys.platform == "win32":  # no sandbox there (its directories ignore XDG)
        return
    for candidate in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        try:
            if candidate.stat().st_uid != os.getuid():
                continue
            pid = int((candidate / OWNER_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(candidate, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _switch_env(data_dir: Path) -> dict[str, str | None]:
    saved = {name: os.environ.get(name) for name in XDG_VARIABLES}
    for name in XDG_VARIABLES:
        os.environ[name] = str(data_dir / name.removeprefix("XDG_").removesuffix("_HOME").lower())
    return saved


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _check_isolation(data_dir: Path) -> None:
    for where in (paths.config_dir(), paths.data_dir(), paths.log_dir()):
        if not where.resolve().is_relative_to(data_dir):
            raise SandboxNotIsolated(path=where)


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    try:
        yield
    except SandboxFailed:
        raise
    except Exception as exc:
        raise SandboxFailed(name, exc) from exc


# ------------------------------------------------------------------------------------------------ the demo


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    name: str
    nip: str | None
    eu_vat: str | None
    email: str | None
    language: str
    address: Address


BAKERY = DemoCustomer(
    "Piekarnia Złoty Kłos sp. z o.o.",
    "5273011005",
    None,
    "zloty.klos@example.com",
    "pl",
    Address("ul. Chlebowa 4", "02-495 Warszawa"),
)
LAW_FIRM = DemoCustomer(
    "Kancelaria Adwokacka Nowicka i Wspólnicy",
    "6772211007",
    None,
    "biuro.nowicka@example.com",
    "pl",
    Address("ul. Sądowa 12/3", "31-158 Kraków"),
)
BRANDT = DemoCustomer(
    "Brandt Maschinenbau GmbH",
    None,
    "DE811907980",
    "einkauf.brandt@example.com",
    "en",
    Address("Industriestraße 21", "04129 Leipzig", "DE"),
)
#: No e-mail address at first: its invoice is accepted without mail; the address comes later, the mail is queued.
JOINERY = DemoCustomer(
    "Stolarnia Dębowy Stół s.c.",
    "5841021003",
    None,
    None,
    "pl",
    Address("ul. Leśna 8", "80-209 Gdańsk"),
)
JOINERY_EMAIL = "stolarnia.debowy@example.com"
CUSTOMERS = (BAKERY, LAW_FIRM, BRANDT, JOINERY)


def _line(name: str, quantity: str, price: str, rate: VatRate = VatRate.R23, unit: str = "szt.") -> InvoiceLine:
    return InvoiceLine(name, Decimal(quantity), Decimal(price), rate, unit=unit)


SUBSCRIPTION = _line("Abonament serwisowy IT", "1", "1200.00", unit="mies.")
SETUP = _line("Konfiguracja stanowiska komputerowego", "3", "180.00", unit="usł.")
TRAINING = _line("Szkolenie z bezpieczeństwa danych", "1", "2400.00", unit="usł.")
LICENCE = _line("Licencja oprogramowania księgowego (12 mies.)", "2", "890.00")
BOOKS = _line("Podręcznik „KSeF w praktyce”", "4", "79.00", VatRate.R5)
REMOTE = _line("Remote IT support (hours)", "12", "250.00", VatRate.NP_II, unit="godz.")


@dataclass(frozen=True, slots=True)
class _Planned:
    """A sales invoice the seeder will issue: who, when, what."""

    customer: DemoCustomer
    day: date
    lines: tuple[InvoiceLine, ...]


@dataclass(slots=True)
class _Numbers:
    originals: list[str] = field(default_factory=list)
    before_start: str = ""
    correction: str = ""
    late: str = ""  # issued and sent with the correction
    rejected: str = ""
    duplicate: str = ""
    queued: str = ""
    draft: str = ""
    pending_mail: str = ""


class _Seeder:
    """Drives the real services against the simulator to give the demo company its history."""

    def __init__(self, sandbox: Sandbox, transport: httpx.AsyncBaseTransport, today: date) -> None:
        from ksef_tui.services.sending import SendOptions

        self.sandbox = sandbox
        self.workspace = sandbox.workspace
        self.transport = transport
        self.today = today
        self.this_month = today.replace(day=1)
        self.last_month = _month_before(self.this_month)
        self.options = SendOptions(poll_first=_SEND_POLL_FIRST, poll_max_delay=_SEND_POLL_MAX, max_wait=60.0)
        self.customers: dict[str, Customer] = {}
        self.numbers = _Numbers()
        self.reports: list[SendReport] = []

    @property
    def profile(self) -> Profile:
        return self.sandbox.profile

    def on(self, month: date, day: int) -> date:
        """Day ``day`` of ``month``, never after today (early in a month every invoice is dated today)."""
        return min(month.replace(day=day), self.today)

    async def run(self) -> DemoData:
        """The purchase import and the sales side run at once over one open store and one KSeF connection
        (the store's repositories take turns under its mutex), as the app's own workers would: the import's
        wait for its export then costs no time."""
        with _step("profile"):
            store = await asyncio.to_thread(self.workspace.store, self.profile)
        try:
            async with self.workspace.api(self.profile) as api:
                try:
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._purchases(api, store))
                        group.create_task(self._sales(api, store))
                except BaseExceptionGroup as failed:
                    raise failed.exceptions[0] from None
            with _step("check"):
                return await asyncio.to_thread(self._demo, store)
        finally:
            await asyncio.to_thread(store.close)

    async def _purchases(self, api: KsefApi, store: Store) -> None:
        """The demo company's purchases as the import brings them (every fifth a correction)."""
        from ksef_tui.services.purchase_sync import PurchaseSync

        with _step("purchases"):
            await PurchaseSync(self.profile, api, store, self.workspace.xml_store(self.profile)).run()

    async def _sales(self, api: KsefApi, store: Store) -> None:
        """Customers and invoices, two sends in one online session (the correction needs its original's KSeF
        number from the first), then what is left unsent."""
        from ksef_tui.services.sending import Sender

        with _step("mail"):
            await asyncio.to_thread(self._mail_settings)
        with _step("sales"):
            await asyncio.to_thread(self._first_invoices, store)
        sender = Sender(self.profile, api, store, options=self.options, on_accepted=self._mail_hook(store))
        with _step("send"):
            await self._send(sender, store)
        with _step("sales"):
            duplicate, rejected = await asyncio.to_thread(self._second_invoices, store)
            await self._issued_in_ksef_app(duplicate)
            await asyncio.to_thread(self._import, store, [rejected, duplicate])
        with _step("send"):
            await self._send(sender, store)

        async def after_sending() -> None:
            with _step("sales"):
                await asyncio.to_thread(self._after_sending, store)

        # Closing the session waits for its UPO (KSeF makes it then): meanwhile, what is issued after the send.
        await asyncio.gather(sender.close(), after_sending())

    async def _send(self, sender: Sender, store: Store) -> None:
        """Every queued invoice (the online session stays open for the next send); then the mail the acceptances
        queued goes out (the profile mails automatically)."""
        from ksef_tui.services.mail import deliver_pending

        report = await sender.send(None, keep_session=True)
        if report.accepted:
            delivered = await asyncio.to_thread(deliver_pending, store, self.profile, None)
            report.mail_sent, report.mail_failed = len(delivered.sent), len(delivered.failed)
        self.reports.append(report)

    def _mail_hook(self, store: Store) -> Callable[[list[str]], None]:
        from ksef_tui.services.mail import queue_after_acceptance

        def queue(numbers: list[str]) -> None:
            queue_after_acceptance(store, self.profile, numbers)

        return queue

    # ------------------------------------------------------------------------------------------ steps

    def _mail_settings(self) -> None:
        """Mail with the KSeF number after acceptance, as ``.eml`` files in the sandbox (nothing leaves)."""
        from ksef_tui.services.mail import save_settings

        settings = MailSettings(
            sender=SENDER, auto=True, transport=MailTransport.FILE, file_dir=str(self.sandbox.mail_dir)
        )
        self.sandbox.profile = save_settings(
            self.workspace.profiles, self.workspace.vault(self.profile), self.profile, settings
        )

    def _first_invoices(self, store: Store) -> None:
        """The customers, last month's and this month's invoices, and one from before the KSeF start date."""
        from ksef_tui.services.sales import add_customer
        from ksef_tui.store.customers import CustomerBook

        book = CustomerBook.of(store)
        for customer in CUSTOMERS:
            self.customers[customer.name], _ = add_customer(
                book,
                customer.name,
                nip=customer.nip,
                eu_vat=customer.eu_vat,
                email=customer.email,
                language=customer.language,
            )
        last, this = self.last_month, self.this_month
        planned = [
            _Planned(BAKERY, self.on(last, 3), (SUBSCRIPTION, SETUP)),
            _Planned(LAW_FIRM, self.on(last, 10), (TRAINING, BOOKS)),
            _Planned(BRANDT, self.on(last, 17), (REMOTE,)),
            _Planned(LAW_FIRM, self.on(this, 2), (LICENCE,)),
            _Planned(JOINERY, self.on(this, 5), (SETUP, LICENCE)),
        ]
        self.numbers.originals = [self._issue(store, plan).record.number for plan in planned]
        self.numbers.pending_mail = self.numbers.originals[-1]
        before = self.profile.start_date - timedelta(days=4)
        self.numbers.before_start = self._issue(store, _Planned(BAKERY, before, (SUBSCRIPTION,))).record.number

    def _second_invoices(self, store: Store) -> tuple[bytes, bytes]:
        """A correction of the first accepted invoice (with its KSeF number) and one more invoice, issued here;
        two invoices of the company's older program to import: one with an attachment, one that was also issued
        in KSeF's taxpayer app. Returns their XML (duplicate, rejected)."""
        from ksef_tui.fa.build import build_xml
        from ksef_tui.store.sales import SalesRepository

        original = SalesRepository(store).get(self.numbers.originals[0])
        if original is None or not original.status.ksef_number:
            raise DemoUnexpected(self.numbers.originals[0], "accepted", _state_of(original))
        record = original.record
        discounted = replace(SUBSCRIPTION, unit_price=Decimal("1080.00"))
        correction = SalesInvoice(
            "",
            self.on(self.this_month, 6),
            _seller(),
            self._buyer(BAKERY),
            (discounted,),
            kind=InvoiceKind.KOR,
            corrected=(CorrectedInvoice(record.issue_date, record.number, original.status.ksef_number),),
            correction_reason="Rabat 10% za terminowe płatności",
            correction_type=CorrectionType.AT_CORRECTION_DATE,
            lines_before=(SUBSCRIPTION,),
        )
        self.numbers.correction = self._issue_invoice(store, correction).record.number
        self.numbers.late = self._issue(store, _Planned(BRANDT, self.on(self.this_month, 8), (REMOTE,))).record.number
        month = f"{self.this_month:%m/%Y}"
        now = datetime.now(UTC)
        rejected = self._invoice(f"FS 1/{month}", _Planned(BAKERY, self.on(self.this_month, 4), (TRAINING,)))
        duplicate = self._invoice(f"FS 2/{month}", _Planned(LAW_FIRM, self.on(self.this_month, 4), (BOOKS,)))
        return build_xml(duplicate, created_at=now), _with_attachment(build_xml(rejected, created_at=now))

    async def _issued_in_ksef_app(self, xml: bytes) -> None:
        """Another program already sent this invoice to KSeF: the simulator's demo API stores it as such."""
        async with httpx.AsyncClient(transport=self.transport, base_url=ROOT) as client:
            response = await client.post("/sim/invoices", content=xml, headers={"content-type": "application/xml"})
        response.raise_for_status()

    def _import(self, store: Store, documents: list[bytes]) -> None:
        """The older program's files, imported as a user imports them (they stay in the sandbox's ``import``)."""
        from ksef_tui.services.sales import import_invoices, sales_xml_root
        from ksef_tui.store.sales import SalesRepository

        folder = self.sandbox.data_dir / "import"
        folder.mkdir(exist_ok=True)
        files = []
        for index, data in enumerate(documents, start=1):
            path = folder / f"FS-{index}.xml"
            path.write_bytes(data)
            files.append(path)
        result = import_invoices(SalesRepository(store), sales_xml_root(store.path), self.profile, files)
        if result.refused:
            raise result.refused[0][1]
        self.numbers.rejected, self.numbers.duplicate = result.imported

    def _after_sending(self, store: Store) -> None:
        """One invoice queued and one draft, issued after the send; the late customer's address, and the mail
        of its accepted invoice queued by hand (pending until ``ksef-tui mail``)."""
        from ksef_tui.services.mail import queue_invoices
        from ksef_tui.services.sales import add_customer
        from ksef_tui.store.customers import CustomerBook

        today = self.today
        self.numbers.queued = self._issue(store, _Planned(BAKERY, today, (SUBSCRIPTION,))).record.number
        self.numbers.draft = self._issue(store, _Planned(BRANDT, today, (REMOTE,)), queue=False).record.number
        add_customer(CustomerBook.of(store), JOINERY.name, nip=JOINERY.nip, email=JOINERY_EMAIL)
        result = queue_invoices(store, self.profile, [self.numbers.pending_mail])
        if result.refused:
            raise result.refused[0][1]

    def _demo(self, store: Store) -> DemoData:
        """What was seeded, each invoice checked to be in the state it was made for."""
        from ksef_tui.store.purchases import PurchaseRepository
        from ksef_tui.store.sales import MailState, SalesRepository, SendState

        numbers = self.numbers
        repo = SalesRepository(store)
        accepted = (*numbers.originals, numbers.correction, numbers.late)
        expected: list[tuple[str, SendState, bool]] = [
            *((number, SendState.ACCEPTED, False) for number in accepted),
            (numbers.duplicate, SendState.ACCEPTED, True),
            (numbers.rejected, SendState.REJECTED, False),
            (numbers.before_start, SendState.QUEUED, False),
            (numbers.queued, SendState.QUEUED, False),
            (numbers.draft, SendState.DRAFT, False),
        ]
        for number, state, duplicate in expected:
            sale = repo.get(number)
            wanted = "duplicate" if duplicate else state.value
            if sale is None or sale.status.state is not state or sale.status.duplicate is not duplicate:
                raise DemoUnexpected(number, wanted, _state_of(sale))
            if state is SendState.ACCEPTED and not sale.status.ksef_number:
                raise DemoUnexpected(number, wanted, "no-ksef-number")
        pending = repo.get(numbers.pending_mail)
        if pending is None or pending.status.mail is not MailState.PENDING:
            found = f"mail-{pending.status.mail.value}" if pending is not None else "missing"
            raise DemoUnexpected(numbers.pending_mail, "mail-pending", found)
        purchases = PurchaseRepository(store).all()
        return DemoData(
            purchases=len(purchases),
            purchase_corrections=sum(1 for p in purchases if p.corrected_ksef_number),
            customers=tuple(customer.name for customer in CUSTOMERS),
            accepted=accepted,
            correction=numbers.correction,
            rejected=numbers.rejected,
            duplicate=numbers.duplicate,
            before_start=numbers.before_start,
            queued=numbers.queued,
            draft=numbers.draft,
            mail_sent=tuple(s.record.number for s in repo.list() if s.status.mail is MailState.SENT),
            mail_pending=numbers.pending_mail,
            reports=tuple(self.reports),
        )

    # ---------------------------------------------------------------------------------------- invoices

    def _buyer(self, customer: DemoCustomer) -> Buyer:
        return replace(self.customers[customer.name].buyer(), address=customer.address)

    def _invoice(self, number: str, plan: _Planned) -> SalesInvoice:
        return SalesInvoice(
            number,
            plan.day,
            _seller(),
            self._buyer(plan.customer),
            plan.lines,
            place=DEMO.city.split(" ", 1)[-1],
            payment=Payment(due_date=plan.day + timedelta(days=14), form=PaymentForm.TRANSFER),
        )

    def _issue(self, store: Store, plan: _Planned, *, queue: bool = True) -> Sale:
        return self._issue_invoice(store, self._invoice("", plan), queue=queue)

    def _issue_invoice(self, store: Store, invoice: SalesInvoice, *, queue: bool = True) -> Sale:
        from ksef_tui.services.sales import issue_invoice, sales_xml_root
        from ksef_tui.store.sales import SalesRepository

        return issue_invoice(SalesRepository(store), sales_xml_root(store.path), self.profile, invoice, queue=queue)


def _seller() -> Seller:
    return Seller(DEMO.nip, DEMO.name, Address(DEMO.street, DEMO.city), email="faktury@example.com")


#: What the older program attached to an invoice (FA(3) ``Zalacznik``): KSeF takes it only from companies that
#: enabled attachments in e-Urząd Skarbowy, which the demo company has not.
_ATTACHMENT = (
    "<Zalacznik><BlokDanych><ZNaglowek>Protokół odbioru szkolenia</ZNaglowek>"
    "<MetaDane><ZKlucz>Zamówienie</ZKlucz><ZWartosc>ZAM/2026/118</ZWartosc></MetaDane>"
    "<Tekst><Akapit>Szkolenie przeprowadzono zgodnie z zamówieniem; uczestnicy otrzymali certyfikaty.</Akapit>"
    "</Tekst></BlokDanych></Zalacznik>"
)


def _with_attachment(xml: bytes) -> bytes:
    end = xml.rindex(b"</Faktura>")
    return xml[:end] + _ATTACHMENT.encode("utf-8") + xml[end:]
