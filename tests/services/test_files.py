"""services.files: inputs that are regular files only, outputs that never destroy the input, the app's data or
a special file; atomic writes through symbolic links; every refusal a PathError naming the path, in both
languages. Runs as root in CI: nothing here relies on permissions being refused (OS errors are injected)."""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ksef_tui.errors import EXIT_CODES, Category, PathError, report
from ksef_tui.fa.render import render_html
from ksef_tui.services import files
from ksef_tui.services.files import app_directories, check_output, read_input, write_output

FIXTURES = Path(__file__).parent.parent / "fixtures"
INVOICE = (FIXTURES / "fa3" / "FA3_example_1.xml").read_bytes()


def _refusal(exc: pytest.ExceptionInfo[PathError], path: Path, *words: str) -> None:
    """The error is a user's INPUT error that names the path and says why, in English and in Polish."""
    error = exc.value
    assert isinstance(error, PathError)
    assert error.category is Category.INPUT
    assert report(error).exit_code == EXIT_CODES[Category.INPUT]
    message = error.message()
    assert str(path) in message
    for word in words:
        assert word in message, message


def _polish(monkeypatch: pytest.MonkeyPatch, error: PathError) -> str:
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    try:
        return error.message()
    finally:
        monkeypatch.setenv("KSEF_TUI_LANG", "en")


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path


def _without_hanging(call: object, fifo: Path) -> BaseException | None:
    """Run ``call`` in a thread; if it blocks on the FIFO, open the writing end to free it and fail."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()  # type: ignore[operator]
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a reader is blocked in open(): let it go
        os.close(fd)
        worker.join(timeout=20)
        pytest.fail(f"blocked on the FIFO {fifo}")
    return outcome[0]


# --- read_input -------------------------------------------------------------------------------------------


def test_reads_a_regular_file_and_one_through_a_link(tmp_path: Path) -> None:
    path = tmp_path / "invoice.xml"
    path.write_bytes(INVOICE)
    link = tmp_path / "link.xml"
    link.symlink_to(path)
    assert read_input(path) == INVOICE
    assert read_input(link) == INVOICE
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    assert read_input(empty) == b""


def test_a_missing_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nope.xml"
    with pytest.raises(PathError) as err:
        read_input(path)
    _refusal(err, path, "no such file")
    assert _polish(monkeypatch, err.value) == f"nie ma pliku: {path}"


def test_a_directory_is_not_an_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PathError) as err:
        read_input(tmp_path)
    _refusal(err, tmp_path, "directory")
    assert "katalog" in _polish(monkeypatch, err.value)


@pytest.mark.parametrize("through_link", [False, True])
def test_a_fifo_is_refused_without_blocking(fifo: Path, tmp_path: Path, through_link: bool) -> None:
    path = fifo
    if through_link:
        path = tmp_path / "innocent.xml"
        path.symlink_to(fifo)
    error = _without_hanging(lambda: read_input(path), fifo)
    assert isinstance(error, PathError)
    assert "FIFO" in error.message() and str(path) in error.message()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("through_link", [False, True])
def test_a_device_is_refused_before_reading(
    tmp_path: Path, through_link: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/dev/zero`` through a symbolic link once read until MemoryError; it is refused before it is opened."""
    path = Path("/dev/zero")
    if through_link:
        path = tmp_path / "invoice.xml"
        path.symlink_to("/dev/zero")
    opened: list[object] = []
    real_open = os.open

    def spy(*args: object, **kwargs: object) -> int:
        opened.append(args)
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy)
    with pytest.raises(PathError) as err:
        read_input(path)
    _refusal(err, path, "device")
    assert opened == []
    assert "urządzenie" in _polish(monkeypatch, err.value)


def test_a_file_over_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b"x" * 11)
    assert read_input(path, max_bytes=11) == b"x" * 11
    with pytest.raises(PathError) as err:
        read_input(path, max_bytes=10)
    _refusal(err, path, "limit")
    big = tmp_path / "bigger.xml"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: 17 MiB over the default 16 MiB
    with pytest.raises(PathError) as default:
        read_input(big)
    _refusal(default, big, "17.8 MB", "16.8 MB")
    assert "17,8 MB" in _polish(monkeypatch, default.value)


def test_a_file_that_grows_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing.xml"
    path.write_bytes(b"x" * 100)
    real_stat = os.stat

    def small(target: object, *args: object, **kwargs: object) -> os.stat_result:
        result = real_stat(target, *args, **kwargs)  # type: ignore[arg-type]
        fields = list(result)
        fields[stat.ST_SIZE] = 5
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", small)
    with pytest.raises(PathError) as err:
        read_input(path, max_bytes=10)
    _refusal(err, path, "limit")


def test_a_file_swapped_between_look_and_open(tmp_path: Path, fifo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "invoice.xml"
    path.write_bytes(INVOICE)
    other = tmp_path / "other.xml"
    other.write_bytes(INVOICE)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda target, *a, **k: real_stat(other))
    with pytest.raises(PathError) as err:
        read_input(path)
    _refusal(err, path, "changed")


@pytest.mark.parametrize(("code", "words", "polish"), [(errno.EACCES, "permission denied", "brak uprawnień")])
def test_an_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str, polish: str
) -> None:
    path = tmp_path / "secret.xml"
    path.write_bytes(INVOICE)

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(code, os.strerror(code), str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PathError) as err:
        read_input(path)
    _refusal(err, path, words)
    assert polish in _polish(monkeypatch, err.value)


# --- check_output -----------------------------------------------------------------------------------------


def test_a_new_output_in_an_existing_directory(tmp_path: Path) -> None:
    assert check_output(tmp_path / "out.html") == tmp_path / "out.html"


def test_the_input_is_not_an_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``invoice render X --html X`` replaced the invoice with HTML."""
    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes(INVOICE)
    link = tmp_path / "link.html"
    link.symlink_to(invoice)
    hard = tmp_path / "hard.html"
    os.link(invoice, hard)
    relative = Path(os.path.relpath(invoice))
    for out in (invoice, link, hard, relative, tmp_path / "." / "invoice.xml"):
        with pytest.raises(PathError) as err:
            write_output(out, "<html/>", inputs=[invoice])
        _refusal(err, out, "input file")
        assert "plik wejściowy" in _polish(monkeypatch, err.value)
    assert invoice.read_bytes() == INVOICE


def test_the_apps_data_is_not_an_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``purchases export --out`` onto the profile's own store.json destroyed the store."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    data_dir, config_dir = app_directories()
    assert tmp_path in data_dir.parents and tmp_path in config_dir.parents
    store = data_dir / "profiles" / "acme" / "store.json"
    store.parent.mkdir(parents=True)
    store.write_text("{}")
    config_dir.mkdir(parents=True)
    outside_link = tmp_path / "register.csv"
    outside_link.symlink_to(store)
    linked_dir = tmp_path / "looks-elsewhere"
    linked_dir.symlink_to(data_dir)
    for out in (store, data_dir / "new.csv", config_dir / "profiles.json", outside_link, linked_dir / "x.csv"):
        with pytest.raises(PathError) as err:
            write_output(out, "a;b\n", protected=app_directories())
        _refusal(err, out, "data directory")
        assert "katalogu danych programu" in _polish(monkeypatch, err.value)
    assert store.read_text() == "{}"
    assert not (data_dir / "new.csv").exists()
    assert outside_link.is_symlink()


def test_a_protected_directory_given_through_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real-data"
    real.mkdir()
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    with pytest.raises(PathError):
        check_output(real / "x.csv", protected=[alias])
    with pytest.raises(PathError):
        check_output(alias / "x.csv", protected=[real])
    assert check_output(tmp_path / "x.csv", protected=[alias]) == tmp_path / "x.csv"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_dev_full_is_not_an_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, ``--out /dev/full`` once replaced the device node. Only checked here (a regression must not
    cost the machine its /dev/full); the write itself is tried on a device node of our own below."""
    link = tmp_path / "out.csv"
    link.symlink_to("/dev/full")
    for out in (Path("/dev/full"), link):
        with pytest.raises(PathError) as err:
            check_output(out)
        _refusal(err, out, "device")
        assert "urządzenie" in _polish(monkeypatch, err.value)


def test_a_device_is_never_replaced(tmp_path: Path) -> None:
    device = tmp_path / "device"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # what /dev/null is
    except OSError:
        pytest.skip("cannot make a device node here (CI runs as root and can)")
    before = os.lstat(device)
    link = tmp_path / "out.csv"
    link.symlink_to(device)
    for out in (device, link):
        with pytest.raises(PathError) as err:
            write_output(out, "a;b\n")
        _refusal(err, out, "device")
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device", "out.csv"]


def test_a_fifo_or_a_directory_is_not_an_output(fifo: Path, tmp_path: Path) -> None:
    error = _without_hanging(lambda: write_output(fifo, "x"), fifo)
    assert isinstance(error, PathError) and "FIFO" in error.message()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(PathError) as err:
        write_output(folder, "x")
    _refusal(err, folder, "directory")
    assert folder.is_dir()


def test_an_output_in_a_missing_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "no-such-dir" / "out.html"
    with pytest.raises(PathError) as err:
        write_output(out, "x")
    _refusal(err, out, "does not exist")
    assert "nie istnieje" in _polish(monkeypatch, err.value)
    assert not out.parent.exists()


# --- write_output -----------------------------------------------------------------------------------------


def test_writes_a_new_file_atomically_with_the_usual_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        target = write_output(tmp_path / "register.csv", "Numer;Kwota\nFV/1;12,30\n")
    finally:
        os.umask(old)
    assert target == tmp_path / "register.csv"
    assert target.read_text(encoding="utf-8") == "Numer;Kwota\nFV/1;12,30\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["register.csv"]


def test_replaces_an_existing_file_keeping_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "invoice.html"
    out.write_text("old")
    out.chmod(0o604)
    write_output(out, b"new")
    assert out.read_bytes() == b"new"
    assert stat.S_IMODE(out.stat().st_mode) == 0o604


def test_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "real" / "invoice.html"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "invoice.html"
    link.symlink_to(target)
    assert write_output(link, "<html/>") == target
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "<html/>"
    dangling = tmp_path / "dangling.html"
    dangling.symlink_to(tmp_path / "real" / "later.html")
    write_output(dangling, "x")
    assert dangling.is_symlink() and (tmp_path / "real" / "later.html").read_text() == "x"


@pytest.mark.parametrize(
    ("code", "english", "polish"),
    [
        (errno.EROFS, "read-only", "tylko do odczytu"),
        (errno.ENOSPC, "no space", "brak miejsca"),
        (errno.EACCES, "permission denied", "brak uprawnień"),
        (errno.EDQUOT, "no space", "brak miejsca"),
    ],
)
def test_os_failures_are_translated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, english: str, polish: str
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("kept")
    real_replace = os.replace

    def fail(src: object, dst: object) -> None:
        raise OSError(code, os.strerror(code), str(dst))

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(PathError) as err:
        write_output(out, "new")
    monkeypatch.setattr(os, "replace", real_replace)
    _refusal(err, out, english)
    assert polish in _polish(monkeypatch, err.value)
    assert out.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # the temp file is gone


def test_a_failure_before_the_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(files, "atomic_write", fail)
    with pytest.raises(PathError) as err:
        write_output(tmp_path / "x.html", "x")
    _refusal(err, tmp_path / "x.html", "read-only")


def test_the_rendered_invoice_written_beside_it(tmp_path: Path) -> None:
    """What ``invoice render --html`` does: read the input, render, write the output (moved from fa/render)."""
    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes(INVOICE)
    html = render_html(read_input(invoice))
    out = write_output(tmp_path / "invoice.html", html, inputs=[invoice])
    assert out.read_text(encoding="utf-8") == html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoice.html", "invoice.xml"]
