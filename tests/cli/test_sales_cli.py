"""`ksef-tui sales import` and `sales list`: FA(3) files made elsewhere into the register, refusals named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.services.workspace import Workspace

from ..conftest import Sim
from ..ksef.test_send import invoice_xml, schema_invalid
from .test_doctor_cli import add_profile, home

__all__ = ["home"]  # the fixture, shared with the doctor tests

OTHER_SELLER = "7740001454"


def test_import_then_list(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    files = {
        "first.xml": invoice_xml(sim.nip, "FV/1/03/2026"),
        "second.xml": invoice_xml(sim.nip, "FV/2/03/2026"),
        "foreign.xml": invoice_xml(OTHER_SELLER, "FV/3/03/2026"),
        "invalid.xml": schema_invalid(invoice_xml(sim.nip, "FV/4/03/2026")),
        "again.xml": invoice_xml(sim.nip, "FV/1/03/2026"),  # the number of first.xml
    }
    for name, data in files.items():
        (home / name).write_bytes(data)
    capsys.readouterr()

    code = main(["--lang", "pl", "sales", "import", *(str(home / name) for name in files)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)  # refusals of input: the worst exit code of them
    assert out.strip() == "zaimportowano faktur: 2"
    lines = err.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in err
    assert lines[0].startswith(f"{home / 'foreign.xml'}: faktura FV/3/03/2026: sprzedawca ma NIP {OTHER_SELLER}")
    assert lines[1].startswith(f"{home / 'invalid.xml'}: ")
    assert (
        lines[2]
        == f"{home / 'again.xml'}: faktura FV/1/03/2026 jest już w rejestrze sprzedaży; nie zaimportowano drugi raz"
    )

    assert main(["sales", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["number"] for s in listed] == ["FV/1/03/2026", "FV/2/03/2026"]
    first = listed[0]
    assert (first["customer_nip"], first["gross"], first["state"], first["ksef_number"], first["mail_state"]) == (
        "9999999999",
        "25.83",
        "queued",
        None,
        "none",
    )
    workspace = Workspace()
    store_path = workspace.store_path(workspace.profile("firma"))
    stored = sorted(store_path.with_name("sales-xml").rglob("*.xml"))
    assert sorted(p.read_bytes() for p in stored) == sorted([files["first.xml"], files["second.xml"]])

    assert main(["--lang", "pl", "sales", "list"]) == 0
    table = capsys.readouterr().out
    assert "Kontrahent" in table and "do wysłania" in table and "25,83" in table

    assert main(["sales", "import", str(home / "second.xml")]) == 2  # once in the register, never twice
    capsys.readouterr()
    assert main(["--lang", "pl", "sales", "list", "--state", "accepted"]) == 0
    assert "brak faktur sprzedaży" in capsys.readouterr().out
    assert main(["--lang", "pl", "sales", "list", "--state", "wysłana"]) == 2
    assert "nieznany stan „wysłana”" in capsys.readouterr().err
    assert main(["--lang", "en", "sales", "list", "--period", "2026-13"]) == 2


def test_import_refuses_what_is_not_an_invoice_file(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    (home / "hostile.xml").write_bytes(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    (home / "empty.xml").write_bytes(b"")
    capsys.readouterr()
    argv = [str(home / "missing.xml"), "/dev/null", str(home), str(home / "hostile.xml"), str(home / "empty.xml")]
    code = main(["sales", "import", *argv])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and "passwd" not in out + err.replace(str(home), "")
    assert out.strip() == "invoices imported: 0"
    assert len(err.strip().splitlines()) == 5  # each file refused on its own line
    assert main(["sales", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_the_numbering_of_a_profile_is_shown_checked_and_kept(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    from ksef_tui.services.workspace import today_in_warsaw

    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    capsys.readouterr()
    day = today_in_warsaw()
    assert main(["sales", "numbering", "--json"]) == 0  # no register yet: the first numbers
    shown = json.loads(capsys.readouterr().out)
    assert shown == {
        "invoices": "FV/{n}/{MM}/{YYYY}",
        "corrections": "KOR/{n}/{MM}/{YYYY}",
        "next_invoice": f"FV/1/{day:%m}/{day:%Y}",
        "next_correction": f"KOR/1/{day:%m}/{day:%Y}",
    }
    code = main(["--lang", "pl", "sales", "numbering", "--invoices", "F/{MM}/{n}"])
    err = capsys.readouterr().err
    assert code == 2 and "„F/{MM}/{n}”" in err and "musi zawierać rok" in err
    assert main(["sales", "numbering", "--invoices", "S/{YYYY}/{n:4}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["next_invoice"] == f"S/{day:%Y}/0001"
    (home / "s.xml").write_bytes(invoice_xml(sim.nip, f"S/{day:%Y}/0007"))
    assert main(["sales", "import", str(home / "s.xml")]) == 0
    capsys.readouterr()
    assert main(["sales", "numbering", "--json"]) == 0  # the register's highest number + 1, kept in the profile
    assert json.loads(capsys.readouterr().out)["next_invoice"] == f"S/{day:%Y}/0008"


def test_customers_are_checked_added_updated_and_listed(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    capsys.readouterr()
    assert main(["customers", "list"]) == 0 and "no customers" in capsys.readouterr().out
    code = main(["--lang", "pl", "customers", "add", "--name", "Klient", "--nip", "1234567890"])
    assert code == 2 and "NIP klienta 1234567890 jest niepoprawny" in capsys.readouterr().err
    assert main(["customers", "add", "--name", "Klient", "--nip", "9999999999", "--email", "zły@"]) == 2
    assert "not a valid e-mail address" in capsys.readouterr().err
    assert main(["customers", "add", "--name", "Klient  sp. z o.o.", "--nip", "999-999-99-99"]) == 0
    assert capsys.readouterr().out.strip() == "saved customer Klient sp. z o.o. (nip:9999999999)"
    args = ["customers", "add", "--name", "Klient sp. z o.o.", "--nip", "9999999999", "--email", "a@klient.pl"]
    assert main([*args, "--language", "en"]) == 0
    assert "updated customer" in capsys.readouterr().out
    assert main(["customers", "add", "--name", "Kunde GmbH", "--eu-vat", "DE123456789"]) == 0
    capsys.readouterr()
    assert main(["customers", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["key"], c["email"], c["language"]) for c in listed] == [
        ("nip:9999999999", "a@klient.pl", "en"),
        ("eu:DE123456789", None, "pl"),
    ]
