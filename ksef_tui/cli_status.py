"""``ksef-tui status``: KSeF's availability now, Latarnia's messages and the outages KSeF announced (a face over
``services.availability``; ``cli.build_parser`` adds it with :func:`add_status_parser`).

::

    ksef-tui status [--profile N] [--json]

It asks Latarnia (where the environment has one) and probes KSeF once, whatever the app last saw; it needs no
secret (neither Latarnia nor the probe signs in). ``--json`` prints one object: the state (``available``,
``maintenance``, ``failure``, ``total_failure``, ``unreachable``), ``source`` (``latarnia``/``observed``),
``title``/``text`` of Latarnia's message, ``since``/``until``, ``suggested_mode`` (the offline mode for an
invoice issued now, or null), ``latarnia_url``, ``latarnia_problem``, ``failures``, ``messages`` and ``outages``
(``kind``, ``event_id``, ``start``, ``end``, ``title``).

Exit codes (the table in ``ksef_tui.errors``): 0 KSeF is available; 3 it is not (maintenance, a failure,
unreachable); 4 configuration (no such profile).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING

from ksef_tui.errors import EXIT_CODES, Category
from ksef_tui.i18n import t

if TYPE_CHECKING:
    from ksef_tui.services.availability import Availability, OutageRecord

EXIT_OK = 0
EXIT_DOWN = EXIT_CODES[Category.NETWORK]


def add_status_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``status`` under ``commands`` (the program's sub-commands)."""
    status = commands.add_parser("status", help=t("cli.status"))
    status.add_argument("--profile")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    import asyncio

    from ksef_tui.cli import _workspace
    from ksef_tui.services.availability import load_records, refresh

    workspace = _workspace(args)
    profile = workspace.profile(args.profile)
    availability = asyncio.run(refresh(workspace, profile, force=True))
    records = load_records(profile)
    code = EXIT_OK if availability.available else EXIT_DOWN
    if args.json:
        data = availability.to_json()
        data["profile"] = profile.name
        data["environment"] = profile.environment
        data["outages"] = [record.to_json() for record in records]
        print(json.dumps(data, ensure_ascii=False))
        return code
    for line in describe(availability, records, environment=_environment(profile.environment)):
        print(line)
    return code


def _environment(environment: str) -> str:
    return environment.upper() if environment in ("test", "demo", "prod") else environment


def describe(availability: Availability, records: list[OutageRecord], *, environment: str) -> list[str]:
    """The lines ``ksef-tui status`` prints (in the user's language)."""
    from ksef_tui.services.availability import latarnia_disabled, suggested_mode

    state = t(f"availability.state.{availability.state.value}")
    lines = [t("status.out.state", env=environment, state=state)]
    if availability.title or availability.text:
        lines.append(f"{availability.title}: {availability.text}".strip(": "))
    if availability.since is not None:
        lines.append(t("status.out.since", since=_when(availability.since)))
    if availability.until is not None:
        lines.append(t("status.out.until", until=_when(availability.until)))
    mode = suggested_mode(availability)
    if mode is not None:
        lines.append(t("status.out.mode", mode=t(f"offline.mode.{mode.value}")))
    if availability.source.value == "latarnia":
        lines.append(t("status.out.source.latarnia", url=availability.latarnia_url))
    else:
        lines.append(t("status.out.source.observed"))
    if availability.latarnia_problem:
        lines.append(t("status.out.latarnia_problem", problem=availability.latarnia_problem))
    elif not availability.latarnia_url:
        lines.append(t("status.out.latarnia_off") if latarnia_disabled() else t("status.out.no_latarnia"))
    if availability.failures:
        lines.append(t("status.out.failures", count=availability.failures))
    upcoming = availability.upcoming
    if upcoming is not None and upcoming.start is not None:
        lines.append(t("status.out.upcoming", start=_when(upcoming.start), end=_when(upcoming.end)))
    if availability.notices:
        lines.append(t("status.out.messages"))
        for notice in availability.notices:
            lines.append(
                t(
                    "status.out.message",
                    start=_when(notice.start),
                    end=_when(notice.end),
                    title=notice.title or notice.category,
                    text=notice.text,
                ).rstrip(": ")
            )
    elif availability.latarnia_url and not availability.latarnia_problem:
        lines.append(t("status.out.no_messages"))
    if records:
        lines.append(t("status.out.outages"))
        for record in records:
            kind = t(f"offline.outage.{record.kind.value}")
            if record.end is None:
                lines.append(t("status.out.outage_open", kind=kind, start=_when(record.start)))
            else:
                lines.append(t("status.out.outage", kind=kind, start=_when(record.start), end=_when(record.end)))
    else:
        lines.append(t("status.out.no_outages"))
    return lines


def _when(moment: datetime | None) -> str:
    """A moment in Warsaw time as the CLI writes it (``DD.MM.YYYY HH:MM``); ``…`` when unknown."""
    from ksef_tui.domain.booking import WARSAW

    return f"{moment.astimezone(WARSAW):%d.%m.%Y %H:%M}" if moment is not None else "…"
