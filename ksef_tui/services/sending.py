"""Sending sales invoices to KSeF exactly once (issue 10): the state machine and its write-ahead journal.

Each invoice moves draft → queued → sending → accepted | rejected | needs-attention, and its status in the store
is the journal. Before every network step that could hand KSeF an invoice, the invoice is written ``sending``
with how (``intent``: online or batch) and where (``session_ref``); after it, what KSeF answered (the invoice's
``invoice_ref``, then its KSeF number or refusal). The invoice's SHA-256 (``invoice_hash``) is in the register
from the start. So whatever fails and whenever, an invoice found ``sending`` is **reconciled** with KSeF before it
could ever be sent again:

* online, ``invoice_ref`` known: its status in the session;
* online, no ``invoice_ref`` (the answer to the send was lost, or the process died during it): the session's
  invoice list, searched by the hash; absent means KSeF never took it, so it is queued again;
* batch without a ``session_ref`` (the open's answer never came) or with a session still at 100 (never closed):
  KSeF processes a batch only once it is closed, and only we close it, so nothing was taken: queued again;
* batch closed: wait for the session's final status, then its invoice list by hash;
* a session KSeF no longer knows: a ``Subject1`` metadata query by the invoice number, compared by hash; when
  nothing is found a person decides (``needs-attention``), the app does not guess.

Nothing is ever re-sent on a guess: 5xx and dropped connections on a send, an open or a close are "unknown" and
go through reconciliation; only definite answers (a 400 with its code, a 429, a closed session) requeue or
reject at once. KSeF's own duplicate check (440) is the last guard; when it fires the invoice is marked as a
duplicate with the original's KSeF number, which is what the accountant needs.

Few invoices go through one online session (reused while valid); more than ``batch_from`` through batch sessions
of at most ``batch_max`` invoices. Invoices issued offline (issue 14, ``services.offline``) are sent with
``offlineMode: true`` (in batch, in sessions of their own), a technical correction always online with
``hashOfCorrectedInvoice``; KSeF answering 503 (down, a maintenance) ends the run: the rest stay queued.
Statuses are polled with a doubling pause; per-invoice UPOs are fetched from their pre-signed links (not
rate-limited), the session UPO when the session is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from ksef_tui.domain.booking import WARSAW, warsaw_date
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import Category, UserError
from ksef_tui.ksef.api import KsefApi
from ksef_tui.ksef.errors import ApiError, KsefError, RateLimited, ServerError, TransportFailure
from ksef_tui.ksef.send import (
    INVOICE_DUPLICATE,
    InvoiceStatus,
    OnlineSession,
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
    session_invoices,
    session_status,
    session_upo,
    upload_parts,
    wait_for_session,
)
from ksef_tui.services.sales import sales_xml_root, sent_day
from ksef_tui.store.atomic import atomic_write
from ksef_tui.store.db import Store
from ksef_tui.store.sales import Sale, SaleNotFound, SalesRepository, SendState, SendStatus

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

#: Sessions KSeF closed or never knew: sending into them again is refused, nothing was taken.
SESSION_GONE = (21173, 21180)
#: A session KSeF no longer knows (reconciliation then asks the metadata).
SESSION_UNKNOWN = 21173
#: How many times a batch package may fail as a whole before its invoices wait for a person.
MAX_PACKAGE_FAILURES = 3
#: Per-invoice UPO downloads at once (pre-signed links: not rate-limited).
UPO_CONCURRENCY = 8


class SendMode(StrEnum):
    AUTO = "auto"
    ONLINE = "online"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class SendOptions:
    mode: SendMode = SendMode.AUTO
    batch_from: int = 10  # this many invoices or more go through a batch session (AUTO)
    batch_max: int = 1000  # invoices per batch package
    include_before_start: bool = False  # send invoices issued before the profile's KSeF start date
    poll_first: float = 1.0  # seconds before the first status poll
    poll_max_delay: float = 10.0
    max_wait: float = 900.0  # give up waiting (the invoices stay "sending" and are reconciled next time)
    max_rounds: int = 5  # rounds of sending (requeued invoices go again; corrections after their originals)


@dataclass(frozen=True, slots=True)
class SendProgress:
    phase: str  # reconcile | online | batch | upload | wait | upo | close
    done: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class Skip:
    """An invoice of the request that is not sent, and why (an i18n key with its values)."""

    number: str
    key: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SendReport:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # still sending, queued or needing attention
    late: list[str] = field(default_factory=list)  # offline invoices KSeF accepted after their deadline
    skipped: list[Skip] = field(default_factory=list)
    reconciled: int = 0  # invoices found "sending" from an earlier run and settled with KSeF
    upo_saved: int = 0
    trouble: str | None = None  # the last failure that left invoices queued or unanswered, in words
    network: bool = False  # KSeF could not be reached at some point
    mail_sent: int = 0  # customer e-mails of the KSeF number delivered after the send (automatic mail)
    mail_failed: int = 0  # kept in the outbox for a retry (ksef-tui mail)
    gross: dict[str, str] = field(default_factory=dict)  # currency -> total of what was to be sent
    calls: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "pending": self.pending,
            "late": self.late,
            "skipped": [{"number": s.number, "reason": s.key.rsplit(".", 1)[-1], **s.values} for s in self.skipped],
            "reconciled": self.reconciled,
            "upo_saved": self.upo_saved,
            "mail": {"sent": self.mail_sent, "failed": self.mail_failed},
            "trouble": self.trouble,
            "calls": dict(sorted(self.calls.items())),
        }


def ksef_reason(status: SendStatus) -> str:
    """What KSeF said of a refused invoice: its description and details, each said once (KSeF often repeats the
    description as the only detail, with a full stop), joined; "" when it said nothing."""
    said: list[str] = []
    seen: set[str] = set()
    for part in [status.error_description or "", *status.error_details]:
        text = " ".join(part.split())
        key = text.rstrip(" .").casefold()
        if key and key not in seen:
            seen.add(key)
            said.append(text)
    return " ".join(said)


def sales_upo_root(store_path: Path) -> Path:
    """Where UPOs are kept: ``sales-upo/YYYY/MM/<ksef number>.xml`` and ``sales-upo/sessions/<ref>-<page>.xml``."""
    return store_path.with_name("sales-upo")


class XmlChanged(UserError):
    key = "send.xml_changed"
    category = Category.CONFIG


# ------------------------------------------------------------------------------------------------ choosing


@dataclass(frozen=True, slots=True)
class Plan:
    """What a send would do: the invoices to send now and the ones left out with the reason."""

    ready: list[Sale]
    deferred: list[Sale]  # corrections whose original is being sent in the same run
    skipped: list[Skip]

    def gross(self) -> dict[str, str]:
        totals: dict[str, Any] = {}
        for sale in [*self.ready, *self.deferred]:
            totals[sale.record.currency] = totals.get(sale.record.currency, 0) + sale.record.gross
        return {currency: format(total, "f") for currency, total in sorted(totals.items())}

    @property
    def count(self) -> int:
        return len(self.ready) + len(self.deferred)


SENDABLE_WHEN_ASKED = (SendState.DRAFT, SendState.QUEUED, SendState.REJECTED, SendState.NEEDS_ATTENTION)


def plan_send(
    repo: SalesRepository,
    profile: Profile,
    numbers: Sequence[str] | None,
    *,
    include_before_start: bool = False,
    sending_now: Iterable[str] = (),
    today: date | None = None,
) -> Plan:
    """Choose what to send (blocking). ``numbers=None``: every queued invoice; otherwise those (a draft, a
    rejected invoice or one needing attention is sent when named). Left out, each with its reason: accepted ones
    (never twice), ones being sent (reconciled first), ones issued before the KSeF start date (unless asked),
    corrections whose original is in the register without a KSeF number, invoices dated after ``today`` (in
    Warsaw; KSeF refuses an issue date later than its receipt)."""
    today = today or warsaw_date(datetime.now(WARSAW))
    if numbers is None:
        candidates = repo.list(state=SendState.QUEUED)
    else:
        candidates = []
        for number in dict.fromkeys(numbers):
            sale = repo.get(number)
            if sale is None:
                raise UserError("send.unknown_invoice", number=number, category=Category.INPUT)
            candidates.append(sale)
    skipped: list[Skip] = []
    ready: list[Sale] = []
    deferred: list[Sale] = []
    chosen = {sale.record.number for sale in candidates} | set(sending_now)
    for sale in candidates:
        record, status = sale.record, sale.status
        if status.state is SendState.ACCEPTED:
            skipped.append(Skip(record.number, "send.skip.accepted", {"ksef_number": status.ksef_number or ""}))
            continue
        if status.state is SendState.SENDING:
            skipped.append(Skip(record.number, "send.skip.sending"))
            continue
        if numbers is None and status.state is not SendState.QUEUED:
            continue
        if record.issue_date > today:
            skipped.append(Skip(record.number, "send.skip.future", {"date": record.issue_date.isoformat()}))
            continue
        if record.issue_date < profile.start_date and not include_before_start:
            skipped.append(Skip(record.number, "send.skip.before_start", {"start": profile.start_date.isoformat()}))
            continue
        original = repo.get(record.corrected_number) if record.corrected_number else None
        if original is not None and original.status.state is not SendState.ACCEPTED:
            if original.record.number in chosen and original.status.state is not SendState.REJECTED:
                deferred.append(sale)
            else:
                skipped.append(Skip(record.number, "send.skip.original_not_sent", {"original": original.record.number}))
            continue
        ready.append(sale)
    return Plan(ready, deferred, skipped)


# ------------------------------------------------------------------------------------------------ the sender


class Sender:
    """Sends and reconciles the sales invoices of one company. Async: the store and files are used through
    threads, the network through ``api``. Keep one per open store; :meth:`close` closes the online session."""

    def __init__(
        self,
        profile: Profile,
        api: KsefApi,
        store: Store,
        *,
        options: SendOptions | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        progress: Callable[[SendProgress], None] | None = None,
        on_accepted: Callable[[list[str]], None] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.profile = profile
        self.api = api
        self.repo = SalesRepository(store)
        self.xml_root = sales_xml_root(store.path)
        self.upo_root = sales_upo_root(store.path)
        self.options = options or SendOptions()
        self.clock = clock
        self.progress = progress or (lambda _p: None)
        self.on_accepted = on_accepted  # blocking; called in a thread with the numbers just accepted
        self.sleep = sleep
        self._online: OnlineSession | None = None
        self._online_used = False
        self._closed: set[str] = set()  # batch sessions this sender closed (KSeF said 204)
        self._involved: dict[str, None] = {}
        self._report = SendReport()
        self._unavailable = False  # KSeF said it is unavailable (503) this run: no more rounds

    # -------------------------------------------------------------------------------------------- public

    async def send(
        self, numbers: Sequence[str] | None = None, *, plan: Plan | None = None, keep_session: bool = False
    ) -> SendReport:
        """Reconcile whatever an earlier run left ``sending``, then send ``numbers`` (or every queued invoice)
        until each has KSeF's answer or ``max_rounds`` are spent. The report lists every invoice touched.
        The online session is closed at the end (its UPO saved) unless ``keep_session`` (the app, sending again
        soon, reuses it while it is valid and closes it with :meth:`close`)."""
        self._report = report = SendReport()
        self._involved = {}
        self._unavailable = False
        calls_before = self.api.calls()
        await self.reconcile()
        explicit = None if numbers is None else list(numbers)
        if plan is None:
            plan = await asyncio.to_thread(
                plan_send, self.repo, self.profile, explicit, include_before_start=self.options.include_before_start
            )
        report.gross = plan.gross()
        report.skipped = [s for s in plan.skipped if s.key != "send.skip.sending"]
        wanted = [s.record.number for s in [*plan.ready, *plan.deferred]]
        deferred = {s.record.number: s for s in plan.deferred}
        ready = plan.ready
        for round_no in range(self.options.max_rounds):
            if ready:
                self._involved.update(dict.fromkeys(s.record.number for s in ready))
                await self._send_round(ready)
                await self.settle()
            if round_no == self.options.max_rounds - 1 or self._unavailable:
                break  # KSeF is down (an outage, a maintenance): the queued ones wait for the next send
            left = await asyncio.to_thread(self._still_to_send, wanted, deferred)
            if not left:
                break
            if self._report.trouble is not None:  # KSeF failed this round: give it a moment, more each time
                await self.sleep(min(self.options.poll_first * 2**round_no, self.options.poll_max_delay))
            again = await asyncio.to_thread(
                plan_send, self.repo, self.profile, left, include_before_start=self.options.include_before_start
            )
            known = {s.number for s in report.skipped}
            report.skipped += [s for s in again.skipped if s.number not in known]
            for sale in again.ready:
                deferred.pop(sale.record.number, None)
            if not again.ready:
                break
            ready = again.ready
        for number, sale in deferred.items():
            if number not in self._involved and number not in {s.number for s in report.skipped}:
                original = sale.record.corrected_number or ""
                report.skipped.append(Skip(number, "send.skip.original_not_sent", {"original": original}))
        if not keep_session:
            await self.close()
        await asyncio.to_thread(self._fill_report, report)
        after = self.api.calls()
        report.calls = {g: n - calls_before.get(g, 0) for g, n in after.items() if n - calls_before.get(g, 0)}
        return report

    async def reconcile(self) -> int:
        """Settle every invoice left ``sending`` (by a crash, a lost answer, a wait given up) with KSeF."""
        pending = await asyncio.to_thread(self.repo.list, None, SendState.SENDING)
        if not pending:
            return 0
        self.progress(SendProgress("reconcile", 0, len(pending)))
        self._involved.update(dict.fromkeys(s.record.number for s in pending))
        self._report.reconciled += len(pending)
        await self.settle()
        return len(pending)

    async def close(self) -> None:
        """Close the online session of this sender (KSeF then makes its session UPO, which is saved)."""
        session, self._online = self._online, None
        if session is None or not self._online_used:
            return
        self.progress(SendProgress("close"))
        with contextlib.suppress(KsefError):
            await close_session(self.api, session.reference)
            status = await wait_for_session(
                self.api, session.reference, max_wait=30.0, first_wait=0.5, max_delay=5.0, sleep=self.sleep
            )
            await self._save_session_upo(status, session.reference)

    # ----------------------------------------------------------------------------------------- journal

    def _trouble(self, error: KsefError) -> None:
        """Remember what kept invoices from KSeF this run (the last of it goes into the report)."""
        self._report.trouble = error.message()
        self._report.network = self._report.network or isinstance(error, (TransportFailure, ServerError))
        if isinstance(error, ServerError) and error.status == 503:
            self._unavailable = True

    async def _journal(self, numbers: Iterable[str], change: Callable[[Sale], SendStatus | None]) -> None:
        await asyncio.to_thread(self.repo.update_statuses, list(numbers), change)

    def _sending(self, intent: str, session_ref: str | None) -> Callable[[Sale], SendStatus | None]:
        now = self.clock()

        def change(sale: Sale) -> SendStatus:
            return SendStatus(
                SendState.SENDING,
                now,
                intent=intent,
                session_ref=session_ref,
                attempts=sale.status.attempts + 1,
                mail=sale.status.mail,
                extra={k: v for k, v in sale.status.extra.items() if k == "package_failures"},
            )

        return change

    def _requeue(self, *, package_failed: bool = False, reason: str | None = None) -> Callable[[Sale], SendStatus]:
        """Back to the queue: KSeF did not take the invoice (a definite answer, or reconciliation found no trace).
        A package failing as a whole again and again leaves its invoices to a person."""
        now = self.clock()

        def change(sale: Sale) -> SendStatus:
            failures = int(sale.status.extra.get("package_failures", 0)) + (1 if package_failed else 0)
            state = SendState.NEEDS_ATTENTION if failures >= MAX_PACKAGE_FAILURES else SendState.QUEUED
            extra = {"package_failures": failures} if failures else {}
            return replace(
                sale.status,
                state=state,
                updated_at=now,
                session_ref=None,
                invoice_ref=None,
                error_description=reason if state is SendState.NEEDS_ATTENTION else None,
                extra=extra,
            )

        return change

    # ------------------------------------------------------------------------------------------- sending

    async def _send_round(self, sales: list[Sale]) -> None:
        """Technical corrections always online (KSeF takes ``hashOfCorrectedInvoice`` only there); the rest online
        when few (each invoice with its own ``offlineMode``), else in batch packages, offline invoices in their
        own sessions (``offlineMode`` is the session's there)."""
        corrections = [sale for sale in sales if _technical_correction(sale) is not None]
        if corrections:
            await self._send_online(corrections)
        sales = [sale for sale in sales if _technical_correction(sale) is None]
        if not sales:
            return
        mode = self.options.mode
        if mode is SendMode.ONLINE or (mode is SendMode.AUTO and len(sales) < self.options.batch_from):
            await self._send_online(sales)
            return
        size = max(1, self.options.batch_max)
        for offline in (False, True):
            group = [sale for sale in sales if (sale.record.offline is not None) is offline]
            for start in range(0, len(group), size):
                await self._send_batch(group[start : start + size], offline=offline)

    def _read_xml(self, sale: Sale) -> bytes:
        path = self.xml_root / sale.record.xml_path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise XmlChanged(number=sale.record.number, path=path, reason=exc.strerror or type(exc).__name__) from None
        if hashlib.sha256(data).hexdigest() != sale.record.xml_sha256:
            raise XmlChanged(number=sale.record.number, path=path, reason="sha256")
        return data

    def _unreadable(self, sales: list[Sale]) -> tuple[list[tuple[Sale, bytes]], dict[str, XmlChanged]]:
        good: list[tuple[Sale, bytes]] = []
        bad: dict[str, XmlChanged] = {}
        for sale in sales:
            try:
                good.append((sale, self._read_xml(sale)))
            except XmlChanged as exc:
                bad[sale.record.number] = exc
        if bad:
            self.repo.update_statuses(bad, self._attention({n: (None, e.message()) for n, e in bad.items()}))
        return good, bad

    async def _online_session(self) -> OnlineSession:
        session = self._online
        if session is None or session.valid_until - self.clock() < timedelta(minutes=5):
            session = await open_online_session(self.api)
            self._online, self._online_used = session, False
        return session

    async def _send_online(self, sales: list[Sale]) -> None:
        from ksef_tui.ksef.send import send_invoice

        good, _bad = await asyncio.to_thread(self._unreadable, sales)
        reopened = False
        for done, (sale, xml) in enumerate(good):
            number = sale.record.number
            self.progress(SendProgress("online", done, len(good)))
            try:
                session = await self._online_session()
            except RateLimited:
                await self._journal([s.record.number for s, _ in good[done:]], self._requeue())
                return
            except (ServerError, TransportFailure) as exc:
                self._trouble(exc)
                return  # nothing was marked: they stay queued for the next round
            await self._journal([number], self._sending("online", session.reference))
            self._online_used = True  # from here KSeF may hold an invoice of this session: close it at the end
            try:
                reference = await send_invoice(
                    self.api,
                    session,
                    xml,
                    offline=sale.record.offline is not None,
                    hash_of_corrected=_technical_correction(sale),
                )
            except (ServerError, TransportFailure) as exc:
                self._trouble(exc)
                continue  # unknown: stays "sending" in this session; settle() looks it up by hash
            except RateLimited:
                await self._journal([number], self._requeue())  # the rest stay queued for the next round
                return
            except ApiError as exc:
                if any(exc.has_code(code) for code in SESSION_GONE) and not reopened:
                    self._online, reopened = None, True
                    await self._journal([number], self._requeue())
                    continue  # the next round sends it in a new session
                await self._journal([number], self._refused(exc))
                continue
            await self._journal([number], _with_invoice_ref(reference))

    def _refused(self, exc: ApiError) -> Callable[[Sale], SendStatus]:
        """A definite 400 on a send: KSeF took nothing; the code and words are kept, a person looks."""
        reason = (exc.codes[0] if exc.codes else exc.status, exc.message())
        return lambda sale: self._attention({sale.record.number: reason})(sale)

    def _attention(self, reasons: dict[str, tuple[int | None, str]]) -> Callable[[Sale], SendStatus]:
        """Not sent, and sending again as it is would not help: the code (if KSeF gave one) and why."""
        now = self.clock()

        def change(sale: Sale) -> SendStatus:
            code, description = reasons[sale.record.number]
            return replace(
                sale.status,
                state=SendState.NEEDS_ATTENTION,
                updated_at=now,
                invoice_ref=None,
                error_code=code,
                error_description=description,
            )

        return change

    async def _send_batch(self, sales: list[Sale], *, offline: bool = False) -> None:
        good, _bad = await asyncio.to_thread(self._unreadable, sales)
        if not good:
            return
        numbers = [sale.record.number for sale, _ in good]
        self.progress(SendProgress("batch", 0, len(numbers)))
        files = {f"{sale.record.xml_sha256}.xml": xml for sale, xml in good}
        package = await asyncio.to_thread(prepare_batch, files)
        await self._journal(numbers, self._sending("batch", None))
        try:
            session = await open_batch_session(self.api, package, offline=offline)
        except (ServerError, TransportFailure, RateLimited) as exc:
            self._trouble(exc)
            await self._journal(numbers, self._requeue())  # never closed, so never processed
            return
        except ApiError as exc:
            await self._journal(numbers, self._refused(exc))
            return
        await self._journal(numbers, lambda s: replace(s.status, session_ref=session.reference))
        self.progress(SendProgress("upload", 0, len(package.parts)))
        try:
            await upload_parts(self.api, session, package)
        except KsefError as exc:
            self._trouble(exc)
            await self._journal(numbers, self._requeue())  # the session is abandoned unclosed: KSeF cancels it
            return
        try:
            await close_batch_session(self.api, session.reference)
            self._closed.add(session.reference)
        except (ServerError, TransportFailure) as exc:
            self._trouble(exc)  # closed or not: settle() asks the session's status
        except RateLimited:
            await self._journal(numbers, self._requeue())
        except ApiError:
            await self._journal(numbers, self._requeue(package_failed=True))

    # -------------------------------------------------------------------------------------- settling

    async def settle(self) -> None:
        """Wait for KSeF's answer about every invoice of this run still ``sending``; apply it."""
        sending = [s for s in await asyncio.to_thread(self._involved_sales) if s.status.state is SendState.SENDING]
        if not sending:
            return
        orphans = [s.record.number for s in sending if s.status.session_ref is None]
        if orphans:
            await self._journal(orphans, self._requeue())  # a batch never opened (or its answer lost): not closed
        by_session: dict[str, list[Sale]] = {}
        for sale in sending:
            if sale.status.session_ref is not None:
                by_session.setdefault(sale.status.session_ref, []).append(sale)
        for reference, sales in by_session.items():
            try:
                if any(s.status.intent == "batch" for s in sales):
                    await self._settle_batch(reference, sales)
                else:
                    await self._settle_online(reference, sales)
            except ApiError as exc:
                if exc.has_code(SESSION_UNKNOWN):
                    await self._settle_by_metadata(sales)
                elif isinstance(exc, (ServerError, RateLimited)):
                    self._trouble(exc)
                else:
                    raise
            except (TransportFailure, SessionNotDone) as exc:
                self._trouble(exc)  # KSeF could not answer now: they stay "sending", reconciled on the next run

    def _involved_sales(self) -> list[Sale]:
        found: list[Sale] = []
        for number in self._involved:
            sale = self.repo.get(number)
            if sale is not None:
                found.append(sale)
        return found

    def _still_to_send(self, numbers: list[str], deferred: dict[str, Sale]) -> list[str]:
        """Invoices of the request KSeF has not taken yet: requeued ones, and corrections still waiting for
        their original (whatever their state)."""
        left = []
        for number in numbers:
            sale = self.repo.get(number)
            if sale is None:
                continue
            state = sale.status.state
            if state is SendState.QUEUED or (number in deferred and state in SENDABLE_WHEN_ASKED):
                left.append(number)
        return left

    async def _settle_online(self, reference: str, sales: list[Sale]) -> None:
        delay, waited = self.options.poll_first, 0.0
        waiting = {s.record.number: s for s in sales}
        while waiting:
            # The first pause also lets a send whose answer was lost land before its absence is believed.
            await self.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.options.poll_max_delay)
            self.progress(SendProgress("wait", len(sales) - len(waiting), len(sales)))
            statuses = await self._statuses(reference, list(waiting.values()))
            missing = [n for n, s in waiting.items() if n not in statuses and not s.status.invoice_ref]
            if missing:  # KSeF has no invoice with this hash in the session: the send never arrived
                await self._journal(missing, self._requeue())
            done = {n: st for n, st in statuses.items() if not st.in_progress}
            await self._apply(reference, {n: waiting[n] for n in done}, done)
            for number in [*missing, *done]:
                waiting.pop(number, None)
            if waiting and waited >= self.options.max_wait:
                return  # they stay "sending": the next run reconciles them

    async def _statuses(self, reference: str, sales: list[Sale]) -> dict[str, InvoiceStatus]:
        """The KSeF status of each invoice: one call each for a few with known references, else the session's
        list by hash (when an invoice went twice, the accepted copy wins)."""
        if len(sales) <= 3 and all(s.status.invoice_ref for s in sales):
            found = {}
            for sale in sales:
                assert sale.status.invoice_ref is not None
                found[sale.record.number] = await invoice_status(self.api, reference, sale.status.invoice_ref)
            return found
        by_hash: dict[str, InvoiceStatus] = {}
        for item in await session_invoices(self.api, reference):
            kept = by_hash.get(item.invoice_hash)
            if kept is None or not kept.accepted:
                by_hash[item.invoice_hash] = item
        return {s.record.number: by_hash[s.record.invoice_hash] for s in sales if s.record.invoice_hash in by_hash}

    async def _settle_batch(self, reference: str, sales: list[Sale]) -> None:
        if reference in self._closed:
            status = None  # closed just now: straight to waiting, no call to learn what we know
        else:
            status = await session_status(self.api, reference)
        if status is not None and status.code == 100:
            # Never closed (the run died or its close failed before KSeF got it): KSeF will cancel the session
            # without processing it, so the invoices were not taken.
            await self._journal([s.record.number for s in sales], self._requeue())
            return
        if status is None or status.in_progress:
            self.progress(SendProgress("wait", 0, len(sales)))
            first = self.options.poll_first * (1 + len(sales) / 500)
            status = await wait_for_session(
                self.api,
                reference,
                max_wait=self.options.max_wait,
                first_wait=first,
                max_delay=self.options.poll_max_delay,
                sleep=self.sleep,
            )
        listed = await session_invoices(self.api, reference) if status.invoice_count or status.code == 200 else []
        by_hash = {item.invoice_hash: item for item in listed}
        done = {s.record.number: by_hash[s.record.invoice_hash] for s in sales if s.record.invoice_hash in by_hash}
        await self._apply(reference, {s.record.number: s for s in sales if s.record.number in done}, done)
        missing = [s.record.number for s in sales if s.record.number not in done]
        if missing:
            reason = f"{status.code} {status.description}: {'; '.join(status.details)}".strip(": ")
            await self._journal(missing, self._requeue(package_failed=True, reason=reason))
        await self._save_session_upo(status, reference)

    async def _settle_by_metadata(self, sales: list[Sale]) -> None:
        """KSeF no longer knows the session: look for each invoice among the company's sales by its number."""
        from ksef_tui.ksef.receive import date_range, query_metadata

        found: dict[str, Any] = {}
        for sale in sales:
            start = sale.status.updated_at - timedelta(days=1)
            page = await query_metadata(
                self.api,
                {
                    "subjectType": "Subject1",
                    "dateRange": date_range("Invoicing", start, None, restrict_to_hwm=False),
                    "invoiceNumber": sale.record.number,
                },
                page_size=10,
            )
            match = next((m for m in page.invoices if m.invoice_hash == sale.record.invoice_hash), None)
            if match is not None:
                found[sale.record.number] = match
        now = self.clock()

        def change(sale: Sale) -> SendStatus:
            meta = found.get(sale.record.number)
            if meta is None:
                return replace(
                    sale.status,
                    state=SendState.NEEDS_ATTENTION,
                    updated_at=now,
                    error_description="session unknown to KSeF and no invoice with this number and hash found",
                )
            return replace(
                sale.status,
                state=SendState.ACCEPTED,
                updated_at=now,
                ksef_number=meta.ksef_number,
                acquisition_date=meta.acquisition_date,
            )

        await self._journal([s.record.number for s in sales], change)
        accepted = list(found)
        if accepted and self.on_accepted is not None:
            await asyncio.to_thread(self.on_accepted, accepted)

    # -------------------------------------------------------------------------------------- outcomes

    async def _apply(self, reference: str, sales: dict[str, Sale], statuses: dict[str, InvoiceStatus]) -> None:
        if not statuses:
            return
        now = self.clock()

        def change(sale: Sale) -> SendStatus:
            st = statuses[sale.record.number]
            base = replace(sale.status, updated_at=now, session_ref=reference, invoice_ref=st.reference)
            if sale.record.offline is not None and (st.accepted or st.code == INVOICE_DUPLICATE):
                # When KSeF took it: whether the offline deadline was met is judged by this day.
                base = replace(base, extra={**base.extra, "sent_at": st.invoicing_date.isoformat()})
            if st.accepted:
                return replace(
                    base,
                    state=SendState.ACCEPTED,
                    ksef_number=st.ksef_number,
                    acquisition_date=st.acquisition_date,
                    error_code=None,
                    error_description=None,
                    error_details=(),
                    duplicate=False,
                )
            if st.code == INVOICE_DUPLICATE and st.original_ksef_number:
                return replace(
                    base,
                    state=SendState.ACCEPTED,
                    ksef_number=st.original_ksef_number,
                    duplicate=True,
                    error_code=st.code,
                    error_description=st.description,
                    error_details=st.details,
                    extra={**base.extra, "original_session": st.original_session or ""},
                )
            return replace(
                base,
                state=SendState.REJECTED,
                error_code=st.code,
                error_description=st.description,
                error_details=st.details,
            )

        await self._journal(list(statuses), change)
        accepted = [n for n, st in statuses.items() if st.accepted or st.code == INVOICE_DUPLICATE]
        await self._save_upos(reference, {n: (sales[n], statuses[n]) for n in accepted if n in sales})
        fresh = [n for n, st in statuses.items() if st.accepted]
        if fresh and self.on_accepted is not None:
            await asyncio.to_thread(self.on_accepted, fresh)

    async def _save_upos(self, reference: str, items: dict[str, tuple[Sale, InvoiceStatus]]) -> None:
        """Each accepted invoice's UPO beside the register (a duplicate's from the original session). A UPO that
        cannot be had now is not worth failing the send for: ``ksef-tui upo`` fetches it later."""
        if not items:
            return
        gate = asyncio.Semaphore(UPO_CONCURRENCY)
        saved: dict[str, str] = {}
        self.progress(SendProgress("upo", 0, len(items)))

        async def one(number: str, sale: Sale, st: InvoiceStatus) -> None:
            async with gate:
                try:
                    if st.accepted and st.upo_download_url:
                        data = await download_presigned(self.api, st.upo_download_url)
                    elif st.accepted and st.ksef_number:
                        data = await invoice_upo(self.api, reference, ksef_number=st.ksef_number)
                    elif st.original_session and st.original_ksef_number:
                        data = await invoice_upo(self.api, st.original_session, ksef_number=st.original_ksef_number)
                    else:
                        return
                except KsefError:
                    return
                ksef_number = st.ksef_number or st.original_ksef_number or number
                relative = f"{sale.record.issue_date:%Y}/{sale.record.issue_date:%m}/{ksef_number}.xml"
                await asyncio.to_thread(atomic_write, self.upo_root / relative, data)
                saved[number] = relative

        await asyncio.gather(*(one(n, sale, st) for n, (sale, st) in items.items()))
        if saved:
            await self._journal(saved, lambda s: replace(s.status, upo_path=saved[s.record.number]))
            self._report.upo_saved += len(saved)

    async def _save_session_upo(self, status: SessionStatus, reference: str) -> None:
        for index, page in enumerate(status.upo_pages, start=1):
            target = self.upo_root / "sessions" / f"{reference}-{index}.xml"
            if target.exists():
                continue
            with contextlib.suppress(KsefError):
                try:
                    data = await download_presigned(self.api, page.download_url)
                except KsefError:
                    data = await session_upo(self.api, reference, page.reference)
                await asyncio.to_thread(atomic_write, target, data)

    def _fill_report(self, report: SendReport) -> None:
        for number in self._involved:
            sale = self.repo.get(number)
            if sale is None:
                continue
            status = sale.status
            if status.state is SendState.ACCEPTED:
                (report.duplicates if status.duplicate else report.accepted).append(number)
                if _late(sale):
                    report.late.append(number)
            elif status.state is SendState.REJECTED:
                report.rejected.append(number)
            else:
                report.pending.append(number)


def _technical_correction(sale: Sale) -> str | None:
    """The rejected original's hash when ``sale`` is a technical correction (sent with it), else ``None``."""
    offline = sale.record.offline
    return None if offline is None else offline.corrected_hash


def _late(sale: Sale) -> bool:
    """An accepted offline invoice that reached KSeF after its deadline."""
    offline = sale.record.offline
    if offline is None or offline.deadline is None:
        return False
    sent = sent_day(sale)
    return sent is not None and sent > offline.deadline


def _with_invoice_ref(reference: str) -> Callable[[Sale], SendStatus]:
    return lambda sale: replace(sale.status, invoice_ref=reference)


async def fetch_upo(api: KsefApi, store: Store, ksef_number: str) -> tuple[Sale, Path]:
    """The UPO of a sales invoice by its KSeF number: the saved copy, or fetched from KSeF and saved."""
    repo = SalesRepository(store)
    sale = await asyncio.to_thread(find_by_ksef_number, repo, ksef_number)
    root = sales_upo_root(store.path)
    if sale.status.upo_path and (root / sale.status.upo_path).is_file():
        return sale, root / sale.status.upo_path
    session = sale.status.extra.get("original_session") if sale.status.duplicate else sale.status.session_ref
    if not session:
        raise UserError("upo.no_session", number=sale.record.number, category=Category.KSEF)
    data = await invoice_upo(api, str(session), ksef_number=ksef_number)
    relative = f"{sale.record.issue_date:%Y}/{sale.record.issue_date:%m}/{ksef_number}.xml"
    await asyncio.to_thread(atomic_write, root / relative, data)
    await asyncio.to_thread(repo.update_statuses, [sale.record.number], lambda s: replace(s.status, upo_path=relative))
    return sale, root / relative


def local_upo(store: Store, ksef_number: str) -> tuple[Sale, Path | None]:
    """The sale with this KSeF number and its saved UPO, if there is one (blocking)."""
    sale = find_by_ksef_number(SalesRepository(store), ksef_number)
    root = sales_upo_root(store.path)
    if sale.status.upo_path and (root / sale.status.upo_path).is_file():
        return sale, root / sale.status.upo_path
    return sale, None


def find_by_ksef_number(repo: SalesRepository, ksef_number: str) -> Sale:
    sale = repo.by_ksef_number(ksef_number)
    if sale is None:
        raise UserError("upo.unknown", ksef_number=ksef_number, category=Category.INPUT)
    return sale


__all__ = [
    "Plan",
    "SaleNotFound",
    "SendMode",
    "SendOptions",
    "SendProgress",
    "SendReport",
    "Sender",
    "Skip",
    "fetch_upo",
    "local_upo",
    "plan_send",
    "sales_upo_root",
]
