"""`ksef-tui invoice ...`: the contract other tools rely on, and bad input that must never trace back."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ksef_tui.cli import main
from ksef_tui.errors import EXIT_CODES, Category

EXIT_OK, EXIT_INVALID, EXIT_INPUT = 0, EXIT_CODES[Category.INVALID], EXIT_CODES[Category.INPUT]

FIXTURES = Path(__file__).parent.parent / "fixtures"
ALL_SAMPLES = sorted((FIXTURES / "fa3").glob("*.xml")) + sorted((FIXTURES / "fa2").glob("*.xml"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_version_and_json_through_a_real_process() -> None:
    exe = Path(sys.executable).with_name("ksef-tui")
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("ksef-tui ")
    done = subprocess.run(
        [str(exe), "invoice", "show", "--json", str(FIXTURES / "fa3" / "FA3_example_1.xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(done.stdout.strip().splitlines()) == 1
    data = json.loads(done.stdout)
    assert data == {
        "schema": "FA (3)",
        "type": "VAT",
        "number": "FV2026/02/150",
        "issue_date": "2026-02-15",
        "seller": {"nip": "9999999999", "name": "ABC AGD sp. z o. o."},
        "buyer": {"id_type": "Nip", "id": "1111111111", "name": "F.H.U. Jan Kowalski"},
        "currency": "PLN",
        "gross": "2051.00",
        "buckets": {"P_13_1": "1666.66", "P_14_1": "383.33", "P_13_3": "0.95", "P_14_3": "0.05"},
        "lines": 3,
        "corrected": [],
    }


@pytest.mark.parametrize("path", ALL_SAMPLES, ids=lambda p: p.name)
def test_show_json_is_one_object_with_every_key(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    code, out, err = run(capsys, "invoice", "show", "--json", str(path))
    assert (code, err) == (EXIT_OK, "")
    data = json.loads(out)
    assert set(data) == {
        "schema",
        "type",
        "number",
        "issue_date",
        "seller",
        "buyer",
        "currency",
        "gross",
        "buckets",
        "lines",
        "corrected",
    }
    assert data["schema"] == ("FA (2)" if path.parent.name == "fa2" else "FA (3)")
    assert data["lines"] == path.read_text(encoding="utf-8").count("<FaWiersz>")


def test_show_json_of_a_correction(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "invoice", "show", "--json", str(FIXTURES / "fa3" / "FA3_example_2.xml"))
    data = json.loads(out)
    assert (code, data["type"], data["gross"]) == (EXIT_OK, "KOR", "-200.00")
    assert data["corrected"] == [
        {"ksef_number": "9999999999-20230908-8BEF280C8D35-4D", "number": "FV2026/02/150", "issue_date": "2026-02-15"}
    ]


def test_show_summary_in_polish_by_default(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSEF_TUI_LANG")
    code, out, _ = run(capsys, "invoice", "show", str(FIXTURES / "fa3" / "FA3_example_1.xml"))
    assert code == EXIT_OK
    assert "Sprzedawca: NIP 9999999999  ABC AGD sp. z o. o." in out
    assert "Kwota należności ogółem (P_15): 2\u00a0051,00 PLN" in out
    assert "383,33" in out


def test_validate_all_samples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "invoice", "validate", *map(str, ALL_SAMPLES))
    assert code == EXIT_OK
    lines = out.strip().splitlines()
    assert len(lines) == len(ALL_SAMPLES)
    assert all(": VALID (FA (" in line for line in lines)


def test_validate_reports_first_errors_with_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = (FIXTURES / "fa3" / "FA3_example_1.xml").read_text(encoding="utf-8")
    broken = broken.replace("<P_14_1>383.33</P_14_1>", "").replace("<P_15>2051</P_15>", "<P_15>2051,00</P_15>")
    bad = tmp_path / "bad.xml"
    bad.write_text(broken, encoding="utf-8")
    good = FIXTURES / "fa3" / "FA3_example_1.xml"
    code, out, _ = run(capsys, "invoice", "validate", str(good), str(bad))
    assert code == EXIT_INVALID
    good_line, bad_line = out.strip().splitlines()
    assert good_line.endswith("VALID (FA (3))")
    assert bad_line.startswith(f"{bad}: INVALID: line 51:")  # P_13_3 where P_14_1 must be
    assert "P_13_1" in bad_line or "P_14_1" in bad_line


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


SAMPLE = (FIXTURES / "fa3" / "FA3_example_1.xml").read_bytes()


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("not-xml.xml", b"%PDF-1.7 binary \x00\x01", "not well-formed"),
        ("empty.xml", b"", "empty"),
        ("truncated.xml", SAMPLE[: len(SAMPLE) // 2], "not well-formed"),
        ("upo.xml", (FIXTURES / "upo" / "upo-sesja-kontekst-id-nip.xml").read_bytes(), "not an FA(3) or FA(2)"),
    ],
    ids=["not-xml", "empty", "truncated", "other-schema"],
)
def test_bad_input_is_one_line_and_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, data: bytes, needle: str
) -> None:
    path = _write(tmp_path, name, data)
    code, out, _ = run(capsys, "invoice", "validate", str(path))
    assert code == EXIT_INVALID
    assert len(out.strip().splitlines()) == 1
    assert needle in out
    # show refuses the same file with exit 2 and one line on stderr
    code, out, err = run(capsys, "invoice", "show", str(path))
    assert code == EXIT_INPUT
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("data", "needle"),
    [(b"\xef\xbb\xbf" + SAMPLE, "BOM"), (SAMPLE.replace(b"UTF-8", b"ISO-8859-2"), "UTF-8 only")],
    ids=["bom", "latin2"],
)
def test_readable_but_not_for_ksef(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, needle: str
) -> None:
    """KSeF refuses these, so validate says INVALID; a reader still shows them (received files vary)."""
    path = _write(tmp_path, "x.xml", data)
    code, out, _ = run(capsys, "invoice", "validate", str(path))
    assert code == EXIT_INVALID
    assert needle in out
    code, out, _ = run(capsys, "invoice", "show", "--json", str(path))
    assert code == EXIT_OK
    assert json.loads(out)["number"] == "FV2026/02/150"


def test_missing_file_directory_and_huge_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "invoice", "show", str(tmp_path / "nope.xml"))
    assert (code, err.strip()) == (EXIT_INPUT, f"ksef-tui: no such file: {tmp_path / 'nope.xml'}")
    code, _, err = run(capsys, "invoice", "show", str(tmp_path))
    assert code == EXIT_INPUT
    assert "is a directory" in err
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as fh:  # sparse: no disk used, nothing read
        fh.truncate(200 * 1024 * 1024)
    code, _, err = run(capsys, "invoice", "show", str(huge))
    assert code == EXIT_INPUT
    assert "209.7 MB" in err


def test_errors_in_polish(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--lang", "pl", "invoice", "show", str(tmp_path / "brak.xml"))
    assert code == EXIT_INPUT
    assert "nie ma pliku" in err


def test_qr_link_for_each_environment(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "fa3" / "FA3_example_1.xml"
    digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).decode().rstrip("=")
    for env, host in (
        ("test", "qr-test.ksef.mf.gov.pl"),
        ("demo", "qr-demo.ksef.mf.gov.pl"),
        ("prod", "qr.ksef.mf.gov.pl"),
    ):
        code, out, _ = run(capsys, "invoice", "qr", str(path), "--env", env)
        assert code == EXIT_OK
        assert out.strip() == f"https://{host}/invoice/9999999999/15-02-2026/{digest}"


def test_qr_show_prints_a_code_and_label(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "invoice", "qr", str(FIXTURES / "fa3" / "FA3_example_1.xml"), "--show", "--ascii")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].startswith("https://qr.ksef.mf.gov.pl/invoice/")
    assert sum("#" in line for line in lines) > 20
    assert lines[-1] == "Label: OFFLINE"


def test_render_writes_html(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "fv.html"
    code, out, _ = run(
        capsys, "invoice", "render", str(FIXTURES / "fa3" / "FA3_example_1.xml"), "--html", str(out_file)
    )
    assert code == EXIT_OK
    assert str(out_file) in out
    html = out_file.read_text(encoding="utf-8")
    assert "FV2026/02/150" in html
    assert "9999999999" in html


def test_render_refuses_fa2_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fa2 = FIXTURES / "fa2" / "FA2_podstawowa__FA_2_Przyklad_4.xml"
    code, _, err = run(capsys, "invoice", "render", str(fa2), "--html", str(tmp_path / "x.html"))
    assert code == EXIT_INPUT
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_no_command_outside_a_terminal_says_the_app_needs_one(capsys: pytest.CaptureFixture[str]) -> None:
    """``ksef-tui`` alone starts the TUI; where stdin/stdout are no terminal (a pipe, cron) it says so, exit 2."""
    code, out, err = run(capsys)
    assert code == EXIT_INPUT
    assert "needs a terminal" in err and "Traceback" not in err
    assert out == ""
