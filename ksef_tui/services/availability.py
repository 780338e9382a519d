"""KSeF's availability as the app sees it, and the outages KSeF announced (for the offline deadlines).

Where the state comes from (CERTS_OFFLINE.md §6, §5.1):

* **Latarnia**, KSeF's status service, where the environment has one (TEST, PRD, the simulator; not DEMO): its
  ``MAINTENANCE``, ``FAILURE`` and ``TOTAL_FAILURE`` are the state, with the title, text and times of the message
  that announced it (source ``latarnia``).
* **Failures of KSeF calls** otherwise, and also while Latarnia says AVAILABLE (KSeF can be down unannounced):
  the app's own calls, read from the profile's API log, and a cheap probe (``GET
  /security/public-key-certificates``) while calls are failing, with backoff. Failures in a row
  (:data:`FAILURES_IN_A_ROW` network failures or 5xx, or one ``503`` with ``Retry-After``) make KSeF
  ``unreachable``; one answer (any status below 500) makes it available again (source ``observed``).

The announced outages (Latarnia's messages: MAINTENANCE → unavailability, FAILURE → failure, TOTAL_FAILURE → total
failure; a failure's start and end from its FAILURE_START and FAILURE_END, matched by ``eventId``) are kept per
environment in a small JSON file under the data directory (written atomically; a damaged file is started afresh
with a log line, never an error), so deadlines can be computed from them later: :func:`outages`.

:func:`refresh` never raises for what it cannot learn: Latarnia unreachable or odd is said in
``Availability.latarnia_problem`` and the state is then learnt from failures. The network part imports httpx only
when it runs (this module loads nothing heavy).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ksef_tui import paths
from ksef_tui.domain.offline import OfflineMode, Outage, OutageKind
from ksef_tui.domain.profile import Profile

if TYPE_CHECKING:
    import httpx

    from ksef_tui.ksef.apilog import ApiCall
    from ksef_tui.ksef.latarnia import LatarniaMessage, LatarniaStatus
    from ksef_tui.services.workspace import Workspace

log = logging.getLogger(__name__)

OUTAGES_VERSION = 1
#: Network failures or 5xx answers of KSeF in a row that make it "unreachable" (a 503 with Retry-After: one).
FAILURES_IN_A_ROW = 2
#: How often the app asks Latarnia when nothing happens (seconds).
CHECK_EVERY = 180.0
#: The probe's backoff while KSeF fails: 30 s, 60 s, 120 s … at most this (seconds).
PROBE_BACKOFF_MAX = 900.0
PROBE_BACKOFF_FIRST = 30.0
#: On a watch's first look at the API log, failures of the last minutes still count.
LOG_LOOKBACK = timedelta(minutes=15)
PROBE_PATH = "/security/public-key-certificates"
#: ``KSEF_TUI_LATARNIA=off``: never ask Latarnia (a network that cannot reach it, tests that must stay offline);
#: KSeF's state is then learnt from its calls alone.
LATARNIA_SWITCH = "KSEF_TUI_LATARNIA"


class KsefState(StrEnum):
    AVAILABLE = "available"
    MAINTENANCE = "maintenance"  # announced unavailability
    FAILURE = "failure"
    TOTAL_FAILURE = "total_failure"
    UNREACHABLE = "unreachable"  # not announced: KSeF's calls fail


class Source(StrEnum):
    LATARNIA = "latarnia"
    OBSERVED = "observed"


@dataclass(frozen=True, slots=True)
class Notice:
    """A Latarnia message as the app shows it (``category``/``type`` as Latarnia spells them, "" if unknown)."""

    event_id: int
    category: str
    type: str
    title: str
    text: str
    start: datetime | None = None
    end: datetime | None = None
    published: datetime | None = None
    version: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "category": self.category,
            "type": self.type,
            "title": self.title,
            "text": self.text,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "published": _iso(self.published),
        }


@dataclass(frozen=True, slots=True)
class Availability:
    """KSeF's state at ``checked_at``: the state, what says so (title and text of Latarnia's message), since and
    until when (as announced, or observed), and Latarnia's current messages (``notices``)."""

    state: KsefState
    source: Source
    checked_at: datetime
    title: str = ""
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None
    notices: tuple[Notice, ...] = ()
    latarnia_url: str = ""  # "" when the environment has no Latarnia
    latarnia_problem: str = ""  # why Latarnia said nothing (its error's message), "" when it answered
    failures: int = 0  # KSeF calls failed in a row

    @property
    def available(self) -> bool:
        return self.state is KsefState.AVAILABLE

    @property
    def upcoming(self) -> Notice | None:
        """The next announced maintenance that has not started yet."""
        coming = [
            n for n in self.notices if n.category == "MAINTENANCE" and n.start is not None and n.start > self.checked_at
        ]
        return min(coming, key=lambda n: n.start or self.checked_at, default=None)

    def to_json(self) -> dict[str, Any]:
        mode = suggested_mode(self)
        return {
            "state": self.state.value,
            "source": self.source.value,
            "checked_at": _iso(self.checked_at),
            "title": self.title,
            "text": self.text,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "suggested_mode": mode.value if mode is not None else None,
            "latarnia_url": self.latarnia_url or None,
            "latarnia_problem": self.latarnia_problem or None,
            "failures": self.failures,
            "messages": [n.to_json() for n in self.notices],
        }


def suggested_mode(availability: Availability) -> OfflineMode | None:
    """The offline mode KSeF's state suggests for an invoice issued now (CERTS_OFFLINE.md §5.1, §6): announced
    maintenance → ``offline``, a failure → ``emergency``, a total failure → ``total_failure`` (no QR codes, no
    obligation to send), unreachable without an announcement → ``offline24`` (the seller's own choice: nothing
    announced gives a longer deadline); ``None`` while KSeF is available."""
    return {
        KsefState.MAINTENANCE: OfflineMode.OFFLINE,
        KsefState.FAILURE: OfflineMode.EMERGENCY,
        KsefState.TOTAL_FAILURE: OfflineMode.TOTAL_FAILURE,
        KsefState.UNREACHABLE: OfflineMode.OFFLINE24,
    }.get(availability.state)


# ------------------------------------------------------------------------------------------------ the outages


@dataclass(frozen=True, slots=True)
class OutageRecord:
    """One announced outage as kept on disk: Latarnia's event, its kind and times, and its message's title."""

    event_id: int
    kind: OutageKind
    start: datetime
    end: datetime | None = None
    title: str = ""
    version: int = 1

    @property
    def family(self) -> str:
        return "maintenance" if self.kind is OutageKind.UNAVAILABILITY else "failure"

    def outage(self) -> Outage:
        return Outage(self.kind, self.start, self.end)

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "kind": self.kind.value,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "title": self.title,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: object) -> OutageRecord:
        if not isinstance(data, dict):
            raise ValueError("an outage is not an object")
        event_id = data["event_id"]
        version = data.get("version", 1)
        if not isinstance(event_id, int) or not isinstance(version, int):
            raise ValueError("an outage's event_id or version is not a number")
        start = _moment(data["start"])
        if start is None:
            raise ValueError("an outage has no start")
        record = cls(
            event_id, OutageKind(data["kind"]), start, _moment(data.get("end")), str(data.get("title") or ""), version
        )
        record.outage()  # the end not before the start
        return record


def environment_key(profile: Profile) -> str:
    """The environment's name in file names: ``test``/``demo``/``prod``, or ``custom-host-port`` for an URL."""
    if not profile.is_custom:
        return profile.environment
    parts = urlsplit(profile.environment)
    return f"custom-{parts.hostname}-{parts.port or ''}".rstrip("-")


def outages_path(profile: Profile) -> Path:
    return paths.data_dir() / "availability" / f"{environment_key(profile)}.json"


def load_records(profile: Profile) -> list[OutageRecord]:
    """The outages kept for the profile's environment, oldest first; none when there is no file, and none (with a
    log line) when it cannot be read. Blocking."""
    path = outages_path(profile)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("KSeF outages not read from %s: %s", path, exc)
        return []
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("outages"), list):
            raise ValueError("not an outage file")
        records = [OutageRecord.from_json(item) for item in data["outages"]]
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("KSeF outages in %s are damaged (%s): starting with none", path, exc)
        return []
    return sorted(records, key=lambda r: (r.start, r.event_id))


def save_records(profile: Profile, records: Iterable[OutageRecord]) -> None:
    """Keep ``records`` as the environment's outages (atomic write). Blocking; ``OSError`` if it cannot."""
    from ksef_tui.store.atomic import atomic_write

    ordered = sorted(records, key=lambda r: (r.start, r.event_id))
    body = {"version": OUTAGES_VERSION, "outages": [r.to_json() for r in ordered]}
    atomic_write(outages_path(profile), json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"), mode=0o600)


def outages(workspace: Workspace, profile: Profile) -> list[Outage]:
    """The outages KSeF announced in the profile's environment (as far as this app has seen Latarnia), oldest
    first, for the deadline rules of ``domain.offline``: an ``end`` of ``None`` is one still going on. Blocking
    (a small file): run it in a thread from async code. Never raises for a missing or damaged file."""
    return [record.outage() for record in load_records(profile)]


_KIND_OF = {
    "MAINTENANCE": OutageKind.UNAVAILABILITY,
    "FAILURE": OutageKind.FAILURE,
    "TOTAL_FAILURE": OutageKind.TOTAL_FAILURE,
}


def merge_notices(records: Iterable[OutageRecord], notices: Iterable[Notice]) -> list[OutageRecord]:
    """``records`` updated with Latarnia's messages: a maintenance announcement sets its window (the newest version
    wins); a FAILURE_START opens a failure (or total failure), its FAILURE_END (same ``eventId``) closes it."""
    kept: dict[tuple[str, int], OutageRecord] = {(r.family, r.event_id): r for r in records}
    ordered = sorted(
        notices,
        key=lambda n: (n.published or n.start or datetime.min.replace(tzinfo=UTC), n.type == "FAILURE_END"),
    )
    for notice in ordered:
        kind = _KIND_OF.get(notice.category)
        if kind is None:
            continue
        if kind is OutageKind.UNAVAILABILITY:
            if notice.type != "MAINTENANCE_ANNOUNCEMENT" or notice.start is None:
                continue
            key = ("maintenance", notice.event_id)
            version = notice.version
            old = kept.get(key)
            if old is not None and old.version > version:
                continue
            candidate = OutageRecord(notice.event_id, kind, notice.start, notice.end, notice.title, version)
        elif notice.type in ("FAILURE_START", "FAILURE_END"):
            key = ("failure", notice.event_id)
            old = kept.get(key)
            start = notice.start or (old.start if old is not None else notice.published)
            if start is None:
                continue
            if notice.type == "FAILURE_START":  # the end stays as a FAILURE_END already seen set it
                end = old.end if old is not None else None
                title = notice.title or (old.title if old is not None else "")
            else:
                end = notice.end or notice.published
                title = old.title if old is not None and old.title else notice.title
            candidate = OutageRecord(notice.event_id, kind, start, end, title)
        else:
            continue
        try:
            candidate.outage()
        except ValueError:  # an end before its start: Latarnia's own slip, not an outage to count
            continue
        kept[key] = candidate
    return sorted(kept.values(), key=lambda r: (r.start, r.event_id))


# ----------------------------------------------------------------------------------------- the observed state


@dataclass(slots=True)
class Observed:
    """KSeF calls of one environment as this process has seen them: failures in a row and when to probe."""

    failures: int = 0
    since: datetime | None = None  # the first failure of the row
    retry_after: float | None = None  # what the last 503 said
    next_probe: datetime | None = None
    unreachable: bool = False

    def failed(self, at: datetime, retry_after: float | None = None) -> None:
        self.failures += 1
        if self.since is None:
            self.since = at
        self.retry_after = retry_after
        if self.failures >= FAILURES_IN_A_ROW or retry_after is not None:
            self.unreachable = True
        wait = min(PROBE_BACKOFF_FIRST * 2 ** (self.failures - 1), PROBE_BACKOFF_MAX)
        if retry_after is not None:
            wait = max(wait, min(retry_after, PROBE_BACKOFF_MAX))
        self.next_probe = at + timedelta(seconds=wait)

    def answered(self) -> None:
        self.failures, self.since, self.retry_after, self.next_probe, self.unreachable = 0, None, None, None, False

    def probe_due(self, now: datetime) -> bool:
        return self.failures > 0 and (self.next_probe is None or now >= self.next_probe)

    @property
    def until(self) -> datetime | None:
        if self.since is None or self.retry_after is None or self.next_probe is None:
            return None
        return self.next_probe


@dataclass(slots=True)
class _Environment:
    observed: Observed = field(default_factory=Observed)
    status: LatarniaStatus | None = None
    problem: str = ""
    latarnia_checked: datetime | None = None
    last_state: str = ""  # Latarnia's state at the last look ("" never looked)
    last: Availability | None = None


@dataclass(slots=True)
class _LogMark:
    seen: datetime | None = None  # the newest API-log entry counted
    stamp: tuple[int, int] | None = None  # the file's (mtime_ns, size) when it was read


class AvailabilityWatch:
    """What one face (the app, a command) has learnt of KSeF's availability between checks, per environment:
    Latarnia's last answer, the failures of KSeF calls in a row, and how far the API logs have been read.

    ``now`` is the real clock (the API log's times are real times), injectable for tests."""

    def __init__(self, *, every: float | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.every = every if every is not None else CHECK_EVERY
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self._environments: dict[str, _Environment] = {}
        self._logs: dict[str, _LogMark] = {}

    def _environment(self, profile: Profile) -> _Environment:
        return self._environments.setdefault(profile.base_url, _Environment())

    def last(self, profile: Profile) -> Availability | None:
        """What the last check said for the profile's environment (``None``: not checked yet)."""
        found = self._environments.get(profile.base_url)
        return found.last if found is not None else None

    def observe(self, profile: Profile, *, ok: bool, retry_after: float | None = None) -> None:
        """A KSeF call's outcome from whoever made it (``ok``: KSeF answered, whatever it said)."""
        observed = self._environment(profile).observed
        if ok:
            observed.answered()
        else:
            observed.failed(self.now(), retry_after)


async def refresh(
    workspace: Workspace,
    profile: Profile,
    *,
    watch: AvailabilityWatch | None = None,
    force: bool = False,
) -> Availability:
    """KSeF's state for ``profile``'s environment. With a ``watch`` kept between calls (the app's), the network is
    used only when it is time (every ``watch.every`` seconds, after a KSeF call failed, when a probe is due);
    ``force`` (a command: ``ksef-tui status``) asks Latarnia and probes KSeF now. Never raises for what it
    cannot learn (see the module's docstring)."""
    watch = watch if watch is not None else AvailabilityWatch()
    env = watch._environment(profile)
    now = watch.now()
    mark = watch._logs.setdefault(profile.name, _LogMark())
    failed_before = env.observed.failures
    new_calls = await asyncio.to_thread(_new_calls, profile, mark, now)
    for call in new_calls:
        _count(env.observed, call)
    new_failure = env.observed.failures > failed_before and any(_failure(c) for c in new_calls)
    url = _latarnia_url(profile)
    ask_latarnia = bool(url) and (
        force
        or env.latarnia_checked is None
        or new_failure
        or now - env.latarnia_checked >= timedelta(seconds=watch.every)
        or env.observed.probe_due(now)
    )
    if ask_latarnia and url:
        await _ask_latarnia(workspace, profile, env, url, now, force=force)
    elif not url:
        env.status, env.problem = None, ""
    if force or env.observed.probe_due(now) or (not url and env.last is None and new_failure):
        await _probe(workspace, profile, env.observed, mark, watch.now)
    env.last = compose(watch.now(), url or "", env.status, env.problem, env.observed)
    return env.last


def compose(now: datetime, url: str, status: LatarniaStatus | None, problem: str, observed: Observed) -> Availability:
    """The app's view from Latarnia's answer (``None``: none) and the failures observed."""
    notices = tuple(_notice(m) for m in status.messages) if status is not None else ()
    common: dict[str, Any] = {
        "checked_at": now,
        "notices": notices,
        "latarnia_url": url,
        "latarnia_problem": problem,
        "failures": observed.failures,
    }
    if status is not None and status.state.value != "AVAILABLE":
        state = KsefState(status.state.value.lower())
        main = _main_notice(notices, status.state.value, now)
        return Availability(
            state,
            Source.LATARNIA,
            title=main.title if main else "",
            text=main.text if main else "",
            since=main.start if main else None,
            until=main.end if main else None,
            **common,
        )
    if observed.unreachable:
        return Availability(
            KsefState.UNREACHABLE, Source.OBSERVED, since=observed.since, until=observed.until, **common
        )
    source = Source.LATARNIA if status is not None else Source.OBSERVED
    return Availability(KsefState.AVAILABLE, source, **common)


def _main_notice(notices: tuple[Notice, ...], category: str, now: datetime) -> Notice | None:
    """The message behind the state: of its category, in force now if one is, the newest otherwise."""
    mine = [n for n in notices if n.category == category and n.type != "FAILURE_END"]
    in_force = [n for n in mine if (n.start is None or n.start <= now) and (n.end is None or now < n.end)]
    pool = in_force or mine
    return max(pool, key=lambda n: n.published or n.start or now, default=None)


# ------------------------------------------------------------------------------------------------- the network


def latarnia_disabled() -> bool:
    """Whether ``KSEF_TUI_LATARNIA=off`` (or ``0``/``no``/``none``) turned Latarnia off."""
    return os.environ.get(LATARNIA_SWITCH, "").strip().lower() in ("off", "0", "no", "none", "false")


def _latarnia_url(profile: Profile) -> str | None:
    from ksef_tui.ksef.latarnia import latarnia_url

    return None if latarnia_disabled() else latarnia_url(profile.environment)


def _transport(workspace: Workspace, profile: Profile) -> httpx.AsyncBaseTransport | None:
    """The transport the workspace gives the profile's KSeF (an in-process simulator's): Latarnia and the probe
    go the same way as every KSeF call."""
    return workspace.transport_for(profile)


async def _ask_latarnia(
    workspace: Workspace, profile: Profile, env: _Environment, url: str, now: datetime, *, force: bool
) -> None:
    from ksef_tui.ksef.latarnia import LatarniaClient, LatarniaError

    client = LatarniaClient(url, transport=_transport(workspace, profile))
    try:
        status = await client.status()
        state_changed = status.state.value != env.last_state
        everything: tuple[LatarniaMessage, ...] = ()
        if force or status.messages or state_changed:
            everything = await client.messages()
    except LatarniaError as exc:
        env.status, env.problem = None, exc.message()
        await _keep_log(profile, [c for c in client.log.entries() if c.failed or c.note])
        return
    except Exception as exc:  # never a crashed check: say what happened and learn from failures instead
        log.warning("Latarnia at %s: %r", url, exc)
        env.status, env.problem = None, str(exc) or type(exc).__name__
        return
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    env.status, env.problem, env.latarnia_checked, env.last_state = status, "", now, status.state.value
    notices = [_notice(m) for m in (*status.messages, *everything)]
    if notices:
        await asyncio.to_thread(_keep_outages, profile, notices)


def _keep_outages(profile: Profile, notices: list[Notice]) -> None:
    records = load_records(profile)
    merged = merge_notices(records, notices)
    if merged != records:
        try:
            save_records(profile, merged)
        except OSError as exc:
            log.warning("KSeF outages not kept in %s: %s", outages_path(profile), exc)


async def _probe(
    workspace: Workspace, profile: Profile, observed: Observed, mark: _LogMark, now: Callable[[], datetime]
) -> None:
    """One cheap unauthenticated KSeF call; its outcome is counted and its log kept in the profile's API log."""
    from ksef_tui.ksef.client import KsefHttp
    from ksef_tui.ksef.errors import KsefError, ServerError, TransportFailure

    http = KsefHttp(profile.base_url, transport=_transport(workspace, profile), max_retries=0, max_429_retries=0)
    try:
        await http.request("GET", PROBE_PATH)
        observed.answered()
    except (TransportFailure, ServerError) as exc:
        calls = http.log.entries()
        retry = _retry_after(calls[-1]) if calls and isinstance(exc, ServerError) else None
        observed.failed(now(), retry)
    except KsefError:  # KSeF answered (4xx, a rate limit): it is there
        observed.answered()
    except Exception as exc:  # an odd URL: count it as a failure, never crash
        log.warning("KSeF probe of %s: %r", profile.base_url, exc)
        observed.failed(now())
    finally:
        with contextlib.suppress(Exception):
            await http.aclose()
    entries = http.log.entries()
    if entries:
        mark.seen = max([mark.seen, *(e.at for e in entries)], key=lambda at: at or datetime.min.replace(tzinfo=UTC))
        await _keep_log(profile, entries)


async def _keep_log(profile: Profile, calls: list[ApiCall]) -> None:
    """Calls kept in the profile's API log for support (a log that cannot be written costs only the log)."""
    if not calls:
        return
    from ksef_tui.services.connection import api_log_path
    from ksef_tui.store.apilog import append_api_log

    with contextlib.suppress(OSError):
        await asyncio.to_thread(append_api_log, api_log_path(profile), [c.record() for c in calls])


def _new_calls(profile: Profile, mark: _LogMark, now: datetime) -> list[ApiCall]:
    """KSeF calls in the profile's API log newer than the last ones counted, oldest first (Latarnia's own calls
    left out); the file is read only when it changed. Blocking."""
    from ksef_tui.ksef.apilog import ApiCall
    from ksef_tui.services.connection import api_log_path

    path = api_log_path(profile)
    try:
        info = os.stat(path)
    except OSError:
        if mark.seen is None:
            mark.seen = now - LOG_LOOKBACK
        return []
    stamp = (info.st_mtime_ns, info.st_size)
    if stamp == mark.stamp:
        return []
    mark.stamp = stamp
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    floor = mark.seen if mark.seen is not None else now - LOG_LOOKBACK
    fresh: list[ApiCall] = []
    for line in reversed(lines):
        call = ApiCall.from_record(line)
        if call is None:
            continue
        if call.at <= floor:
            break
        if call.group != "latarnia":
            fresh.append(call)
    fresh.reverse()
    newest = max((c.at for c in fresh), default=floor)
    mark.seen = max(newest, floor)
    return fresh


def _failure(call: ApiCall) -> bool:
    return call.status is None or call.status >= 500


def _count(observed: Observed, call: ApiCall) -> None:
    if _failure(call):
        observed.failed(call.at, _retry_after(call) if call.status == 503 else None)
    else:
        observed.answered()


def _retry_after(call: ApiCall) -> float | None:
    if call.response is None:
        return None
    for name, value in call.response.headers:
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _notice(message: LatarniaMessage) -> Notice:
    return Notice(
        event_id=message.event_id,
        category=message.category.value if message.category is not None else "",
        type=message.type.value if message.type is not None else "",
        title=message.title,
        text=message.text,
        start=message.start,
        end=message.end,
        published=message.published,
        version=message.version,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date-time: {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"a date-time without its offset: {value!r}")
    return parsed


__all__ = [
    "Availability",
    "AvailabilityWatch",
    "KsefState",
    "Notice",
    "Observed",
    "OutageRecord",
    "Source",
    "compose",
    "latarnia_disabled",
    "load_records",
    "merge_notices",
    "outages",
    "outages_path",
    "refresh",
    "save_records",
    "suggested_mode",
]
