"""``ksef-tui cert`` (KSeF certificates) and ``ksef-tui contexts`` (an accounting office's clients): a face over
``services.certificates``; ``cli.build_parser`` adds them with :func:`add_cert_parsers`.

::

    ksef-tui cert enroll --profile N [--type authentication|offline] [--name NAME] [--use] [--json]
    ksef-tui cert list --profile N [--json]
    ksef-tui cert show SERIAL --profile N [--json]
    ksef-tui cert revoke SERIAL --profile N [--reason Unspecified|Superseded|KeyCompromise] [--yes]
    ksef-tui contexts --profile OFFICE [--json]

``enroll`` makes a new key, requests the certificate and keeps it with its key in the vault as a new credential
(``--use``: the profile signs in with it from now on). ``list``/``show`` give subject, serial, validity and the
local credential holding the certificate (``--json``: ``pem`` is the certificate only, never the key); a
certificate expiring within 30 days is warned about. ``revoke`` asks at a terminal, else needs ``--yes``.
``contexts`` lists the companies that granted the office's NIP rights, and how to add a profile for each.

Exit codes (the table in ``ksef_tui.errors``): 0 done; 2 bad input, a refused credential, a token profile asked
to enroll, a revoke not confirmed; 3 KSeF unreachable; 4 configuration (profile, vault); 5 a missing permission
(e.g. ``contexts`` without CredentialsRead); 6 KSeF refused the request.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from ksef_tui.errors import UserError
from ksef_tui.i18n import t

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.services.certificates import CertificateEntry
    from ksef_tui.services.workspace import Workspace

T = TypeVar("T")

EXIT_OK = 0
REASONS = ("Unspecified", "Superseded", "KeyCompromise")


def add_cert_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``cert enroll|list|show|revoke`` and ``contexts`` under ``commands`` (the program's sub-commands)."""
    cert = commands.add_parser("cert", help=t("cli.cert"))
    actions = cert.add_subparsers(dest="cert_command", metavar="ACTION", required=True)

    enroll = actions.add_parser("enroll", help=t("cli.cert.enroll"))
    enroll.add_argument("--type", dest="kind", choices=("authentication", "offline"), default="authentication")
    enroll.add_argument("--name", metavar="NAME", help=t("cli.cert.name"))
    enroll.add_argument("--use", action="store_true", help=t("cli.cert.use"))
    enroll.add_argument("--key", choices=("ec", "rsa"), default="ec", help=t("cli.cert.key"))
    _common(enroll)
    enroll.set_defaults(handler=cmd_cert_enroll)

    listing = actions.add_parser("list", help=t("cli.cert.list"))
    _common(listing)
    listing.set_defaults(handler=cmd_cert_list)

    show = actions.add_parser("show", help=t("cli.cert.show"))
    show.add_argument("serial", metavar="SERIAL")
    _common(show)
    show.set_defaults(handler=cmd_cert_show)

    revoke = actions.add_parser("revoke", help=t("cli.cert.revoke"))
    revoke.add_argument("serial", metavar="SERIAL")
    revoke.add_argument("--reason", choices=REASONS, default="Unspecified")
    revoke.add_argument("--yes", action="store_true", help=t("cli.cert.yes"))
    _common(revoke, with_json=False)
    revoke.set_defaults(handler=cmd_cert_revoke)

    contexts = commands.add_parser("contexts", help=t("cli.contexts"))
    _common(contexts)
    contexts.set_defaults(handler=cmd_contexts)


def _common(parser: argparse.ArgumentParser, *, with_json: bool = True) -> None:
    parser.add_argument("--profile")
    if with_json:
        parser.add_argument("--json", action="store_true")
    parser.add_argument("--secret-backend", metavar="KIND", help=t("cli.secret_backend"))
    parser.add_argument("--master-password-file", metavar="FILE", help=t("cli.master_password_file"))
    parser.add_argument("--master-password-fd", type=int, metavar="FD", help=t("cli.master_password_fd"))


def _run(args: argparse.Namespace, action: Callable[[Workspace, Profile], Coroutine[Any, Any, T]]) -> tuple[Profile, T]:
    """The profile named by ``--profile`` and what ``action`` (a service call) gives for it."""
    import asyncio

    from ksef_tui.cli import _workspace

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    return profile, asyncio.run(action(workspace, profile))


def _date(entry: CertificateEntry, which: str) -> str:
    moment = entry.certificate.valid_from if which == "from" else entry.certificate.valid_to
    return moment.date().isoformat()


# ------------------------------------------------------------------------------------------------- cert


def cmd_cert_enroll(args: argparse.Namespace) -> int:
    from ksef_tui.services.certificates import enroll

    if not args.json and sys.stderr.isatty():
        print(t("certs.enrolling", kind=t(f"certs.kind.{args.kind}")), file=sys.stderr)
    profile, done = _run(
        args, lambda w, p: enroll(w, p, kind=args.kind, name=args.name, use=args.use, algorithm=args.key)
    )
    credential = done.credential
    if args.json:
        print(
            json.dumps(
                {
                    "credential": credential.name,
                    "type": credential.certificate_type,
                    "serial": credential.serial,
                    "subject": credential.subject,
                    "fingerprint": credential.fingerprint,
                    "not_before": credential.not_before.isoformat() if credential.not_before else None,
                    "not_after": credential.not_after.isoformat() if credential.not_after else None,
                    "used_by": list(done.used_by),
                },
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    until = credential.not_after.date().isoformat() if credential.not_after else "-"
    print(t("certs.enrolled", name=credential.name, serial=credential.serial, subject=credential.subject, until=until))
    if done.used_by:
        print(t("certs.now_used", profile=profile.name, name=credential.name))
    elif credential.certificate_type == "authentication":
        print(t("certs.use_later", profile=profile.name, name=credential.name, nip=profile.nip))
    return EXIT_OK


def cmd_cert_list(args: argparse.Namespace) -> int:
    from ksef_tui.cli import _print_table
    from ksef_tui.services.certificates import list_certificates

    _, entries = _run(args, list_certificates)
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False))
        return EXIT_OK
    if not entries:
        print(t("certs.none"))
        return EXIT_OK
    rows = [tuple(t(f"certs.col.{c}") for c in ("serial", "type", "name", "status", "until", "days", "local"))]
    for e in entries:
        rows.append(
            (
                e.certificate.serial,
                t(f"certs.kind.{e.kind}"),
                e.certificate.name,
                t(f"certs.status.{e.certificate.status}"),
                _date(e, "to"),
                str(e.days_left),
                e.local or "-",
            )
        )
    _print_table(rows, right=(5,))
    _warn_expiring(entries)
    return EXIT_OK


def _warn_expiring(entries: list[CertificateEntry]) -> None:
    for e in entries:
        if e.expiring:
            print(t("certs.expiring", serial=e.certificate.serial, name=e.certificate.name, count=e.days_left),
                  file=sys.stderr)  # fmt: skip


def cmd_cert_show(args: argparse.Namespace) -> int:
    from ksef_tui.services.certificates import show

    _, entry = _run(args, lambda w, p: show(w, p, args.serial))
    if args.json:
        print(json.dumps(entry.to_json(), ensure_ascii=False))
        return EXIT_OK
    c = entry.certificate
    lines = [
        (t("certs.col.serial"), c.serial),
        (t("certs.col.name"), c.name),
        (t("certs.col.type"), t(f"certs.kind.{entry.kind}")),
        (t("certs.col.status"), t(f"certs.status.{c.status}")),
        (t("certs.col.subject"), entry.subject),
        (t("certs.col.identity"), f"{c.subject_type} {c.subject_value}"),
        (t("certs.col.valid"), f"{_date(entry, 'from')} – {_date(entry, 'to')} ({entry.days_left})"),
        (t("certs.col.local"), entry.local or "-"),
        (t("certs.col.profiles"), ", ".join(entry.profiles) or "-"),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label:<{width}}  {value}")
    _warn_expiring([entry])
    return EXIT_OK


def cmd_cert_revoke(args: argparse.Namespace) -> int:
    from ksef_tui.services.certificates import revoke

    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("certs.revoke.confirm_needed", serial=args.serial)
        try:
            answer = input(t("certs.revoke.ask", serial=args.serial) + " ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in {"t", "tak", "y", "yes"}:
            print(t("certs.revoke.kept", serial=args.serial))
            return EXIT_OK
    _, users = _run(args, lambda w, p: revoke(w, p, args.serial, args.reason))
    print(t("certs.revoked", serial=args.serial))
    if users:
        print(t("certs.revoked.users", profiles=", ".join(users)), file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------------------------- contexts


def cmd_contexts(args: argparse.Namespace) -> int:
    from ksef_tui.services.certificates import client_contexts

    profile, clients = _run(args, client_contexts)
    if args.json:
        print(json.dumps([c.to_json() for c in clients], ensure_ascii=False))
        return EXIT_OK
    if not clients:
        print(t("contexts.none", profile=profile.name, nip=profile.nip))
        return EXIT_OK
    for client in clients:
        delegate = ", ".join(client.can_delegate) or t("contexts.no_delegation")
        if client.local_profiles:
            where = t("contexts.local", profiles=", ".join(client.local_profiles))
        else:
            where = (
                f"ksef-tui profile add --name NAME --nip {client.identifier} --env {profile.environment} "
                f"--start-date YYYY-MM-DD --credential {client.credential}"
            )
        print(
            t(
                "contexts.line",
                nip=client.identifier,
                permissions=", ".join(client.permissions),
                delegate=delegate,
                where=where,
            )
        )
    return EXIT_OK
