"""`ksef-tui send` and `ksef-tui upo`: confirmation only at a terminal, the JSON summary, exit codes, UPO out."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from ksef_tui import paths
from ksef_tui.cli import main
from ksef_tui.fa.validate import Schema, validate_bytes

from ..conftest import Sim
from ..services.sending_kit import QUICK, sale_xml, today
from .test_doctor_cli import add_profile, home, secret_args

__all__ = ["home"]


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the user's answers typed in."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def firm(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> Sim:
    sim = make_sim(**QUICK)
    start = today().isoformat()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"], start_date=start)[0] == 0
    files = [home / "a.xml", home / "b.xml", home / "old.xml"]
    files[0].write_bytes(sale_xml(sim.nip, "FV/1/2026"))
    files[1].write_bytes(sale_xml(sim.nip, "FV/2/2026", quantity=3))
    files[2].write_bytes(sale_xml(sim.nip, "FV/0/2026", issue=today() - timedelta(days=2)))
    assert main(["sales", "import", *map(str, files)]) == 0
    capsys.readouterr()
    return sim


def test_send_all_as_json_without_a_terminal_never_asks(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt, no EOF trouble
    assert main(["send", "--all", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(out["accepted"]) == ["FV/1/2026", "FV/2/2026"]
    assert out["rejected"] == [] and out["duplicates"] == [] and out["pending"] == []
    assert out["skipped"] == [{"number": "FV/0/2026", "reason": "before_start", "start": today().isoformat()}]
    assert out["calls"]["onlineSession"] == 2 and out["calls"]["invoiceSend"] == 2
    assert main(["sales", "list", "--json"]) == 0
    listed = {s["number"]: s for s in json.loads(capsys.readouterr().out)}
    assert listed["FV/1/2026"]["state"] == "accepted" and listed["FV/1/2026"]["ksef_number"].startswith(firm.nip)
    assert listed["FV/0/2026"]["state"] == "queued"

    ksef_number = listed["FV/2/2026"]["ksef_number"]
    out_file = home / "upo.xml"
    assert main(["upo", ksef_number, "--out", str(out_file)]) == 0
    assert validate_bytes(out_file.read_bytes(), expect=Schema.UPO).ok
    assert ksef_number.encode() in out_file.read_bytes()
    capsys.readouterr()
    inside = paths.data_dir() / "upo.xml"  # never into the app's own data (the store lives there)
    assert main(["upo", ksef_number, "--out", str(inside)]) == 2
    assert "Traceback" not in capsys.readouterr().err and not inside.exists()


def test_at_a_terminal_the_send_is_confirmed_with_count_and_total(
    firm: Sim, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["--lang", "pl", "send", "--invoice", "FV/1/2026", "--invoice", "FV/2/2026"]) == 0
    out = capsys.readouterr().out
    assert "Wysłać do KSeF faktur: 2 na kwotę brutto 64,58 PLN? [t/N]" in out  # (2 + 3) × 10.50 at 23 %
    assert "nic nie wysłano" in out
    assert firm.stats()["invoices"]["accepted"] == 0

    monkeypatch.setattr("sys.stdin", Terminal("t\n"))
    assert main(["--lang", "pl", "send", "--invoice", "FV/1/2026"]) == 0
    out = capsys.readouterr().out
    assert "przyjęte przez KSeF: 1" in out and f"FV/1/2026: {firm.nip}-" in out
    monkeypatch.setattr("sys.stdin", Terminal(""))
    assert main(["--lang", "pl", "send", "--invoice", "FV/1/2026", "--yes"]) == 0  # --yes: no question
    out = capsys.readouterr().out
    assert "już przyjęta przez KSeF" in out and "Wysłać" not in out
    assert firm.stats()["invoices"]["accepted"] == 1


def test_bad_send_and_upo_requests_are_refused_with_their_exit_code(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", "--invoice", "FV/0/2026", "--yes"]) == 2  # named, but dated before the KSeF start
    assert "before the company's KSeF start date" in capsys.readouterr().out
    assert main(["send", "--invoice", "FV/404/2026", "--yes"]) == 2
    assert "FV/404/2026 is not in the sales register" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # --all or --invoice: argparse's usage error
        main(["send"])
    assert usage.value.code == 2
    capsys.readouterr()
    assert main(["upo", f"{firm.nip}-20260101-0000000000-00", "--out", str(home / "x.xml")]) == 2
    err = capsys.readouterr().err
    assert "no sales invoice in the register has the KSeF number" in err and "Traceback" not in err
    assert not (home / "x.xml").exists()


def test_a_damaged_state_file_is_named_and_nothing_is_sent(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The send journal's file damaged: exit 4 naming it, the file kept for a backup, nothing sent."""
    states = list(paths.data_dir().glob("companies/*/*/store.sales/*.state.json"))
    assert states
    states[0].write_bytes(b'{"version": 2, "state": {"FV/1/2026": {"state": "lost"')
    for argv in (["sales", "list"], ["send", "--all", "--yes"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 4 and str(states[0]) in err and "Traceback" not in err, (code, err)
    assert states[0].read_bytes().endswith(b'"lost"')
    assert firm.stats()["invoices"]["accepted"] == 0


def test_a_rejection_is_explained_and_exits_1(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksef_tui.services.sales import sales_xml_root
    from ksef_tui.services.workspace import Workspace
    from ksef_tui.store.sales import SalesRepository

    from ..ksef.test_send import schema_invalid
    from ..services.test_sending import _rehash

    workspace = Workspace()
    with workspace.open_store(workspace.profile(None)) as store:  # the file changed after the import
        repo = SalesRepository(store)
        sale = repo.get("FV/2/2026")
        assert sale is not None
        xml = (sales_xml_root(store.path) / sale.record.xml_path).read_bytes()
        record = _rehash(sale.record, schema_invalid(xml), type("F", (), {"store": store})())
        repo.table.write({record.issue_date.isoformat()[:7]: ({record.number: record.to_doc()}, {})})
    tomorrow = home / "tomorrow.xml"
    tomorrow.write_bytes(sale_xml(firm.nip, "FV/9/2026", issue=today() + timedelta(days=1)))
    assert main(["sales", "import", str(tomorrow)]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["--lang", "pl", "send", "--all"]) == 1
    out = capsys.readouterr().out
    assert "FV/2/2026: odrzucona, kod 450 — faktura nie przeszła walidacji KSeF" in out
    assert "Adnotacje" in out  # KSeF's own schema message
    assert "FV/9/2026: data wystawienia" in out and "jest w przyszłości" in out
    assert "odrzucone: 1" in out and "przyjęte przez KSeF: 1" in out


def test_with_automatic_mail_the_customer_gets_the_ksef_number_after_the_send(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    import email
    from email import policy

    sim = make_sim(**QUICK)
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    outbox = home / "mail-out"
    setup = ["mail", "setup", "--transport", "file", "--dir", str(outbox), "--sender", "biuro@firma.pl", "--auto"]
    assert main(setup) == 0, capsys.readouterr()
    (home / "a.xml").write_bytes(sale_xml(sim.nip, "FV/7/2026", email="faktury@klient.pl"))
    (home / "b.xml").write_bytes(sale_xml(sim.nip, "FV/8/2026"))  # no address anywhere: not mailed
    assert main(["sales", "import", str(home / "a.xml"), str(home / "b.xml")]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["send", "--all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mail"] == {"sent": 1, "failed": 0}
    (eml,) = outbox.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "faktury@klient.pl"
    assert main(["sales", "list", "--json"]) == 0
    listed = {s["number"]: s for s in json.loads(capsys.readouterr().out)}
    assert listed["FV/7/2026"]["mail_state"] == "sent" and listed["FV/8/2026"]["mail_state"] == "none"
    assert listed["FV/7/2026"]["ksef_number"] in str(message["Subject"])


def test_without_invoicewrite_or_with_ksef_down_nothing_is_lost_and_the_code_says_why(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(**QUICK)
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["read_only"])[0] == 0
    (home / "a.xml").write_bytes(sale_xml(sim.nip, "FV/1/2026"))
    assert main(["sales", "import", str(home / "a.xml")]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["send", "--all"]) == 5  # the token cannot issue invoices
    assert "InvoiceWrite" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO(sim.tokens["full"] + "\n"))
    replace = ["profile", "add", "--name", "firma", "--nip", sim.nip, "--env", sim.base_url, "--start-date"]
    assert main([*replace, "2026-02-01", "--token-stdin", "--replace", *secret_args(home)]) == 0
    sim.admin("POST", "/faults", {"spec": "maintenance=1"})
    assert main(["send", "--all"]) == 3  # KSeF unreachable: the network's code
    assert "Traceback" not in capsys.readouterr().err
    assert main(["sales", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["state"] == "queued"  # nothing lost, nothing half-done
    sim.admin("POST", "/faults", {})
    assert main(["send", "--all"]) == 0
    assert firm_accepted(sim) == 1


def firm_accepted(sim: Sim) -> int:
    return int(sim.stats()["invoices"]["accepted"])
