"""`ksef-tui cert …` and `ksef-tui contexts` (issue 11) end to end against the TE simulator over real HTTP: a seal
profile requests a KSeF certificate and signs in with it from then on; the list shows it with its PEM and never
its key; a revoked certificate's next login is refused in plain words; a token profile is told how to get a
certificate; an office sees the companies that granted it rights and not the others."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.domain.credential import EXPIRY_WARNING_DAYS
from ksef_tui.ksef.certs import KsefCertificate
from ksef_tui.services.certificates import CertificateEntry

from ..conftest import Sim
from ..ksef.certkit import PASSWORD, certificate, grant_office, own_nip, p12, rsa_key, seal_name
from .test_certificate_profiles_cli import add, write
from .test_doctor_cli import home, secret_args

__all__ = ["home"]


def seal_profile(home: Path, sim: Sim, name: str = "firma", nip: str | None = None) -> None:
    key = rsa_key()
    bundle = write(home, f"{name}.p12", p12(key, certificate(key, seal_name(nip or sim.nip))))
    password = write(home, f"{name}.pass", PASSWORD.encode())
    how = ["--cert-p12", bundle, "--cert-password-file", password]
    assert main(add(home, sim, name, nip or sim.nip, *how)) == 0


def test_a_seal_profile_enrolls_and_then_signs_in_with_its_ksef_certificate(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    seal_profile(home, sim)
    capsys.readouterr()

    assert main(["cert", "enroll", "--profile", "firma", "--use", "--json"]) == 0, capsys.readouterr().err
    enrolled = json.loads(capsys.readouterr().out)
    assert enrolled["credential"] == "firma-ksef-auth" and enrolled["type"] == "authentication"
    assert enrolled["used_by"] == ["firma"] and enrolled["serial"]
    serial = enrolled["serial"]

    before = len(sim.state.auths)
    assert main(["sync", "--profile", "firma", "--json"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    logins = list(sim.state.auths.values())[before:]
    assert logins and all(op.ksef_certificate and int(op.ksef_certificate, 16) == int(serial, 16) for op in logins)
    assert main(["profile", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["credential"]["name"] == "firma-ksef-auth" and listed["credential"]["kind"] == "certificate"

    assert main(["cert", "list", "--profile", "firma", "--json"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    (cert,) = json.loads(out)
    assert cert["type"] == "authentication" and cert["status"] == "Active"
    assert cert["local_credential"] == "firma-ksef-auth" and cert["profiles"] == ["firma"]
    assert int(cert["serial"], 16) == int(serial, 16) and cert["not_after"] and cert["days_left"] > 30
    assert cert["pem"].startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in out
    assert main(["--lang", "en", "cert", "show", cert["serial"], "--profile", "firma"]) == 0
    shown = capsys.readouterr().out
    assert cert["serial"] in shown and "firma-ksef-auth" in shown and "active" in shown

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: a revoke needs --yes
    code = main(["--lang", "en", "cert", "revoke", cert["serial"], "--profile", "firma"])
    assert code == 2 and "--yes" in capsys.readouterr().err
    assert main(["cert", "revoke", cert["serial"], "--profile", "firma", "--reason", "KeyCompromise", "--yes"]) == 0
    assert "firma" in capsys.readouterr().err  # the profile signing in with it is named
    code = main(["--lang", "en", "sync", "--profile", "firma"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "revoked" in err.lower(), err
    # The key made for the KSeF certificate lives in the vault only: no file of ours holds a private key in clear.
    for path in home.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_an_offline_certificate_is_kept_apart_and_the_profile_keeps_its_seal(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    seal_profile(home, sim)
    code = main(["--lang", "en", "cert", "enroll", "--profile", "firma", "--type", "offline", "--use"])
    assert code == 2 and "offline" in capsys.readouterr().err  # an offline certificate cannot sign in
    assert main(["cert", "enroll", "--profile", "firma", "--type", "offline"]) == 0, capsys.readouterr().err
    assert "firma-ksef-offline" in capsys.readouterr().out
    assert main(["cert", "enroll", "--profile", "firma", "--type", "offline", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["credential"] == "firma-ksef-offline-2"  # a second one is numbered
    code = main(["--lang", "en", "cert", "enroll", "--profile", "firma", "--name", "firma-ksef-offline"])
    assert code == 2 and "already exists" in capsys.readouterr().err  # a name asked for must be new
    assert main(["profile", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["credential"]["name"] == "firma"  # still the seal
    assert main(["--lang", "en", "cert", "list", "--profile", "firma"]) == 0
    out = capsys.readouterr().out
    assert "offline" in out and "firma-ksef-offline" in out and "firma-ksef-offline-2" in out


def test_a_certificate_is_warned_about_30_days_before_it_expires() -> None:
    now = datetime.now(UTC)

    def entry(days: int, status: str = "Active") -> CertificateEntry:
        listed = KsefCertificate(
            serial="0123456789ABCDEF", name="biuro", type="Authentication", common_name="Biuro", status=status,
            subject_type="Nip", subject_value="5265877635", valid_from=now - timedelta(days=700),
            valid_to=now + timedelta(days=days, hours=1), request_date=now - timedelta(days=700), last_use=None,
        )  # fmt: skip
        return CertificateEntry(listed, None, (), days, None)

    assert entry(EXPIRY_WARNING_DAYS).expiring and entry(3).expiring
    assert not entry(EXPIRY_WARNING_DAYS + 1).expiring and not entry(3, "Revoked").expiring
    assert entry(3).to_json()["type"] == "authentication" and entry(3).to_json()["pem"] is None


def test_a_token_profile_is_told_how_to_get_a_certificate(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    monkeypatch.setattr("sys.stdin", io.StringIO(sim.tokens["full"] + "\n"))
    assert main(add(home, sim, "firma", sim.nip, "--token-stdin")) == 0
    capsys.readouterr()
    for language, words in (("pl", ("podpisem", "Wniosek o certyfikat", "--cert-p12")),
                            ("en", ("signature", "Wniosek o certyfikat", "--cert-p12"))):  # fmt: skip
        code = main(["--lang", language, "cert", "enroll", "--profile", "firma"])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, err
        assert all(word in err for word in words), err


def test_contexts_lists_the_companies_that_granted_the_office(
    home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim(environment="TE")
    office, stranger = own_nip(1), own_nip(2)
    client = sim.nip
    grant_office(sim, client, office)  # the client company grants the office invoice rights
    seal_profile(home, sim, "biuro", office)
    capsys.readouterr()

    assert main(["contexts", "--profile", "biuro", "--json"]) == 0, capsys.readouterr().err
    listed = json.loads(capsys.readouterr().out)
    assert [c["nip"] for c in listed] == [client] and stranger not in json.dumps(listed)
    (company,) = listed
    assert {"InvoiceRead", "InvoiceWrite"} <= set(company["permissions"])
    assert company["local_profiles"] == [] and company["credential"] == "biuro"
    assert main(["--lang", "en", "contexts", "--profile", "biuro"]) == 0
    out = capsys.readouterr().out
    assert f"--nip {client}" in out and "--credential biuro" in out

    assert main(add(home, sim, "klient", client, "--credential", "biuro")) == 0
    capsys.readouterr()
    assert main(["contexts", "--profile", "biuro", "--json", *secret_args(home)]) == 0
    (company,) = json.loads(capsys.readouterr().out)
    assert company["local_profiles"] == ["klient"]
