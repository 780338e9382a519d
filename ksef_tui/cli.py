"""``ksef-tui``: the command line (the headless face for cron, scripts and support).

Heavy modules are imported inside the commands so that ``ksef-tui --version`` stays instant. Every failure
ends as one line on stderr and a non-zero exit code; a traceback is shown only with ``KSEF_TUI_DEBUG=1``.

Exit codes: 0 success, 1 an invoice is invalid, 2 bad input or usage (doctor: token or authentication),
3 network, 4 configuration, 5 missing permissions, 6 sync failed (cursor unchanged), 70 internal error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui import __version__
from ksef_tui.i18n import set_language, t

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ksef_tui.domain.profile import Profile
    from ksef_tui.fa.parse import ParsedInvoice
    from ksef_tui.services.verify import Verification
    from ksef_tui.store.db import Store
    from ksef_tui.store.profiles import ProfileRepository
    from ksef_tui.store.purchases import PurchaseRecord
    from ksef_tui.vault import Vault

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_INPUT = 2
EXIT_CONFIG = 4  # doctor: 2 token/authentication, 3 network, 4 configuration, 5 missing permissions
EXIT_SYNC = 6  # sync failed at KSeF; the cursor was not moved
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

#: Larger files are refused before reading: KSeF accepts 3 MB at most (with an attachment).
MAX_READ_BYTES = 16 * 1024 * 1024


class CliError(Exception):
    """A one-line message for the user and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CliError(t("err.file_missing", path=path)) from None
    except OSError as exc:
        raise CliError(t("err.file_unreadable", path=path, reason=exc.strerror or exc)) from None
    if size > MAX_READ_BYTES:
        raise CliError(t("err.file_too_large", path=path, size=f"{size / 1_000_000:.1f}"))
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise CliError(t("err.file_unreadable", path=path, reason="is a directory")) from None
    except OSError as exc:
        raise CliError(t("err.file_unreadable", path=path, reason=exc.strerror or exc)) from None


def _load_invoice(path: Path) -> tuple[bytes, ParsedInvoice]:
    from ksef_tui.fa.parse import InvoiceParseError, parse_invoice

    data = _read_file(path)
    try:
        return data, parse_invoice(data)
    except InvoiceParseError as exc:
        raise CliError(t("err.not_invoice", path=path, reason=exc)) from None


# ----------------------------------------------------------------------------------------------- invoice


def _party_id(id_type: str, value: str | None) -> str:
    if id_type == "None" or not value:
        return t("show.no_id")
    return f"{'NIP' if id_type == 'Nip' else id_type} {value}"


def _summary(invoice: ParsedInvoice) -> list[str]:
    from ksef_tui.domain.money import format_amount
    from ksef_tui.domain.vat import BUCKETS
    from ksef_tui.i18n import language

    comma = language() == "pl"

    def money(value: object) -> str:
        from decimal import Decimal

        assert isinstance(value, Decimal)
        return format_amount(value, decimal_comma=comma)

    out = [
        t("show.header", schema=invoice.schema, kind=invoice.kind, number=invoice.number, date=invoice.issue_date),
        f"{t('show.seller')}: NIP {invoice.seller.id}  {invoice.seller.name or ''}".rstrip(),
        f"{t('show.buyer')}: {_party_id(invoice.buyer.id_type, invoice.buyer.id)}  {invoice.buyer.name or ''}".rstrip(),
    ]
    if invoice.sale_date:
        out.append(f"{t('show.sale_date')}: {invoice.sale_date}")
    out.append(f"{t('show.currency')}: {invoice.currency}")
    rows: list[tuple[str, str, str, str]] = []
    for bucket in BUCKETS.values():
        if bucket.net not in invoice.buckets and (bucket.tax is None or bucket.tax not in invoice.buckets):
            continue
        net = invoice.buckets.get(bucket.net)
        tax = invoice.buckets.get(bucket.tax) if bucket.tax else None
        pln = invoice.buckets.get(bucket.tax_pln) if bucket.tax_pln else None
        rows.append(
            (
                t(f"bucket.{bucket.net}"),
                money(net) if net is not None else "",
                money(tax) if tax is not None else "",
                money(pln) if pln is not None else "",
            )
        )
    if rows:
        show_pln = any(row[3] for row in rows)
        head = (t("show.bucket"), t("show.net"), t("show.vat"), t("show.vat_pln") if show_pln else "")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
        for row in [head, *rows]:
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 4 if show_pln else 3)]
            out.append("  " + "  ".join(cells))
    out.append(f"{t('show.gross')}: {money(invoice.gross)} {invoice.currency}")
    out.append(f"{t('show.lines')}: {len(invoice.lines)}")
    for ref in invoice.corrected:
        where = f"KSeF {ref.ksef_number}" if ref.ksef_number else t("show.corrects_outside")
        out.append(f"{t('show.corrects')}: {ref.number} ({ref.issue_date}), {where}")
    if invoice.correction_reason:
        out.append(f"{t('show.reason')}: {invoice.correction_reason}")
    if invoice.payment_due:
        out.append(f"{t('show.payment_due')}: {', '.join(str(d) for d in invoice.payment_due)}")
    for account in invoice.bank_accounts:
        out.append(f"{t('show.bank_account')}: {account}")
    if invoice.reverse_charge:
        out.append(t("show.reverse_charge"))
    if invoice.split_payment:
        out.append(t("show.split_payment"))
    if invoice.exemption:
        out.append(f"{t('show.exemption')}: {invoice.exemption}")
    return out


def cmd_invoice_show(args: argparse.Namespace) -> int:
    _, invoice = _load_invoice(Path(args.file))
    if args.json:
        print(json.dumps(invoice.to_json(), ensure_ascii=False))
    else:
        print("\n".join(_summary(invoice)))
    return EXIT_OK


def cmd_invoice_validate(args: argparse.Namespace) -> int:
    from ksef_tui.fa.validate import validate_bytes

    worst = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            data = _read_file(path)
        except CliError as exc:
            print(f"{path}: {t('validate.invalid')}: {exc}")
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

    path = Path(args.file)
    data = _read_file(path)
    try:
        html = render_html(data, ksef_number=args.ksef_number)
    except RenderError as exc:
        raise CliError(t("err.not_invoice", path=path, reason=exc)) from None
    out = Path(args.html)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise CliError(t("err.render", path=out, reason=exc.strerror or exc)) from None
    print(t("render.written", path=out))
    return EXIT_OK


def cmd_invoice_qr(args: argparse.Namespace) -> int:
    from ksef_tui.fa.qr import kod1_url, qr_label, qr_text

    data, invoice = _load_invoice(Path(args.file))
    url = kod1_url(args.env, invoice.seller.id or "", invoice.issue_date, data)
    print(url)
    if args.show:
        print(qr_text(url, ascii_only=args.ascii))
        print(f"{t('qr.label')}: {qr_label(args.ksef_number)}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------------- profiles


def _repo() -> ProfileRepository:
    from ksef_tui.settings import config_file
    from ksef_tui.store.profiles import ProfileRepository

    return ProfileRepository(config_file().with_name("profiles.json"))


def _vault(args: argparse.Namespace) -> Vault:
    from ksef_tui.settings import SettingsError, load_secret_settings
    from ksef_tui.vault import SecretStoreUnavailable, Vault, resolve_backend

    try:
        settings = load_secret_settings(
            backend=args.secret_backend, password_file=args.master_password_file, password_fd=args.master_password_fd
        )
        return Vault(
            resolve_backend(
                settings.backend,
                password_file=settings.password_file,
                password_fd=settings.password_fd,
                file_path=settings.file,
            )
        )
    except SettingsError as exc:
        raise CliError(str(exc), EXIT_CONFIG) from None
    except SecretStoreUnavailable as exc:
        raise CliError(exc.message(), EXIT_CONFIG) from None


def _read_token(args: argparse.Namespace) -> str:
    if args.token_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(t("profile.token_prompt")).strip()
    raise CliError(t("profile.token_needed"))


def cmd_profile_add(args: argparse.Namespace) -> int:
    from ksef_tui.services.profiles import ProfileInputError, add_profile, check_token_for, make_profile
    from ksef_tui.store.profiles import ProfileExists, ProfileFileCorrupt
    from ksef_tui.vault import SecretStoreUnavailable, fingerprint

    try:
        profile = make_profile(args.name, args.nip, args.env, args.start_date)
        token = _read_token(args)
        check_token_for(profile, token)  # before the vault: a wrong token costs no master-password derivation
        add_profile(_repo(), _vault(args), profile, token, replace=args.replace)
    except ProfileInputError as exc:
        raise CliError(str(exc), EXIT_CONFIG) from None
    except ProfileExists:
        raise CliError(t("profile.exists", name=args.name), EXIT_CONFIG) from None
    except ProfileFileCorrupt as exc:
        raise CliError(t("profile.corrupt", path=exc.path), EXIT_CONFIG) from None
    except SecretStoreUnavailable as exc:
        raise CliError(exc.message(), EXIT_CONFIG) from None
    print(t("profile.added", name=profile.name, nip=profile.nip, env=profile.environment, fp=fingerprint(token)))
    return EXIT_OK


def cmd_profile_list(args: argparse.Namespace) -> int:
    from ksef_tui.store.profiles import ProfileFileCorrupt

    try:
        profiles = _repo().list()
    except ProfileFileCorrupt as exc:
        raise CliError(t("profile.corrupt", path=exc.path), EXIT_CONFIG) from None
    if args.json:
        print(
            json.dumps(
                [
                    {"name": p.name, "nip": p.nip, "environment": p.environment, "start_date": p.start_date.isoformat()}
                    for p in profiles
                ]
            )
        )
    elif not profiles:
        print(t("profile.none"))
    for p in [] if args.json else profiles:
        print(f"{p.name}\t{p.nip}\t{p.environment}\t{p.start_date}")
    return EXIT_OK


def cmd_profile_remove(args: argparse.Namespace) -> int:
    from ksef_tui.services.profiles import remove_profile
    from ksef_tui.store.profiles import ProfileFileCorrupt, ProfileNotFound
    from ksef_tui.vault import SecretStoreUnavailable

    try:
        repo = _repo()
        repo.get(args.name)
        remove_profile(repo, _vault(args), args.name)
    except ProfileNotFound:
        raise CliError(t("profile.not_found", name=args.name), EXIT_CONFIG) from None
    except ProfileFileCorrupt as exc:
        raise CliError(t("profile.corrupt", path=exc.path), EXIT_CONFIG) from None
    except SecretStoreUnavailable as exc:
        raise CliError(exc.message(), EXIT_CONFIG) from None
    print(t("profile.removed", name=args.name))
    return EXIT_OK


def _pick_profile(name: str | None) -> Profile:
    from ksef_tui.store.profiles import ProfileFileCorrupt, ProfileNotFound

    try:
        repo = _repo()
        if name:
            return repo.get(name)
        profiles = repo.list()
    except ProfileNotFound:
        raise CliError(t("profile.not_found", name=name), EXIT_CONFIG) from None
    except ProfileFileCorrupt as exc:
        raise CliError(t("profile.corrupt", path=exc.path), EXIT_CONFIG) from None
    if len(profiles) == 1:
        return profiles[0]
    if not profiles:
        raise CliError(t("profile.none"), EXIT_CONFIG)
    raise CliError(t("profile.choose", names=", ".join(p.name for p in profiles)), EXIT_CONFIG)


def cmd_doctor(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.services.connection import close_api, open_api
    from ksef_tui.services.verify import verify
    from ksef_tui.vault import SecretStoreUnavailable, fingerprint

    profile = _pick_profile(args.profile)
    vault = _vault(args)
    try:
        token = vault.get_token(profile.vault_environment, profile.name)
    except SecretStoreUnavailable as exc:
        raise CliError(exc.message(), EXIT_CONFIG) from None
    if not token:
        raise CliError(t("profile.no_token", profile=profile.name), EXIT_CONFIG)

    async def run() -> Verification:
        api = open_api(profile, vault)
        try:
            return await verify(profile, token, api, fingerprint=fingerprint(token), fresh=args.fresh)
        finally:
            await close_api(api, profile)

    result = asyncio.run(run())
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return result.exit_code
    ok_mark, bad_mark = ("✓", "✗") if _unicode_ok() else ("ok", "FAIL")
    print(
        t("doctor.header", profile=profile.name, nip=profile.nip, env=profile.environment, fp=result.token_fingerprint)
    )
    for step in result.steps:
        mark = ok_mark if step.ok else bad_mark
        print(f"  {mark} {t('doctor.step.' + step.name):<22} {step.ms:>5} ms  {step.detail}")
        if not step.ok and step.hint:
            print(f"    → {step.hint}")
    print(t("doctor.ok") if result.ok else t("doctor.failed", code=result.exit_code))
    return result.exit_code


# ----------------------------------------------------------------------------------------------- purchases


@contextmanager
def _store_for(profile: Profile, *, read_only: bool = False) -> Iterator[Store]:
    from ksef_tui.services.local import open_store
    from ksef_tui.store.db import StoreError, StoreLocked

    try:
        store = open_store(profile, read_only=read_only)
    except StoreLocked as exc:
        raise CliError(t("store.locked", pid=exc.pid, host=exc.host), EXIT_CONFIG) from None
    except FileNotFoundError:
        raise CliError(t("store.empty", profile=profile.name), EXIT_CONFIG) from None
    except StoreError as exc:
        raise CliError(t("store.error", detail=exc), EXIT_CONFIG) from None
    if store.recovered_from is not None:
        print(f"ksef-tui: {t('store.recovered', path=store.recovered_from)}", file=sys.stderr)
    try:
        yield store
    finally:
        store.close()


def cmd_sync(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.ksef.errors import KsefError
    from ksef_tui.ksef.limits import Wait
    from ksef_tui.services.connection import TokenMissing, close_api, open_api
    from ksef_tui.services.local import xml_store
    from ksef_tui.services.purchase_sync import PurchaseSync, SyncProgress, SyncResult

    profile = _pick_profile(args.profile)
    vault = _vault(args)
    chatty = sys.stderr.isatty() and not args.json

    def on_wait(wait: Wait) -> None:
        print(t("sync.waiting", seconds=int(wait.seconds + 0.999), group=wait.group), file=sys.stderr)

    def on_progress(progress: SyncProgress) -> None:
        if chatty:
            print(
                t(
                    f"sync.phase.{progress.phase}",
                    start=f"{progress.window_from:%Y-%m-%d}",
                    end=f"{progress.window_to:%Y-%m-%d}",
                ),
                file=sys.stderr,
            )

    async def run(store: Store) -> SyncResult:
        api = open_api(profile, vault, on_wait=on_wait)
        try:
            return await PurchaseSync(profile, api, store, xml_store(profile), progress=on_progress).run()
        finally:
            await close_api(api, profile)

    with _store_for(profile) as store:
        try:
            result = asyncio.run(run(store))
        except TokenMissing as exc:
            raise CliError(str(exc), EXIT_CONFIG) from None
        except KsefError as exc:
            raise CliError(t("sync.failed", reason=exc.message()), EXIT_SYNC) from None
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(t("sync.done", new=result.new, updated=result.updated, corrections=result.corrections))
        calls = ", ".join(f"{group} {count}" for group, count in sorted(result.calls.items()))
        print(t("sync.calls", calls=calls or "-", hwm=result.hwm.isoformat() if result.hwm else "-"))
    return EXIT_OK


def cmd_purchases_list(args: argparse.Namespace) -> int:
    from ksef_tui.domain.money import q2
    from ksef_tui.services.booking import category_label
    from ksef_tui.store.purchases import PurchaseRepository

    profile = _pick_profile(args.profile)
    with _store_for(profile, read_only=True) as store:
        records = PurchaseRepository(store).list(period=args.period)
    if args.json:
        print(json.dumps([_purchase_json(r) for r in records], ensure_ascii=False))
        return EXIT_OK
    for r in records:
        booked = (
            f"{category_label(r.booking.category)} {r.booking.vat_deduction}% {r.booking.period}" if r.booking else "-"
        )
        amount = f"{format(q2(r.gross), 'f'):>12} {r.currency}"
        print(f"{r.ksef_number}  {r.issue_date}  {r.kind:<7} {r.seller_nip}  {amount}  {booked}  {r.invoice_number}")
    return EXIT_OK


def _purchase_json(r: PurchaseRecord) -> dict[str, object]:
    return {
        "ksef_number": r.ksef_number,
        "invoice_number": r.invoice_number,
        "issue_date": r.issue_date.isoformat(),
        "received": r.acquisition_date.isoformat(),
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
    from ksef_tui.services.booking import BookingError, BookingRequest, book, unbook
    from ksef_tui.store.purchases import PurchaseNotFound, PurchaseRepository

    profile = _pick_profile(args.profile)
    with _store_for(profile) as store:
        repo = PurchaseRepository(store)
        try:
            if args.unbook:
                unbook(repo, args.ksef_number)
                print(t("booking.unbooked", number=args.ksef_number))
                return EXIT_OK
            if not (args.category and args.vat_deduction is not None and args.period):
                raise CliError(t("booking.needs"))
            book(
                repo, args.ksef_number, BookingRequest(args.category, args.vat_deduction, args.period, args.note or "")
            )
        except BookingError as exc:
            raise CliError(str(exc)) from None
        except PurchaseNotFound:
            raise CliError(t("booking.not_found", number=args.ksef_number)) from None
    print(t("booking.booked", number=args.ksef_number, period=args.period))
    return EXIT_OK


def cmd_purchases_export(args: argparse.Namespace) -> int:
    from ksef_tui.services.booking import BookingError, export_register
    from ksef_tui.store.purchases import PurchaseRepository

    profile = _pick_profile(args.profile)
    with _store_for(profile, read_only=True) as store:
        try:
            count = export_register(
                PurchaseRepository(store), args.period, Path(args.out), decimal_comma=not args.decimal_point
            )
        except BookingError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(t("err.file_unreadable", path=args.out, reason=exc.strerror or exc)) from None
    print(t("booking.exported", count=count, path=args.out))
    return EXIT_OK


def _unicode_ok() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower()
    return "utf" in encoding and not os.environ.get("KSEF_TUI_ASCII")


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
    add.add_argument("--token-stdin", action="store_true", help=t("cli.profile.token_stdin"))
    add.add_argument("--replace", action="store_true")
    secret_options(add)
    add.set_defaults(handler=cmd_profile_add)
    listing = profile_commands.add_parser("list", help=t("cli.profile.list"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_profile_list)
    remove = profile_commands.add_parser("remove", help=t("cli.profile.remove"))
    remove.add_argument("name")
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
    pexport.set_defaults(handler=cmd_purchases_export)

    sim = commands.add_parser("sim", help=t("cli.sim"))
    sim_commands = sim.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    serve = sim_commands.add_parser("serve", help=t("cli.sim.serve"), add_help=False)
    serve.set_defaults(handler=cmd_sim_serve, passthrough=True)
    return parser


def cmd_sim_serve(args: argparse.Namespace) -> int:
    from ksef_tui.sim.serve import serve_main

    code: int = serve_main(list(args.rest))  # the simulator parses its own options
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The language flag changes the help texts too, so read it before building the parser.
    language = None
    if "--lang" in args_list and args_list.index("--lang") + 1 < len(args_list):
        language = args_list[args_list.index("--lang") + 1]
    set_language(language)
    parser = build_parser()
    args, rest = parser.parse_known_args(args_list)
    if rest and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_OK
    try:
        code: int = args.handler(args)
    except CliError as exc:
        print(f"ksef-tui: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"ksef-tui: {t('err.interrupted')}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        with suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        from ksef_tui.store.db import StoreError

        if isinstance(exc, StoreError):  # e.g. a damaged bookings file found while reading
            print(f"ksef-tui: {t('store.error', detail=exc)}", file=sys.stderr)
            return EXIT_CONFIG
        if os.environ.get("KSEF_TUI_DEBUG"):
            raise
        print(f"ksef-tui: {t('err.internal', kind=type(exc).__name__)}", file=sys.stderr)
        return EXIT_INTERNAL
    return code
