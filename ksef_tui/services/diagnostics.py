"""Diagnostics for support staff: what this installation is, where its data and secrets live, how the company
signs in to KSeF and how the last check went, and the recent KSeF calls; as data for the Diagnostics screen and
as a plain-text report to copy or save.

Nothing here holds a secret: the credential is shown by its fingerprint, the session by its validity, the API
log as ``ksef.redaction`` left it. ``collect`` never raises for what it cannot read (a locked vault, a damaged
store, an unreadable log): the reason takes the place of the value, so a broken installation can be described.

Blocking (vault, files): the UI calls ``collect`` and ``save_report`` from thread workers.
"""

from __future__ import annotations

import contextlib
import json
import locale
import os
import platform
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksef_tui import paths
from ksef_tui.domain.booking import WARSAW
from ksef_tui.domain.credential import TOKENS_END, CredentialKind
from ksef_tui.domain.profile import Profile
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.i18n import has_key, t
from ksef_tui.ksef.apilog import ApiCall, HttpMessage, read_records
from ksef_tui.ksef.redaction import scrub_text

if TYPE_CHECKING:
    from ksef_tui.services.verify import Verification
    from ksef_tui.services.workspace import Workspace

#: The newest calls of the API log the report carries (the screen's table shows the whole file).
REPORT_CALLS = 50
#: The newest failed calls whose redacted response goes into the report.
REPORT_FAILURES = 5
#: Filesystems where the store's lock (flock) may not hold: the store should not live there.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb", "smbfs", "smb3", "fuse.sshfs", "9p", "afs")

__all__ = [
    "ApiCall",
    "CredentialState",
    "DiagnosticsReport",
    "HttpMessage",
    "LockState",
    "Row",
    "Section",
    "SystemInfo",
    "VerificationRecord",
    "Versions",
    "api_calls",
    "collect",
    "default_report_path",
    "load_verification",
    "record_verification",
    "report_text",
    "save_report",
    "sections",
]


# ------------------------------------------------------------------------------------------------ the data


@dataclass(frozen=True, slots=True)
class Versions:
    app: str
    textual: str
    python: str


@dataclass(frozen=True, slots=True)
class SystemInfo:
    platform: str
    term: str
    colorterm: str
    locale: str
    timezone: str
    ssh: bool
    tmux: bool


@dataclass(frozen=True, slots=True)
class SecretStorage:
    backend: str  # module.Class, "" when the vault could not be opened
    file: str = ""
    choice: str = ""  # the backend chosen (system, encrypted-file…), "" for the automatic policy
    source: str = ""  # where the choice came from (flag, settings, profile)
    problem: str = ""  # why the vault could not be opened (translated)


class LockState(StrEnum):
    FREE = "free"  # no session holds the store
    THIS = "this"  # this program holds it
    OTHER = "other"  # another session, alive or on another host
    STALE = "stale"  # a session on this host that no longer runs left its mark (the lock itself is free)


@dataclass(frozen=True, slots=True)
class StoreState:
    path: str
    exists: bool
    size: int | None
    filesystem: str
    lock: LockState
    holder: str  # "pid 4242 @ host since …", "" when free
    api_log: str  # the API log file


@dataclass(frozen=True, slots=True)
class CredentialState:
    name: str
    kind: str  # CredentialKind value
    fingerprint: str
    days_left: int | None
    valid_until: date | None
    subject: str = ""
    identity: str = ""
    serial: str = ""
    problem: str = ""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    access_until: datetime | None = None
    refresh_until: datetime | None = None
    reference: str = ""
    problem: str = ""


@dataclass(frozen=True, slots=True)
class StepRecord:
    name: str
    ok: bool
    ms: int
    detail: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """The last verification of a profile as it is kept between runs (no secret: the fingerprint only)."""

    profile: str
    environment: str
    fingerprint: str
    checked_at: datetime | None
    steps: tuple[StepRecord, ...] = ()
    permissions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "profile": self.profile,
            "environment": self.environment,
            "fingerprint": self.fingerprint,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "ok": self.ok,
            "steps": [{"name": s.name, "ok": s.ok, "ms": s.ms, "detail": s.detail, "hint": s.hint} for s in self.steps],
            "permissions": list(self.permissions),
        }

    @classmethod
    def from_json(cls, data: Any) -> VerificationRecord:
        """Raises ``ValueError`` on anything but what ``to_json`` wrote."""
        if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("steps"), list):
            raise ValueError("not a verification record")
        checked = data.get("checked_at")
        steps = tuple(
            StepRecord(
                str(s["name"]), bool(s["ok"]), int(s.get("ms") or 0), str(s.get("detail", "")), str(s.get("hint", ""))
            )
            for s in data["steps"]
            if isinstance(s, dict) and "name" in s and "ok" in s
        )
        return cls(
            profile=str(data.get("profile", "")),
            environment=str(data.get("environment", "")),
            fingerprint=str(data.get("fingerprint", "")),
            checked_at=datetime.fromisoformat(checked) if isinstance(checked, str) else None,
            steps=steps,
            permissions=tuple(str(p) for p in data.get("permissions") or ()),
        )

    @classmethod
    def of(cls, verification: Verification, checked_at: datetime | None) -> VerificationRecord:
        return cls(
            profile=verification.profile,
            environment=verification.environment,
            fingerprint=verification.token_fingerprint,
            checked_at=checked_at,
            steps=tuple(
                StepRecord(s.name, s.ok, s.ms, scrub_text(s.detail), scrub_text(s.hint)) for s in verification.steps
            ),
            permissions=tuple(verification.permissions),
        )

    def same_result(self, other: VerificationRecord) -> bool:
        """The same check (when it was made aside)."""
        return (self.profile, self.fingerprint, self.steps, self.permissions) == (
            other.profile,
            other.fingerprint,
            other.steps,
            other.permissions,
        )


@dataclass(frozen=True, slots=True)
class DiagnosticsReport:
    generated_at: datetime
    versions: Versions
    system: SystemInfo
    directories: tuple[tuple[str, str], ...]  # (i18n key of the directory, shown path)
    secrets: SecretStorage
    profile: Profile | None = None
    store: StoreState | None = None
    credential: CredentialState | None = None
    session: SessionInfo | None = None
    verification: VerificationRecord | None = None
    calls: tuple[ApiCall, ...] = ()
    problems: tuple[str, ...] = field(default=())  # what could not be read, beyond the sections' own


# ----------------------------------------------------------------------------------------- the collection


def versions() -> Versions:
    from ksef_tui import __version__

    try:
        textual = metadata.version("textual")
    except metadata.PackageNotFoundError:
        textual = "?"
    return Versions(__version__, textual, f"{platform.python_version()} ({platform.python_implementation()})")


def system_info(now: datetime | None = None) -> SystemInfo:
    env = os.environ
    moment = (now or datetime.now(UTC)).astimezone()
    offset = moment.strftime("%z")
    zone = env.get("TZ") or "-"
    chosen = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "-"
    return SystemInfo(
        platform=platform.platform(),
        term=env.get("TERM", "-") or "-",
        colorterm=env.get("COLORTERM", "-") or "-",
        locale=f"{chosen} ({locale.getpreferredencoding(False)})",
        timezone=f"{zone} ({moment.tzname()}, {offset[:3]}:{offset[3:]})",
        ssh=bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY")),
        tmux=bool(env.get("TMUX")),
    )


def display_path(path: Path) -> str:
    """A path as a person reads it: the home directory as ``~``."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):
        return str(path)


def filesystem_of(path: Path) -> str:
    """The filesystem type holding ``path`` (Linux: ``/proc/self/mounts``); "" where it cannot be told."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    target = path
    while not target.exists() and target != target.parent:
        target = target.parent
    resolved = str(target.resolve())
    best, kind = "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as someone else
        return True
    return True


def _store_state(workspace: Workspace, profile: Profile) -> StoreState:
    from ksef_tui.services.connection import api_log_path
    from ksef_tui.store.db import lock_owner

    path = workspace.store_path(profile)
    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None
    owner = lock_owner(path)
    state, holder = LockState.FREE, ""
    if owner is not None:
        holder = t(
            "diag.store.holder",
            pid=owner.pid if owner.pid is not None else "?",
            host=owner.host or "?",
            since=_moment_text(owner.since),
        )
        here = owner.host == socket.gethostname()
        if here and owner.pid == os.getpid():
            state = LockState.THIS
        elif here and owner.pid is not None and not _pid_alive(owner.pid):
            state = LockState.STALE
        else:
            state = LockState.OTHER
    return StoreState(
        path=display_path(path),
        exists=size is not None,
        size=size,
        filesystem=filesystem_of(path.parent),
        lock=state,
        holder=holder,
        api_log=display_path(api_log_path(profile)),
    )


def _moment_text(iso: str | None) -> str:
    if not iso:
        return "?"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return f"{moment:%d.%m.%Y %H:%M:%S}"
    return f"{moment.astimezone(WARSAW):%d.%m.%Y %H:%M:%S}"


def _secret_storage(workspace: Workspace, profile: Profile | None) -> SecretStorage:
    try:
        description = workspace.vault(profile).describe()
    except UserError as exc:
        return SecretStorage("", problem=exc.message())
    except Exception as exc:  # a keyring library's own failure: described, never raised
        from ksef_tui.vault.redact import detail

        return SecretStorage("", problem=detail(exc))
    return SecretStorage(
        backend=description.backend,
        file=display_path(description.file_path) if description.file_path else "",
        choice=description.choice.value if description.choice else "",
        source=description.source or "",
    )


def _credential(workspace: Workspace, profile: Profile, now: datetime) -> CredentialState:
    try:
        credential = workspace.credential_of(profile)
    except UserError as exc:
        return CredentialState(profile.credential_name, "", "", None, None, problem=exc.message())
    if credential.kind is CredentialKind.TOKEN:
        until: date | None = TOKENS_END
    else:
        until = credential.not_after.astimezone(WARSAW).date() if credential.not_after else None
    return CredentialState(
        name=credential.name,
        kind=credential.kind.value,
        fingerprint=credential.fingerprint or "",
        days_left=credential.days_left(now),
        valid_until=until,
        subject=credential.subject,
        identity=credential.identity,
        serial=credential.serial,
    )


def _session(workspace: Workspace, profile: Profile) -> SessionInfo:
    try:
        tokens = workspace.vault(profile).get_session(profile.vault_environment, profile.name)
    except UserError as exc:
        return SessionInfo(problem=exc.message())
    except Exception as exc:
        from ksef_tui.vault.redact import detail

        return SessionInfo(problem=detail(exc))
    if tokens is None:
        return SessionInfo()
    return SessionInfo(tokens.access_valid_until, tokens.refresh_valid_until, tokens.reference_number)


def api_calls(profile: Profile) -> list[ApiCall]:
    """The profile's API log, oldest first (both formats; unreadable lines skipped). Blocking."""
    from ksef_tui.services.connection import api_log_path
    from ksef_tui.store.apilog import read_api_log

    try:
        lines = read_api_log(api_log_path(profile))
    except (OSError, UnicodeDecodeError) as exc:
        raise PathError(api_log_path(profile), exc if isinstance(exc, OSError) else str(exc)) from None
    return read_records(lines)


def _verification_path(profile: Profile) -> Path:
    return paths.log_dir() / f"{profile.name}.verification.json"


def load_verification(profile: Profile) -> VerificationRecord | None:
    """The profile's last verification kept on disk, or ``None`` (none yet, or unreadable). Blocking."""
    try:
        data = json.loads(_verification_path(profile).read_text(encoding="utf-8"))
        return VerificationRecord.from_json(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def record_verification(profile: Profile, verification: Verification, checked_at: datetime) -> VerificationRecord:
    """Keep ``verification`` as the profile's last one (JSON in the log directory; fingerprints only). The same
    result handed in again keeps its first time. A directory that cannot be written costs only the record.
    Blocking."""
    from ksef_tui.store.atomic import atomic_write

    record = VerificationRecord.of(verification, checked_at)
    kept = load_verification(profile)
    if kept is not None and kept.same_result(record):
        return kept
    with contextlib.suppress(OSError):
        atomic_write(_verification_path(profile), json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8"))
    return record


def collect(
    workspace: Workspace,
    profile: Profile | None,
    *,
    verification: Verification | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DiagnosticsReport:
    """Everything the Diagnostics screen shows for ``profile`` (``None``: no company yet). ``verification`` is
    the app's last check (the wizard's); it is kept as the profile's last one when it is that profile's.
    Blocking; never raises for what it cannot read."""
    now = (clock or (lambda: datetime.now(UTC)))()
    directories = (
        ("diag.dir.config", display_path(paths.config_dir())),
        ("diag.dir.data", display_path(paths.data_dir())),
        ("diag.dir.log", display_path(paths.log_dir())),
    )
    report = DiagnosticsReport(
        generated_at=now,
        versions=versions(),
        system=system_info(now),
        directories=directories,
        secrets=_secret_storage(workspace, profile),
    )
    if profile is None:
        return report
    problems: list[str] = []
    if verification is not None and verification.profile == profile.name:
        record: VerificationRecord | None = record_verification(profile, verification, now)
    else:
        record = load_verification(profile)
    try:
        calls = tuple(api_calls(profile))
    except UserError as exc:
        calls = ()
        problems.append(exc.message())
    return DiagnosticsReport(
        generated_at=now,
        versions=report.versions,
        system=report.system,
        directories=directories,
        secrets=report.secrets,
        profile=profile,
        store=_store_state(workspace, profile),
        credential=_credential(workspace, profile, now),
        session=_session(workspace, profile),
        verification=record,
        calls=calls,
        problems=tuple(problems),
    )


# ------------------------------------------------------------------------------------------ presentation


class Tone(StrEnum):
    PLAIN = ""
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    value: str
    tone: Tone = Tone.PLAIN


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # stable id: versions, system, secrets, store, ksef, credential, verification, api_log
    title: str
    rows: tuple[Row, ...]


def _yes(value: bool) -> str:
    return t("diag.yes") if value else t("diag.no")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(WARSAW):%d.%m.%Y %H:%M:%S}"


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB".replace(".", ",") if size >= 1024 else f"{size} B"


def _step_name(name: str) -> str:
    return t(f"doctor.step.{name}") if has_key(f"doctor.step.{name}") else name


def call_line(call: ApiCall, *, pad: bool = True) -> str:
    """One call as a line of the report: Warsaw time, method (``pad``: in a column), path, status, ms, KSeF
    codes, note."""
    status = str(call.status) if call.status is not None else "---"
    codes = f" {t('diag.log.codes')} {','.join(map(str, call.codes))}" if call.codes else ""
    note = f" {call.note}" if call.note else ""
    at = call.at.astimezone(WARSAW)
    method = f"{call.method:6}" if pad else call.method
    return f"{at:%Y-%m-%d %H:%M:%S} {method} {call.path} {status} {call.ms} ms{codes}{note}"


def sections(report: DiagnosticsReport, *, ok: str = "✓", fail: str = "✗", warn: str = "⚠") -> list[Section]:
    """The report's sections, translated; each row a label and a value (the screen and the text report)."""
    v, s = report.versions, report.system
    result = [
        Section(
            "versions",
            t("diag.section.versions"),
            (Row("ksef-tui", v.app), Row("Textual", v.textual), Row("Python", v.python)),
        ),
        Section(
            "system",
            t("diag.section.system"),
            (
                Row(t("diag.system.platform"), s.platform),
                Row(t("diag.system.terminal"), f"TERM={s.term}, COLORTERM={s.colorterm}"),
                Row(t("diag.system.locale"), s.locale),
                Row(t("diag.system.timezone"), s.timezone),
                Row(t("diag.system.remote"), f"SSH: {_yes(s.ssh)}, tmux: {_yes(s.tmux)}"),
                *(Row(t(key), shown) for key, shown in report.directories),
            ),
        ),
    ]
    secrets = report.secrets
    if secrets.problem:
        secret_rows: tuple[Row, ...] = (Row(t("diag.secrets.backend"), secrets.problem, Tone.FAIL),)
    else:
        secret_rows = (
            Row(t("diag.secrets.backend"), secrets.backend),
            Row(t("diag.secrets.file"), secrets.file or "-"),
            Row(t("diag.secrets.choice"), f"{secrets.choice} ({secrets.source})" if secrets.choice else t("diag.auto")),
        )
    result.append(Section("secrets", t("diag.section.secrets"), secret_rows))
    profile = report.profile
    if profile is None:
        result.append(Section("company", t("diag.section.company"), (Row(t("diag.company"), t("diag.no_company")),)))
        return result
    result.append(_store_section(report))
    result.append(
        Section(
            "ksef",
            t("diag.section.ksef"),
            (
                Row(t("diag.company"), f"{profile.name} (NIP {profile.nip})"),
                Row(t("diag.ksef.environment"), profile.environment),
                Row(t("diag.ksef.base_url"), profile.base_url),
                *_session_rows(report.session),
            ),
        )
    )
    result.append(_credential_section(report, warn))
    result.append(_verification_section(report.verification, ok, fail))
    result.append(_api_log_section(report))
    return result


def _store_section(report: DiagnosticsReport) -> Section:
    store = report.store
    assert store is not None
    lock_tone = {LockState.OTHER: Tone.WARN, LockState.STALE: Tone.WARN}.get(store.lock, Tone.PLAIN)
    lock = t(f"diag.lock.{store.lock.value}") + (f": {store.holder}" if store.holder else "")
    fs_tone = Tone.WARN if store.filesystem in NETWORK_FILESYSTEMS else Tone.PLAIN
    fs = store.filesystem or "-"
    if fs_tone is Tone.WARN:
        fs += " " + t("diag.store.network_fs")
    return Section(
        "store",
        t("diag.section.store"),
        (
            Row(t("diag.store.path"), store.path),
            Row(t("diag.store.size"), _size(store.size) if store.size is not None else t("diag.store.none")),
            Row(t("diag.store.filesystem"), fs, fs_tone),
            Row(t("diag.store.lock"), lock, lock_tone),
            Row(t("diag.store.api_log"), store.api_log),
        ),
    )


def _session_rows(session: SessionInfo | None) -> tuple[Row, ...]:
    if session is None:
        return ()
    if session.problem:
        return (Row(t("diag.session"), session.problem, Tone.WARN),)
    if session.refresh_until is None:
        return (Row(t("diag.session"), t("diag.session.none")),)
    text = t("diag.session.until", access=_when(session.access_until), refresh=_when(session.refresh_until))
    return (Row(t("diag.session"), text), Row(t("diag.session.reference"), session.reference or "-"))


def _credential_section(report: DiagnosticsReport, warn: str) -> Section:
    credential = report.credential
    assert credential is not None
    title = t("diag.section.credential")
    if credential.problem:
        return Section("credential", title, (Row(credential.name, credential.problem, Tone.FAIL),))
    days = credential.days_left
    until = f"{credential.valid_until:%d.%m.%Y}" if credential.valid_until else "-"
    if days is None:
        validity, tone = t("diag.credential.no_end"), Tone.PLAIN
    elif days < 0:
        validity, tone = t("diag.credential.expired", date=until), Tone.FAIL
    else:
        validity = t("diag.credential.days", count=days, date=until)
        tone = Tone.WARN if days <= 60 else Tone.OK
    kind = t("diag.credential.token") if credential.kind == CredentialKind.TOKEN.value else t("diag.credential.cert")
    rows = [
        Row(t("diag.credential.name"), credential.name),
        Row(t("diag.credential.kind"), kind),
        Row(t("diag.credential.fingerprint"), credential.fingerprint or "-"),
        Row(t("diag.credential.validity"), (f"{warn} " if tone is Tone.WARN else "") + validity, tone),
    ]
    if credential.kind == CredentialKind.TOKEN.value:
        rows.append(Row("", t("diag.credential.tokens_end")))
    else:
        rows.append(Row(t("diag.credential.subject"), credential.subject or "-"))
        rows.append(Row(t("diag.credential.identity"), credential.identity or "-"))
        rows.append(Row(t("diag.credential.serial"), credential.serial or "-"))
    return Section("credential", title, tuple(rows))


def _verification_section(record: VerificationRecord | None, ok: str, fail: str) -> Section:
    title = t("diag.section.verification")
    if record is None:
        return Section("verification", title, (Row(t("diag.verification.when"), t("diag.verification.none")),))
    verdict = t("diag.verification.ok") if record.ok else t("diag.verification.failed")
    rows = [
        Row(t("diag.verification.when"), f"{_when(record.checked_at)}: {verdict}", Tone.OK if record.ok else Tone.FAIL)
    ]
    for step in record.steps:
        mark = ok if step.ok else fail
        rows.append(
            Row(f"{mark} {_step_name(step.name)}", f"{step.ms} ms  {step.detail}", Tone.OK if step.ok else Tone.FAIL)
        )
        if not step.ok and step.hint:
            rows.append(Row("", f"→ {step.hint}"))
    words = [t(f"perm.{name}") if has_key(f"perm.{name}") else name for name in record.permissions]
    permissions = ", ".join(words) if words else "-"
    rows.append(Row(t("diag.verification.permissions"), permissions))
    return Section("verification", title, tuple(rows))


def _api_log_section(report: DiagnosticsReport) -> Section:
    calls = report.calls
    failed = [call for call in calls if call.failed]
    rows = [Row(t("diag.log.count"), t("diag.log.counts", count=len(calls), failed=len(failed)))]
    if calls:
        last = calls[-1]
        rows.append(Row(t("diag.log.last"), call_line(last, pad=False), Tone.FAIL if last.failed else Tone.PLAIN))
    if failed and failed[-1] is not calls[-1]:
        rows.append(Row(t("diag.log.last_failed"), call_line(failed[-1], pad=False), Tone.FAIL))
    rows.extend(Row("", problem, Tone.WARN) for problem in report.problems)
    return Section("api_log", t("diag.section.api_log"), tuple(rows))


def report_text(report: DiagnosticsReport, *, ok: str = "✓", fail: str = "✗", warn: str = "⚠") -> str:
    """The plain-text report for support (translated headings; no secret: see the module's docstring)."""
    lines = [t("diag.report.title"), t("diag.report.generated", when=_when(report.generated_at)), ""]
    for section in sections(report, ok=ok, fail=fail, warn=warn):
        lines.append(f"== {section.title} ==")
        width = max((len(row.label) for row in section.rows), default=0)
        for row in section.rows:
            lines.append(f"{row.label:<{width}}  {row.value}".rstrip() if row.label else f"{'':<{width}}  {row.value}")
        lines.append("")
    if report.calls:
        lines.append(f"== {t('diag.report.calls', count=min(len(report.calls), REPORT_CALLS))} ==")
        lines.extend(call_line(call) for call in report.calls[-REPORT_CALLS:])
        lines.append("")
        failures = [call for call in report.calls if call.failed and call.response is not None][-REPORT_FAILURES:]
        if failures:
            lines.append(f"== {t('diag.report.failures')} ==")
            for call in failures:
                lines.append(call_line(call))
                assert call.response is not None
                lines.extend("    " + line for line in (call.response.body or "-").splitlines())
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------- saving


def default_report_path(now: datetime) -> str:
    """``~/ksef-tui-report-YYYYmmdd-HHMMSS.txt`` (Warsaw time)."""
    return f"~/ksef-tui-report-{now.astimezone(WARSAW):%Y%m%d-%H%M%S}.txt"


def save_report(text: str, where: str) -> Path:
    """Write the report to ``where`` (``~`` expanded); an existing file is never overwritten. Blocking."""
    if not where.strip():
        raise UserError("diag.save.no_path", category=Category.INPUT)
    path = Path(where.strip()).expanduser()
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise UserError("diag.save.exists", path=path) from None
    except OSError as exc:
        raise PathError(path, exc) from None
    return path
