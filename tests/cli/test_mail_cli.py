"""`ksef-tui mail`, `mail setup` and `mail list` end to end: a profile with real secret storage, an accepted
invoice in the register, and a real SMTP server (aiosmtpd) that first refuses, then takes the message."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.domain.ksef_number import make_ksef_number
from ksef_tui.services.workspace import Workspace
from ksef_tui.store.sales import SalesRepository, SendState

from ..conftest import Sim
from ..services.test_mail import PASSWORD, SmtpServer, invoice_xml, smtp_server, today
from .test_doctor_cli import add_profile, home

__all__ = ["home", "smtp_server"]  # the fixtures, shared with the doctor and service tests


def accepted_invoice(home: Path, capsys: pytest.CaptureFixture[str], sim: Sim, number: str) -> str:
    (home / "invoice.xml").write_bytes(invoice_xml(number, seller_nip=sim.nip))
    assert main(["sales", "import", str(home / "invoice.xml")]) == 0
    capsys.readouterr()
    workspace = Workspace()
    ksef_number = make_ksef_number(sim.nip, today(), "0000000000A1")
    with workspace.open_store(workspace.profile("firma")) as store:
        SalesRepository(store).update_statuses(
            [number],
            lambda sale: replace(
                sale.status, state=SendState.ACCEPTED, ksef_number=ksef_number, updated_at=datetime.now(UTC)
            ),
        )
    return ksef_number


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_setup_then_a_refusal_then_the_retry_delivers_once(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., Sim],
    smtp_server: Callable[..., SmtpServer],
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    server = smtp_server(auth=True, auth_require_tls=False)  # a relay on this machine: login without TLS is allowed
    server.inbox.refuse_data = "451 4.3.0 Spróbuj później"
    secret = home / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    setup = ["mail", "setup", "--host", "127.0.0.1", "--port", str(server.port), "--security", "none"]
    setup += ["--user", "faktury", "--sender", "Firma <faktury@firma.pl>", "--password-file", str(secret), "--auto"]

    code, out, err = run(capsys, "--lang", "pl", *setup)

    assert code == 0, err
    assert f"127.0.0.1:{server.port} (none), nadawca Firma <faktury@firma.pl>, wysyłka automatyczna: tak" in out
    assert "hasło do serwera poczty zapisano w menedżerze haseł" in out
    for path in home.rglob("*"):  # the password is in the encrypted vault only
        if path.is_file() and path != secret:
            assert PASSWORD.encode() not in path.read_bytes(), path
    ksef_number = accepted_invoice(home, capsys, sim, "FV/1/03/2026")

    code, out, err = run(capsys, "--lang", "pl", "mail", "--invoice", "FV/1/03/2026")
    assert code == 3, (out, err)
    assert "451 4.3.0" in err and "czeka w kolejce" in err and "Traceback" not in err
    assert server.inbox.received == []
    code, out, _ = run(capsys, "mail", "list", "--json")
    listed = json.loads(out)
    assert [(m["number"], m["state"], m["failure"], m["attempts"]) for m in listed] == [
        ("FV/1/03/2026", "failed", "temporary", 1)
    ]
    code, out, _ = run(capsys, "--lang", "pl", "sales", "list", "--json")
    assert json.loads(out)[0]["mail_state"] == "failed"

    server.inbox.refuse_data = None
    code, out, err = run(capsys, "--lang", "pl", "mail", "--pending")
    assert (code, out.strip()) == (0, "wysłano e-mail faktury FV/1/03/2026 do ksiegowosc@klient.pl"), err
    code, out, _ = run(capsys, "--lang", "pl", "mail")
    assert (code, out.strip()) == (0, "brak e-maili do wysłania")
    code, out, _ = run(capsys, "--lang", "pl", "mail", "--invoice", "FV/1/03/2026")
    assert code == 0 and "wysłano już" in out and "nie wysłano ponownie" in out

    assert len(server.inbox.received) == 1 and server.inbox.logins == [("faktury", PASSWORD)] * 2  # one per run
    message = server.inbox.messages()[0]
    assert message["Subject"] == f"Faktura FV/1/03/2026 – numer KSeF {ksef_number}"
    code, out, _ = run(capsys, "--lang", "pl", "mail", "list")
    assert code == 0 and "FV/1/03/2026" in out and "wysłany" in out and "Adresat" in out
    code, out, _ = run(capsys, "sales", "list", "--json")
    assert json.loads(out)[0]["mail_state"] == "sent"

    workspace = Workspace()
    profile = workspace.profile("firma")
    vault = workspace.vault(profile)
    assert vault.get_mail_password(profile.vault_environment, profile.name) == PASSWORD
    code, _, err = run(capsys, "profile", "remove", "firma", "--keep-data")
    assert code == 0, err
    assert vault.get_mail_password(profile.vault_environment, profile.name) is None  # no secret left behind


def test_bad_input_is_named_and_changes_nothing(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_sim: Callable[..., Sim],
) -> None:
    sim = make_sim()
    assert add_profile(capsys, monkeypatch, home, sim, sim.tokens["full"])[0] == 0
    sandbox = home / "sandbox-mail"

    code, _, err = run(capsys, "--lang", "pl", "mail", "--invoice", "FV/1/2026")
    assert code == 4 and "nie ma ustawień wysyłki e-maili" in err and "mail setup" in err
    code, _, err = run(capsys, "--lang", "pl", "mail", "setup", "--transport", "file", "--sender", "faktury")
    assert code == 2 and "niepoprawny adres nadawcy: „faktury”" in err
    code, _, err = run(
        capsys, "mail", "setup", "--host", "smtp.example.com", "--security", "none", "--user", "u", "--sender", "a@b.pl"
    )
    assert code == 2 and "clear text" in err
    assert Workspace().profile("firma").mail.sender == ""  # nothing was saved

    code, out, err = run(
        capsys, "mail", "setup", "--transport", "file", "--dir", str(sandbox), "--sender", "Firma <f@firma.pl>"
    )
    assert code == 0, err
    accepted_invoice(home, capsys, sim, "FV/1/03/2026")
    code, _, err = run(capsys, "--lang", "pl", "mail", "--invoice", "FV/1/2026", "--invoice", "FV/1/03/2026")
    assert code == 2 and "faktury FV/1/2026 nie ma w rejestrze sprzedaży" in err
    assert len(list(sandbox.glob("*.eml"))) == 1  # the other invoice went all the same
    code, _, err = run(capsys, "mail", "--force")
    assert code == 2 and "--invoice" in err
    code, out, _ = run(capsys, "mail", "--json")
    assert code == 0 and json.loads(out) == {"sent": [], "failed": [], "held": [], "already_sent": [], "refused": []}
