"""`ksef-tui status` end to end against the simulator over HTTP: KSeF's state, Latarnia's messages and the known
outages, as text (Polish and English) and as JSON; exit 0 while KSeF is available, 3 while it is not."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.domain.booking import WARSAW

from ..conftest import Sim
from ..harness import fixed_clock
from .test_doctor_cli import add_profile, home

__all__ = ["home"]


def local(moment: datetime) -> str:
    return f"{moment.astimezone(WARSAW):%d.%m.%Y %H:%M}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_as_ksef_goes_down_and_comes_back(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., Sim],
) -> None:
    monkeypatch.delenv("KSEF_TUI_LATARNIA", raising=False)
    now = datetime.now(UTC).replace(second=0, microsecond=0)  # "announced, to come" is judged by the real clock
    sim = make_sim(seed_purchases=0, clock=fixed_clock(now))
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0

    code, out, _ = run(capsys, "status", "--profile", "firma")
    assert code == 0
    assert out.splitlines()[0] == f"KSeF {sim.base_url}: available"
    assert f"source: Latarnia ({sim.latarnia_url})" in out
    assert "Announced outages: none known" in out

    start, end = now + timedelta(hours=2), now + timedelta(hours=4)
    sim.state.availability.announce_maintenance(start, end, title="Prace serwisowe")
    code, out, _ = run(capsys, "--lang", "pl", "status")  # the only profile
    assert code == 0
    window = f"{local(start)} – {local(end)}"
    assert f"Zapowiedziane prace serwisowe: {window}" in out
    assert f"  niedostępność KSeF: {window}" in out

    started = sim.state.availability.start_failure()
    code, out, _ = run(capsys, "status", "--json")
    assert code == 3
    data = json.loads(out)
    assert (data["state"], data["source"], data["suggested_mode"]) == ("failure", "latarnia", "emergency")
    assert (data["title"], data["profile"], data["latarnia_url"]) == ("Awaria KSeF", "firma", sim.latarnia_url)
    assert [m["type"] for m in data["messages"]] == ["FAILURE_START", "MAINTENANCE_ANNOUNCEMENT"]
    assert [(o["kind"], o["event_id"], o["end"]) for o in data["outages"]] == [
        ("failure", started.event_id, None),  # oldest first: the failure started now, the maintenance is to come
        ("unavailability", 1, end.isoformat()),
    ]

    code, out, _ = run(capsys, "--lang", "pl", "status")
    assert code == 3
    assert out.splitlines()[0] == f"KSeF {sim.base_url}: awaria"
    assert "faktury wystawione teraz: tryb awaryjny" in out
    assert f"  awaria KSeF: od {local(now)} (trwa)" in out

    sim.state.availability.end_failure()
    sim.state.availability.go_down(retry_after=90)  # Latarnia says AVAILABLE, the API answers 503
    code, out, _ = run(capsys, "status")
    assert code == 3
    assert out.splitlines()[0] == f"KSeF {sim.base_url}: unreachable (not announced)"
    assert "invoices issued now: offline24 mode" in out
    # this run's probe, and the two of the runs during the failure (read back from the API log)
    assert "3 KSeF calls failed in a row" in out

    sim.state.availability.available()
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["state"] == "available"


def test_status_without_latarnia(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., Sim],
) -> None:
    sim = make_sim(seed_purchases=0)
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    monkeypatch.setenv("KSEF_TUI_LATARNIA", "off")
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "source: the outcomes of KSeF calls" in out
    assert "Latarnia: turned off (KSEF_TUI_LATARNIA=off)" in out
    monkeypatch.delenv("KSEF_TUI_LATARNIA")
    sim.state.availability.set_latarnia(False)
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "Latarnia: Latarnia (KSeF's status service) answered with an error: HTTP 503" in out
