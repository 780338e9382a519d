"""The diagnostics report (issue 12 §3): what it says of the installation, the company, its credential, its last
check and its KSeF calls, and what it never says: a secret.

The company is made through the real ``Workspace`` (an in-memory vault, XDG folders and ``HOME`` in
``tmp_path``) and talks to the simulator over real HTTP, so the API log read back is the one a real login
writes."""

from __future__ import annotations

import base64
import json
import os
import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from ksef_tui import paths
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import PathError, UserError
from ksef_tui.i18n import set_language, t
from ksef_tui.services import diagnostics
from ksef_tui.services.connection import api_log_path
from ksef_tui.services.diagnostics import (
    LockState,
    collect,
    default_report_path,
    load_verification,
    report_text,
    save_report,
)
from ksef_tui.services.verify import Step, Verification
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import Settings
from ksef_tui.store.apilog import append_api_log
from ksef_tui.vault import MemoryKeyring, NoSecretStorage, Vault

from ..conftest import Sim
from ..ksef.certkit import PASSWORD, certificate, ec_key, p12, seal_name

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SMTP_PASSWORD = "Hasło-SMTP: zielona-żaba-1984!"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    return tmp_path


class Recording(httpx.AsyncBaseTransport):
    """The real HTTP transport, keeping every request and answer as they went over the wire."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[tuple[httpx.Request, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append((request, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def wire_secrets(wire: Recording, ksef_token: str) -> dict[str, str]:
    """Every credential that travelled: bearers, the tokens KSeF answered with, the encrypted KSeF token."""
    found = {"ksef token": ksef_token, "token secret": ksef_token.split("|")[2]}
    for request, body in wire.exchanges:
        authorization = request.headers.get("authorization")
        if authorization:
            found[f"bearer of {request.method} {request.url.path}"] = authorization.removeprefix("Bearer ")
        answer = json.loads(body) if body.startswith(b"{") else {}
        for name in ("authenticationToken", "accessToken", "refreshToken"):
            if isinstance(answer.get(name), dict):
                found[f"{name} from {request.url.path}"] = answer[name]["token"]
        if request.url.path.endswith("/auth/ksef-token"):
            found["encrypted token"] = json.loads(request.content)["encryptedToken"]
    return found


def disguises(secret: str) -> set[str]:
    """A secret as it could show up: whole, its last 16 characters, a JWT's payload and signature, and its
    base64 (standard and URL-safe)."""
    raw = secret.encode("utf-8")
    parts = secret.split(".")
    return {
        secret,
        secret[-16:],
        *(parts[1:] if len(parts) == 3 else []),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def leaked(secrets: dict[str, str], text: str) -> set[str]:
    return {name for name, secret in secrets.items() if any(form in text for form in disguises(secret))}


async def test_the_report_describes_the_company_and_holds_no_secret(home: Path, sim: Sim) -> None:
    """A token company checked against KSeF (its session kept), a certificate company and an SMTP password,
    all in one memory vault: the report of each names what support needs and none of the secrets, nor their
    base64; a planted secret is found, so the check can fail."""
    vault = Vault(MemoryKeyring())
    wire = Recording()
    workspace = Workspace(Settings(), vault=vault, transport=lambda _p: wire)
    token = sim.tokens["full"]
    firma = workspace.add_profile("firma", sim.nip, sim.base_url, "2026-02-01", token)
    key = ec_key()
    cert = certificate(key, seal_name(sim.nip), not_before=datetime(2026, 6, 1, tzinfo=UTC), days=365)
    biuro, credential = workspace.add_certificate_profile(
        "biuro", sim.nip, sim.base_url, "2026-02-01", p12(key, cert), password=PASSWORD
    )
    vault.set_mail_password(firma.vault_environment, firma.name, SMTP_PASSWORD)
    verification = await workspace.verify(firma, fresh=True)
    assert verification.ok, verification.to_json()
    session = vault.get_session(firma.vault_environment, firma.name)
    assert session is not None

    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    secrets = {
        **wire_secrets(wire, token),
        "access token": session.access_token,
        "refresh token": session.refresh_token,
        "session blob": session.to_json(),
        "certificate key (PEM)": pem_key,
        "certificate key (DER, base64)": base64.b64encode(der_key).decode(),
        "smtp password": SMTP_PASSWORD,
    }
    secrets.update({f"key line {n}": line for n, line in enumerate(pem_key.splitlines()[1:-1])})
    assert "encrypted token" in secrets
    assert any(name.startswith("bearer") for name in secrets)
    assert any(name.startswith("refreshToken") for name in secrets)

    token_report = collect(workspace, firma, verification=verification, clock=lambda: NOW)
    cert_report = collect(workspace, biuro, clock=lambda: NOW)
    texts = {"firma": report_text(token_report), "biuro": report_text(cert_report)}
    log_file = api_log_path(firma).read_text(encoding="utf-8")
    verification_file = (paths.log_dir() / "firma.verification.json").read_text(encoding="utf-8")
    for name, text in {**texts, "api log": log_file, "verification": verification_file}.items():
        assert leaked(secrets, text) == set(), name
        assert "eyJ" not in text, name  # no JWT, whole or cut
    for name, secret in secrets.items():  # the check sees each secret wherever it would be
        assert name in leaked(secrets, texts["firma"] + base64.b64encode(secret.encode()).decode())

    text = texts["firma"]
    assert "ksef_tui.vault.backends.MemoryKeyring" in text
    assert f"firma (NIP {sim.nip})" in text
    assert sim.base_url in text
    assert token_report.credential is not None
    assert token_report.credential.fingerprint and token_report.credential.fingerprint in text
    assert "31 days left (until 01.01.2027)" in text
    assert "1 January 2027" in text
    assert session.reference_number in text
    assert "~/xdg_data_home/ksef-tui/companies/" in text  # the home directory as ~
    for step in verification.steps:
        assert t(f"doctor.step.{step.name}") in text
    assert "POST   /auth/ksef-token 202" in text
    assert "invoice issuing (InvoiceWrite)" in text
    assert token_report.versions.textual in text

    cert_text = texts["biuro"]
    assert credential.fingerprint and credential.fingerprint in cert_text
    assert credential.serial in cert_text
    assert "Firma Testowa" in cert_text  # the subject
    assert "(until 01.06.2027)" in cert_text
    assert "not checked yet" in cert_text


async def test_a_real_login_leaves_a_redacted_request_and_response_for_each_call(home: Path, sim: Sim) -> None:
    """Over HTTP to the simulator: every call is in the log file with its request and response; the KSeF
    token's encrypted form, the authentication, access and refresh JWTs and the bearer headers are replaced by
    their sizes; what support reads (challenge, reference numbers, expiry, status codes) is there."""
    wire = Recording()
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()), transport=lambda _p: wire)
    token = sim.tokens["full"]
    profile = workspace.add_profile("firma", sim.nip, sim.base_url, "2026-02-01", token)
    assert (await workspace.verify(profile, fresh=True)).ok

    text = api_log_path(profile).read_text(encoding="utf-8")
    secrets = wire_secrets(wire, token)
    assert "encrypted token" in secrets
    assert any(name.startswith("accessToken") for name in secrets)
    assert leaked(secrets, text) == set()
    assert "eyJ" not in text

    calls = diagnostics.api_calls(profile)
    assert len(calls) == len(wire.exchanges)  # every call: an empty log would prove nothing
    by_path = {call.path: call for call in calls}
    login = by_path["/auth/ksef-token"]
    assert login.request is not None and login.response is not None
    sent = json.loads(login.request.body)
    assert sent["encryptedToken"].startswith("‹redacted, ")
    assert sent["contextIdentifier"] == {"type": "Nip", "value": sim.nip}
    assert json.loads(login.response.body)["authenticationToken"]["token"].startswith("‹redacted, ")
    redeem = by_path["/auth/token/redeem"]
    assert redeem.response is not None
    answered = json.loads(redeem.response.body)
    assert answered["accessToken"]["token"].startswith("‹redacted, ")
    assert answered["accessToken"]["validUntil"]  # when it ends stays readable
    assert answered["refreshToken"]["token"].startswith("‹redacted, ")
    assert redeem.request is not None
    assert dict(redeem.request.headers)["authorization"].startswith("Bearer ‹redacted, ")
    challenge = by_path["/auth/challenge"]
    assert challenge.response is not None and "challenge" in json.loads(challenge.response.body)


def write_log(profile: Profile, lines: list[str]) -> None:
    append_api_log(api_log_path(profile), lines)


def test_older_log_lines_stay_readable_beside_the_new_ones(home: Path) -> None:
    profile = Profile("firma", "5265877635", "test", datetime(2026, 2, 1).date())
    new = diagnostics.ApiCall(
        datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC),
        "POST",
        "/auth/challenge",
        200,
        12,
        "auth",
        request=diagnostics.HttpMessage((("accept", "application/json"),)),
        response=diagnostics.HttpMessage((), '{\n  "challenge": "x"\n}', "application/json", 20),
    )
    write_log(
        profile,
        [
            "2026-03-01 12:30:05 GET    /tokens 200 41ms [other]",
            "2026-03-01 12:30:06 POST   /invoices/exports 400 7ms [invoiceExport] codes=21405,21183",
            "2026-03-01 12:30:07 POST   /auth/challenge --- 3001ms [auth] refused",
            "this line is neither format",
            '{"v": 2, "broken": ',
            new.record(),
        ],
    )
    calls = diagnostics.api_calls(profile)
    assert [(c.method, c.path, c.status, c.ms, c.codes, c.note) for c in calls] == [
        ("GET", "/tokens", 200, 41, (), ""),
        ("POST", "/invoices/exports", 400, 7, (21405, 21183), ""),
        ("POST", "/auth/challenge", None, 3001, (), "refused"),
        ("POST", "/auth/challenge", 200, 12, (), ""),
    ]
    assert calls[0].at == datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert calls[0].request is None  # the older format kept no request
    assert calls[-1] == new
    assert [c.failed for c in calls] == [False, True, True, False]


def test_the_log_file_is_a_ring_of_lines_and_bytes(home: Path) -> None:
    path = home / "ring.log"
    append_api_log(path, [f"line {n}" for n in range(10)], keep=5)
    assert path.read_text().splitlines() == [f"line {n}" for n in range(5, 10)]
    append_api_log(path, ["x" * 100, "y" * 100], keep=1000, keep_bytes=205)
    assert path.read_text().splitlines() == ["x" * 100, "y" * 100]
    append_api_log(path, ["z" * 100], keep=1000, keep_bytes=205)
    assert path.read_text().splitlines() == ["y" * 100, "z" * 100]
    append_api_log(path, ["w" * 500], keep=1000, keep_bytes=205)  # alone bigger than the ceiling: kept alone
    assert path.read_text().splitlines() == ["w" * 500]
    append_api_log(path, ["two\nlines"])
    assert path.read_text().splitlines()[-1] == "two\\nlines"


def test_the_store_lock_holder_is_named(home: Path) -> None:
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", "5265877635", "test", "2026-02-01", token_for("5265877635"))
    report = collect(workspace, profile, clock=lambda: NOW)
    assert report.store is not None
    assert (report.store.lock, report.store.exists) == (LockState.FREE, False)

    with workspace.open_store(profile):
        report = collect(workspace, profile, clock=lambda: NOW)
        assert report.store is not None
        assert report.store.lock is LockState.THIS
        assert f"process {os.getpid()} on host {socket.gethostname()}" in report_text(report)
        assert report.store.exists and report.store.size

    owner = workspace.store_path(profile).with_name("store.json.owner")
    owner.write_text(
        json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname(), "since": "2026-11-29T08:00:00+01:00"})
    )
    report = collect(workspace, profile, clock=lambda: NOW)
    assert report.store is not None and report.store.lock is LockState.STALE
    assert "since 29.11.2026 08:00:00" in report_text(report)
    owner.write_text(json.dumps({"pid": 4242, "host": "other-box", "since": "2026-11-29T08:00:00+01:00"}))
    report = collect(workspace, profile, clock=lambda: NOW)
    assert report.store is not None and report.store.lock is LockState.OTHER
    assert "process 4242 on host other-box" in report_text(report)


def token_for(nip: str) -> str:
    return f"20251010-EC-2B8F9A1C3D-4E5F6A7B8C-9D|nip-{nip}|{'ab' * 32}"


def test_the_last_verification_is_kept_for_the_next_run(home: Path) -> None:
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", "5265877635", "test", "2026-02-01", token_for("5265877635"))
    checked = Verification("firma", "test", "3f2a9c1d")
    checked.steps = [
        Step("token_shape", True, 1, "the token is well-formed"),
        Step("ksef_reachable", False, 3001, "KSeF did not answer", hint="check the network"),
    ]
    first = collect(workspace, profile, verification=checked, clock=lambda: NOW)
    assert first.verification is not None and not first.verification.ok
    later = collect(workspace, profile, clock=lambda: datetime(2026, 12, 2, tzinfo=UTC))  # a new run
    assert later.verification == first.verification
    assert later.verification is not None and later.verification.checked_at == NOW
    again = collect(workspace, profile, verification=checked, clock=lambda: datetime(2026, 12, 3, tzinfo=UTC))
    assert again.verification is not None and again.verification.checked_at == NOW  # the same check, its time
    text = report_text(later)
    assert "✓ token shape" in text and "✗ KSeF reachable" in text
    assert "3001 ms  KSeF did not answer" in text and "→ check the network" in text
    assert "30.11.2026 10:00:00: failed" in text
    other = collect(workspace, replace(profile, name="inna"), verification=checked, clock=lambda: NOW)
    assert other.verification is None  # another profile's check is not this one's
    assert load_verification(replace(profile, name="inna")) is None


def test_a_vault_that_cannot_open_is_described_not_raised(home: Path) -> None:
    class NoKeyring(Workspace):
        def vault(self, profile: Profile | None = None) -> Vault:
            raise NoSecretStorage(backend="fail.Keyring")

    class BrokenKeyring(Workspace):
        def vault(self, profile: Profile | None = None) -> Vault:
            raise RuntimeError("dbus daemon went away")

    for workspace in (NoKeyring(Settings()), BrokenKeyring(Settings())):
        report = collect(workspace, None, clock=lambda: NOW)
        assert report.secrets.backend == ""
        assert report.secrets.problem
        text = report_text(report)
        assert report.secrets.problem in text
        assert "connect a company to KSeF" in text
    assert "dbus daemon went away" in report_text(collect(BrokenKeyring(Settings()), None, clock=lambda: NOW))


def test_headings_are_in_the_users_language(home: Path) -> None:
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", "5265877635", "test", "2026-02-01", token_for("5265877635"))
    set_language("pl")
    try:
        text = report_text(collect(workspace, profile, clock=lambda: NOW))
    finally:
        set_language(None)  # back to KSEF_TUI_LANG
    assert "== Poświadczenie ==" in text
    assert "jeszcze 31 dni (do 01.01.2027)" in text
    assert "== Dziennik komunikacji z KSeF ==" in text
    assert "Utworzono: 30.11.2026 10:00:00" in text


def test_the_report_is_saved_beside_nothing(home: Path) -> None:
    where = default_report_path(NOW)
    assert where == "~/ksef-tui-report-20261130-100000.txt"
    saved = save_report("raport\n", where)
    assert saved == home / "ksef-tui-report-20261130-100000.txt"
    assert saved.read_text(encoding="utf-8") == "raport\n"
    with pytest.raises(UserError) as exists:
        save_report("other\n", where)
    assert exists.value.key == "diag.save.exists"
    assert saved.read_text(encoding="utf-8") == "raport\n"  # never overwritten
    with pytest.raises(PathError):
        save_report("x", str(home / "no-such-dir" / "r.txt"))
    with pytest.raises(UserError):
        save_report("x", "  ")


def test_a_company_without_calls_or_store_still_reports(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", "5265877635", "test", "2026-02-01", token_for("5265877635"))
    log = api_log_path(profile)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.mkdir()  # a log that cannot be read: said, not raised
    report = collect(workspace, profile, clock=lambda: NOW)
    assert report.calls == ()
    assert report.problems
    assert report.problems[0] in report_text(report)


def test_sections_mark_failures_and_warnings(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagnostics, "filesystem_of", lambda _path: "nfs4")
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", "5265877635", "test", "2026-02-01", token_for("5265877635"))
    report = collect(workspace, profile, clock=lambda: NOW)
    rows = {row.label: row for section in diagnostics.sections(report) for row in section.rows}
    assert rows["Filesystem"].tone is diagnostics.Tone.WARN
    assert "network drive" in rows["Filesystem"].value
    assert rows["Validity"].tone is diagnostics.Tone.WARN  # 31 days left
    expired = collect(workspace, profile, clock=lambda: datetime(2027, 1, 2, tzinfo=UTC))
    rows = {row.label: row for section in diagnostics.sections(expired) for row in section.rows}
    assert rows["Validity"].tone is diagnostics.Tone.FAIL
    assert "expired on 01.01.2027" in rows["Validity"].value
