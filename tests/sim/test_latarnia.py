"""KSeF's availability in the simulator (CERTS_OFFLINE §6, §7 item 17): the Latarnia status service (GET /status,
GET /messages on ``latarnia_url``; not in the OpenAPI, so its documented shape is checked here) and the switches
that make KSeF unavailable, announce maintenance, and start and end failures — over real HTTP (the admin API) and
in process (``state.availability``). /v2 answers are checked against the OpenAPI wherever it describes them (it
has no 503)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from ksef_tui.sim.clock import iso

from ..harness import FIXED_NOW
from .sim_support import Api, open_session

Factory = Callable[..., Api]

STATUSES = {"AVAILABLE", "MAINTENANCE", "FAILURE", "TOTAL_FAILURE"}
CATEGORIES = {"FAILURE", "TOTAL_FAILURE", "MAINTENANCE"}
TYPES = {"FAILURE_START", "FAILURE_END", "MAINTENANCE_ANNOUNCEMENT"}
MESSAGE_FIELDS = {"id", "eventId", "category", "type", "title", "text", "start", "end", "version", "published"}


def moment(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def check_message(message: dict[str, Any]) -> None:
    """The documented ``Message`` (CERTS_OFFLINE §6): every field, of its type."""
    assert set(message) == MESSAGE_FIELDS, message
    assert isinstance(message["id"], str) and message["id"]
    assert isinstance(message["eventId"], int) and not isinstance(message["eventId"], bool)
    assert isinstance(message["version"], int) and message["version"] >= 1
    assert message["category"] in CATEGORIES and message["type"] in TYPES
    assert isinstance(message["title"], str) and isinstance(message["text"], str)
    moment(message["start"])
    moment(message["published"])
    assert message["end"] is None or moment(message["end"]) >= moment(message["start"])


class Latarnia:
    """A reader of the simulator's Latarnia, at the URL the simulator publishes."""

    def __init__(self, api: Api) -> None:
        info = api.admin("GET", "/info").json()
        self.url: str = info["latarnia_url"]
        self.http = api.http

    def status(self) -> dict[str, Any]:
        response = self.http.get(f"{self.url}/status")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == {"status", "messages"} and body["status"] in STATUSES
        assert body["messages"] is None or isinstance(body["messages"], list)
        for message in body["messages"] or []:
            check_message(message)
        return dict(body)

    def messages(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.url}/messages")
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body, list)
        for message in body:
            check_message(message)
        return list(body)


def down(response: httpx.Response) -> tuple[int, list[str]]:
    """A 503 of an unavailable KSeF: the legacy envelope (exception code 503) and Retry-After; (seconds, details)."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    (entry,) = response.json()["exception"]["exceptionDetailList"]
    assert (entry["exceptionCode"], entry["exceptionDescription"]) == (503, "Usługa jest chwilowo niedostępna.")
    assert re.fullmatch(r"[1-9]\d*", response.headers["retry-after"])
    return int(response.headers["retry-after"]), list(entry["details"])


def challenge(api: Api) -> httpx.Response:
    """POST /auth/challenge, checked against the OpenAPI unless it is a 503 (the spec has none)."""
    response = api.call("POST", "/auth/challenge", validate=False)
    if response.status_code != 503:
        api.call("POST", "/auth/challenge")  # the same call, checked
    return response


def test_latarnia_url_and_an_available_ksef(make_client: Factory) -> None:
    client = make_client(seed_purchases=0)
    info = client.admin("GET", "/info").json()
    assert info["latarnia_url"] == client.sim.root + "/latarnia"
    latarnia = Latarnia(client)
    assert latarnia.status() == {"status": "AVAILABLE", "messages": None}
    assert latarnia.messages() == []
    view = client.admin("GET", "/availability").json()
    assert view["status"] == "AVAILABLE" and view["apiAvailable"] is True and view["events"] == []
    # no authentication, and a bearer changes nothing
    assert client.http.get(f"{latarnia.url}/status", headers={"Authorization": "Bearer x"}).status_code == 200


def test_announced_maintenance(make_client: Factory) -> None:
    client = make_client(seed_purchases=0)
    latarnia = Latarnia(client)
    start, end = FIXED_NOW + timedelta(hours=1), FIXED_NOW + timedelta(hours=3)
    answer = client.admin(
        "POST", "/availability/maintenance", json={"start": iso(start), "end": iso(end), "title": "Prace serwisowe"}
    ).json()
    (announced,) = answer["messages"]
    check_message(announced)
    assert (announced["category"], announced["type"], announced["title"]) == (
        "MAINTENANCE",
        "MAINTENANCE_ANNOUNCEMENT",
        "Prace serwisowe",
    )
    assert (moment(announced["start"]), moment(announced["end"]), announced["version"]) == (start, end, 1)
    # announced, not yet on: KSeF works and Latarnia says so, with the announcement
    status = latarnia.status()
    assert status["status"] == "AVAILABLE" and status["messages"] == [announced]
    assert challenge(client).status_code == 200
    # inside the window: MAINTENANCE, and the API answers 503 until the window ends
    client.sim.advance(3600 + 600)
    assert latarnia.status()["status"] == "MAINTENANCE"
    seconds, details = down(challenge(client))
    assert seconds == 2 * 3600 - 600
    assert details == ["Trwają prace serwisowe KSeF do 2026-05-15T15:00:00.000+02:00."]
    assert client.admin("GET", "/availability").json()["apiAvailable"] is False
    # rescheduled: the same message, version 2
    later = end + timedelta(hours=1)
    again = client.admin(
        "POST", "/availability/maintenance", json={"end": iso(later), "start": iso(start), "eventId": 1}
    ).json()["messages"][0]
    assert (again["id"], again["eventId"], again["version"], moment(again["end"])) == (
        announced["id"],
        announced["eventId"],
        2,
        later,
    )
    assert latarnia.messages() == [again]
    assert down(challenge(client))[0] == 3 * 3600 - 600
    # past the window: AVAILABLE again; the announcement is history
    client.sim.advance(3 * 3600)
    assert latarnia.status() == {"status": "AVAILABLE", "messages": None}
    assert latarnia.messages() == [again]
    assert challenge(client).status_code == 200


def test_failure_start_and_end(make_client: Factory) -> None:
    client = make_client(seed_purchases=0)
    latarnia = Latarnia(client)
    tokens = client.login(client.state.named_tokens["full"])
    session = open_session(client, tokens["access"])
    began = client.state.now()
    (started,) = client.admin("POST", "/availability/failure", json={}).json()["messages"]
    assert (started["category"], started["type"], started["end"]) == ("FAILURE", "FAILURE_START", None)
    status = latarnia.status()
    assert status == {"status": "FAILURE", "messages": [started]}
    # every /v2 call is refused, an open session's too
    assert down(challenge(client)) == (60, ["Trwa awaria KSeF."])
    refused = client.call("GET", f"/sessions/{session.reference}", token=tokens["access"], validate=False)
    assert down(refused)[0] == 60
    # the admin API stays up
    assert client.admin("GET", "/stats").status_code == 200
    client.sim.advance(7200)
    (ended,) = client.admin("POST", "/availability/failure/end", json={"eventId": started["eventId"]}).json()[
        "messages"
    ]
    assert (ended["category"], ended["type"], ended["eventId"]) == ("FAILURE", "FAILURE_END", started["eventId"])
    assert ended["id"] != started["id"]
    assert moment(ended["start"]) == moment(started["start"]) == began
    assert moment(ended["end"]) == began + timedelta(hours=2)
    assert latarnia.status() == {"status": "AVAILABLE", "messages": None}
    assert latarnia.messages() == [ended, started]  # newest first; the end stays for the deadline's count
    # the session outlived the failure (the access token did not: a new login)
    renewed = replace(session, access=client.login(client.state.named_tokens["full"])["access"])
    assert renewed.status()["status"]["code"] == 100
    assert challenge(client).status_code == 200
    # ending a failure that is not open
    refused_end = client.admin("POST", "/availability/failure/end", json={"eventId": started["eventId"]})
    assert refused_end.status_code == 400 and "eventId" in refused_end.json()["error"]


def test_total_failure_and_back_to_available(make_client: Factory) -> None:
    client = make_client(seed_purchases=0)
    latarnia = Latarnia(client)
    (total,) = client.admin("POST", "/availability/failure", json={"total": True}).json()["messages"]
    assert (total["category"], total["type"]) == ("TOTAL_FAILURE", "FAILURE_START")
    maintenance = client.admin("POST", "/availability/maintenance", json={"durationSeconds": 600}).json()
    assert latarnia.status()["status"] == "TOTAL_FAILURE"  # the worst state in force
    assert down(challenge(client))[1] == ["Trwa całkowita awaria KSeF."]
    client.sim.advance(60)
    view = client.admin("POST", "/availability/available", json={}).json()
    assert view["status"] == "AVAILABLE" and view["apiAvailable"] is True
    messages = latarnia.messages()
    ended = [m for m in messages if m["type"] == "FAILURE_END"]
    assert [(m["category"], m["eventId"]) for m in ended] == [("TOTAL_FAILURE", total["eventId"])]
    (announcement,) = [m for m in messages if m["type"] == "MAINTENANCE_ANNOUNCEMENT"]
    assert announcement["eventId"] == maintenance["messages"][0]["eventId"] and announcement["version"] == 2
    assert moment(announcement["end"]) == FIXED_NOW + timedelta(seconds=60)  # ended now
    assert latarnia.status() == {"status": "AVAILABLE", "messages": None}
    assert challenge(client).status_code == 200


def test_unannounced_outage_and_an_unreachable_latarnia(make_client: Factory) -> None:
    client = make_client(seed_purchases=0)
    latarnia = Latarnia(client)
    view = client.admin("POST", "/availability/down", json={"retryAfter": 30}).json()
    assert (view["status"], view["apiAvailable"], view["outage"], view["retryAfter"]) == ("AVAILABLE", False, True, 30)
    assert down(challenge(client)) == (30, ["Usługa jest chwilowo niedostępna."])
    assert latarnia.status() == {"status": "AVAILABLE", "messages": None}  # Latarnia does not know
    assert client.admin("POST", "/availability/latarnia", json={"up": False}).json()["latarniaUp"] is False
    unreachable = client.http.get(f"{latarnia.url}/status")
    assert unreachable.status_code == 503 and unreachable.content == b""
    assert client.http.get(f"{latarnia.url}/messages").status_code == 503
    client.admin("POST", "/availability/latarnia", json={"up": True})
    client.admin("POST", "/availability/available", json={})
    assert challenge(client).status_code == 200
    for path, body in (
        ("/availability/down", {"retryAfter": 0}),
        ("/availability/maintenance", {}),
        ("/availability/maintenance", {"start": "jutro", "durationSeconds": 60}),
        ("/availability/maintenance", {"durationSeconds": 60, "eventId": 99}),
        ("/availability/latarnia", {}),
    ):
        assert client.admin("POST", path, json=body).status_code == 400, (path, body)


def test_switches_in_process(make_client: Factory) -> None:
    """What tests of the client use: ``sim.state.availability`` directly, no admin HTTP."""
    client = make_client(seed_purchases=0)
    availability = client.state.availability
    latarnia = Latarnia(client)
    failure = availability.start_failure()
    assert availability.status() == "FAILURE" and latarnia.status()["messages"][0]["eventId"] == failure.event_id
    assert challenge(client).status_code == 503
    (end,) = availability.end_failure()
    assert end.type == "FAILURE_END" and end.event_id == failure.event_id
    availability.go_down()
    assert down(challenge(client))[0] == client.state.config.unavailable_retry_after
    availability.available()
    start = client.state.now() + timedelta(minutes=5)
    availability.announce_maintenance(start, start + timedelta(minutes=10))
    assert challenge(client).status_code == 200
    client.sim.advance(6 * 60)
    assert latarnia.status()["status"] == "MAINTENANCE"
    assert down(challenge(client))[0] == 9 * 60
    client.sim.advance(9 * 60)
    assert latarnia.status() == {"status": "AVAILABLE", "messages": None}
    assert challenge(client).status_code == 200
