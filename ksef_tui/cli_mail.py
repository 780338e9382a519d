"""``ksef-tui mail``: e-mailing customers the KSeF number of their accepted invoices (a face over
``services.mail``; ``cli.build_parser`` adds it with :func:`add_mail_parser`).

::

    ksef-tui mail [--pending] [--invoice NUMBER ...] [--force] [--profile N] [--json]
    ksef-tui mail setup [--profile N] [--host H] [--port P] [--security starttls|ssl|none] [--user U]
                        [--sender S] [--password-file F | --password-fd N | --password-stdin | --forget-password]
                        [--auto | --no-auto] [--transport smtp|file] [--dir D]
    ksef-tui mail list [--profile N] [--json]

``mail`` alone (or ``--pending``) sends what the outbox holds to be sent; ``--invoice`` queues the named
invoices' mail (by hand, automatic mail on or off) and sends those; ``--force`` also re-sends a message that may
already have been delivered (see ``services.mail``). ``setup`` changes only what it is given.

Exit codes (the one table in ``ksef_tui.errors``): 0 everything asked for was delivered (or there was nothing to
send); 2 bad input (an unknown or not accepted invoice, one without an address, a bad setting); 3 a message was
not delivered (the server could not be reached, refused it, or may have got it: "network", the mail server being
the network peer that failed; the message stays in the outbox); 4 configuration (mail not set up, no password in
the vault). With several invoices, the worst code of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ksef_tui.errors import EXIT_CODES, Category, UserError
from ksef_tui.i18n import t

if TYPE_CHECKING:
    from ksef_tui.services.mail import DeliveryResult, QueueResult
    from ksef_tui.store.outbox import OutboxMessage

EXIT_OK = 0
EXIT_UNDELIVERED = EXIT_CODES[Category.NETWORK]


def add_mail_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``mail``, ``mail setup`` and ``mail list`` under ``commands`` (the program's sub-commands)."""
    mail = commands.add_parser("mail", help=t("cli.mail"))
    mail.add_argument("--pending", action="store_true", help=t("cli.mail.pending"))
    mail.add_argument(
        "--invoice", dest="invoices", action="extend", nargs="+", metavar="NUMBER", help=t("cli.mail.invoice")
    )
    mail.add_argument("--force", action="store_true", help=t("cli.mail.force"))
    _common(mail, top=True)
    mail.set_defaults(handler=cmd_mail)
    actions = mail.add_subparsers(dest="mail_command", metavar="ACTION")

    setup = actions.add_parser("setup", help=t("cli.mail.setup"))
    setup.add_argument("--host", help=t("cli.mail.host"))
    setup.add_argument("--port", type=int, help=t("cli.mail.port"))
    setup.add_argument("--security", choices=("starttls", "ssl", "none"), help=t("cli.mail.security"))
    setup.add_argument("--user", help=t("cli.mail.user"))
    setup.add_argument("--sender", help=t("cli.mail.sender"))
    secret = setup.add_mutually_exclusive_group()
    secret.add_argument("--password-file", metavar="FILE", help=t("cli.mail.password_file"))
    secret.add_argument("--password-fd", type=int, metavar="FD", help=t("cli.mail.password_fd"))
    secret.add_argument("--password-stdin", action="store_true", help=t("cli.mail.password_stdin"))
    secret.add_argument("--forget-password", action="store_true", help=t("cli.mail.forget_password"))
    setup.add_argument("--auto", action=argparse.BooleanOptionalAction, help=t("cli.mail.auto"))
    setup.add_argument("--transport", choices=("smtp", "file"), help=t("cli.mail.transport"))
    setup.add_argument("--dir", metavar="DIR", help=t("cli.mail.dir"))
    _common(setup, top=False, with_json=False)
    setup.set_defaults(handler=cmd_mail_setup)

    listing = actions.add_parser("list", help=t("cli.mail.list"))
    _common(listing, top=False)
    listing.set_defaults(handler=cmd_mail_list)


def _common(parser: argparse.ArgumentParser, *, top: bool, with_json: bool = True) -> None:
    """``--profile``, ``--json`` and the secret options, accepted before and after the action: an action's own
    copy has no default, so it never hides a value given before it."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--profile", default=default)
    if with_json:
        parser.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS)
    parser.add_argument("--secret-backend", metavar="KIND", default=default, help=t("cli.secret_backend"))
    parser.add_argument("--master-password-file", metavar="FILE", default=default, help=t("cli.master_password_file"))
    parser.add_argument(
        "--master-password-fd", type=int, metavar="FD", default=default, help=t("cli.master_password_fd")
    )


# ------------------------------------------------------------------------------------------------ mail


def cmd_mail(args: argparse.Namespace) -> int:
    from ksef_tui.cli import _workspace
    from ksef_tui.services.mail import (
        QueueResult,
        deliver,
        deliver_pending,
        password_needed,
        pending_count,
        queue_invoices,
        stored_password,
    )

    numbers: list[str] = args.invoices or []
    if args.force and not numbers:
        raise UserError("mail.force_needs_invoice")
    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    everything = not numbers or args.pending
    with workspace.open_store(profile) as store:
        queued = queue_invoices(store, profile, numbers) if numbers else QueueResult()
        due = pending_count(store, queued.to_send, force=args.force) if numbers else 0
        due += pending_count(store) if everything else 0
        password = None
        if due and password_needed(profile.mail):
            password = stored_password(workspace.vault(profile), profile)
        results = []
        if numbers:
            results.append(deliver(store, profile, password, numbers=queued.to_send, force=args.force))
        if everything:
            results.append(deliver_pending(store, profile, password))
    return _report(args, queued, results)


def _report(args: argparse.Namespace, queued: QueueResult, results: list[DeliveryResult]) -> int:
    attempted = [m for result in results for m in result.attempted]
    tried = {m.id for m in attempted}
    held = list({m.id: m for result in results for m in result.held if m.id not in tried}.values())
    code = max((EXIT_CODES[error.category] for _, error in queued.refused), default=EXIT_OK)
    if any(m.state.value != "sent" for m in attempted) or held:
        code = max(code, EXIT_UNDELIVERED)
    if args.json:
        print(json.dumps(_json(queued, attempted, held), ensure_ascii=False))
        return code
    for number, error in queued.refused:
        print(t("mail.out.refused", number=number, message=error.message()), file=sys.stderr)
    for message in queued.already_sent:
        print(t("mail.out.already_sent", **_fields(message)))
    for message in attempted:
        if message.state.value == "sent":
            print(t("mail.out.sent", **_fields(message)))
        else:
            print(t(f"mail.out.failed.{_failure(message)}", **_fields(message)), file=sys.stderr)
    for message in held:
        print(t(f"mail.out.held.{_failure(message)}", **_fields(message)), file=sys.stderr)
    if not (queued.refused or queued.already_sent or attempted or held):
        print(t("mail.out.nothing"))
    return code


def _failure(message: OutboxMessage) -> str:
    return message.failure.value if message.failure is not None else "temporary"


def _fields(message: OutboxMessage) -> dict[str, str]:
    from ksef_tui.domain.booking import WARSAW

    sent = message.sent_at or message.updated_at
    return {
        "number": message.invoice_number,
        "recipient": message.recipient,
        "error": message.last_error or "",
        "date": f"{sent.astimezone(WARSAW):%d.%m.%Y %H:%M}",
    }


def _message_json(message: OutboxMessage) -> dict[str, object]:
    return {
        "number": message.invoice_number,
        "recipient": message.recipient,
        "language": message.language,
        "subject": message.subject,
        "message_id": message.message_id,
        "state": message.state.value,
        "failure": None if message.failure is None else message.failure.value,
        "attempts": message.attempts,
        "error": message.last_error,
        "created_at": message.created_at.isoformat(),
        "updated_at": message.updated_at.isoformat(),
        "sent_at": None if message.sent_at is None else message.sent_at.isoformat(),
    }


def _json(queued: QueueResult, attempted: list[OutboxMessage], held: list[OutboxMessage]) -> dict[str, object]:
    return {
        "sent": [_message_json(m) for m in attempted if m.state.value == "sent"],
        "failed": [_message_json(m) for m in attempted if m.state.value != "sent"],
        "held": [_message_json(m) for m in held],
        "already_sent": [_message_json(m) for m in queued.already_sent],
        "refused": [{"number": number, "error": error.message()} for number, error in queued.refused],
    }


# ----------------------------------------------------------------------------------------------- setup


def _read_password(args: argparse.Namespace) -> str | None:
    from ksef_tui.vault import MasterPasswordSourceError, read_master_password

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if args.password_file is None and args.password_fd is None:
        return None
    try:
        return read_master_password(
            password_file=None if args.password_file is None else Path(args.password_file),
            password_fd=args.password_fd,
        )
    except MasterPasswordSourceError as exc:
        if exc.key == "secrets.password_fd_unreadable":
            raise UserError("mail.password_fd_unreadable", fd=args.password_fd) from None
        if exc.key == "secrets.master_password_empty":
            raise UserError("mail.password_empty") from None
        raise


def cmd_mail_setup(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ksef_tui.cli import _warn, _workspace
    from ksef_tui.domain.profile import MailSecurity, MailTransport
    from ksef_tui.services.mail import DEFAULT_PORTS, check_settings, password_needed, save_settings, stored_password

    workspace = _workspace(args)
    profile = workspace.profile(getattr(args, "profile", None))
    current = profile.mail
    security = current.security if args.security is None else MailSecurity(args.security)
    port = args.port
    if port is None:
        port = current.port if args.security is None else DEFAULT_PORTS[security]
    settings = replace(
        current,
        host=current.host if args.host is None else args.host.strip(),
        port=port,
        username=current.username if args.user is None else args.user.strip(),
        sender=current.sender if args.sender is None else args.sender.strip(),
        security=security,
        auto=current.auto if args.auto is None else args.auto,
        transport=current.transport if args.transport is None else MailTransport(args.transport),
        file_dir=current.file_dir if args.dir is None else str(Path(args.dir).expanduser().absolute()),
    )
    check_settings(settings)  # before a password is read or the vault opened
    password = _read_password(args)
    vault = workspace.vault(profile) if password is not None or args.forget_password else None
    saved = save_settings(
        workspace.profiles, vault, profile, settings, password=password, forget_password=args.forget_password
    )
    mail = saved.mail
    where = mail.file_dir if mail.transport is MailTransport.FILE else f"{mail.host}:{mail.port} ({mail.security})"
    yes_no = t("mail.out.yes") if mail.auto else t("mail.out.no")
    print(t("mail.out.saved", profile=saved.name, where=where, sender=mail.sender, auto=yes_no))
    if password is not None:
        print(t("mail.out.password_saved"))
    elif args.forget_password:
        print(t("mail.out.password_forgotten"))
    elif password_needed(mail) and stored_password(workspace.vault(saved), saved) is None:
        _warn(t("mail.out.password_none", user=mail.username))
    return EXIT_OK


# ------------------------------------------------------------------------------------------------ list


def cmd_mail_list(args: argparse.Namespace) -> int:
    from ksef_tui.cli import _clip, _print_table, _workspace
    from ksef_tui.services.mail import list_messages

    workspace = _workspace(args)
    profile = workspace.profile(getattr(args, "profile", None))
    with workspace.open_store(profile, read_only=True) as store:
        messages = list_messages(store)
    if getattr(args, "json", False):
        print(json.dumps([_message_json(m) for m in messages], ensure_ascii=False))
        return EXIT_OK
    if not messages:
        print(t("mail.out.empty"))
        return EXIT_OK
    table = [
        (
            t("col.invoice_number"),
            t("mail.col.recipient"),
            t("mail.col.state"),
            t("mail.col.attempts"),
            t("mail.col.updated"),
            t("mail.col.error"),
        )
    ]
    for message in messages:
        state = t(f"mail.state.{message.state.value}")
        if message.failure is not None and message.state.value == "failed":
            state += f" ({t(f'mail.failure.{message.failure.value}')})"
        table.append(
            (
                _clip(message.invoice_number, 24),
                _clip(message.recipient, 32),
                state,
                str(message.attempts),
                _fields(message)["date"],
                _clip(message.last_error or "", 60),
            )
        )
    _print_table(table, right=(3,))
    return EXIT_OK
