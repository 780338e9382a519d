"""``ksef-tui sales import --offline``, ``sales outage``, ``sales correct-technical``, the offline fields of ``sales
list --json`` and ``cert list --json`` (issue 14's contract), end to end against the TE simulator over real HTTP: a
seal profile without an Offline certificate is told how to get one; with it, an invoice imported while KSeF is down
lists KOD I and a KOD II that verifies (``cryptography`` alone) with the certificate ``cert list`` prints; it is
sent when KSeF is back (``Offline`` in KSeF); a rejected one is corrected technically; refusals have their codes."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ksef_tui.cli import main
from ksef_tui.domain.offline import add_business_days, next_business_day

from ..conftest import Sim
from ..ksef.certkit import PASSWORD, certificate, p12, rsa_key, seal_name
from ..services.sending_kit import QUICK, sale_xml, today
from ..services.test_offline_issue import broken, kod2_verifies, let_through
from .test_certificate_profiles_cli import write
from .test_doctor_cli import home

__all__ = ["home"]

#: A vault that costs no key derivation per command (these tests run many commands); the encrypted file is
#: the vault's own tests' business.
FAST_VAULT = ["--secret-backend", "plaintext-file"]


@pytest.fixture
def firm(home: Path, capsys: pytest.CaptureFixture[str], make_sim: Callable[..., Sim]) -> Sim:
    """A company signing in with its seal on the TE simulator (quick processing); no Offline certificate yet."""
    sim = make_sim(environment="TE", **QUICK)
    key = rsa_key()
    bundle = write(home, "firma.p12", p12(key, certificate(key, seal_name(sim.nip))))
    password = write(home, "firma.pass", PASSWORD.encode())
    add = ["profile", "add", "--name", "firma", "--nip", sim.nip, "--env", sim.base_url, "--start-date", "2026-02-01",
           "--cert-p12", bundle, "--cert-password-file", password, *FAST_VAULT]  # fmt: skip
    assert main(add) == 0, capsys.readouterr().err
    capsys.readouterr()
    return sim


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    code, out, err = run(capsys, "sales", "list", "--json")
    assert code == 0, err
    return {row["number"]: row for row in json.loads(out)}


def enrol_offline(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``cert enroll --type offline`` (RSA), then the certificate as ``cert list --json`` prints it."""
    code, _, err = run(capsys, "cert", "enroll", "--profile", "firma", "--type", "offline", "--key", "rsa")
    assert code == 0, err
    code, out, err = run(capsys, "cert", "list", "--profile", "firma", "--json")
    assert code == 0, err
    assert "PRIVATE KEY" not in out
    (found,) = json.loads(out)
    return dict(found)


def test_an_invoice_imported_while_ksef_is_down_gets_both_codes_and_is_sent_offline_when_back(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    xml = sale_xml(firm.nip, "FV/1/2026")
    invoice = write(home, "a.xml", xml)
    for language, words in (("pl", "nie ma w sejfie certyfikatu KSeF typu Offline"),
                            ("en", "has no KSeF certificate of type Offline")):  # fmt: skip
        code, out, err = run(capsys, "--lang", language, "sales", "import", invoice, "--offline", "offline24")
        assert code == 4 and words in err and "Traceback" not in err, err
        assert "ksef-tui cert enroll --profile firma --type offline" in err and not out

    cert = enrol_offline(capsys)  # the contract of cert list --json
    assert cert["type"] == "offline" and cert["name"] and cert["not_after"]
    assert re.fullmatch(r"[0-9A-F]{16}", cert["serial"])
    pem = x509.load_pem_x509_certificate(cert["pem"].encode())
    assert pem.serial_number == int(cert["serial"], 16)

    code, _, err = run(capsys, "--lang", "en", "sales", "import", invoice, "--offline", "emergency")
    assert code == 2 and "--outage-start" in err, err  # emergency needs KSeF's announced failure

    firm.state.availability.go_down(retry_after=1)
    code, out, err = run(capsys, "--lang", "en", "sales", "import", invoice, "--offline", "offline24")
    assert code == 0, err
    assert "FV/1/2026: issued offline (offline24 mode)" in out and "KOD I (OFFLINE): https://qr-test" in out
    assert "KOD II (CERTYFIKAT): https://qr-test.ksef.mf.gov.pl/certificate/Nip/" in out
    row = listed(capsys)["FV/1/2026"]
    assert row["state"] == "queued" and row["ksef_number"] is None and row["offline_mode"] == "offline24"
    assert row["deadline"] == next_business_day(today()).isoformat()
    assert row["kod1"].startswith(f"https://qr-test.ksef.mf.gov.pl/invoice/{firm.nip}/") and row["kod1"] in out
    assert f"/{cert['serial']}/" in row["kod2"] and row["kod2"] in out
    assert kod2_verifies(row["kod2"], pem.public_bytes(Encoding.DER))
    assert row["customer_nip"] == "9999999999" and row["gross"] == "25.83"  # the existing fields stay
    code, out, _ = run(capsys, "--lang", "en", "sales", "list")
    assert "Offline invoices to send to KSeF:" in out and "FV/1/2026 (offline24 mode): send by" in out

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = run(capsys, "send", "--all", "--json")
    assert code == 3 and json.loads(out)["pending"] == ["FV/1/2026"], (code, err)  # KSeF down: nothing lost
    assert listed(capsys)["FV/1/2026"]["state"] == "queued"

    firm.state.availability.available()
    code, out, err = run(capsys, "send", "--all", "--json")
    assert code == 0 and json.loads(out)["accepted"] == ["FV/1/2026"] and json.loads(out)["late"] == [], err
    sent = listed(capsys)["FV/1/2026"]
    assert sent["state"] == "accepted" and sent["ksef_number"].startswith(firm.nip)
    assert sent["deadline"] is None and sent["deadline_status"] == "met" and sent["offline_mode"] == "offline24"
    assert (sent["kod1"], sent["kod2"]) == (row["kod1"], row["kod2"])
    held = firm.state.invoices.with_hash(sha256_b64(xml))  # what KSeF holds: these bytes, sent offline
    assert held is not None and held.ksef_number == sent["ksef_number"] and held.mode == "Offline"


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_rejected_offline_invoice_is_corrected_technically_from_the_command_line(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol_offline(capsys)
    good = sale_xml(firm.nip, "FV/7/2026")
    bad = broken(good)
    online_bad = broken(sale_xml(firm.nip, "FV/8/2026"))
    let_through(monkeypatch, bad, online_bad)
    assert run(capsys, "sales", "import", write(home, "bad.xml", bad), "--offline", "offline24")[0] == 0
    assert run(capsys, "sales", "import", write(home, "online.xml", online_bad))[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, _ = run(capsys, "send", "--all", "--json")
    assert code == 1 and sorted(json.loads(out)["rejected"]) == ["FV/7/2026", "FV/8/2026"]
    fixed = write(home, "fixed.xml", good)

    code, _, err = run(capsys, "--lang", "en", "sales", "correct-technical", "FV/8/2026", fixed)
    assert code == 2 and "was not issued offline" in err and "Traceback" not in err
    code, _, err = run(capsys, "--lang", "pl", "sales", "correct-technical", "FV/404/2026", fixed)
    assert code == 2 and "FV/404/2026" in err
    code, out, err = run(capsys, "sales", "correct-technical", "FV/7/2026", fixed, "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["number"] == "FV/7/2026" and done["sent"]["accepted"] == ["FV/7/2026"]
    row = listed(capsys)["FV/7/2026"]
    assert row["state"] == "accepted" and row["offline_mode"] == "offline24"
    assert row["hash_of_corrected"] == done["hash_of_corrected"]
    assert done["hash_of_corrected"] == sha256_b64(bad)  # the rejected original's hash
    held = firm.state.invoices.with_hash(sha256_b64(good))
    assert held is not None and held.mode == "Offline" and held.hash_of_corrected == sha256_b64(bad)
    assert firm.state.invoices.with_hash(sha256_b64(bad)) is None  # the rejected bytes never entered KSeF
    code, _, err = run(capsys, "--lang", "en", "sales", "correct-technical", "FV/7/2026", fixed)
    assert code == 2 and "is not rejected by KSeF" in err  # accepted now: nothing to correct


def test_an_emergency_invoice_waits_for_the_failure_end_and_bad_options_are_refused(
    firm: Sim, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrol_offline(capsys)
    invoice = write(home, "e.xml", sale_xml(firm.nip, "FV/2/2026"))
    start = today().isoformat()
    for argv, words in (
        (["sales", "import", invoice, "--outage-start", start], "--offline"),
        (["sales", "import", invoice, "--offline", "emergency", "--outage-end", start], "--outage-start"),
        (["sales", "import", invoice, "--offline", "offline24", "--outage-start", start], "offline and emergency"),
        (["sales", "import", invoice, "--offline", "emergency", "--outage-start", "jutro"], "jutro"),
        (["sales", "outage", "--kind", "failure", "--start", start, "--end", "2020-01-01"], "before the start"),
    ):
        code, _, err = run(capsys, "--lang", "en", *argv)
        assert code == 2 and words in err and "Traceback" not in err, (argv, err)
    with pytest.raises(SystemExit) as usage:
        main(["sales", "import", invoice, "--offline", "total"])
    assert usage.value.code == 2
    capsys.readouterr()

    firm.state.availability.start_failure()
    code, out, err = run(capsys, "--lang", "en", "sales", "import", invoice, "--offline", "emergency",
                         "--outage-start", start)  # fmt: skip
    assert code == 0 and "the deadline will be known when the KSeF failure" in out, err
    row = listed(capsys)["FV/2/2026"]
    assert row["offline_mode"] == "emergency" and row["deadline"] is None and row["deadline_status"] == "waiting"

    firm.state.availability.end_failure()
    code, out, err = run(capsys, "sales", "outage", "--kind", "failure", "--start", start, "--end", start, "--json")
    due = add_business_days(today(), 7)
    assert code == 0 and json.loads(out) == {"changed": [{"number": "FV/2/2026", "before": None,
                                                          "after": due.isoformat()}]}, err  # fmt: skip
    assert listed(capsys)["FV/2/2026"]["deadline"] == due.isoformat()
    code, out, _ = run(capsys, "--lang", "pl", "sales", "outage", "--kind", "failure", "--start", start, "--end", start)
    assert code == 0 and "zmieniono terminy 0 faktur offline" in out  # known already: nothing moves
