"""The Latarnia client (CERTS_OFFLINE.md §6): its URL per environment, the documented answers read over real HTTP
from the simulator as its availability switches move, and every odd answer a typed error, never a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ksef_tui.i18n import set_language
from ksef_tui.ksef.latarnia import (
    LatarniaClient,
    LatarniaError,
    LatarniaState,
    MessageCategory,
    MessageType,
    latarnia_url,
)

from ..conftest import Sim
from ..harness import FIXED_NOW, fixed_clock


def test_the_url_of_each_environment() -> None:
    assert latarnia_url("test") == "https://api-latarnia-test.ksef.mf.gov.pl"
    assert latarnia_url("prod") == "https://api-latarnia.ksef.mf.gov.pl"
    assert latarnia_url("PROD") == "https://api-latarnia.ksef.mf.gov.pl"
    assert latarnia_url("demo") is None  # MF publishes none: the app learns from failures
    assert latarnia_url("http://127.0.0.1:8765/v2") == "http://127.0.0.1:8765/latarnia"
    assert latarnia_url("http://127.0.0.1:8765/v2/") == "http://127.0.0.1:8765/latarnia"
    assert latarnia_url("https://ksef.example.com") == "https://ksef.example.com/latarnia"
    assert latarnia_url("not a url") is None


def test_the_simulator_publishes_where_its_latarnia_is(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed_purchases=0)
    assert sim.latarnia_url == latarnia_url(sim.base_url) == sim.root + "/latarnia"


async def test_status_and_messages_over_http_as_the_simulator_switches(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed_purchases=0, clock=fixed_clock())
    async with LatarniaClient(sim.latarnia_url) as client:
        status = await client.status()
        assert (status.state, status.messages) == (LatarniaState.AVAILABLE, ())  # "messages": null
        assert await client.messages() == ()

        start, end = FIXED_NOW + timedelta(hours=1), FIXED_NOW + timedelta(hours=3)
        sim.state.availability.announce_maintenance(start, end, title="Prace serwisowe")
        status = await client.status()
        assert status.state is LatarniaState.AVAILABLE  # announced, not on yet
        (announced,) = status.messages
        assert (announced.category, announced.type, announced.title) == (
            MessageCategory.MAINTENANCE,
            MessageType.MAINTENANCE_ANNOUNCEMENT,
            "Prace serwisowe",
        )
        assert (announced.start, announced.end, announced.version) == (start, end, 1)
        assert announced.event_id == 1 and announced.id and announced.text
        sim.advance(3600 + 60)
        assert (await client.status()).state is LatarniaState.MAINTENANCE

        sim.state.availability.available()
        started = sim.state.availability.start_failure()
        status = await client.status()
        assert status.state is LatarniaState.FAILURE
        assert [(m.event_id, m.type) for m in status.messages] == [(started.event_id, MessageType.FAILURE_START)]
        sim.advance(7200)
        sim.state.availability.end_failure(started.event_id)
        assert await client.status() == type(status)(LatarniaState.AVAILABLE, ())
        everything = await client.messages()
        ended = [m for m in everything if m.event_id == started.event_id]
        assert [m.type for m in ended] == [MessageType.FAILURE_END, MessageType.FAILURE_START]
        assert ended[0].end == FIXED_NOW + timedelta(seconds=3600 + 60 + 7200)
        assert ended[0].start == ended[1].start

        sim.state.availability.start_failure(total=True)
        assert (await client.status()).state is LatarniaState.TOTAL_FAILURE
    # each call is in the client's log, with its own group and no host
    calls = client.log.entries()
    assert calls and {c.group for c in calls} == {"latarnia"}
    assert {c.path for c in calls} == {"/latarnia/status", "/latarnia/messages"}
    assert all(c.status == 200 for c in calls)


async def test_latarnia_down_is_an_error_status(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(seed_purchases=0)
    sim.state.availability.set_latarnia(False)
    async with LatarniaClient(sim.latarnia_url) as client:
        with pytest.raises(LatarniaError) as caught:
            await client.status()
    assert caught.value.kind == "status" and "503" in caught.value.detail
    assert client.log.entries()[-1].status == 503


async def test_nobody_listening_is_unreachable() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with LatarniaClient(f"http://127.0.0.1:{port}/latarnia") as client:
        with pytest.raises(LatarniaError) as caught:
            await client.messages()
    assert caught.value.kind == "unreachable"
    assert client.log.entries()[-1].status is None


def mocked(status: int = 200, body: Any = None, *, raw: bytes | None = None) -> LatarniaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    return LatarniaClient("https://latarnia.test", transport=httpx.MockTransport(handler))


MESSAGE = {
    "id": "0b5d",
    "eventId": 7,
    "category": "FAILURE",
    "type": "FAILURE_START",
    "title": "Awaria",
    "text": "Wystąpiła awaria.",
    "start": "2026-05-15T10:00:00.0000000+00:00",
    "end": None,
    "version": 1,
    "published": "2026-05-15T10:00:01.1234567+00:00",
}


async def test_a_tolerant_reading_of_what_is_not_documented() -> None:
    body = {
        "status": "FAILURE",
        "messages": [
            {**MESSAGE, "severity": "high"},  # an unknown field: ignored
            {**MESSAGE, "eventId": "8", "category": "SOMETHING_NEW", "type": None, "version": None},
            {**MESSAGE, "eventId": None},  # no event: left out
            {**MESSAGE, "start": "yesterday"},  # a date that is not one: left out
            "not a message",
        ],
        "extra": {"x": 1},
    }
    async with mocked(body=body) as client:
        status = await client.status()
    assert status.state is LatarniaState.FAILURE
    first, second = status.messages
    assert (first.event_id, first.category, first.type, first.end) == (
        7,
        MessageCategory.FAILURE,
        MessageType.FAILURE_START,
        None,
    )
    assert first.published is not None and first.published.microsecond == 123456
    assert (second.event_id, second.category, second.type, second.version) == (8, None, None, 1)
    async with mocked(body={"status": "AVAILABLE", "messages": None}) as client:
        assert (await client.status()).messages == ()
    async with mocked(body={"status": "available"}) as client:  # no messages at all, lower case
        assert (await client.status()).state is LatarniaState.AVAILABLE
    async with mocked(raw=b"") as client:  # /messages with an empty body: none
        assert await client.messages() == ()


@pytest.mark.parametrize(
    ("status", "body", "raw", "kind"),
    [
        (200, None, b"<html>proxy</html>", "answer"),
        (200, ["AVAILABLE"], None, "answer"),
        (200, {"messages": []}, None, "answer"),
        (200, {"status": "PARTIAL"}, None, "answer"),
        (200, {"status": 1}, None, "answer"),
        (200, {"status": "FAILURE", "messages": {"a": 1}}, None, "answer"),
        (404, {"title": "Not Found"}, None, "status"),
        (500, None, b"", "status"),
        (302, None, b"", "status"),
    ],
)
async def test_an_odd_status_answer_is_a_typed_error(status: int, body: Any, raw: bytes | None, kind: str) -> None:
    async with mocked(status, body, raw=raw) as client:
        with pytest.raises(LatarniaError) as caught:
            await client.status()
    assert caught.value.kind == kind
    assert caught.value.message() and caught.value.hint()


async def test_odd_messages_answers() -> None:
    async with mocked(body={"messages": []}) as client:
        with pytest.raises(LatarniaError, match="not a JSON list"):
            await client.messages()
    async with mocked(body=[MESSAGE, 5, {**MESSAGE, "eventId": True}]) as client:
        assert [m.event_id for m in await client.messages()] == [7]


def test_the_errors_read_in_both_languages() -> None:
    error = LatarniaError("unreachable", "https://api-latarnia-test.ksef.mf.gov.pl/status", "dns failure")
    try:
        set_language("pl")
        assert error.message() == "Latarnia (serwis stanu KSeF) nie odpowiada: dns failure"
        assert "wywołań KSeF" in error.hint()
        set_language("en")
        assert error.message() == "Latarnia (KSeF's status service) did not answer: dns failure"
        assert "api-latarnia-test" in error.hint()
    finally:
        set_language(None)
