"""Certificate profiles from the command line (issue 11): a company's seal imported from a PKCS#12 or PEM + an
encrypted key, signing in with XAdES for sync; an accounting office's one certificate used in two clients'
contexts that granted it rights, and a clear refusal in a third that granted nothing. Nothing secret outside
the vault afterwards."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ksef_tui.cli import main

from ..conftest import Sim
from ..ksef.certkit import PASSWORD, certificate, ec_key, grant_office, own_nip, p12, pem, pkcs8, rsa_key, seal_name
from .test_doctor_cli import home, secret_args

__all__ = ["home"]


def write(home: Path, name: str, data: bytes, mode: int = 0o600) -> str:
    path = home / name
    path.write_bytes(data)
    path.chmod(mode)
    return str(path)


def add(home: Path, sim: Sim, name: str, nip: str, *how: str) -> list[str]:
    return ["profile", "add", "--name", name, "--nip", nip, "--env", sim.base_url, "--start-date", "2026-02-01", *how,
            *secret_args(home)]  # fmt: skip


def test_a_seal_in_a_pkcs12_signs_in_with_xades_and_syncs(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    key = rsa_key()
    seal = certificate(key, seal_name(sim.nip))
    bundle = write(home, "seal.p12", p12(key, seal))
    password = write(home, "seal.pass", (PASSWORD + "\n").encode())
    code = main(add(home, sim, "firma", sim.nip, "--cert-p12", bundle, "--cert-password-file", password))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Firma Testowa" in out and "vault" in out

    before = len(sim.state.auths)
    assert main(["sync", "--json"]) == 0, capsys.readouterr().err
    json.loads(capsys.readouterr().out)
    logins = list(sim.state.auths.values())[before:]
    assert logins and {op.method[1] for op in logins} == {"XadesSignature"}  # signed in with the seal, no token
    assert main(["profile", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["credential"]["kind"] == "certificate"
    assert listed["credential"]["fingerprint"] and listed["credential"]["not_after"]
    _no_secret_outside_the_vault(home, [pkcs8(key, None), PASSWORD.encode()], keep={bundle, password})


def test_a_certificate_with_an_encrypted_key_and_the_wrong_password(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    key = ec_key()
    cert = write(home, "cert.pem", pem(certificate(key, seal_name(sim.nip))))
    key_file = write(home, "key.pem", pkcs8(key))
    wrong = write(home, "wrong.pass", b"not the password\n")
    code = main(
        add(home, sim, "firma", sim.nip, "--cert-pem", cert, "--key-pem", key_file, "--key-password-file", wrong)
    )
    err = capsys.readouterr().err
    assert code == 4 and "Traceback" not in err and "password" in err.lower(), (code, err)  # the file is not usable
    right = write(home, "right.pass", PASSWORD.encode())
    code = main(
        add(home, sim, "firma", sim.nip, "--cert-pem", cert, "--key-pem", key_file, "--key-password-file", right)
    )
    assert code == 0, capsys.readouterr().err
    assert main(["sync"]) == 0, capsys.readouterr().err


def test_an_office_certificate_works_for_the_clients_that_granted_it(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    office_nip, stranger = own_nip(1), own_nip(2)
    client = sim.nip
    grant_office(sim, client, office_nip)  # the client company grants the office invoice rights
    key = rsa_key()
    seal = certificate(key, seal_name(office_nip, "Biuro Rachunkowe sp. z o.o."))
    bundle = write(home, "office.p12", p12(key, seal))
    password = write(home, "office.pass", PASSWORD.encode())
    how = ["--cert-p12", bundle, "--cert-password-file", password, "--credential-name", "biuro"]
    assert main(add(home, sim, "biuro", office_nip, *how)) == 0, capsys.readouterr().err
    assert main(add(home, sim, "klient", client, "--credential", "biuro")) == 0, capsys.readouterr().err
    assert main(add(home, sim, "obcy", stranger, "--credential", "biuro")) == 0, capsys.readouterr().err
    capsys.readouterr()

    assert main(["sync", "--profile", "klient", "--json"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["--lang", "pl", "sync", "--profile", "obcy"])
    err = capsys.readouterr().err
    assert code == 5 and "Traceback" not in err, err  # the company granted the office nothing
    assert main(["profile", "list", "--json"]) == 0
    listed = {p["name"]: p["credential"]["name"] for p in json.loads(capsys.readouterr().out)}
    assert listed == {"biuro": "biuro", "klient": "biuro", "obcy": "biuro"}
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["profile", "remove", "biuro", "--keep-data"]) == 0  # the clients still use the credential
    assert main(["sync", "--profile", "klient", "--json"]) == 0, capsys.readouterr().err
    _no_secret_outside_the_vault(home, [pkcs8(key, None), PASSWORD.encode()], keep={bundle, password})


def _no_secret_outside_the_vault(home: Path, secrets: list[bytes], *, keep: set[str]) -> None:
    """The key and the password are nowhere but the user's own files and the encrypted vault."""
    core = [s.split(b"\n")[1] if s.startswith(b"-----") else s for s in secrets]  # a line of the key's base64
    for path in home.rglob("*"):
        if not path.is_file() or str(path) in keep or path.suffix == ".cfg" or "keyring" in path.name:
            continue
        data = path.read_bytes()
        for secret in core:
            assert secret not in data, path


def test_sync_all_syncs_every_client_of_the_office_and_names_the_one_that_granted_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE", seed_purchases=3)
    office_nip, second, stranger = own_nip(3), own_nip(4), own_nip(5)
    for client in (sim.nip, second):  # two companies grant the office invoice rights
        grant_office(sim, client, office_nip, "InvoiceRead")
    key = ec_key()
    bundle = write(home, "office.p12", p12(key, certificate(key, seal_name(office_nip, "Biuro sp. z o.o."))))
    password = write(home, "office.pass", PASSWORD.encode())
    how = ["--cert-p12", bundle, "--cert-password-file", password, "--credential-name", "biuro"]
    assert main(add(home, sim, "biuro", office_nip, *how)) == 0, capsys.readouterr().err
    for name, nip in (("pierwszy", sim.nip), ("drugi", second), ("obcy", stranger)):
        assert main(add(home, sim, name, nip, "--credential", "biuro")) == 0, capsys.readouterr().err
    capsys.readouterr()

    code = main(["sync", "--all", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 5  # the worst: the company that granted nothing
    by_name = {row["profile"]: row for row in report["companies"]}
    assert by_name["pierwszy"]["ok"] and by_name["pierwszy"]["new"] == 3  # the seeded purchases of the sim's NIP
    assert by_name["drugi"]["ok"] and by_name["biuro"]["ok"]
    assert not by_name["obcy"]["ok"] and by_name["obcy"]["exit_code"] == 5 and stranger in by_name["obcy"]["error"]
    assert report["failed"] == 1
    assert main(["--lang", "pl", "sync", "--all"]) == 5
    out = capsys.readouterr().out
    assert "obcy (NIP" in out and "nieudane: 1" in out


def test_doctor_checks_a_certificate_profile_step_by_step(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    from datetime import UTC, datetime, timedelta

    sim = make_sim(environment="TE")
    key = rsa_key()
    password = write(home, "p.pass", PASSWORD.encode())
    good = write(home, "good.p12", p12(key, certificate(key, seal_name(sim.nip))))
    assert main(add(home, sim, "firma", sim.nip, "--cert-p12", good, "--cert-password-file", password)) == 0
    capsys.readouterr()
    assert main(["doctor", "--json"]) == 0, capsys.readouterr()
    report = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in report["steps"]] == [
        "certificate",
        "ksef_reachable",
        "challenge",
        "signature_accepted",
        "permissions",
    ]
    assert {"InvoiceRead", "InvoiceWrite"} <= set(report["permissions"])

    old = certificate(key, seal_name(sim.nip), not_before=datetime.now(UTC) - timedelta(days=400), days=30)
    expired = write(home, "old.p12", p12(key, old))
    how = ["--cert-p12", expired, "--cert-password-file", password, "--replace"]
    assert main(add(home, sim, "firma", sim.nip, *how)) == 0
    capsys.readouterr()
    assert main(["--lang", "pl", "doctor"]) == 2  # the credential cannot sign in: the token's code
    out = capsys.readouterr().out
    assert "certyfikat wygasł" in out and "cert enroll" in out

    stranger = own_nip(6)  # a context that granted this seal nothing
    how = ["--cert-p12", good, "--cert-password-file", password, "--credential-name", "pieczec"]
    assert main(add(home, sim, "obca", stranger, *how)) == 0
    capsys.readouterr()
    assert main(["doctor", "--profile", "obca"]) == 5
    assert "granted" in capsys.readouterr().out


def test_the_certificate_password_comes_from_an_owner_only_file_or_a_descriptor(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    import os

    sim = make_sim(environment="TE")
    key = rsa_key()
    bundle = write(home, "seal.p12", p12(key, certificate(key, seal_name(sim.nip))))
    loose = write(home, "loose.pass", PASSWORD.encode(), mode=0o644)  # readable by others: refused
    code = main(add(home, sim, "firma", sim.nip, "--cert-p12", bundle, "--cert-password-file", loose))
    err = capsys.readouterr().err
    assert code not in (0, 70) and "Traceback" not in err and "loose.pass" in err, (code, err)
    reader, writer = os.pipe()
    os.write(writer, (PASSWORD + "\n").encode())
    os.close(writer)
    try:
        code = main(add(home, sim, "firma", sim.nip, "--cert-p12", bundle, "--cert-password-fd", str(reader)))
    finally:
        os.close(reader)
    assert code == 0, capsys.readouterr().err
    assert main(["doctor"]) == 0
