"""KSeF's availability and the "Latarnia" status service (CERTS_OFFLINE §6, §7 item 17).

Latarnia is documented nowhere but in MF's own clients (C# ``LighthouseClient``, the Java demo app): a separate,
unauthenticated host (TE ``https://api-latarnia-test.ksef.mf.gov.pl/``, PRD ``https://api-latarnia.ksef.mf.gov.pl/``)
with two calls, served here under :data:`LATARNIA_PREFIX` on the simulator's own server (``describe()`` publishes
it as ``latarnia_url``, so a client reads ``{latarnia_url}/status`` as it reads ``{base}/status`` on MF's host):

* ``GET /status`` -> ``{"status": "AVAILABLE|MAINTENANCE|FAILURE|TOTAL_FAILURE", "messages": [Message] | null}``;
* ``GET /messages`` -> ``[Message]``;
* ``Message`` = ``{id (string), eventId (int: one event's start and end share it), category
  (FAILURE|TOTAL_FAILURE|MAINTENANCE), type (FAILURE_START|FAILURE_END|MAINTENANCE_ANNOUNCEMENT), title, text,
  start, end (null while unknown), version (int), published}``, camelCase as MF's deserialiser reads it.

What the simulator decides where the sources are silent (CERTS_OFFLINE §8 item 13):

* ``/status`` carries the messages of what is in force or announced *now* (an open failure's FAILURE_START, an
  ongoing or coming maintenance's announcement); ``null`` when there are none (a third-party client documents
  "no messages at full availability"). ``/messages`` carries every message ever published, newest first (an
  ended failure's FAILURE_END stays there: the emergency deadline counts from its ``end``, CERTS_OFFLINE §5.1).
* The status is TOTAL_FAILURE or FAILURE while a failure of that category is open, MAINTENANCE while an
  announced maintenance window is on (``start <= now < end``), else AVAILABLE. An announcement made again for the
  same event replaces its message (same ``id``, ``version`` + 1).
* While the status is not AVAILABLE, and during an unannounced outage (:meth:`Availability.go_down`: the API is
  down while Latarnia still says AVAILABLE, the case a client must detect from failures), every ``/v2`` request
  is answered ``503`` with the legacy error envelope (exception code 503, "Usługa jest chwilowo niedostępna.",
  a detail naming the cause) and ``Retry-After`` in seconds: the time left of a maintenance window, else
  ``unavailable_retry_after`` (or what ``go_down`` was given). A refused connection cannot be modelled in
  process. ``/storage`` (pre-signed blob URLs, another service) and ``/sim`` stay up.
* Latarnia itself can be made unreachable (:meth:`Availability.set_latarnia`): its calls then answer 503 with
  an empty body, so a client falls back to learning KSeF's state from failures.

Switches: in process on ``state.availability`` (``go_down``, ``announce_maintenance``, ``start_failure``,
``end_failure``, ``available``, ``set_latarnia``), over HTTP at ``/sim/availability/...`` (:mod:`.admin`).
"""

from __future__ import annotations

import math
import random
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ksef_tui.sim.clock import iso, iso_ms_local
from ksef_tui.sim.core import Core
from ksef_tui.sim.errors import json_response

if TYPE_CHECKING:
    from ksef_tui.sim.state import SimState

LATARNIA_PREFIX = "/latarnia"

AVAILABLE = "AVAILABLE"
MAINTENANCE = "MAINTENANCE"
FAILURE = "FAILURE"
TOTAL_FAILURE = "TOTAL_FAILURE"
STATUSES = (AVAILABLE, MAINTENANCE, FAILURE, TOTAL_FAILURE)

FAILURE_START = "FAILURE_START"
FAILURE_END = "FAILURE_END"
MAINTENANCE_ANNOUNCEMENT = "MAINTENANCE_ANNOUNCEMENT"

UNAVAILABLE = "Usługa jest chwilowo niedostępna."


@dataclass(frozen=True)
class Message:
    id: str
    event_id: int
    category: str  # FAILURE | TOTAL_FAILURE | MAINTENANCE
    type: str  # FAILURE_START | FAILURE_END | MAINTENANCE_ANNOUNCEMENT
    title: str
    text: str
    start: datetime
    end: datetime | None
    version: int
    published: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "eventId": self.event_id,
            "category": self.category,
            "type": self.type,
            "title": self.title,
            "text": self.text,
            "start": iso(self.start),
            "end": iso(self.end) if self.end is not None else None,
            "version": self.version,
            "published": iso(self.published),
        }


@dataclass
class Event:
    """One failure or one maintenance: its messages (latest version of each) and whether it is over."""

    id: int
    category: str
    start: datetime
    end: datetime | None
    messages: list[Message]
    ended: bool = False  # a failure ended by FAILURE_END

    def in_force(self, now: datetime) -> bool:
        if self.category == MAINTENANCE:
            return self.start <= now and (self.end is None or now < self.end)
        return not self.ended and self.start <= now

    def current(self, now: datetime) -> bool:
        """In force, or (a maintenance) announced and not yet over."""
        if self.category == MAINTENANCE:
            return self.end is None or now < self.end
        return not self.ended


@dataclass(frozen=True)
class Refusal:
    """How a ``/v2`` request is answered while KSeF is down."""

    retry_after: int
    detail: str


class Availability:
    """KSeF's announced state (Latarnia's events) and the unannounced outage switch."""

    def __init__(self, core: Core, lock: threading.RLock) -> None:
        self.core = core
        self._lock = lock
        self._rng = random.Random(core.config.seed ^ 0x1A7A)
        self._events: dict[int, Event] = {}
        self._next_event = 1
        #: Unannounced outage: the Retry-After it answers with, or None when off.
        self.outage: int | None = None
        #: Latarnia answers at all (False: 503 with an empty body).
        self.latarnia_up = True

    # ----------------------------------------------------------------- reading
    def status(self, now: datetime | None = None) -> str:
        at = now or self.core.now()
        in_force = [e for e in self._events.values() if e.in_force(at)]
        for status in (TOTAL_FAILURE, FAILURE, MAINTENANCE):
            if any(e.category == status for e in in_force):
                return status
        return AVAILABLE

    def status_json(self, now: datetime | None = None) -> dict[str, Any]:
        at = now or self.core.now()
        current = [m for e in self._events.values() if e.current(at) for m in e.messages]
        current.sort(key=lambda m: (m.published, m.event_id), reverse=True)
        return {"status": self.status(at), "messages": [m.as_json() for m in current] or None}

    def messages(self) -> list[Message]:
        every = [m for e in self._events.values() for m in e.messages]
        return sorted(every, key=lambda m: (m.published, m.event_id, m.type == FAILURE_END), reverse=True)

    def events(self) -> list[Event]:
        return list(self._events.values())

    def refusal(self, now: datetime) -> Refusal | None:
        """Why ``/v2`` is down at ``now`` (``None``: it is up)."""
        default = self.core.config.unavailable_retry_after
        in_force = [e for e in self._events.values() if e.in_force(now)]
        failures = [e for e in in_force if e.category in (FAILURE, TOTAL_FAILURE)]
        if failures:
            total = any(e.category == TOTAL_FAILURE for e in failures)
            return Refusal(default, "Trwa całkowita awaria KSeF." if total else "Trwa awaria KSeF.")
        windows = [e for e in in_force if e.category == MAINTENANCE]
        if windows:
            ends = [e.end for e in windows if e.end is not None]
            if ends:
                until = max(ends)
                left = max(1, math.ceil((until - now).total_seconds()))
                return Refusal(left, f"Trwają prace serwisowe KSeF do {iso_ms_local(until)}.")
            return Refusal(default, "Trwają prace serwisowe KSeF.")
        if self.outage is not None:
            return Refusal(self.outage, UNAVAILABLE)
        return None

    # ----------------------------------------------------------------- switches
    def go_down(self, retry_after: int | None = None) -> None:
        """KSeF is unavailable now without any announcement (Latarnia keeps its status)."""
        with self._lock:
            self.outage = retry_after if retry_after is not None else self.core.config.unavailable_retry_after

    def announce_maintenance(
        self,
        start: datetime,
        end: datetime,
        *,
        title: str | None = None,
        text: str | None = None,
        event_id: int | None = None,
    ) -> Message:
        """A MAINTENANCE_ANNOUNCEMENT for ``start``–``end`` (``event_id``: announce that event again, version + 1)."""
        if end < start or (end == start and event_id is None):
            raise ValueError("the maintenance must end after it starts")
        with self._lock:
            title = title or "Planowana niedostępność KSeF"
            text = text or (
                f"Od {iso_ms_local(start)} do {iso_ms_local(end)} KSeF będzie niedostępny z powodu prac "
                "serwisowych. W tym czasie faktury można wystawiać w trybie offline."
            )
            if event_id is not None:
                event = self._events.get(event_id)
                if event is None or event.category != MAINTENANCE:
                    raise ValueError(f"no maintenance with eventId {event_id}")
                old = event.messages[0]
                message = replace(
                    old, title=title, text=text, start=start, end=end, version=old.version + 1, published=self._now()
                )
                event.start, event.end, event.messages = start, end, [message]
                return message
            event = self._new_event(MAINTENANCE, start, end)
            message = self._message(event, MAINTENANCE_ANNOUNCEMENT, title, text, start=start, end=end)
            event.messages.append(message)
            return message

    def start_failure(
        self, *, total: bool = False, title: str | None = None, text: str | None = None, start: datetime | None = None
    ) -> Message:
        """A failure (``total``: a total failure) from ``start`` (default now): FAILURE_START, API down."""
        with self._lock:
            begin = start or self._now()
            category = TOTAL_FAILURE if total else FAILURE
            event = self._new_event(category, begin, None)
            if total:
                title = title or "Całkowita awaria KSeF"
                text = text or "Ogłoszono całkowitą awarię KSeF. Faktury wystawia się poza KSeF, bez kodów QR."
            else:
                title = title or "Awaria KSeF"
                text = text or "Wystąpiła awaria KSeF. Faktury można wystawiać w trybie awaryjnym."
            message = self._message(event, FAILURE_START, title, text, start=begin, end=None)
            event.messages.append(message)
            return message

    def end_failure(self, event_id: int | None = None, *, text: str | None = None) -> list[Message]:
        """FAILURE_END for the failure ``event_id`` (default: every open failure); returns the messages published."""
        with self._lock:
            now = self._now()
            open_failures = [e for e in self._events.values() if e.category != MAINTENANCE and not e.ended]
            if event_id is not None:
                open_failures = [e for e in open_failures if e.id == event_id]
                if not open_failures:
                    raise ValueError(f"no open failure with eventId {event_id}")
            published = []
            for event in open_failures:
                event.ended, event.end = True, now
                total = event.category == TOTAL_FAILURE
                message = self._message(
                    event,
                    FAILURE_END,
                    "Zakończenie całkowitej awarii KSeF" if total else "Zakończenie awarii KSeF",
                    text or "Awaria KSeF została usunięta. KSeF działa.",
                    start=event.start,
                    end=now,
                )
                event.messages.append(message)
                published.append(message)
            return published

    def available(self) -> None:
        """Back to AVAILABLE now: every open failure ends (FAILURE_END), a maintenance on now ends now (its
        announcement republished with the new end), the unannounced outage is off. Coming maintenance stays."""
        with self._lock:
            now = self._now()
            self.end_failure()
            for event in self._events.values():
                if event.category == MAINTENANCE and event.in_force(now):
                    self.announce_maintenance(
                        event.start,
                        now,
                        title=event.messages[0].title,
                        text="Prace serwisowe KSeF zakończyły się. KSeF działa.",
                        event_id=event.id,
                    )
            self.outage = None

    def set_latarnia(self, up: bool) -> None:
        with self._lock:
            self.latarnia_up = up

    # ----------------------------------------------------------------- helpers
    def _now(self) -> datetime:
        return self.core.now()

    def _new_event(self, category: str, start: datetime, end: datetime | None) -> Event:
        event = Event(self._next_event, category, start, end, [])
        self._events[event.id] = event
        self._next_event += 1
        return event

    def _message(
        self, event: Event, kind: str, title: str, text: str, *, start: datetime, end: datetime | None
    ) -> Message:
        return Message(
            id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            event_id=event.id,
            category=event.category,
            type=kind,
            title=title,
            text=text,
            start=start,
            end=end,
            version=1,
            published=self._now(),
        )

    def admin_json(self, now: datetime) -> dict[str, Any]:
        """What ``/sim/availability`` shows: the status, whether ``/v2`` is up and why not, the events."""
        refusal = self.refusal(now)
        return {
            "status": self.status(now),
            "apiAvailable": refusal is None,
            "retryAfter": refusal.retry_after if refusal is not None else None,
            "reason": refusal.detail if refusal is not None else None,
            "outage": self.outage is not None,
            "latarniaUp": self.latarnia_up,
            "events": [
                {
                    "eventId": e.id,
                    "category": e.category,
                    "start": iso(e.start),
                    "end": iso(e.end) if e.end is not None else None,
                    "inForce": e.in_force(now),
                }
                for e in self._events.values()
            ],
        }


def routes(state: SimState) -> list[BaseRoute]:
    """``GET /status`` and ``GET /messages`` (mounted at :data:`LATARNIA_PREFIX`); no authentication."""
    availability = state.availability

    def endpoint(build: Callable[[], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            with state.lock:
                state.advance()
                if not availability.latarnia_up:
                    return Response(status_code=503)
                return json_response(build())

        return handle

    return [
        Route("/status", endpoint(lambda: availability.status_json(state.now())), methods=["GET"]),
        Route("/messages", endpoint(lambda: [m.as_json() for m in availability.messages()]), methods=["GET"]),
    ]
