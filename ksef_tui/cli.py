"""``ksef-tui``: the command line (the headless face for cron, scripts and support).

Heavy modules are imported inside the commands so that ``ksef-tui --version`` stays instant. Every failure
ends as one line on stderr and a non-zero exit code; a traceback is shown only with ``KSEF_TUI_DEBUG=1``.

A thin face over ``services.workspace.Workspace``: it parses arguments, calls services and prints. Errors are
``UserError``s; ``errors.report()`` turns any error into the message, hint and exit code (the one table:
0 success, 1 an invoice is invalid, 2 bad input or usage (doctor: token refused), 3 network, 4 configuration,
5 missing permissions, 6 KSeF refused the sync (cursor unchanged), 70 a bug of ours, 130 interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui import __version__
from ksef_tui.errors import EXIT_CODES, Category, UserError, report
from ksef_tui.i18n import has_key, set_language, t

if TYPE_CHECKING:
    from datetime import date

    from ksef_tui.domain.credential import Credential
    from ksef_tui.domain.profile import Profile
    from ksef_tui.fa.parse import ParsedInvoice
    from ksef_tui.services.purchase_sync import SyncResult
    from ksef_tui.services.sales import ImportResult
    from ksef_tui.services.sending import SendReport
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.settings import Settings
    from ksef_tui.store.purchases import PurchaseRecord
    from ksef_tui.store.sales import Sale
    from ksef_tui.ui.app import KsefApp

EXIT_OK = 0
EXIT_INVALID = EXIT_CODES[Category.INVALID]


# ----------------------------------------------------------------------------------------------- invoice


def _summary(invoice: ParsedInvoice) -> list[str]:
    from ksef_tui.services.invoices import summarize

    summary = summarize(invoice)
    out = [summary.title]
    out += [f"{label}: {value}" for label, value in summary.facts]
    if summary.buckets:
        pln = summary.shows_vat_pln
        head = (t("show.bucket"), t("show.net"), t("show.vat"), t("show.vat_pln") if pln else "")
        rows = [head] + [(r.label, r.net, r.vat, r.vat_pln) for r in summary.buckets]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 4 if pln else 3)]
            out.append("  " + "  ".join(cells))
    out += [f"{label}: {value}" if value else label for label, value in summary.notes]
    return out


def cmd_invoice_show(args: argparse.Namespace) -> int:
    from ksef_tui.services.invoices import load_invoice

    _, invoice = load_invoice(Path(args.file))
    if args.json:
        print(json.dumps(invoice.to_json(), ensure_ascii=False))
    else:
        print("\n".join(_summary(invoice)))
    return EXIT_OK


def cmd_invoice_validate(args: argparse.Namespace) -> int:
    from ksef_tui.fa.validate import validate_bytes
    from ksef_tui.services.files import read_input

    worst = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            data = read_input(path)
        except UserError as exc:
            print(f"{path}: {t('validate.invalid')}: {exc.message()}")
            worst = max(worst, EXIT_INVALID)
            continue
        result = validate_bytes(data)
        if result.ok:
            label = result.schema.label if result.schema else ""
            print(f"{path}: {t('validate.valid')} ({label})")
            continue
        worst = max(worst, EXIT_INVALID)
        shown = "; ".join(str(finding) for finding in result.findings[: args.max_errors])
        more = len(result.findings) - args.max_errors
        suffix = f" {t('validate.more', count=more)}" if more > 0 else ""
        print(f"{path}: {t('validate.invalid')}: {shown}{suffix}")
    return worst


def cmd_invoice_render(args: argparse.Namespace) -> int:
    from ksef_tui.fa.render import RenderError, render_html
    from ksef_tui.services.files import app_directories, check_output, read_input, write_output
    from ksef_tui.services.invoices import InvoiceFileError

    path = Path(args.file)
    out = Path(args.html)
    check_output(out, inputs=[path], protected=app_directories())  # before the work: never the input
    try:
        html = render_html(read_input(path), ksef_number=args.ksef_number)
    except RenderError as exc:
        raise InvoiceFileError(path, exc) from None
    write_output(out, html, inputs=[path], protected=app_directories())
    print(t("render.written", path=out))
    return EXIT_OK


def cmd_invoice_qr(args: argparse.Namespace) -> int:
    from ksef_tui.fa.qr import kod1_url, qr_label, qr_text
    from ksef_tui.services.invoices import load_invoice

    data, invoice = load_invoice(Path(args.file))
    url = kod1_url(args.env, invoice.seller.id or "", invoice.issue_date, data)
    print(url)
    if args.show:
        print(qr_text(url, ascii_only=args.ascii))
        print(f"{t('qr.label')}: {qr_label(args.ksef_number)}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------- profiles


def _workspace(args: argparse.Namespace) -> Workspace:
    """The composition root, with the command line's secret options on top of the settings."""
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.settings import Settings

    flags_only = Settings().with_secrets(  # the flags alone: they beat a profile's remembered location
        backend=getattr(args, "secret_backend", None),
        password_file=getattr(args, "master_password_file", None),
        password_fd=getattr(args, "master_password_fd", None),
    )
    return Workspace(args.settings, secret_override=flags_only.secrets, warn=_warn)


def _warn(message: str) -> None:
    print(f"ksef-tui: {message}", file=sys.stderr)


def _read_token(args: argparse.Namespace) -> str:
    if args.token_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(t("profile.token_prompt")).strip()
    raise UserError("profile.token_needed")


def cmd_profile_add(args: argparse.Namespace) -> int:
    from ksef_tui.services.profiles import make_profile
    from ksef_tui.services.workspace import today_in_warsaw
    from ksef_tui.vault import fingerprint

    make_profile(args.name, args.nip, args.env, args.start_date)  # bad values fail before a secret is read
    if args.cert_p12 or args.cert_pem:
        profile = _add_certificate_profile(args)
    elif args.credential:
        profile = _workspace(args).add_profile_using(args.name, args.nip, args.env, args.start_date, args.credential)
        print(t("profile.added_using", name=profile.name, nip=profile.nip, credential=args.credential))
    else:
        token = _read_token(args)
        profile = _workspace(args).add_profile(
            args.name, args.nip, args.env, args.start_date, token, replace=args.replace
        )
        print(t("profile.added", name=profile.name, nip=profile.nip, env=profile.environment, fp=fingerprint(token)))
    if profile.start_date > today_in_warsaw():
        _warn(t("profile.future_start", date=_pl_date(profile.start_date)))
    return EXIT_OK


def _certificate_password(args: argparse.Namespace) -> str | None:
    """The certificate's (or its key's) password from a 0600 file or a descriptor, never from the command line
    itself; ``None`` when neither is given (an unencrypted key, or a prompt at a terminal if one is needed)."""
    from ksef_tui.vault import read_master_password

    path = args.cert_password_file or args.key_password_file
    if path is None and args.cert_password_fd is None:
        return None
    return read_master_password(
        password_file=None if path is None else Path(path), password_fd=None if path else args.cert_password_fd
    )


def _add_certificate_profile(args: argparse.Namespace) -> Profile:
    from ksef_tui.ksef.errors import PasswordNeeded
    from ksef_tui.services.files import read_input

    if args.cert_p12:
        data, key = read_input(Path(args.cert_p12)), None
    else:
        data = read_input(Path(args.cert_pem))
        key = read_input(Path(args.key_pem)) if args.key_pem else None
    password = _certificate_password(args)

    def add(secret: str | None) -> tuple[Profile, Credential]:
        return _workspace(args).add_certificate_profile(
            args.name,
            args.nip,
            args.env,
            args.start_date,
            data,
            password=secret,
            key=key,
            credential_name=args.credential_name,
            replace_profile=args.replace,
        )

    try:
        profile, credential = add(password)
    except PasswordNeeded:
        if password is not None or not sys.stdin.isatty():
            raise
        import getpass

        profile, credential = add(getpass.getpass(t("profile.cert_password_prompt")))
    print(
        t(
            "profile.added_certificate",
            name=profile.name,
            nip=profile.nip,
            subject=credential.subject,
            fp=(credential.fingerprint or "")[:16],
            until=credential.not_after.date().isoformat() if credential.not_after else "-",
        )
    )
    return profile


def cmd_profile_list(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    profiles = workspace.list_profiles()
    if args.json:
        listed = []
        for p in profiles:
            credential = workspace.credential_of(p)
            listed.append(
                {
                    "name": p.name,
                    "nip": p.nip,
                    "env": p.environment,
                    "environment": p.environment,
                    "start_date": p.start_date.isoformat(),
                    "secret_backend": p.secrets.backend if p.secrets else None,
                    "credential": {
                        "name": credential.name,
                        "kind": credential.kind.value,
                        "fingerprint": credential.fingerprint,
                        "subject": credential.subject or None,
                        "not_after": credential.not_after.isoformat() if credential.not_after else None,
                        "days_left": credential.days_left(),
                    },
                }
            )
        print(json.dumps(listed, ensure_ascii=False))
        return EXIT_OK
    if not profiles:
        print(t("profile.none"))
        return EXIT_OK
    rows = [(t("profile.col.name"), "NIP", t("profile.col.env"), t("profile.col.start"))]
    rows += [(p.name, p.nip, p.environment, _pl_date(p.start_date)) for p in profiles]
    _print_table(rows, right=())
    return EXIT_OK


def cmd_profile_remove(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    delete = args.delete_data
    if not delete and not args.keep_data and sys.stdin.isatty():
        profile = workspace.profile(args.name)
        where = workspace.company_dir(profile)
        if where.exists():
            try:
                answer = input(t("profile.remove.ask", path=where) + " ")
            except EOFError:  # the terminal closed: keep the data, as "no" would
                answer = ""
            delete = answer.strip().lower() in {"t", "tak", "y", "yes"}
    removal = workspace.remove_profile(args.name, delete_data=delete)
    print(t("profile.removed", name=args.name))
    if removal.shared_with:
        print(t("profile.remove.shared", path=removal.data_dir, names=", ".join(removal.shared_with)))
    elif removal.data_deleted:
        print(t("profile.remove.deleted", path=removal.data_dir))
    elif removal.data_dir.exists():
        print(t("profile.remove.kept", path=removal.data_dir, name=args.name))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    import asyncio

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    result = asyncio.run(workspace.verify(profile, fresh=args.fresh))
    credential = workspace.credential_of(profile)
    days = credential.days_left()
    if args.json:
        data = result.to_json()
        data["credential"] = {"name": credential.name, "kind": credential.kind.value, "days_left": days}
        print(json.dumps(data, ensure_ascii=False))
        return result.exit_code
    ok_mark, bad_mark = ("✓", "✗") if _unicode_ok(args) else ("ok", "FAIL")
    print(
        t("doctor.header", profile=profile.name, nip=profile.nip, env=profile.environment, fp=result.token_fingerprint)
    )
    for step in result.steps:
        mark = ok_mark if step.ok else bad_mark
        print(f"  {mark} {t('doctor.step.' + step.name):<22} {step.ms:>5} ms  {step.detail}")
        if not step.ok and step.hint:
            print(f"    → {step.hint}")
    print(t("doctor.ok") if result.ok else t("doctor.failed", code=result.exit_code))
    if credential.kind.value == "token" and days is not None:
        _warn(t("doctor.token_days", days=max(days, 0)))
    return result.exit_code


# ----------------------------------------------------------------------------------------------- purchases


def cmd_sync(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.ksef.limits import Wait
    from ksef_tui.services.purchase_sync import SyncProgress

    workspace = _workspace(args)
    if args.all:
        return _sync_all(workspace, args)
    profile = workspace.profile(args.profile)
    chatty = sys.stderr.isatty() and not args.json

    def on_wait(wait: Wait) -> None:
        _warn(t("sync.waiting", seconds=int(wait.seconds + 0.999), group=t_group(wait.group)))

    def on_progress(progress: SyncProgress) -> None:
        if chatty:
            start, end = _pl_date(progress.window_from), _pl_date(progress.window_to)
            print(t(f"sync.phase.{progress.phase}", start=start, end=end), file=sys.stderr)

    outcome = asyncio.run(workspace.sync(profile, on_wait=on_wait, on_progress=on_progress))
    for warning in outcome.warnings:
        _warn(warning)
    result = outcome.result
    if args.json:
        data = result.to_json()
        data["not_started_until"] = outcome.not_started_until.isoformat() if outcome.not_started_until else None
        print(json.dumps(data, ensure_ascii=False))
        return EXIT_OK
    if outcome.not_started_until is not None:
        print(t("sync.not_started", date=_pl_date(outcome.not_started_until)))
        return EXIT_OK
    for line in sync_summary(result):
        print(line)
    return EXIT_OK


def _sync_all(workspace: Workspace, args: argparse.Namespace) -> int:
    """Every company side by side: a line each (what came, or why not) and the totals; the worst exit code."""
    import asyncio

    results = asyncio.run(workspace.sync_all())
    worst = EXIT_OK
    rows: list[dict[str, object]] = []
    new = corrections = 0
    for item in results:
        profile = item.profile
        if item.error is not None:
            code = EXIT_CODES[item.error.category]
            worst = max(worst, code)
            message = item.error.message()
            rows.append({"profile": profile.name, "nip": profile.nip, "ok": False, "exit_code": code, "error": message})
            if not args.json:
                print(t("sync.all.failed", name=profile.name, nip=profile.nip, message=message))
            continue
        assert item.outcome is not None
        result = item.outcome.result
        new, corrections = new + result.new, corrections + result.corrections
        rows.append({"profile": profile.name, "nip": profile.nip, "ok": True, "exit_code": 0, **result.to_json()})
        if not args.json:
            print(
                t("sync.all.line", name=profile.name, nip=profile.nip, new=result.new, corrections=result.corrections)
            )
    failed = sum(1 for row in rows if not row["ok"])
    if args.json:
        print(json.dumps({"companies": rows, "new": new, "failed": failed}, ensure_ascii=False))
    else:
        print(t("sync.all.total", companies=len(rows), new=new, corrections=corrections, failed=failed))
    return worst


def t_group(group: str) -> str:
    """A rate-limit group in words (``invoiceExport`` → "eksporty faktur")."""
    from ksef_tui.i18n import has_key

    base = group.split(":", 1)[0]
    return t(f"limit.group.{base}") if has_key(f"limit.group.{base}") else group


def sync_summary(result: SyncResult) -> list[str]:
    """What was imported and up to when, in words (the JSON keeps the technical fields)."""
    from ksef_tui.domain.booking import WARSAW

    new_plain = result.new - result.corrections
    lines = [
        t("sync.summary.new", count=result.new)
        + (" " + t("sync.summary.of_which", invoices=new_plain, corrections=result.corrections) if result.new else "")
    ]
    if result.updated:
        lines.append(t("sync.summary.updated", count=result.updated))
    if result.pending_xml:
        lines.append(t("sync.summary.pending_xml", count=result.pending_xml))
    if result.hwm is not None:
        lines.append(t("sync.summary.complete_until", moment=f"{result.hwm.astimezone(WARSAW):%d.%m.%Y %H:%M}"))
    return lines + calls_line(result.calls)


def calls_line(calls: dict[str, int]) -> list[str]:
    """KSeF calls per rate-limit group in words (none: no line)."""
    if not sum(calls.values()):
        return []
    parts = ", ".join(f"{t_group(g)} {n}" for g, n in sorted(calls.items()))
    return [t("sync.summary.calls", count=sum(calls.values()), parts=parts)]


def cmd_purchases_list(args: argparse.Namespace) -> int:
    from ksef_tui.services.booking import parse_period
    from ksef_tui.services.purchases import list_purchases, purchase_rows, totals
    from ksef_tui.store.purchases import PurchaseRepository

    if args.period is not None:
        parse_period(args.period)  # a malformed period is refused before the store is opened
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    with workspace.open_store(profile, read_only=True) as store:
        repo = PurchaseRepository(store)
        records = list_purchases(repo, args.period)
        corrected = repo.corrected_numbers()
    if args.json:
        print(json.dumps([_purchase_json(r) for r in records], ensure_ascii=False))
        return EXIT_OK
    if not records:
        print(t("purchases.none", period=args.period or "-"))
        return EXIT_OK
    rows = purchase_rows(records, corrected=corrected)
    table = [
        (
            t("col.ksef_number"),
            t("col.invoice_number"),
            t("col.issue_date"),
            t("col.seller_nip"),
            t("col.seller"),
            t("col.kind"),
            t("col.net"),
            t("col.vat"),
            t("col.gross"),
            t("col.currency"),
            t("col.booked"),
        )
    ]
    table += [
        (
            row.ksef_number,
            _clip(row.invoice_number, 20),
            row.issue_date,
            row.seller_nip,
            _clip(row.seller_name, 28),
            row.kind,
            row.net,
            row.vat,
            row.gross,
            row.currency,
            row.booked,
        )
        for row in rows
    ]
    _print_table(table, right=(6, 7, 8))
    for total in totals(rows):
        print(total.text())
    return EXIT_OK


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(rows: Sequence[Sequence[str]], *, right: Sequence[int]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _pl_date(value: date) -> str:
    from ksef_tui.services.invoices import display_date

    return display_date(value)


def _purchase_json(r: PurchaseRecord) -> dict[str, object]:
    from ksef_tui.domain.booking import WARSAW

    return {
        "ksef_number": r.ksef_number,
        "invoice_number": r.invoice_number,
        "issue_date": r.issue_date.isoformat(),
        "received": r.acquisition_date.astimezone(WARSAW).isoformat(),
        "seller": {"nip": r.seller_nip, "name": r.seller_name},
        "kind": r.kind,
        "corrected_ksef_number": r.corrected_ksef_number,
        "net": format(r.net, "f"),
        "vat": format(r.vat, "f"),
        "gross": format(r.gross, "f"),
        "currency": r.currency,
        "booking": None
        if r.booking is None
        else {
            "category": r.booking.category,
            "vat_deduction": r.booking.vat_deduction,
            "period": r.booking.period,
            "note": r.booking.note,
        },
    }


def cmd_purchases_book(args: argparse.Namespace) -> int:
    from ksef_tui.services.booking import BookingRequest, book, check_request, unbook
    from ksef_tui.store.purchases import PurchaseRepository

    if not args.unbook:
        if not (args.category and args.vat_deduction is not None and args.period):
            raise UserError("booking.needs")
        request = BookingRequest(args.category, args.vat_deduction, args.period, args.note or "")
        check_request(request)  # bad values are refused before the store is opened
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    with workspace.open_store(profile) as store:
        repo = PurchaseRepository(store)
        if args.unbook:
            unbook(repo, args.ksef_number)
            print(t("booking.unbooked", number=args.ksef_number))
            return EXIT_OK
        book(repo, args.ksef_number, request)
    print(t("booking.booked", number=args.ksef_number, period=args.period))
    return EXIT_OK


def cmd_purchases_export(args: argparse.Namespace) -> int:
    from ksef_tui.services.booking import export_register, parse_period
    from ksef_tui.services.files import app_directories, check_output, write_output
    from ksef_tui.store.purchases import PurchaseRepository

    period = parse_period(args.period)
    out = Path(args.out)
    check_output(out, protected=app_directories())  # before any work: never the store, never a device
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)

    def write(path: Path, data: bytes) -> None:
        write_output(path, data, protected=app_directories())

    with workspace.open_store(profile, read_only=True) as store:
        count = export_register(
            PurchaseRepository(store),
            period,
            out,
            decimal_comma=not args.decimal_point,
            header=args.header,
            write=write,
        )
    print(t("booking.exported", count=count, path=out))
    return EXIT_OK


def cmd_sales_import(args: argparse.Namespace) -> int:
    from ksef_tui.services.sales import import_invoices, sales_xml_root
    from ksef_tui.store.sales import SalesRepository

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    if args.offline is not None:
        return _sales_import_offline(args, workspace, profile)
    if args.outage_start is not None or args.outage_end is not None or args.offline_cert is not None:
        raise UserError("sales.offline_options_alone", category=Category.INPUT)
    with workspace.open_store(profile) as store:
        result = import_invoices(
            SalesRepository(store), sales_xml_root(store.path), profile, [Path(f) for f in args.files]
        )
    return _import_outcome(result)


def _import_outcome(result: ImportResult) -> int:
    for path, error in result.refused:
        print(t("sales.import.refused", path=path, message=error.message()), file=sys.stderr)
    print(t("sales.import.done", count=len(result.imported)))
    if not result.refused:
        return EXIT_OK
    return max(EXIT_CODES[error.category] for _, error in result.refused)


def _sales_import_offline(args: argparse.Namespace, workspace: Workspace, profile: Profile) -> int:
    """``sales import --offline MODE``: the outage (offline, emergency) from the command line, as KSeF announced it
    (services.availability will supply Latarnia's; until then the user gives it, and a deadline waiting for an
    outage's end is set by ``sales outage`` once the end is announced)."""
    from ksef_tui.fa.kod2 import CERTIFICATE_LABEL
    from ksef_tui.fa.qr import qr_label
    from ksef_tui.services import offline
    from ksef_tui.services.sales import sales_xml_root
    from ksef_tui.store.sales import SalesRepository

    mode = offline.parse_mode(args.offline)
    outages = []
    if args.outage_start is not None:
        end = None if args.outage_end is None else offline.parse_moment(args.outage_end)
        outages.append(offline.outage_of_mode(mode, offline.parse_moment(args.outage_start), end))
    elif args.outage_end is not None:
        raise UserError("sales.outage_end_alone", category=Category.INPUT)
    offline.check_outages(mode, outages)
    signer = offline.offline_signer(workspace, profile, credential=args.offline_cert)
    with workspace.open_store(profile) as store:
        repo = SalesRepository(store)
        result = offline.import_offline(
            repo, sales_xml_root(store.path), profile, [Path(f) for f in args.files], mode=mode, signer=signer,
            outages=outages,
        )  # fmt: skip
        sales = [repo.get(number) for number in result.imported]
    for sale in sales:
        if sale is None or sale.record.offline is None:
            continue
        issue = sale.record.offline
        status = offline.deadline_of(sale)
        words = offline.deadline_text(status) if status is not None else ""
        print(
            t("offline.issued", number=sale.record.number, mode=t(f"offline.mode.{issue.mode.value}"), deadline=words)
        )
        print(t("offline.kod1", label=qr_label(None), url=issue.kod1))
        print(t("offline.kod2", label=CERTIFICATE_LABEL, url=issue.kod2))
    if result.imported:
        print(t("offline.certificate_used", name=signer.credential, serial=signer.serial))
    return _import_outcome(result)


def cmd_sales_outage(args: argparse.Namespace) -> int:
    from ksef_tui.services import offline
    from ksef_tui.store.sales import SalesRepository

    end = None if args.end is None else offline.parse_moment(args.end)
    announced = offline.outage(args.kind, offline.parse_moment(args.start), end)
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    with workspace.open_store(profile) as store:
        changes = offline.record_outages(SalesRepository(store), [announced])

    def day(value: date | None) -> str:
        return value.isoformat() if value is not None else t("offline.deadline_none")

    if args.json:
        rows = [{"number": c.number, "before": _iso(c.before), "after": _iso(c.after)} for c in changes]
        print(json.dumps({"changed": rows}, ensure_ascii=False))
        return EXIT_OK
    for change in changes:
        print(t("offline.deadline_changed", number=change.number, before=day(change.before), after=day(change.after)))
    words = t(f"offline.outage.{announced.kind.value}") + f" {announced.start_day}–{day(announced.end_day)}"
    print(t("offline.outage_recorded", outage=words, count=len(changes)))
    return EXIT_OK


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def cmd_sales_correct_technical(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.services.offline import correct_and_send

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    sale, report = asyncio.run(
        correct_and_send(
            workspace, profile, args.number, Path(args.file), credential=args.offline_cert, send=not args.no_send
        )
    )
    offline = sale.record.offline
    corrected = offline.corrected_hash if offline is not None else "-"
    if not args.json:
        print(t("offline.correct.saved", number=sale.record.number, hash=corrected))
    if report is None:
        if args.json:
            print(json.dumps({"number": sale.record.number, "hash_of_corrected": corrected, "sent": None}))
        else:
            print(t("offline.correct.queued", number=sale.record.number))
        return EXIT_OK
    if args.json:
        print(json.dumps({"number": sale.record.number, "hash_of_corrected": corrected, "sent": report.to_json()},
                         ensure_ascii=False))  # fmt: skip
    else:
        for line in send_summary(workspace, profile, report):
            print(line)
    return _send_exit(report, [sale.record.number])


def cmd_sales_list(args: argparse.Namespace) -> int:
    from ksef_tui.services.booking import parse_period
    from ksef_tui.services.sales import list_sales, parse_state, sale_json, sale_row
    from ksef_tui.store.sales import SalesRepository

    period = None if args.period is None else parse_period(args.period)
    state = None if args.state is None else parse_state(args.state)
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    with workspace.open_store(profile, read_only=True) as store:
        sales = list_sales(SalesRepository(store), period, state)
    if args.json:
        print(json.dumps([sale_json(s, profile=profile) for s in sales], ensure_ascii=False))
        return EXIT_OK
    if not sales:
        print(t("sales.none", period=args.period or "-"))
        return EXIT_OK
    rows = [sale_row(s) for s in sales]
    table = [
        (
            t("col.invoice_number"),
            t("col.customer"),
            t("col.issue_date"),
            t("col.gross"),
            t("col.currency"),
            t("col.state"),
            t("col.ksef_number"),
            t("col.mail"),
        )
    ]
    table += [
        (
            _clip(r.number, 24),
            _clip(r.customer, 28),
            r.issue_date,
            r.gross,
            r.currency,
            r.state,
            r.ksef_number,
            r.mail,
        )
        for r in rows
    ]
    _print_table(table, right=(3,))
    _offline_deadlines(sales)
    return EXIT_OK


def _offline_deadlines(sales: list[Sale]) -> None:
    """Under the register: each unsent offline invoice with its deadline in words (the ones due or overdue also
    on stderr, for cron mail)."""
    from ksef_tui.services.offline import deadline_of, deadline_text

    lines: list[tuple[str, bool]] = []
    for sale in sales:
        status = deadline_of(sale)
        offline = sale.record.offline
        if status is None or offline is None:
            continue
        words = t(f"offline.mode.{offline.mode.value}")
        line = t("offline.pending_line", number=sale.record.number, mode=words, deadline=deadline_text(status))
        lines.append((line, status.warning))
    if not lines:
        return
    print()
    print(t("offline.pending_header"))
    for line, warning in lines:
        print(f"  {line}")
        if warning:
            _warn(line)


def cmd_send(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.ksef.limits import Wait
    from ksef_tui.services.sending import Plan, SendMode, SendOptions, SendProgress

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    chatty = sys.stderr.isatty() and not args.json
    ask = sys.stdin.isatty() and not args.yes

    def confirm(plan: Plan) -> bool:
        from decimal import Decimal

        from ksef_tui.services.purchases import money

        gross = ", ".join(f"{money(Decimal(amount))} {currency}" for currency, amount in plan.gross().items())
        try:
            answer = input(t("send.confirm", count=plan.count, gross=gross) + " ")
        except EOFError:
            answer = ""
        return answer.strip().lower() in {"t", "tak", "y", "yes"}

    def on_wait(wait: Wait) -> None:
        _warn(t("sync.waiting", seconds=int(wait.seconds + 0.999), group=t_group(wait.group)))

    def on_progress(progress: SendProgress) -> None:
        if chatty and progress.done == 0:
            print(t(f"send.phase.{progress.phase}", done=progress.done, total=progress.total), file=sys.stderr)

    options = SendOptions(mode=SendMode(args.mode), include_before_start=args.include_before_start)
    numbers = None if args.all else list(args.invoice)
    report = asyncio.run(
        workspace.send(
            profile,
            numbers,
            options=options,
            confirm=confirm if ask else None,
            on_wait=on_wait,
            on_progress=on_progress,
        )
    )
    if report is None:
        print(t("send.cancelled"))
        return EXIT_OK
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for line in send_summary(workspace, profile, report):
            print(line)
    return _send_exit(report, numbers)


def _send_exit(report: SendReport, numbers: list[str] | None) -> int:
    if report.pending and report.trouble:
        _warn(t("send.trouble", reason=report.trouble))
    if report.rejected:
        return EXIT_CODES[Category.INVALID]
    if report.pending:
        return EXIT_CODES[Category.NETWORK if report.network else Category.KSEF]
    if numbers is not None and any(skip.key != "send.skip.accepted" for skip in report.skipped):
        return EXIT_CODES[Category.INPUT]  # a named invoice could not be sent (the reason is printed)
    return EXIT_OK


def send_summary(workspace: Workspace, profile: Profile, report: SendReport) -> list[str]:
    """Every invoice of the send in words: KSeF numbers, refusals with KSeF's own details, what is left."""
    from ksef_tui.services.sending import ksef_reason
    from ksef_tui.store.sales import SalesRepository

    lines = [t(skip.key, number=skip.number, **skip.values) for skip in report.skipped]
    if not (report.accepted or report.duplicates or report.rejected or report.pending):
        lines.append(t("send.nothing"))
        return lines
    with workspace.open_store(profile, read_only=True) as store:
        repo = SalesRepository(store)
        for number in report.accepted:
            sale = repo.get(number)
            lines.append(t("send.accepted_line", number=number, ksef_number=sale.status.ksef_number if sale else "-"))
        for number in report.duplicates:
            sale = repo.get(number)
            lines.append(t("send.duplicate_line", number=number, ksef_number=sale.status.ksef_number if sale else "-"))
        for number in [*report.rejected, *report.pending]:
            sale = repo.get(number)
            if sale is None or (sale.status.error_code is None and not sale.status.error_description):
                continue
            status = sale.status
            description = ksef_reason(status)
            code = status.error_code or "-"
            if has_key(f"send.code.{code}"):
                plain = t(f"send.code.{code}")
                lines.append(t("send.rejected_plain", number=number, code=code, plain=plain, description=description))
            else:
                lines.append(t("send.rejected_line", number=number, code=code, description=description))
    for key, items in (
        ("send.summary.accepted", report.accepted),
        ("send.summary.duplicates", report.duplicates),
        ("send.summary.rejected", report.rejected),
        ("send.summary.pending", report.pending),
    ):
        if items or key == "send.summary.accepted":
            lines.append(t(key, count=len(items)))
    if report.reconciled:
        lines.append(t("send.summary.reconciled", count=report.reconciled))
    if report.late:
        lines.append(t("send.summary.late", count=len(report.late), numbers=", ".join(report.late)))
    if report.upo_saved:
        lines.append(t("send.summary.upo", count=report.upo_saved))
    if report.mail_sent or report.mail_failed:
        lines.append(t("send.summary.mail", sent=report.mail_sent, failed=report.mail_failed))
    return lines + calls_line(report.calls)


def cmd_upo(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.services.files import app_directories, check_output, write_output

    out = Path(args.out)
    check_output(out, protected=app_directories())
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    number, data = asyncio.run(workspace.upo(profile, args.ksef_number))
    write_output(out, data, protected=app_directories())
    print(t("upo.saved", number=number, ksef_number=args.ksef_number, path=out))
    return EXIT_OK


def cmd_customers_add(args: argparse.Namespace) -> int:
    from ksef_tui.services.sales import add_customer
    from ksef_tui.store.customers import CustomerBook

    other = (args.other_id[0], args.other_id[1]) if args.other_id else None
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    with workspace.open_store(profile) as store:
        customer, new = add_customer(
            CustomerBook.of(store),
            args.name,
            nip=args.nip,
            eu_vat=args.eu_vat,
            other_id=other,
            email=args.email,
            language=args.language,
        )
    print(t("customers.saved" if new else "customers.updated", name=customer.name, id=customer.key))
    return EXIT_OK


def cmd_customers_list(args: argparse.Namespace) -> int:
    from ksef_tui.services.sales import customer_json
    from ksef_tui.store.customers import CustomerBook

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    try:
        with workspace.open_store(profile, read_only=True) as store:
            customers = CustomerBook.of(store).all()
    except UserError as exc:
        if exc.key != "store.empty":
            raise
        customers = []
    if args.json:
        print(json.dumps([customer_json(c) for c in customers], ensure_ascii=False))
        return EXIT_OK
    if not customers:
        print(t("customers.none"))
        return EXIT_OK
    rows = [(t("col.customer"), "ID", "E-mail", "")]
    rows += [(_clip(c.name, 40), c.key.split(":", 1)[1], c.email or "-", c.language) for c in customers]
    _print_table(rows, right=())
    return EXIT_OK


def cmd_sales_numbering(args: argparse.Namespace) -> int:
    from ksef_tui.services.sales import next_numbers, parse_series, set_numbering
    from ksef_tui.services.workspace import today_in_warsaw
    from ksef_tui.store.sales import SalesRepository

    for pattern in (args.invoices, args.corrections):
        if pattern is not None:
            parse_series(pattern)  # refused before anything is opened
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    if args.invoices is not None or args.corrections is not None:
        profile = set_numbering(workspace.profiles, profile, invoices=args.invoices, corrections=args.corrections)
        print(t("numbering.saved", profile=profile.name))
    existing: list[str] = []
    try:
        with workspace.open_store(profile, read_only=True) as store:
            existing = SalesRepository(store).numbers()
    except UserError as exc:
        if exc.key != "store.empty":  # a company with no register yet starts at 1
            raise
    invoice, correction = next_numbers(profile, today_in_warsaw(), existing)
    if args.json:
        numbering = profile.numbering
        print(
            json.dumps(
                {
                    "invoices": numbering.invoices,
                    "corrections": numbering.corrections,
                    "next_invoice": invoice,
                    "next_correction": correction,
                },
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    print(
        t(
            "numbering.shown",
            invoices=profile.numbering.invoices,
            next_invoice=invoice,
            corrections=profile.numbering.corrections,
            next_correction=correction,
        )
    )
    return EXIT_OK


def _unicode_ok(args: argparse.Namespace) -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower()
    return "utf" in encoding and not args.settings.ascii


# ----------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ksef-tui", description=t("cli.description"))
    parser.add_argument("--version", action="version", version=f"ksef-tui {__version__}")
    parser.add_argument("--lang", choices=("pl", "en"), help=t("cli.lang"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    invoice = commands.add_parser("invoice", help=t("cli.invoice"))
    invoice_commands = invoice.add_subparsers(dest="invoice_command", metavar="ACTION", required=True)
    show = invoice_commands.add_parser("show", help=t("cli.invoice.show"))
    show.add_argument("file")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_invoice_show)
    validate = invoice_commands.add_parser("validate", help=t("cli.invoice.validate"))
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--max-errors", type=int, default=3)
    validate.set_defaults(handler=cmd_invoice_validate)
    render = invoice_commands.add_parser("render", help=t("cli.invoice.render"))
    render.add_argument("file")
    render.add_argument("--html", required=True, metavar="OUT")
    render.add_argument("--ksef-number")
    render.set_defaults(handler=cmd_invoice_render)
    qr = invoice_commands.add_parser("qr", help=t("cli.invoice.qr"))
    qr.add_argument("file")
    qr.add_argument("--env", choices=("test", "demo", "prod"), default="prod")
    qr.add_argument("--show", action="store_true")
    qr.add_argument("--ascii", action="store_true")
    qr.add_argument("--ksef-number")
    qr.set_defaults(handler=cmd_invoice_qr)

    def secret_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--secret-backend", metavar="KIND", help=t("cli.secret_backend"))
        sub.add_argument("--master-password-file", metavar="FILE", help=t("cli.master_password_file"))
        sub.add_argument("--master-password-fd", type=int, metavar="FD", help=t("cli.master_password_fd"))

    profile = commands.add_parser("profile", help=t("cli.profile"))
    profile_commands = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    add = profile_commands.add_parser("add", help=t("cli.profile.add"))
    add.add_argument("--name", required=True)
    add.add_argument("--nip", required=True)
    add.add_argument("--env", required=True, help="test | demo | prod | URL")
    add.add_argument("--start-date", required=True, metavar="YYYY-MM-DD")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--token-stdin", action="store_true", help=t("cli.profile.token_stdin"))
    how.add_argument("--cert-p12", metavar="FILE", help=t("cli.profile.cert_p12"))
    how.add_argument("--cert-pem", metavar="FILE", help=t("cli.profile.cert_pem"))
    how.add_argument("--credential", metavar="NAME", help=t("cli.profile.credential"))
    add.add_argument("--cert-password-file", metavar="FILE", help=t("cli.profile.cert_password_file"))
    add.add_argument("--cert-password-fd", type=int, metavar="FD", help=t("cli.profile.cert_password_fd"))
    add.add_argument("--key-pem", metavar="FILE", help=t("cli.profile.key_pem"))
    add.add_argument("--key-password-file", metavar="FILE", help=t("cli.profile.key_password_file"))
    add.add_argument("--credential-name", metavar="NAME", help=t("cli.profile.credential_name"))
    add.add_argument("--replace", action="store_true")
    secret_options(add)
    add.set_defaults(handler=cmd_profile_add)
    listing = profile_commands.add_parser("list", help=t("cli.profile.list"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_profile_list)
    remove = profile_commands.add_parser("remove", help=t("cli.profile.remove"))
    remove.add_argument("name")
    keep = remove.add_mutually_exclusive_group()
    keep.add_argument("--delete-data", action="store_true", help=t("cli.profile.delete_data"))
    keep.add_argument("--keep-data", action="store_true", help=t("cli.profile.keep_data"))
    secret_options(remove)
    remove.set_defaults(handler=cmd_profile_remove)

    doctor = commands.add_parser("doctor", help=t("cli.doctor"))
    doctor.add_argument("--profile")
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--fresh", action="store_true", help=t("cli.doctor.fresh"))
    secret_options(doctor)
    doctor.set_defaults(handler=cmd_doctor)

    sync = commands.add_parser("sync", help=t("cli.sync"))
    sync.add_argument("--profile")
    sync.add_argument("--all", action="store_true", help=t("cli.sync.all"))
    sync.add_argument("--json", action="store_true")
    secret_options(sync)
    sync.set_defaults(handler=cmd_sync)

    purchases = commands.add_parser("purchases", help=t("cli.purchases"))
    purchase_commands = purchases.add_subparsers(dest="purchases_command", metavar="ACTION", required=True)
    plist = purchase_commands.add_parser("list", help=t("cli.purchases.list"))
    plist.add_argument("--profile")
    plist.add_argument("--period", metavar="YYYY-MM")
    plist.add_argument("--json", action="store_true")
    plist.set_defaults(handler=cmd_purchases_list)
    pbook = purchase_commands.add_parser("book", help=t("cli.purchases.book"))
    pbook.add_argument("ksef_number", metavar="KSEF_NUMBER")
    pbook.add_argument("--profile")
    pbook.add_argument("--category")
    pbook.add_argument("--vat-deduction", type=int, choices=(100, 50, 0))
    pbook.add_argument("--period", metavar="YYYY-MM")
    pbook.add_argument("--note")
    pbook.add_argument("--unbook", action="store_true")
    pbook.set_defaults(handler=cmd_purchases_book)
    pexport = purchase_commands.add_parser("export", help=t("cli.purchases.export"))
    pexport.add_argument("--profile")
    pexport.add_argument("--period", required=True, metavar="YYYY-MM")
    pexport.add_argument("--out", required=True, metavar="FILE.csv")
    pexport.add_argument("--decimal-point", action="store_true", help=t("cli.purchases.decimal_point"))
    pexport.add_argument("--header", choices=("pl", "en"), default="pl", help=t("cli.purchases.header"))
    pexport.set_defaults(handler=cmd_purchases_export)

    sales = commands.add_parser("sales", help=t("cli.sales"))
    sale_commands = sales.add_subparsers(dest="sales_command", metavar="ACTION", required=True)
    simport = sale_commands.add_parser("import", help=t("cli.sales.import"))
    simport.add_argument("files", nargs="+", metavar="FILE")
    simport.add_argument("--profile")
    simport.add_argument("--offline", metavar="MODE", choices=("offline24", "offline", "emergency"),
                         help=t("cli.sales.offline"))  # fmt: skip
    simport.add_argument("--outage-start", metavar="YYYY-MM-DD", help=t("cli.sales.outage_start"))
    simport.add_argument("--outage-end", metavar="YYYY-MM-DD", help=t("cli.sales.outage_end"))
    simport.add_argument("--offline-cert", metavar="NAME", help=t("cli.sales.offline_cert"))
    secret_options(simport)

    soutage = sale_commands.add_parser("outage", help=t("cli.sales.outage"))
    soutage.add_argument(
        "--kind", required=True, choices=("unavailability", "failure"), help=t("cli.sales.outage_kind")
    )
    soutage.add_argument("--start", required=True, metavar="YYYY-MM-DD", help=t("cli.sales.outage_start"))
    soutage.add_argument("--end", metavar="YYYY-MM-DD", help=t("cli.sales.outage_end"))
    soutage.add_argument("--profile")
    soutage.add_argument("--json", action="store_true")
    soutage.set_defaults(handler=cmd_sales_outage)

    scorrect = sale_commands.add_parser("correct-technical", help=t("cli.sales.correct_technical"))
    scorrect.add_argument("number", metavar="NUMBER")
    scorrect.add_argument("file", metavar="FILE")
    scorrect.add_argument("--profile")
    scorrect.add_argument("--offline-cert", metavar="NAME", help=t("cli.sales.offline_cert"))
    scorrect.add_argument("--no-send", action="store_true", help=t("cli.sales.no_send"))
    scorrect.add_argument("--json", action="store_true")
    secret_options(scorrect)
    scorrect.set_defaults(handler=cmd_sales_correct_technical)
    simport.set_defaults(handler=cmd_sales_import)
    slist = sale_commands.add_parser("list", help=t("cli.sales.list"))
    slist.add_argument("--profile")
    slist.add_argument("--period", metavar="YYYY-MM")
    slist.add_argument("--state", metavar="STATE")
    slist.add_argument("--json", action="store_true")
    slist.set_defaults(handler=cmd_sales_list)
    snumbering = sale_commands.add_parser("numbering", help=t("cli.sales.numbering"))
    snumbering.add_argument("--profile")
    snumbering.add_argument("--invoices", metavar="PATTERN", help=t("cli.sales.numbering.invoices"))
    snumbering.add_argument("--corrections", metavar="PATTERN", help=t("cli.sales.numbering.corrections"))
    snumbering.add_argument("--json", action="store_true")
    snumbering.set_defaults(handler=cmd_sales_numbering)

    customers = commands.add_parser("customers", help=t("cli.customers"))
    customer_commands = customers.add_subparsers(dest="customers_command", metavar="ACTION", required=True)
    cadd = customer_commands.add_parser("add", help=t("cli.customers.add"))
    cadd.add_argument("--name", required=True)
    ident = cadd.add_mutually_exclusive_group()
    ident.add_argument("--nip")
    ident.add_argument("--eu-vat", metavar="CCNUMBER")
    ident.add_argument("--other-id", nargs=2, metavar=("COUNTRY", "ID"))
    cadd.add_argument("--email")
    cadd.add_argument("--language", default="pl", choices=("pl", "en"))
    cadd.add_argument("--profile")
    cadd.set_defaults(handler=cmd_customers_add)
    clist = customer_commands.add_parser("list", help=t("cli.customers.list"))
    clist.add_argument("--profile")
    clist.add_argument("--json", action="store_true")
    clist.set_defaults(handler=cmd_customers_list)

    send = commands.add_parser("send", help=t("cli.send"))
    which = send.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help=t("cli.send.all"))
    which.add_argument("--invoice", action="append", metavar="NUMBER", help=t("cli.send.invoice"))
    send.add_argument("--profile")
    send.add_argument("--yes", action="store_true", help=t("cli.send.yes"))
    send.add_argument("--json", action="store_true")
    send.add_argument("--mode", choices=("auto", "online", "batch"), default="auto", help=t("cli.send.mode"))
    send.add_argument("--include-before-start", action="store_true", help=t("cli.send.before_start"))
    secret_options(send)
    send.set_defaults(handler=cmd_send)

    upo = commands.add_parser("upo", help=t("cli.upo"))
    upo.add_argument("ksef_number", metavar="KSEF_NUMBER")
    upo.add_argument("--out", required=True, metavar="FILE", help=t("cli.upo.out"))
    upo.add_argument("--profile")
    secret_options(upo)
    upo.set_defaults(handler=cmd_upo)

    from ksef_tui.cli_certs import add_cert_parsers
    from ksef_tui.cli_mail import add_mail_parser
    from ksef_tui.cli_status import add_status_parser

    add_mail_parser(commands)
    add_cert_parsers(commands)
    add_status_parser(commands)

    setup = commands.add_parser("setup", help=t("cli.setup"))
    setup.add_argument("--env", default="", metavar="ENV", help=t("cli.setup.env"))
    setup.add_argument("--nip", default="", help=t("cli.setup.nip"))
    setup.add_argument("--start-date", default="", metavar="YYYY-MM-DD", help=t("cli.setup.start_date"))
    setup.add_argument("--name", default="", help=t("cli.setup.name"))
    setup.set_defaults(handler=cmd_setup)

    sandbox = commands.add_parser("sandbox", help=t("cli.sandbox"))
    sandbox.set_defaults(handler=cmd_sandbox)

    sim = commands.add_parser("sim", help=t("cli.sim"))
    sim_commands = sim.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    serve = sim_commands.add_parser("serve", help=t("cli.sim.serve"), add_help=False)
    serve.set_defaults(handler=cmd_sim_serve, passthrough=True)
    return parser


def _needs_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("tui.no_terminal")


def _run_app(app: KsefApp) -> int:
    """The app's exit code: 0 after ctrl+q; Textual's 1 (it crashed and printed the traceback) is ours 70."""
    code = app.run()
    if app.return_code:
        return EXIT_CODES[Category.INTERNAL] if app.return_code == 1 else app.return_code
    return int(code or EXIT_OK)


def _tui_workspace(args: argparse.Namespace) -> tuple[Workspace, list[str]]:
    """The workspace for the TUI: its warnings are kept for the app to show, not printed under the screen."""
    from ksef_tui.services.workspace import Workspace

    warnings: list[str] = []
    return Workspace(args.settings, warn=warnings.append), warnings


def cmd_tui(args: argparse.Namespace) -> int:
    """``ksef-tui`` alone: the app (the setup wizard first when there is no company yet)."""
    _needs_terminal()
    from ksef_tui.ui.app import make_app

    workspace, warnings = _tui_workspace(args)
    return _run_app(make_app(args.settings, workspace, warnings=warnings))


def cmd_setup(args: argparse.Namespace) -> int:
    """``ksef-tui setup --env … --nip …``: the app on the KSeF settings with those fields filled and the token
    field focused (the line support staff send a customer)."""
    _needs_terminal()
    from ksef_tui.ui.app import SetupPrefill, make_app

    workspace, warnings = _tui_workspace(args)
    prefill = SetupPrefill(environment=args.env, nip=args.nip, start_date=args.start_date, name=args.name)
    return _run_app(make_app(args.settings, workspace, setup=prefill, warnings=warnings))


def cmd_sandbox(args: argparse.Namespace) -> int:
    """``ksef-tui sandbox``: the app against the in-process simulator with a seeded demo company, in a
    temporary directory with an in-memory vault; nothing touches the user's own profiles."""
    _needs_terminal()
    from ksef_tui.sandbox import create_sandbox
    from ksef_tui.ui.app import make_app

    sandbox = create_sandbox(args.settings)
    try:
        app = make_app(
            args.settings,
            sandbox.workspace,
            sandbox=sandbox.base_url,
            prepare=sandbox.seed,
            profile_name=sandbox.profile.name,
        )
        return _run_app(app)
    finally:
        sandbox.close()


def cmd_sim_serve(args: argparse.Namespace) -> int:
    from ksef_tui.sim.serve import serve_main

    code: int = serve_main(list(args.rest))  # the simulator parses its own options
    return code


#: Options that belong to the whole program and are accepted after the sub-command too.
_GLOBAL_VALUE_OPTIONS = ("--lang",)


def _split_global_options(argv: list[str]) -> tuple[list[str], str | None, bool]:
    """Take ``--lang X`` / ``--lang=X`` and ``--version`` from anywhere before ``--``."""
    rest: list[str] = []
    language: str | None = None
    version = False
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        if arg == "--version":
            version = True
        elif arg == "--lang" and index + 1 < len(argv):
            language = argv[index + 1]
            index += 1
        elif arg.startswith("--lang="):
            language = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        index += 1
    return rest, language, version


def _translate_argparse() -> None:
    """argparse's own words (usage, errors, help headings) in the user's language."""

    def gettext(message: str) -> str:
        key = "argparse." + message
        return t(key) if has_key(key) else message

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    argparse._ = gettext  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    from ksef_tui.settings import Settings, load_settings

    args_list, language, version = _split_global_options(list(sys.argv[1:] if argv is None else argv))
    if language is not None and language not in ("pl", "en"):
        set_language(None)
        print(f"ksef-tui: {t('cli.bad_lang', value=language)}", file=sys.stderr)
        return EXIT_CODES[Category.INPUT]
    try:
        settings = load_settings(language=language)
    except UserError as exc:
        settings = Settings()
        set_language(language)
        return _fail(exc, settings)
    set_language(settings.language)
    if version:
        print(f"ksef-tui {__version__}")
        return EXIT_OK
    if not args_list:  # ``ksef-tui`` alone: the app, without building the sub-commands' parser (its first frame)
        try:
            return cmd_tui(argparse.Namespace(settings=settings, rest=[]))
        except (Exception, KeyboardInterrupt) as exc:
            return _fail(exc, settings)
    _translate_argparse()
    parser = build_parser()
    args, rest = parser.parse_known_args(args_list)
    if rest and not getattr(args, "passthrough", False):
        parser.error(t("argparse.unrecognized arguments: %s") % " ".join(rest))
    args.rest = rest
    args.settings = settings
    if getattr(args, "handler", None) is None:
        args.handler = cmd_tui
    try:
        code: int = args.handler(args)
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        with suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (Exception, KeyboardInterrupt) as exc:
        return _fail(exc, settings)
    return code


def _fail(exc: BaseException, settings: Settings) -> int:
    """One line (and a hint) on stderr, and the exit code from the one table in ``ksef_tui.errors``."""
    shown = report(exc)
    if shown.category is Category.INTERNAL and settings.debug:
        raise exc
    print(f"ksef-tui: {shown.message}", file=sys.stderr)
    if shown.hint:
        print(f"  → {shown.hint}", file=sys.stderr)
    return shown.exit_code
