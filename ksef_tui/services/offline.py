"""Offline invoicing (issue 14, CERTS_OFFLINE.md §5): issuing sales invoices outside KSeF with KOD I and KOD II,
their deadlines, and the technical correction of an offline invoice KSeF rejected, for both faces.

* **Issue offline** (:func:`import_offline`, :func:`issue_offline_invoice`): the invoice's bytes are kept exactly as
  they are (an imported file byte for byte), and the record gets the offline mode, the moment of issue, KOD I
  (``OFFLINE`` under it until KSeF numbers it) and KOD II over the SHA-256 of those bytes, signed with the
  company's KSeF certificate of type ``Offline`` from the vault (:func:`offline_signer`; context = the profile's
  NIP, seller = ``Podmiot1``'s NIP), and the deadline of its mode (``domain.offline.deadline``). It is queued: the
  send pipeline (``services.sending``) sends it with ``offlineMode: true`` once KSeF answers again.
* **Outages**: ``offline`` and ``emergency`` need the KSeF unavailability or failure that covers the issue day;
  the caller passes what it knows (the command line: ``--outage-start``/``--outage-end`` from KSeF's
  announcement; the availability service, when it lands, what Latarnia says). Each offline record keeps the
  outages it was judged by; :func:`record_outages` adds new ones (an end learnt later, a failure announced while
  invoices are pending) and recomputes the deadlines of the unsent ones. An outage whose end is not known yet
  gives no date (``deadline`` ``None``: waiting), never a guessed one.
* **Technical correction** (:func:`correct_technically`): a rejected offline invoice, rejected for a technical
  reason (:data:`TECHNICAL_CODES`), gets its fixed XML (same number, same issue date, same offline issue) in the
  register in place of the rejected bytes (which stay on disk); it is sent online with ``offlineMode: true`` and
  ``hashOfCorrectedInvoice`` = the rejected original's hash.

Blocking by design (vault, files, the store) except :func:`correct_and_send`; no key material ever leaves the
:class:`OfflineSigner` (its repr, the errors and the records carry the certificate's serial only).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui.domain.booking import WARSAW, warsaw_date
from ksef_tui.domain.credential import Credential, CredentialKind
from ksef_tui.domain.offline import (
    DeadlineState,
    DeadlineStatus,
    OfflineMode,
    Outage,
    OutageKind,
    deadline,
    deadline_status,
)
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import Category, UserError
from ksef_tui.i18n import t
from ksef_tui.services.sales import ImportResult, import_invoices, issue_invoice, record_of, write_xml
from ksef_tui.store.sales import OfflineIssue, Sale, SaleRecord, SalesRepository, SendState, SendStatus

if TYPE_CHECKING:
    from cryptography import x509

    from ksef_tui.domain.invoice import SalesInvoice
    from ksef_tui.ksef.limits import Wait
    from ksef_tui.services.sending import SendOptions, SendProgress, SendReport
    from ksef_tui.services.workspace import Workspace

Clock = Callable[[], datetime]

#: The modes an invoice may be issued in with codes (a total failure has no QR codes and need not be sent).
ISSUE_MODES: tuple[OfflineMode, ...] = (OfflineMode.OFFLINE24, OfflineMode.OFFLINE, OfflineMode.EMERGENCY)

#: Invoice status codes KSeF rejects for technical reasons (PROTOCOL.md §5.6): file integrity (430), decryption
#: (435), duplicate (440), schema or semantic validation (450). 410 (permissions) and 415 (attachments not
#: enabled) are not: a technical correction cannot fix them (CERTS_OFFLINE.md §5.2).
TECHNICAL_CODES = frozenset({430, 435, 440, 450})

#: The outage each mode is issued in.
_OUTAGE_OF = {OfflineMode.OFFLINE: OutageKind.UNAVAILABILITY, OfflineMode.EMERGENCY: OutageKind.FAILURE}


class NoOfflineCertificate(UserError):
    """The company has no usable KSeF certificate of type Offline in the vault; the hint says how to get one."""

    key = "offline.no_certificate"
    category = Category.CONFIG


class OutageUnknown(UserError):
    """An ``offline``/``emergency`` invoice with no known outage of its kind covering its issue day."""

    key = "offline.outage_unknown"
    category = Category.INPUT


class NotCorrectable(UserError):
    """A technical correction refused, with the reason."""

    category = Category.INPUT


# ------------------------------------------------------------------------------------------------ the signer


@dataclass(frozen=True, slots=True)
class OfflineSigner:
    """The company's Offline KSeF certificate with its key, read from the vault for signing KOD II."""

    credential: str  # the vault credential's name
    serial: str  # 16 upper-case hex digits, as KSeF writes it
    certificate: x509.Certificate = field(repr=False)
    private_key: object = field(repr=False)
    not_after: datetime | None = None


def parse_mode(text: str) -> OfflineMode:
    """``offline24``, ``offline`` or ``emergency``; refused with the choices otherwise."""
    try:
        mode = OfflineMode(text.strip().lower())
    except ValueError:
        mode = None
    if mode not in ISSUE_MODES:
        options = ", ".join(m.value for m in ISSUE_MODES)
        raise UserError("offline.bad_mode", value=text, options=options, category=Category.INPUT)
    assert mode is not None
    return mode


def offline_certificates(workspace: Workspace, profile: Profile) -> list[Credential]:
    """The Offline KSeF certificates the company may sign KOD II with (blocking): kept in the vault of the profile's
    environment, of the identity the profile signs in with (an office's own certificate works for its clients,
    CERTS_OFFLINE.md §4.2 item 5) or of the company's NIP. Newest expiry first."""
    login = workspace.profiles.credential_of(profile)
    identities = {f"Nip:{profile.nip}"} | ({login.identity} if login.identity else set())
    found = [
        c
        for c in workspace.profiles.credentials()
        if c.kind is CredentialKind.CERTIFICATE
        and c.certificate_type == "offline"
        and c.environment == profile.vault_environment
        and c.identity in identities
    ]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda c: c.not_after or far, reverse=True)


def offline_signer(
    workspace: Workspace, profile: Profile, *, credential: str | None = None, now: datetime | None = None
) -> OfflineSigner:
    """The certificate and key that sign the company's KOD II (blocking: reads the vault): ``credential`` by name,
    else the company's valid Offline certificate expiring last. :class:`NoOfflineCertificate` with what to do
    when there is none (or none valid now), or the named one is not an Offline certificate of this company."""
    from ksef_tui.services.credentials import load_signing

    moment = now or datetime.now(UTC)
    candidates = offline_certificates(workspace, profile)
    if credential is not None:
        chosen = next((c for c in candidates if c.name == credential), None)
        if chosen is None:
            raise NoOfflineCertificate("offline.not_offline_certificate", name=credential, profile=profile.name)
    else:
        valid = [c for c in candidates if c.valid_at(moment)]
        if not valid:
            if candidates:
                last = candidates[0]
                until = last.not_after.date().isoformat() if last.not_after else "-"
                raise NoOfflineCertificate("offline.certificate_expired", name=last.name, date=until,
                                           profile=profile.name)  # fmt: skip
            raise NoOfflineCertificate(profile=profile.name, nip=profile.nip)
        chosen = valid[0]
    if not chosen.valid_at(moment):
        until = chosen.not_after.date().isoformat() if chosen.not_after else "-"
        raise NoOfflineCertificate("offline.certificate_expired", name=chosen.name, date=until, profile=profile.name)
    signing = load_signing(workspace.vault(profile), chosen)
    return OfflineSigner(
        credential=chosen.name,
        serial=f"{signing.certificate.serial_number:016X}",
        certificate=signing.certificate,
        private_key=signing.private_key,
        not_after=chosen.not_after,
    )


# ------------------------------------------------------------------------------------------------ outages


def parse_moment(text: str) -> date | datetime:
    """A day (``YYYY-MM-DD``) or a moment (ISO 8601; without an offset it is Warsaw time) of an outage."""
    value = text.strip()
    try:
        if "T" not in value and " " not in value:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError("offline.bad_moment", value=text, category=Category.INPUT) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=WARSAW)


def outage(kind: OutageKind | str, start: date | datetime, end: date | datetime | None = None) -> Outage:
    """An announced outage; refused in the user's words when it ends before it starts."""
    try:
        return Outage(OutageKind(kind), start, end)
    except ValueError:
        raise UserError("offline.outage_ends_before", start=str(start), end=str(end), category=Category.INPUT) from None


def outage_of_mode(mode: OfflineMode, start: date | datetime, end: date | datetime | None = None) -> Outage:
    """The outage an ``offline`` (KSeF unavailability) or ``emergency`` (KSeF failure) invoice is issued in."""
    kind = _OUTAGE_OF.get(mode)
    if kind is None:
        raise UserError("offline.outage_not_needed", mode=mode.value, category=Category.INPUT)
    return outage(kind, start, end)


def merge_outages(known: Iterable[Outage], new: Iterable[Outage]) -> tuple[Outage, ...]:
    """``known`` with ``new`` added; an outage of the same kind starting the same day is replaced (its end learnt
    or moved)."""
    merged: dict[tuple[OutageKind, date], Outage] = {(o.kind, o.start_day): o for o in known}
    for item in new:
        merged[(item.kind, item.start_day)] = item
    return tuple(sorted(merged.values(), key=lambda o: (o.start_day, o.kind.value)))


def _deadline(mode: OfflineMode, number: str, issued: date, outages: Sequence[Outage]) -> date | None:
    try:
        return deadline(mode, issued, outages)
    except ValueError:
        raise OutageUnknown(
            number=number, mode=t(f"offline.mode.{mode.value}"), outage=t(f"offline.outage.{_OUTAGE_OF[mode].value}"),
            date=issued.isoformat(),
        ) from None  # fmt: skip


def check_outages(mode: OfflineMode, outages: Sequence[Outage]) -> None:
    """Refuse an ``offline``/``emergency`` issue before anything is read when no outage of its kind is known."""
    kind = _OUTAGE_OF.get(mode)
    if kind is not None and not any(o.kind is kind for o in outages):
        raise OutageUnknown(
            "offline.outage_missing", mode=t(f"offline.mode.{mode.value}"), outage=t(f"offline.outage.{kind.value}")
        )


# ------------------------------------------------------------------------------------------------ issuing


def offline_issue(
    profile: Profile,
    record: SaleRecord,
    xml: bytes,
    *,
    mode: OfflineMode,
    signer: OfflineSigner,
    outages: Sequence[Outage] = (),
    issued_at: datetime,
) -> OfflineIssue:
    """The offline issue of the invoice ``xml`` (its exact bytes) registered as ``record``: KOD I and KOD II over
    their SHA-256 and the deadline of ``mode`` (:class:`OutageUnknown` when the outage it needs is not known)."""
    from ksef_tui.fa.kod2 import kod2_url
    from ksef_tui.fa.qr import kod1_url

    seller = profile.nip  # Podmiot1: imports and the form refuse an invoice of another seller
    due = _deadline(mode, record.number, record.issue_date, outages)
    env = profile.qr_environment
    return OfflineIssue(
        mode=mode,
        issued_at=issued_at,
        kod1=kod1_url(env, seller, record.issue_date, xml),
        kod2=kod2_url(
            env,
            context_type="Nip",
            context_value=profile.nip,
            seller_nip=seller,
            xml=xml,
            certificate=signer.certificate,
            private_key=signer.private_key,
            cert_serial=signer.serial,
            kind="offline",
        ),
        certificate_serial=signer.serial,
        deadline=due,
        outages=merge_outages((), outages),
    )


def import_offline(
    repo: SalesRepository,
    xml_root: Path,
    profile: Profile,
    paths: Sequence[Path],
    *,
    mode: OfflineMode,
    signer: OfflineSigner,
    outages: Sequence[Outage] = (),
    clock: Clock = lambda: datetime.now(UTC),
) -> ImportResult:
    """``sales import --offline MODE``: FA(3) files issued offline, queued to be sent with ``offlineMode``. Each
    file is checked as a plain import checks it, and refused on its own when its issue day is not covered by a
    known outage of its mode."""
    check_outages(mode, outages)
    now = clock()

    def mark(record: SaleRecord, data: bytes) -> SaleRecord:
        issue = offline_issue(profile, record, data, mode=mode, signer=signer, outages=outages, issued_at=now)
        return replace(record, offline=issue)

    return import_invoices(repo, xml_root, profile, paths, clock=lambda: now, mark=mark)


def issue_offline_invoice(
    repo: SalesRepository,
    xml_root: Path,
    profile: Profile,
    invoice: SalesInvoice,
    *,
    mode: OfflineMode,
    signer: OfflineSigner,
    outages: Sequence[Outage] = (),
    series: str | None = None,
    clock: Clock = lambda: datetime.now(UTC),
) -> Sale:
    """An invoice entered in the app, numbered and built as ``services.sales.issue_invoice`` does, issued offline
    (queued; sent with ``offlineMode`` when KSeF answers)."""
    check_outages(mode, outages)
    now = clock()

    def mark(record: SaleRecord, data: bytes) -> SaleRecord:
        issue = offline_issue(profile, record, data, mode=mode, signer=signer, outages=outages, issued_at=now)
        return replace(record, offline=issue)

    return issue_invoice(repo, xml_root, profile, invoice, series=series, clock=lambda: now, mark=mark)


# ------------------------------------------------------------------------------------------------ deadlines


@dataclass(frozen=True, slots=True)
class DeadlineChange:
    number: str
    before: date | None
    after: date | None


def unsent_offline(repo: SalesRepository) -> list[Sale]:
    """Offline invoices KSeF has not accepted yet (blocking)."""
    return [s for s in repo.list() if s.record.offline is not None and s.status.state is not SendState.ACCEPTED]


def record_outages(repo: SalesRepository, outages: Sequence[Outage]) -> list[DeadlineChange]:
    """KSeF announced ``outages`` (new ones, or known ones with their end): each unsent offline invoice keeps them
    and its deadline is recomputed; one write per month touched. The invoices whose deadline changed."""
    if not outages:
        return []
    pending = [s.record.number for s in unsent_offline(repo)]
    changes: list[DeadlineChange] = []

    def change(sale: Sale) -> tuple[SaleRecord, SendStatus | None] | None:
        offline = sale.record.offline
        if offline is None or sale.status.state is SendState.ACCEPTED:
            return None
        known = merge_outages(offline.outages, outages)
        try:
            due = deadline(offline.mode, sale.record.issue_date, known)
        except ValueError:
            due = offline.deadline  # the outage it was issued in is not among them: the deadline stands
        if known == offline.outages and due == offline.deadline:
            return None
        if due != offline.deadline:
            changes.append(DeadlineChange(sale.record.number, offline.deadline, due))
        return replace(sale.record, offline=replace(offline, outages=known, deadline=due)), None

    if pending:
        repo.update_records(pending, change)
    return changes


def deadline_of(sale: Sale, today: date | None = None) -> DeadlineStatus | None:
    """An unsent offline invoice's deadline as the UI shows it (``None`` for any other invoice)."""
    offline = sale.record.offline
    if offline is None or sale.status.state is SendState.ACCEPTED:
        return None
    return deadline_status(offline.mode, offline.deadline, today or warsaw_date(datetime.now(WARSAW)))


def deadline_text(status: DeadlineStatus) -> str:
    """The deadline in words (``offline.deadline.*``), the date as the screens write dates (``DD.MM.YYYY``)."""
    when = f"{status.deadline:%d.%m.%Y}" if status.deadline is not None else ""
    if status.state is DeadlineState.OPEN:
        return t("offline.deadline.open", count=status.business_days, date=when)
    if status.state is DeadlineState.OVERDUE:
        if status.business_days == 0:
            return t("offline.deadline.late", date=when)
        return t("offline.deadline.overdue", count=status.business_days, date=when)
    if status.state is DeadlineState.DUE_TODAY:
        return t("offline.deadline.due_today", date=when)
    return t(f"offline.deadline.{status.state.value}")


# ------------------------------------------------------------------------------------------------ technical correction


def correct_technically(
    repo: SalesRepository,
    xml_root: Path,
    profile: Profile,
    number: str,
    path: Path,
    *,
    signer: OfflineSigner,
    clock: Clock = lambda: datetime.now(UTC),
) -> Sale:
    """Put the fixed XML of the rejected offline invoice ``number`` in its place and queue it (blocking). The file
    must be a valid FA(3) of the same seller with the same number and issue date, and not the rejected bytes; the
    invoice must be an offline one KSeF rejected for a technical reason. Its mode, issue time and deadline stay;
    KOD I and KOD II are made over the new bytes; ``corrected_hash`` is the rejected original's hash (of the first
    rejected original when a correction was itself rejected), which the send gives KSeF."""
    from ksef_tui.services.sales import read_own_invoice

    sale = repo.get(number)
    if sale is None:
        raise UserError("send.unknown_invoice", number=number, category=Category.INPUT)
    refusal_of_invoice(sale)
    data, parsed = read_own_invoice(path, profile)
    if parsed.number != number:
        raise NotCorrectable("offline.correct.other_number", path=path, found=parsed.number, number=number)
    if parsed.issue_date != sale.record.issue_date:
        raise NotCorrectable(
            "offline.correct.other_date",
            path=path,
            found=parsed.issue_date.isoformat(),
            number=number,
            expected=sale.record.issue_date.isoformat(),
        )
    if hashlib.sha256(data).hexdigest() == sale.record.xml_sha256:
        raise NotCorrectable("offline.correct.same_file", path=path, number=number)
    now = clock()
    original = sale.record
    offline = original.offline
    assert offline is not None
    fixed = record_of(parsed, data, original.source, original.created_at)
    issue = offline_issue(
        profile, fixed, data, mode=offline.mode, signer=signer, outages=offline.outages, issued_at=offline.issued_at
    )
    issue = replace(
        issue,
        deadline=offline.deadline,  # the same offline issue: the same deadline
        corrected_hash=offline.corrected_hash or original.invoice_hash,
        corrected_xml_path=offline.corrected_xml_path or original.xml_path,
    )
    fixed = replace(fixed, offline=issue)
    write_xml(xml_root, [(fixed, data)])  # the bytes first: a record never names a file not on disk
    status = SendStatus(SendState.QUEUED, now, attempts=sale.status.attempts, mail=sale.status.mail)

    def change(current: Sale) -> tuple[SaleRecord, SendStatus | None]:
        refusal_of_invoice(current)  # still as it was when checked (under the store's lock now)
        return fixed, status

    changed = repo.update_records([number], change)
    return changed[number]


def refusal_of_invoice(sale: Sale) -> None:
    """:class:`NotCorrectable` when ``sale`` cannot be corrected technically: not issued offline, not rejected,
    or rejected for a reason that is not technical."""
    record, status = sale.record, sale.status
    if record.offline is None:
        raise NotCorrectable("offline.correct.not_offline", number=record.number)
    if status.state is not SendState.REJECTED:
        raise NotCorrectable(
            "offline.correct.not_rejected", number=record.number, state=t(f"sale.state.{status.state.value}")
        )
    if status.error_code not in TECHNICAL_CODES:
        reason = " ".join([status.error_description or "", *status.error_details]).strip() or "-"
        key = "offline.correct.permissions" if status.error_code in (410, 415) else "offline.correct.not_technical"
        raise NotCorrectable(key, number=record.number, code=status.error_code or "-", reason=reason)


async def correct_and_send(
    workspace: Workspace,
    profile: Profile,
    number: str,
    path: Path,
    *,
    credential: str | None = None,
    send: bool = True,
    options: SendOptions | None = None,
    on_wait: Callable[[Wait], None] | None = None,
    on_progress: Callable[[SendProgress], None] | None = None,
) -> tuple[Sale, SendReport | None]:
    """``sales correct-technical``: the correction into the register (:func:`correct_technically`, KOD II signed
    with the company's Offline certificate), then, unless ``send`` is false, sent online at once through the
    exactly-once pipeline (``offlineMode`` and ``hashOfCorrectedInvoice``)."""
    from ksef_tui.services.sales import sales_xml_root
    from ksef_tui.services.sending import SendMode, SendOptions

    signer = await asyncio.to_thread(offline_signer, workspace, profile, credential=credential)

    def correct() -> Sale:
        with workspace.open_store(profile) as store:
            repo = SalesRepository(store)
            return correct_technically(repo, sales_xml_root(store.path), profile, number, path, signer=signer)

    sale = await asyncio.to_thread(correct)
    if not send:
        return sale, None
    chosen = replace(options or SendOptions(), mode=SendMode.ONLINE)
    report = await workspace.send(profile, [number], options=chosen, on_wait=on_wait, on_progress=on_progress)
    return sale, report


__all__ = [
    "ISSUE_MODES",
    "TECHNICAL_CODES",
    "DeadlineChange",
    "NoOfflineCertificate",
    "NotCorrectable",
    "OfflineSigner",
    "OutageUnknown",
    "check_outages",
    "correct_and_send",
    "correct_technically",
    "deadline_of",
    "deadline_text",
    "import_offline",
    "issue_offline_invoice",
    "merge_outages",
    "offline_certificates",
    "offline_issue",
    "offline_signer",
    "outage",
    "outage_of_mode",
    "parse_mode",
    "parse_moment",
    "record_outages",
    "refusal_of_invoice",
    "unsent_offline",
]
