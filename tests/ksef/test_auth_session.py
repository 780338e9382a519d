"""Session life: reuse, refresh before expiry, re-authentication when the refresh token dies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ksef_tui.ksef.auth import MemorySessionStore, permissions_of
from ksef_tui.ksef.errors import RateLimited
from ksef_tui.ksef.limits import Wait

from ..conftest import Sim, make_api


class Clock:
    """The client's clock: real time until a test stops it at a fixed moment."""

    def __init__(self) -> None:
        self.moment: datetime | None = None

    def __call__(self) -> datetime:
        return self.moment or datetime.now(UTC)


async def test_refresh_before_expiry_and_reauth_when_the_refresh_token_dies(sim: Sim) -> None:
    clock = Clock()
    store = MemorySessionStore()
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip, store=store)
    api.auth._clock = clock
    first = await api.auth.tokens()
    assert api.auth.authentications == 1
    assert {"InvoiceRead", "InvoiceWrite"} <= set(permissions_of(first.access_token))

    # within the access token's life: reused as is
    assert (await api.auth.tokens()).access_token == first.access_token
    # a minute before the access token expires: refreshed, refresh token kept (not rotated)
    clock.moment = first.access_valid_until - timedelta(seconds=30)
    refreshed = await api.auth.tokens()
    assert api.auth.refreshes == 1
    assert api.auth.authentications == 1
    assert refreshed.refresh_token == first.refresh_token
    assert store.tokens == refreshed
    # the refresh token is past its life: a new authentication
    clock.moment = first.refresh_valid_until + timedelta(minutes=1)
    await api.auth.tokens()
    assert api.auth.authentications == 2
    await api.http.aclose()


async def test_a_revoked_session_leads_to_a_new_authentication(sim: Sim) -> None:
    clock = Clock()
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip)
    api.auth._clock = clock
    first = await api.auth.tokens()
    # the user ends the session elsewhere: the refresh token dies at KSeF (refresh answers 400 21301)
    await api.http.request("DELETE", "/auth/sessions/current", bearer=first.refresh_token)
    clock.moment = first.access_valid_until
    second = await api.auth.tokens()
    assert api.auth.authentications == 2
    assert second.reference_number != first.reference_number
    assert len(sim.state.auths) == 2
    await api.http.aclose()


async def test_session_survives_a_new_client_through_the_store(sim: Sim) -> None:
    store = MemorySessionStore()
    one = make_api(sim.base_url, sim.tokens["full"], sim.nip, store=store)
    await one.token_status(sim.tokens["full"].split("|")[0])
    await one.http.aclose()
    two = make_api(sim.base_url, sim.tokens["full"], sim.nip, store=store)
    await two.token_status(sim.tokens["full"].split("|")[0])
    await two.http.aclose()
    assert two.auth.authentications == 0
    assert len(sim.state.auths) == 1


async def test_forced_429_burst_gives_up_after_bounded_retries(sim: Sim) -> None:
    api = make_api(sim.base_url, sim.tokens["full"], sim.nip)
    reference = sim.tokens["full"].split("|")[0]
    await api.auth.tokens()
    sim.admin("POST", "/faults", {"spec": "force429=other"})
    waits: list[Wait] = []
    api.http.on_wait = waits.append
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    api.http._sleep = sleep
    with pytest.raises(RateLimited) as info:
        await api.token_status(reference)
    assert len(waits) == api.http.max_429_retries == 3
    assert all(w.reason == "retry-after" and w.seconds >= 1 for w in waits)
    assert info.value.retry_after >= 1
    sim.admin("POST", "/faults", {})
    assert (await api.token_status(reference)).status == "Active"
    await api.http.aclose()
