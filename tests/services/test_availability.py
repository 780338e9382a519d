"""KSeF's availability as the app sees it (services.availability), over real HTTP against the simulator as its
switches move: Latarnia's states and messages, the outages kept for the deadlines, an unannounced outage learnt
from failures (the app's own calls in the API log, the probe with its backoff), Latarnia itself unreachable, and a
damaged outage file."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksef_tui import paths
from ksef_tui.domain.offline import OfflineMode, Outage, OutageKind
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import UserError
from ksef_tui.services.availability import (
    Availability,
    AvailabilityWatch,
    KsefState,
    Notice,
    Observed,
    Source,
    compose,
    load_records,
    merge_notices,
    outages,
    outages_path,
    refresh,
    suggested_mode,
)
from ksef_tui.services.connection import api_log_path
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.vault import MemoryKeyring, Vault

from ..conftest import Sim
from ..harness import FIXED_NOW, fixed_clock


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("KSEF_TUI_LATARNIA", raising=False)
    return tmp_path


@pytest.fixture
def workspace() -> Workspace:
    return Workspace(Settings(), vault=Vault(MemoryKeyring()))


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim(seed_purchases=0, clock=fixed_clock())


class Clock:
    """The watch's real clock, movable (the backoff is counted in real time: the API log's times are real)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def api_log(profile: Profile) -> list[dict[str, object]]:
    path = api_log_path(profile)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_available_according_to_latarnia(sim: Sim, workspace: Workspace) -> None:
    profile = sim.profile()
    state = await refresh(workspace, profile)
    assert (state.state, state.source, state.available) == (KsefState.AVAILABLE, Source.LATARNIA, True)
    assert state.latarnia_url == sim.latarnia_url and not state.latarnia_problem
    assert state.notices == () and suggested_mode(state) is None
    assert outages(workspace, profile) == [] and not outages_path(profile).exists()
    assert api_log(profile) == []  # Latarnia's good answers are not worth the support log's room


async def test_announced_maintenance(sim: Sim, workspace: Workspace) -> None:
    profile = sim.profile()
    start, end = FIXED_NOW + timedelta(hours=1), FIXED_NOW + timedelta(hours=3)
    sim.state.availability.announce_maintenance(start, end, title="Prace serwisowe")
    coming = await refresh(workspace, profile)
    assert coming.state is KsefState.AVAILABLE  # announced, not on yet: KSeF works
    (notice,) = coming.notices
    assert (notice.category, notice.title, notice.start, notice.end) == ("MAINTENANCE", "Prace serwisowe", start, end)
    # the announced window is kept for the deadlines already
    assert outages(workspace, profile) == [Outage(OutageKind.UNAVAILABILITY, start, end)]

    sim.advance(3600 + 60)
    state = await refresh(workspace, profile)
    assert (state.state, state.source) == (KsefState.MAINTENANCE, Source.LATARNIA)
    assert (state.title, state.since, state.until) == ("Prace serwisowe", start, end)
    assert "prac serwisowych" in state.text
    assert suggested_mode(state) is OfflineMode.OFFLINE
    assert state.to_json()["suggested_mode"] == "offline"


async def test_a_failure_from_start_to_end_and_the_outages_kept(sim: Sim, workspace: Workspace) -> None:
    profile = sim.profile()
    watch = AvailabilityWatch()  # the app's: one watch between looks
    assert (await refresh(workspace, profile, watch=watch)).available
    began = sim.state.now()
    started = sim.state.availability.start_failure()
    state = await refresh(workspace, profile, watch=watch, force=True)
    assert (state.state, state.title, state.since, state.until) == (KsefState.FAILURE, "Awaria KSeF", began, None)
    assert suggested_mode(state) is OfflineMode.EMERGENCY
    assert outages(workspace, profile) == [Outage(OutageKind.FAILURE, began)]  # still going on

    sim.advance(2 * 3600)
    sim.state.availability.end_failure(started.event_id)
    state = await refresh(workspace, profile, watch=watch, force=True)
    assert state.available and state.source is Source.LATARNIA
    (failure,) = outages(workspace, profile)
    assert failure == Outage(OutageKind.FAILURE, began, began + timedelta(hours=2))
    (record,) = load_records(profile)
    assert (record.event_id, record.title) == (started.event_id, "Awaria KSeF")

    total = sim.state.availability.start_failure(total=True)
    state = await refresh(workspace, profile, watch=watch, force=True)
    assert state.state is KsefState.TOTAL_FAILURE and suggested_mode(state) is OfflineMode.TOTAL_FAILURE
    kinds = [(o.kind, o.end is None) for o in outages(workspace, profile)]
    assert kinds == [(OutageKind.FAILURE, False), (OutageKind.TOTAL_FAILURE, True)]
    assert load_records(profile)[-1].event_id == total.event_id


async def test_a_failure_that_ended_while_nobody_looked_is_closed_on_the_next_look(
    sim: Sim, workspace: Workspace
) -> None:
    """A new watch (the app started again) reads every message once: the FAILURE_END it missed closes the failure."""
    profile = sim.profile()
    started = sim.state.availability.start_failure()
    await refresh(workspace, profile, watch=AvailabilityWatch())
    assert outages(workspace, profile)[0].end is None
    sim.advance(600)
    sim.state.availability.end_failure()
    state = await refresh(workspace, profile, watch=AvailabilityWatch())
    assert state.available
    assert outages(workspace, profile) == [
        Outage(OutageKind.FAILURE, started.start, started.start + timedelta(seconds=600))
    ]


async def test_unannounced_outage_found_by_the_probe(sim: Sim, workspace: Workspace) -> None:
    """KSeF answers 503 + Retry-After while Latarnia still says AVAILABLE: ``ksef-tui status`` probes KSeF."""
    profile = sim.profile()
    sim.state.availability.go_down(retry_after=120)
    before = datetime.now(UTC)
    state = await refresh(workspace, profile, force=True)
    assert (state.state, state.source, state.failures) == (KsefState.UNREACHABLE, Source.OBSERVED, 1)
    assert state.since is not None and state.since >= before
    assert state.until is not None and state.until >= state.since + timedelta(seconds=120)
    assert suggested_mode(state) is OfflineMode.OFFLINE24
    assert outages(workspace, profile) == []  # nothing announced: no outage for the deadlines
    (probe,) = api_log(profile)  # the probe is in the support log
    assert (probe["path"], probe["status"]) == ("/security/public-key-certificates", 503)
    sim.state.availability.available()
    assert (await refresh(workspace, profile, force=True)).available


async def test_the_apps_own_failed_calls_count_and_the_probe_backs_off(
    make_sim: Callable[..., Sim], workspace: Workspace
) -> None:
    sim = make_sim(seed_purchases=0)  # a clock that flows: the sync signs in
    profile = workspace.add_profile("firma", sim.nip, sim.base_url, "2026-02-01", sim.tokens["full"])
    clock = Clock()
    watch = AvailabilityWatch(now=clock)
    assert (await refresh(workspace, profile, watch=watch)).available
    sim.state.availability.go_down(retry_after=60)
    with pytest.raises(UserError):
        await workspace.sync(profile)  # the app's call fails; its log lands in the API log
    calls = len(api_log(profile))
    state = await refresh(workspace, profile, watch=watch)
    assert state.state is KsefState.UNREACHABLE and state.source is Source.OBSERVED
    # within the backoff: no probe, no new call
    clock.advance(20)
    assert (await refresh(workspace, profile, watch=watch)).state is KsefState.UNREACHABLE
    assert len(api_log(profile)) == calls
    # the backoff over (the sync's GET was tried 3 times: 30, 60, 120 s): the probe finds KSeF back
    sim.state.availability.available()
    clock.advance(120)
    state = await refresh(workspace, profile, watch=watch)
    assert state.available and state.failures == 0
    assert len(api_log(profile)) == calls + 1
    assert watch.last(profile) == state
    # down again; then one of the app's calls gets an answer: available at once, no probe needed
    sim.state.availability.go_down()
    with pytest.raises(UserError):
        await workspace.sync(profile)
    assert (await refresh(workspace, profile, watch=watch)).state is KsefState.UNREACHABLE
    sim.state.availability.available()
    await workspace.sync(profile)
    calls = len(api_log(profile))
    assert (await refresh(workspace, profile, watch=watch)).available
    assert len(api_log(profile)) == calls


async def test_latarnia_unreachable_falls_back_to_the_calls(sim: Sim, workspace: Workspace) -> None:
    profile = sim.profile()
    sim.state.availability.set_latarnia(False)
    state = await refresh(workspace, profile, force=True)
    assert (state.state, state.source) == (KsefState.AVAILABLE, Source.OBSERVED)
    assert "503" in state.latarnia_problem
    (failed, probe) = api_log(profile)  # Latarnia's failure is kept for support, then the probe
    assert (failed["group"], failed["status"], probe["status"]) == ("latarnia", 503, 200)
    sim.state.availability.go_down()
    state = await refresh(workspace, profile, force=True)
    assert state.state is KsefState.UNREACHABLE and state.latarnia_problem


async def test_no_latarnia_at_all(
    sim: Sim, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    """DEMO has no Latarnia, and ``KSEF_TUI_LATARNIA=off`` turns it off: only KSeF's calls tell."""
    monkeypatch.setenv("KSEF_TUI_LATARNIA", "off")
    profile = sim.profile()
    sim.state.availability.start_failure()
    state = await refresh(workspace, profile, force=True)
    assert (state.state, state.source, state.latarnia_url) == (KsefState.UNREACHABLE, Source.OBSERVED, "")
    # without force and without a failed call, nothing is asked of anybody
    other = make_sim(seed_purchases=0)
    quiet = Profile("quiet", other.nip, other.base_url, other.profile().start_date)
    assert (await refresh(workspace, quiet, watch=AvailabilityWatch())).available
    assert api_log(quiet) == []


async def test_a_damaged_outage_file_starts_empty(
    sim: Sim, workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    profile = sim.profile()
    path = outages_path(profile)
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "outages": [{"kind": "failure"', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ksef_tui.services.availability"):
        assert outages(workspace, profile) == []
    assert "damaged" in caplog.text
    path.write_text(json.dumps({"version": 1, "outages": [{"event_id": 1, "kind": "bogus", "start": "x"}]}))
    assert outages(workspace, profile) == []
    started = sim.state.availability.start_failure()
    await refresh(workspace, profile, force=True)
    assert [o.start for o in outages(workspace, profile)] == [started.start]  # written afresh
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_outages_are_kept_per_environment(sim: Sim, workspace: Workspace, make_sim: Callable[..., Sim]) -> None:
    other = make_sim(seed_purchases=0)
    sim.state.availability.start_failure()
    await refresh(workspace, sim.profile(), force=True)
    await refresh(workspace, other.profile(), force=True)
    assert len(outages(workspace, sim.profile())) == 1
    assert outages(workspace, other.profile()) == []
    assert paths.data_dir() / "availability" in outages_path(sim.profile()).parents


def notice(
    event: int, category: str, kind: str, start: datetime, end: datetime | None = None, **more: object
) -> Notice:
    published = more.pop("published", end or start)
    assert isinstance(published, datetime)
    version = more.pop("version", 1)
    assert isinstance(version, int)
    return Notice(event, category, kind, str(more.get("title", "")), "", start, end, published, version)


def test_merging_messages_into_outages() -> None:
    t0 = datetime(2026, 7, 9, 8, tzinfo=UTC)
    # a FAILURE_END seen before its start (newest first) still closes the failure; the start keeps its title
    records = merge_notices(
        [],
        [
            notice(3, "FAILURE", "FAILURE_END", t0, t0 + timedelta(days=3), title="Koniec"),
            notice(3, "FAILURE", "FAILURE_START", t0, title="Awaria"),
        ],
    )
    assert [(r.kind, r.start, r.end, r.title) for r in records] == [
        (OutageKind.FAILURE, t0, t0 + timedelta(days=3), "Awaria")
    ]
    # a rescheduled maintenance: the newest version wins, an older one seen later changes nothing
    v2 = notice(4, "MAINTENANCE", "MAINTENANCE_ANNOUNCEMENT", t0, t0 + timedelta(hours=5), version=2)
    v1 = notice(4, "MAINTENANCE", "MAINTENANCE_ANNOUNCEMENT", t0, t0 + timedelta(hours=2), version=1)
    records = merge_notices(records, [v2])
    records = merge_notices(records, [v1])
    assert records[-1].end == t0 + timedelta(hours=5)
    # what cannot be an outage is left out: unknown categories, an end before the start
    assert merge_notices([], [notice(5, "", "FAILURE_START", t0)]) == []
    bad = notice(6, "FAILURE", "FAILURE_END", t0, t0 - timedelta(days=2), published=t0)
    assert merge_notices([], [bad]) == []


def test_the_state_composed_and_the_mode_it_suggests() -> None:
    now = datetime(2026, 7, 9, 8, tzinfo=UTC)
    observed = Observed()
    assert compose(now, "", None, "", observed).state is KsefState.AVAILABLE
    observed.failed(now)
    assert not observed.unreachable  # one network failure is not yet "unreachable"
    observed.failed(now + timedelta(seconds=5))
    state = compose(now, "", None, "", observed)
    assert (state.state, state.since, state.failures) == (KsefState.UNREACHABLE, now, 2)
    assert observed.next_probe == now + timedelta(seconds=5 + 60)  # 30 s, then 60 s …
    for _ in range(10):
        observed.failed(now)
    assert observed.next_probe == now + timedelta(seconds=900)  # … at most 15 minutes
    observed.answered()
    assert compose(now, "", None, "", observed).available
    modes = {
        KsefState.AVAILABLE: None,
        KsefState.MAINTENANCE: OfflineMode.OFFLINE,
        KsefState.FAILURE: OfflineMode.EMERGENCY,
        KsefState.TOTAL_FAILURE: OfflineMode.TOTAL_FAILURE,
        KsefState.UNREACHABLE: OfflineMode.OFFLINE24,
    }
    for state_value, mode in modes.items():
        assert suggested_mode(Availability(state_value, Source.OBSERVED, now)) is mode
