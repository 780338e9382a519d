"""`ksef-tui sync` and `ksef-tui purchases ...` end to end (simulator, real store, real secret storage)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.cli import main
from ksef_tui.store.db import Store

from ..conftest import Sim
from .test_doctor_cli import add_profile, home, secret_args

__all__ = ["home"]  # the fixture, shared with the doctor tests


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(list(args))
    out, _ = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None


def test_sync_list_book_export(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(seed_purchases=25)
    seeded = sim.stats()["purchases_seeded"]
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    code, result = run_json(capsys, "sync", "--json", *secret_args(home))
    assert code == 0
    assert set(result) >= {"new", "updated", "corrections", "calls", "hwm"}
    assert result["new"] == seeded
    assert result["corrections"] >= 1
    code, again = run_json(capsys, "sync", "--json", *secret_args(home))
    assert (code, again["new"], again["updated"]) == (0, 0, 0)
    assert sum(again["calls"].get(g, 0) for g in ("invoiceMetadata", "invoiceDownload", "invoiceExport")) <= 2

    code, listed = run_json(capsys, "purchases", "list", "--json")
    assert code == 0
    assert len(listed) == seeded
    target = listed[0]
    code = main(
        [
            "purchases",
            "book",
            target["ksef_number"],
            "--category",
            "goods",
            "--vat-deduction",
            "50",
            "--period",
            "2026-03",
        ]
    )
    assert code == 0
    assert "booked" in capsys.readouterr().out
    code, listed = run_json(capsys, "purchases", "list", "--json")
    booked = [p for p in listed if p["booking"]]
    assert [p["ksef_number"] for p in booked] == [target["ksef_number"]]
    assert booked[0]["booking"] == {"category": "goods", "vat_deduction": 50, "period": "2026-03", "note": ""}

    out_file = home / "register.csv"
    assert main(["purchases", "export", "--period", "2026-03", "--out", str(out_file)]) == 0
    polish = out_file.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert polish.startswith("Nr KSeF;Nr faktury;Data wystawienia")  # for people; --header en for scripts
    assert main(["purchases", "export", "--period", "2026-03", "--out", str(out_file), "--header", "en"]) == 0
    raw = out_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["ksef_number", "invoice_number", "issue_date"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["ksef_number"] == target["ksef_number"]
    assert row["vat_deduction"] == "50"
    assert "," in row["gross"]  # decimal comma by default
    from decimal import Decimal

    vat = Decimal(row["vat"].replace(",", "."))
    assert Decimal(row["vat_deductible"].replace(",", ".")) == (vat / 2).quantize(Decimal("0.01"), "ROUND_HALF_UP")

    assert main(["purchases", "book", target["ksef_number"], "--unbook"]) == 0
    capsys.readouterr()
    code, listed = run_json(capsys, "purchases", "list", "--json")
    assert not [p for p in listed if p["booking"]]


def test_a_second_session_is_refused_with_the_holder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    import os
    import socket

    sim = make_sim(seed_purchases=5)
    add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])
    assert main(["sync", *secret_args(home)]) == 0
    capsys.readouterr()
    from ksef_tui.services.workspace import Workspace

    workspace = Workspace()
    store_file = workspace.store_path(workspace.profile("firma"))
    before = store_file.read_bytes()
    with Store.open(store_file):
        assert main(["sync", *secret_args(home)]) == 4
        err = capsys.readouterr().err
        assert f"the store is open in another session (pid {os.getpid()}, host {socket.gethostname()})" in err
        assert main(["purchases", "list", "--json"]) == 0  # reading still works
        assert len(json.loads(capsys.readouterr().out)) == sim.stats()["purchases_seeded"]
    assert store_file.read_bytes() == before


def test_sync_failure_exits_non_zero_with_the_reason(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(seed_purchases=5)
    add_profile(capsys, monkeypatch, home, sim, sim.tokens["read_only"])
    sim.admin("POST", "/faults", {"spec": "maintenance=1"})
    assert main(["sync", *secret_args(home)]) == 3  # KSeF answered 5xx: the network's code, as the doctor's
    err = capsys.readouterr().err
    assert "import failed" in err
    assert "cursor unchanged" in err
