"""The bad-input corpus: every class of issue 8's Part B as a hostile user would try it on the command line.

Each case names what it does, the exit code and the words it must print; every case also checks that it
ends without a traceback, never with 70 (that is a bug of ours), and that the files it must not touch are
byte for byte (or, for devices, kind for kind) what they were. Cases that could hang (a FIFO) run in a
subprocess with a time limit, so a regression fails instead of freezing the suite.

Classes: B1 sessions (a damaged or dead session) · B2 user-caused conditions (unusable directories, bad
values, special files) · B3 hostile XML · B4 output paths · B5 formula injection (the register's cells;
service-level cases in tests/services/test_booking.py) · B6 company data (tests/cli/test_workspace_cli.py) ·
B7 the remembered secret location (test_workspace_cli.py) · B8 accounting guard rails · B9 words and dates ·
B10 readable output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.services.workspace import Workspace

from ..conftest import FIXTURES, Sim
from .test_doctor_cli import add_profile, home

__all__ = ["home"]

SAMPLE = FIXTURES / "fa3" / "FA3_example_1.xml"
HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass
class Env:
    """What a case may refer to: ``{tmp}``, ``{sample}`` (a private copy), ``{data}``, ``{config}``."""

    tmp: Path
    home: Path
    sample: Path
    values: dict[str, str] = field(default_factory=dict)

    def fill(self, argv: list[str]) -> list[str]:
        names = {"tmp": str(self.tmp), "sample": str(self.sample), "home": str(self.home), **self.values}
        return [arg.format(**names) for arg in argv]


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    says: str
    prepare: Callable[[Env], None] | None = None
    keeps: tuple[str, ...] = ()  # placeholders of files that must be unchanged afterwards
    subprocess: bool = False  # could hang: run it with a time limit
    stdout: bool = False  # the words are on stdout (validate prints its verdicts)


def _doctype(system: str) -> Callable[[Env], None]:
    def prepare(env: Env) -> None:
        body = SAMPLE.read_bytes().split(b"?>", 1)[1]
        target = system.format(tmp=env.tmp)
        (env.tmp / "hostile.xml").write_bytes(HEADER + f'<!DOCTYPE Faktura SYSTEM "{target}">'.encode() + body)

    return prepare


def _fifo(name: str) -> Callable[[Env], None]:
    def prepare(env: Env) -> None:
        os.mkfifo(env.tmp / name)

    return prepare


def _fifo_doctype(env: Env) -> None:
    os.mkfifo(env.tmp / "subset.dtd")
    _doctype("{tmp}/subset.dtd")(env)


def _bare_doctype(env: Env) -> None:
    body = SAMPLE.read_bytes().split(b"?>", 1)[1]
    (env.tmp / "hostile.xml").write_bytes(HEADER + b"<!DOCTYPE Faktura>" + body)


def _zero_link(env: Env) -> None:
    (env.tmp / "zero.xml").symlink_to("/dev/zero")


def _config(text: str) -> Callable[[Env], None]:
    def prepare(env: Env) -> None:
        config = env.home / "xdg_config_home" / "ksef-tui"
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.toml").write_text(text)

    return prepare


def _config_dir_is_a_file(env: Env) -> None:
    (env.home / "xdg_config_home").write_text("a file where a directory belongs")


def _data_file(env: Env) -> None:
    from ksef_tui import paths

    paths.data_dir().mkdir(parents=True, exist_ok=True)
    env.values["data"] = str(paths.data_dir())


#: A token of the right shape for NIP 5265877635 (no KSeF knows it: the offline cases never go online).
WELL_SHAPED_TOKEN = "20260201-EC-1A2B3C4D5E-6F7A8B9C0D-1E|nip-5265877635|" + "ab" * 32

SECRETS = ["--secret-backend", "encrypted-file", "--master-password-file", "{home}/master"]
ADD = ["profile", "add", "--name", "firma", "--env", "test", "--token-stdin"]

OFFLINE = [
    # B2: files that are not files
    Case("show-missing", ["invoice", "show", "{tmp}/nope.xml"], 2, "no such file"),
    Case("show-directory", ["invoice", "show", "{tmp}"], 2, "directory"),
    Case("show-dev-zero-via-link", ["invoice", "show", "{tmp}/zero.xml"], 2, "device", _zero_link),
    Case("show-fifo", ["invoice", "show", "{tmp}/in.xml"], 2, "pipe (FIFO)", _fifo("in.xml"), subprocess=True),
    Case("validate-fifo", ["invoice", "validate", "{tmp}/in.xml"], 1, "pipe (FIFO)", _fifo("in.xml"), (), True, True),
    # B3: hostile XML, refused before parsing, nothing it names is read
    Case(
        "show-doctype-local-file",
        ["invoice", "show", "{tmp}/hostile.xml"],
        2,
        "DOCTYPE",
        _doctype("file:///etc/passwd"),
    ),
    Case(
        "show-doctype-fifo-subset",
        ["invoice", "show", "{tmp}/hostile.xml"],
        2,
        "DOCTYPE",
        _fifo_doctype,
        subprocess=True,
    ),
    Case("qr-doctype", ["invoice", "qr", "{tmp}/hostile.xml"], 2, "DOCTYPE", _doctype("file:///etc/hostname")),
    Case(
        "render-doctype",
        ["invoice", "render", "{tmp}/hostile.xml", "--html", "{tmp}/out.html"],
        2,
        "DOCTYPE",
        _doctype("http://127.0.0.1:9/x.dtd"),
    ),
    Case(
        "validate-bare-doctype", ["invoice", "validate", "{tmp}/hostile.xml"], 1, "DOCTYPE", _bare_doctype, stdout=True
    ),
    # B4: outputs that would destroy something
    Case(
        "render-onto-its-input",
        ["invoice", "render", "{sample}", "--html", "{sample}"],
        2,
        "input file",
        keeps=("sample",),
    ),
    Case("render-onto-a-device", ["invoice", "render", "{sample}", "--html", "/dev/full"], 2, "device"),
    Case(
        "render-into-our-data",
        ["invoice", "render", "{sample}", "--html", "{data}/x.html"],
        2,
        "data directory",
        _data_file,
    ),
    Case("render-missing-dir", ["invoice", "render", "{sample}", "--html", "{tmp}/no/x.html"], 2, "does not exist"),
    # B2: values
    Case(
        "add-port-out-of-range",
        [*ADD[:5], "http://127.0.0.1:99999", *ADD[6:], "--nip", "5265877635", "--start-date", "2026-02-01"],
        4,
        "port",
    ),
    Case("add-bad-nip", [*ADD, "--nip", "5265877636", "--start-date", "2026-02-01"], 4, "NIP 5265877636"),
    Case("add-bad-date", [*ADD, "--nip", "5265877635", "--start-date", "2026-02-30"], 4, "YYYY-MM-DD"),
    Case("add-before-ksef", [*ADD, "--nip", "5265877635", "--start-date", "2021-12-31"], 4, "before KSeF"),
    Case("unknown-language", ["profile", "list", "--lang", "klingon"], 2, "unknown language"),
    Case("list-bad-period", ["purchases", "list", "--period", "2026-13"], 2, "2026-13"),
    Case("export-bad-period", ["purchases", "export", "--period", "26-01", "--out", "{tmp}/r.csv"], 2, "26-01"),
    Case(
        "book-bad-deduction",
        ["purchases", "book", "X", "--category", "goods", "--vat-deduction", "30", "--period", "2026-03"],
        2,
        "invalid choice",
    ),
    # B2: configuration
    Case("broken-config-file", ["profile", "list"], 4, "settings file", _config("[secrets\nbackend=")),
    Case(
        "unknown-backend-in-config",
        ["profile", "list"],
        4,
        "unknown secret backend",
        _config('[secrets]\nbackend = "vault9000"\n'),
    ),
    Case(
        "config-dir-is-a-file",
        [*ADD, "--nip", "5265877635", "--start-date", "2026-02-01", *SECRETS],
        4,
        "xdg_config_home",
        _config_dir_is_a_file,
    ),
    Case("doctor-without-profiles", ["doctor"], 4, "no profiles"),
]


def _run_in_subprocess(argv: list[str], env: Env) -> tuple[int, str, str]:
    probe = f"import sys\nfrom ksef_tui.cli import main\nsys.exit(main({argv!r}))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "KSEF_TUI_LANG": "en"},
    )
    return done.returncode, done.stdout, done.stderr


def _snapshot(path: Path) -> tuple[int, bytes]:
    info = path.lstat()
    return stat.S_IFMT(info.st_mode), path.read_bytes() if stat.S_ISREG(info.st_mode) else b""


@pytest.fixture
def env(home: Path, tmp_path: Path) -> Iterator[Env]:
    work = tmp_path / "work"
    work.mkdir()
    sample = work / "invoice.xml"
    shutil.copyfile(SAMPLE, sample)
    yield Env(work, home, sample)


@pytest.mark.parametrize("case", OFFLINE, ids=[c.id for c in OFFLINE])
def test_bad_input_offline(
    case: Case, env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.prepare:
        case.prepare(env)
    argv = env.fill(case.argv)
    kept = {name: _snapshot(Path(env.fill([f"{{{name}}}"])[0])) for name in case.keeps}
    devices = {arg: _snapshot(Path(arg)) for arg in argv if arg.startswith("/dev/")}
    monkeypatch.setattr("sys.stdin", io.StringIO(WELL_SHAPED_TOKEN + "\n"))
    if case.subprocess:
        code, out, err = _run_in_subprocess(argv, env)
    else:
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own refusals
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
    assert code == case.code, (out, err)
    assert code != 70
    assert "Traceback" not in err + out
    assert case.says in (out if case.stdout else err), (out, err)
    for name, before in kept.items():
        assert _snapshot(Path(env.fill([f"{{{name}}}"])[0])) == before, name
    for device, before in devices.items():
        assert _snapshot(Path(device))[0] == before[0], device  # still a device, never replaced by a file


# ------------------------------------------------------------------------------------- with a company store


@pytest.fixture
def synced(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_sim: Callable[..., Sim]
) -> Iterator[tuple[Env, Sim]]:
    sim = make_sim(seed_purchases=40)
    # A start in the month before last: one export window to wait for, not ten (the cases need a few purchases,
    # not the whole year)
    first = date.today().replace(day=1)
    start = (first - timedelta(days=1)).replace(day=1)
    code = add_profile(capsys, monkeypatch, env.home, sim, sim.tokens["full"], start_date=start.isoformat())[0]
    assert code == 0
    assert main(["sync"]) == 0
    capsys.readouterr()
    workspace = Workspace()
    profile = workspace.profile("firma")
    env.values["store"] = str(workspace.store_path(profile))
    assert main(["purchases", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    first = min(listed, key=lambda p: p["issue_date"])
    env.values["ksef"] = first["ksef_number"]
    env.values["before_issue"] = _month_before(first["issue_date"])
    env.values["issue_period"] = first["issue_date"][:7]
    yield env, sim


def _month_before(iso_date: str) -> str:
    year, month = int(iso_date[:4]), int(iso_date[5:7])
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


STORE_CASES = [
    Case(
        "export-onto-the-store",
        ["purchases", "export", "--period", "2026-03", "--out", "{store}"],
        2,
        "data directory",
        keeps=("store",),
    ),
    Case("export-onto-a-device", ["purchases", "export", "--period", "2026-03", "--out", "/dev/full"], 2, "device"),
    Case(
        "book-before-issue",
        ["purchases", "book", "{ksef}", "--category", "goods", "--vat-deduction", "100", "--period", "{before_issue}"],
        2,
        "{before_issue}",
        keeps=("store",),
    ),
    Case(
        "book-unknown-invoice",
        [
            "purchases",
            "book",
            "1111111111-20260301-000000000000-00",
            "--category",
            "goods",
            "--vat-deduction",
            "100",
            "--period",
            "2026-03",
        ],
        2,
        "1111111111-20260301",
    ),
    Case("upo-onto-the-store", ["upo", "{ksef}", "--out", "{store}"], 2, "data directory", keeps=("store",)),
    Case("upo-of-a-purchase", ["upo", "{ksef}", "--out", "{tmp}/upo.xml"], 2, "no sales invoice in the register"),
    Case("send-unknown-invoice", ["send", "--invoice", "FV/0/2026", "--yes"], 2, "FV/0/2026 is not in the sales"),
    Case("sales-list-bad-state", ["sales", "list", "--state", "sent"], 2, 'unknown state "sent"'),
]


@pytest.mark.parametrize("case", STORE_CASES, ids=[c.id for c in STORE_CASES])
def test_bad_input_with_a_store(case: Case, synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str]) -> None:
    env, _ = synced
    argv = env.fill(case.argv)
    kept = {name: _snapshot(Path(env.values[name])) for name in case.keeps}
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == case.code, (out, err)
    assert "Traceback" not in err
    assert env.fill([case.says])[0] in err, err
    for name, before in kept.items():
        assert _snapshot(Path(env.values[name])) == before, name


DAMAGE = {
    "month": ("{month}.json", b'{"purchases": {"1": {"ksef_number": '),
    "document": ("{month}.json", b'{"purchases": {"1": {"ksef_number": "X", "issue_date": "wczoraj"}}}'),
    "bookings": ("{month}.bookings.json", b'{"bookings": []}'),
    "index": ("index.bin", b"KSEF-TUI-INDEX\x00\x01\xff"),
}


@pytest.mark.parametrize("damaged", sorted(DAMAGE))
def test_a_damaged_month_file_is_named_and_kept(
    damaged: str, synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged file of the store: exit 4 naming it, never a traceback or exit 70, and the file is left as it
    was for a backup to replace. The index is a cache: a damaged one is rebuilt without a word."""
    env, _ = synced
    root = Path(env.values["store"]).with_name("store.purchases")
    name, content = DAMAGE[damaged]
    target = root / name.format(month=env.values["issue_period"])
    target.write_bytes(content)
    for argv in (["purchases", "list"], ["purchases", "book", env.values["ksef"], "--unbook"]):
        code = main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if damaged == "index":
            assert code == 0, err
            continue
        assert code == 4, (out, err)
        assert str(target) in err
        assert target.read_bytes() == content


def test_a_damaged_session_blob_means_signing_in_again(
    synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str]
) -> None:
    """B1/A3: garbage in the vault's session slot is "sign in again", never exit 70."""
    _env, sim = synced
    workspace = Workspace()
    profile = workspace.profile("firma")
    vault = workspace.vault(profile)
    vault.keyring.set_password(*_session_slot(vault, profile), "{not json")
    before = len(sim.state.auths)
    assert main(["sync"]) == 0, capsys.readouterr().err
    assert len(sim.state.auths) == before + 1


def _session_slot(vault: object, profile: object) -> tuple[str, str]:
    from ksef_tui.vault import service_name
    from ksef_tui.vault.vault import _username  # the slot's name is the vault's business; the test pokes it

    environment = profile.vault_environment  # type: ignore[attr-defined]
    return service_name(environment), _username(profile.name, session=True)  # type: ignore[attr-defined]


def test_unwritable_log_directory_does_not_fail_a_command(
    synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API log is for support; a state directory that cannot hold it must not cost the user the command."""
    env, _ = synced
    blocker = env.home / "state-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    assert main(["sync", "--json"]) == 0, capsys.readouterr().err


def test_unusable_data_directory_is_named(
    synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, _ = synced
    blocker = env.home / "data-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    code = main(["sync"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert str(blocker) in err
    assert "Traceback" not in err


def test_supplier_formulas_stay_text_in_the_register(
    synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str]
) -> None:
    """B5 through the command line: a booked purchase with a hostile note exports as inert text."""
    env, _ = synced
    period, hostile = env.values["issue_period"], '=HYPERLINK("http://evil.example","click")'
    book = ["purchases", "book", env.values["ksef"], "--category", "goods", "--vat-deduction", "100"]
    assert main([*book, "--period", period, "--note", hostile]) == 0
    capsys.readouterr()
    out = env.tmp / "register.csv"
    assert main(["purchases", "export", "--period", period, "--out", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[1][-1] == "'" + hostile


def _faktur(n: int) -> str:
    """Polish plural of "faktura", written out here independently of the catalogs."""
    if n == 1:
        return "faktura"
    return "faktury" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "faktur"


def test_readable_lists_in_polish(synced: tuple[Env, Sim], capsys: pytest.CaptureFixture[str]) -> None:
    """B9/B10: a header, sellers, totals per currency with a Polish plural, Polish words only."""
    assert main(["purchases", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    per_currency: dict[str, int] = {}
    for item in listed:
        per_currency[item["currency"]] = per_currency.get(item["currency"], 0) + 1
    assert main(["--lang", "pl", "purchases", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Nr KSeF")
    assert "NIP sprzedawcy" in lines[0] and "Sprzedawca" in lines[0] and "VAT w zł" in lines[0]
    for currency, count in per_currency.items():
        assert any(line.startswith(f"Razem {count} {_faktur(count)} w {currency}:") for line in lines), out
    for item in listed:
        assert item["seller"]["name"][:20] in out
    for english in ("invoice", "booked", "VALID", "HWM"):
        assert english not in out
