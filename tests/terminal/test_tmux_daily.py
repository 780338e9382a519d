"""The daily-work screens of ``ksef-tui sandbox`` in a real terminal (tmux, 120×34), as an accountant sees them:

* F4, purchases: every row a valid KSeF number beside its seller's NIP; corrections told apart (the ↺ mark and the
  word on correction rows only); the corrections-only filter (k) lists as many rows as it says, each marked, the
  same ones the whole list marks (paged through to its end), and the detail line names what a correction corrects;
* F6, customer transactions: the glyph column (✓ beside each KSeF number, ✗ for the rejected one, and the other
  states with their words), the row count and the per-status summary the screen states;
* Enter on an accepted sale: its detail, and KOD I drawn with half blocks — read back from the screen, the very
  matrix of the link printed under it;
* ctrl+q ends with 0 and leaves the user's directories as they were;
* the ASCII glyph set (``KSEF_TUI_ASCII=1``, as ``ascii = true`` in config.toml): the same screens without a
  Unicode status glyph, KOD I drawn with ``##``.

The sandbox starts once for the module (the ASCII one once for its test); every wait polls the screen until a
deadline. Skipped only where tmux is not installed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksef_tui.domain.ksef_number import is_valid_ksef_number
from ksef_tui.fa.qr import qr_modules
from ksef_tui.sim.seed import DEMO
from ksef_tui.ui.widgets.qr import cells_to_modules

from .tmuxkit import KSEF_TUI, NO_TMUX, Terminal, Terminals, user_env, wait_exit

pytestmark = NO_TMUX

SIZE = (120, 34)
KSEF = r"\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}"
#: A purchase row: received, KSeF number, the correction mark cell, the kind, the invoice number, issued, seller NIP.
PURCHASE_ROW = re.compile(
    rf"\d\d\.\d\d\.\d{{4}} \d\d:\d\d (?P<ksef>{KSEF}) (?P<mark>.) (?P<kind>\w+)\s+"
    r"\S+\s+\d\d\.\d\d\.\d{4} (?P<nip>\d{10})"
)
SHOWN = re.compile(r"Faktury na liście: (\d+) z (\d+)")
#: A transactions row, right of the customers' pane: glyph, number, issued, KSeF number or status, gross, currency.
SALE_ROW = re.compile(
    r"^\s*(?P<glyph>\S+)\s+(?P<number>\S+(?: \S+)?)\s+(?P<issued>\d\d\.\d\d\.\d{4})\s+(?P<status>.+?)\s{2,}"
    r"(?P<gross>-?\d[\d\xa0 ]*,\d\d)\s+(?P<currency>[A-Z]{3})\b"
)
#: The words the status column shows for a sale without a KSeF number.
STATUS_WORDS = {"draft": "robocza", "queued": "w kolejce", "rejected": "odrzucona", "before": "sprzed daty startu KSeF"}


@dataclass(frozen=True)
class GlyphSet:
    accepted: str
    duplicate: str
    others: dict[str, str]  # glyph -> the status word beside it
    correction: str  # the purchases table's correction mark


UNICODE = GlyphSet(
    "✓",
    "⇉",
    {"✎": STATUS_WORDS["draft"], "◷": STATUS_WORDS["queued"], "⟳": "wysyłanie", "✗": STATUS_WORDS["rejected"]}
    | {"⇤": STATUS_WORDS["before"]},
    "↺",
)
ASCII = GlyphSet(
    "ok",
    "dup",
    {"ed": STATUS_WORDS["draft"], ">": STATUS_WORDS["queued"], "...": "wysyłanie", "ERR": STATUS_WORDS["rejected"]}
    | {"<": STATUS_WORDS["before"]},
    "K",
)
UNICODE_ONLY = "✓✗⟳◷✎⇉⇤⚠↺▀▄"


@dataclass
class Sandbox:
    term: Terminal
    home: Path
    scratch: Path
    exit_file: Path
    purchases: int  # as the main view counts them


def start_sandbox(terminals: Terminals, root: Path, **env: str) -> Sandbox:
    home, scratch, exit_file = root / "home", root / "tmp", root / "exit"
    home.mkdir()
    scratch.mkdir()
    term = terminals(user_env(home, TMPDIR=str(scratch), **env), SIZE)
    term.start(f"{shlex.quote(str(KSEF_TUI))} sandbox; echo EXIT=$? > {shlex.quote(str(exit_file))}")
    screen = term.wait_for(lambda s: "│ Faktury zakupu: " in s, "main view")
    found = re.search(r"│ Faktury zakupu: (\d+)", screen)
    assert found, screen
    header = screen.splitlines()[0].rstrip()
    assert len(header) > SIZE[0] - 5, f"the app drew {len(header)} columns of the pane's {SIZE[0]}:\n{screen}"
    return Sandbox(term, home, scratch, exit_file, int(found.group(1)))


@pytest.fixture(scope="module")
def terminals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terminals]:
    made = Terminals(tmp_path_factory.mktemp("tmux"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sandbox(terminals: Terminals, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """One ``ksef-tui sandbox`` for the module's tests; each test goes to its screen by its key."""
    return start_sandbox(terminals, tmp_path_factory.mktemp("sandbox"))


# ------------------------------------------------------------------------------------------------ reading


def purchase_rows(screen: str) -> list[re.Match[str]]:
    return [found for line in screen.splitlines() if (found := PURCHASE_ROW.search(line))]


def shown(screen: str) -> tuple[int, int] | None:
    found = SHOWN.search(screen)
    return (int(found.group(1)), int(found.group(2))) if found else None


def sale_rows(screen: str) -> list[dict[str, str]]:
    """The transactions table's rows (the part of each line right of the customers' pane)."""
    rows = []
    for line in screen.splitlines():
        if "▕" not in line:
            continue
        found = SALE_ROW.match(line.split("▕", 1)[1])
        if found:
            rows.append(found.groupdict())
    return rows


def detail_line(screen: str) -> str:
    """The highlighted sale in words, under the table: ``number (kind) │ customer │ gross``."""
    lines = [line.split("▕", 1)[1].strip() for line in screen.splitlines() if "▕" in line]
    return next((line for line in lines if re.match(r"\S+(?: \S+)? \(\w+\) [│|] ", line)), "")


def check_transactions(screen: str, glyphs: GlyphSet) -> list[dict[str, str]]:
    """The glyph column against the status column, the row count and the summary the screen states."""
    rows = sale_rows(screen)
    assert rows, screen
    count = re.search(r"Wszyscy klienci \((\d+)\)", screen)
    assert count and int(count.group(1)) == len(rows), screen
    for row in rows:
        glyph, status = row["glyph"], row["status"]
        if re.fullmatch(KSEF, status):
            assert glyph in (glyphs.accepted, glyphs.duplicate), row
            assert is_valid_ksef_number(status) and status.startswith(DEMO.nip), row  # we are the seller
        else:
            assert glyphs.others.get(glyph) == status, row
    seen = {row["glyph"] for row in rows}
    assert {glyphs.accepted, glyphs.duplicate} <= seen, screen
    assert len(seen & set(glyphs.others)) >= 2, screen  # ✗ and at least one more
    rejected = next(glyph for glyph, word in glyphs.others.items() if word == STATUS_WORDS["rejected"])
    assert rejected in seen, screen
    # the summary under the table: "✓ przyjęta: 7  ✗ odrzucona: 1 …", or "✓ 7  ✗ 1 …" when the words do not fit
    summary = summary_line(screen)
    assert summary is not None, screen
    words = {glyphs.accepted: "przyjęta", glyphs.duplicate: "duplikat", **glyphs.others}
    for glyph, word in words.items():
        stated = re.search(rf"(?:^|\s){re.escape(glyph)}(?: {re.escape(word)}:)? (\d+)(?:\s|$)", summary)
        if stated:
            assert int(stated.group(1)) == sum(row["glyph"] == glyph for row in rows), (glyph, summary)
    assert re.search(rf"(?:^|\s){re.escape(glyphs.accepted)}(?: przyjęta:)? \d+", summary), summary
    return rows


SUMMARY = re.compile(r"\S+(?: [^:\d]+:)? \d+(?:  \S+(?: [^:\d]+:)? \d+)+")


def summary_line(screen: str) -> str | None:
    """The per-status counts under the transactions table (right of the customers), or ``None``."""
    for line in screen.splitlines():
        if "▕" in line:
            right = line.split("▕", 1)[1].strip()
            if SUMMARY.fullmatch(right):
                return right
    return None


def go_to_row(term: Terminal, rows: list[dict[str, str]], number: str) -> str:
    """Moves the transactions table's cursor onto ``number``'s row; the screen once the detail line names it."""
    current = detail_line(term.wait_for(lambda s: detail_line(s) != "", "the highlighted sale's detail line"))
    numbers = [row["number"] for row in rows]
    here = next(n for n in numbers if current.startswith(f"{n} ("))
    steps = numbers.index(number) - numbers.index(here)
    if steps:
        term.keys(*(["Down"] * steps if steps > 0 else ["Up"] * -steps))
    return term.wait_for(lambda s: detail_line(s).startswith(f"{number} ("), f"{number} highlighted")


def qr_link(screen: str) -> str:
    """KOD I's link as printed under the code: folded at the width of its first line, at the same column."""
    lines = screen.splitlines()
    first = next(i for i, line in enumerate(lines) if "https://" in line)
    column = lines[first].index("https://")
    pieces = [lines[first][column:].strip()]
    for line in lines[first + 1 :]:
        if len(pieces[-1]) < len(pieces[0]):  # the last piece: shorter than the fold
            break
        pieces.append(line[column:].split(" ")[0])
    return "".join(pieces)


def qr_on_screen(screen: str) -> list[list[bool]]:
    """The QR symbol drawn with half blocks (quiet zone left out), read back into its module matrix.

    The top line of the drawing shows the tops of two finder patterns (``█▀▀▀▀▀█``): the first marks the symbol's
    left edge, the second ends 7 modules before its right edge. The quiet zone is 4 modules (two lines) above, so
    the symbol starts at a line; its odd size leaves the last line's lower half light."""
    lines = screen.splitlines()
    top = next(i for i, line in enumerate(lines) if line.count("█▀▀▀▀▀█") == 2)
    left = lines[top].index("█▀▀▀▀▀█")
    size = lines[top].index("█▀▀▀▀▀█", left + 7) + 7 - left
    drawn = [lines[top + i][left : left + size].ljust(size) for i in range((size + 1) // 2)]
    return cells_to_modules(drawn)[:size]


# --------------------------------------------------------------------------------------------------- tests


def test_purchases_list_ksef_numbers_and_tell_corrections_apart(sandbox: Sandbox) -> None:
    term, total = sandbox.term, sandbox.purchases
    term.keys("F4")
    screen = term.wait_for(lambda s: shown(s) == (total, total) and bool(purchase_rows(s)), "the purchases")
    assert "Zakupy: importuj faktury KSeF" in screen

    # the whole list, page by page: every row a valid KSeF number of its seller; the mark only with the word
    listed: dict[str, re.Match[str]] = {}
    while True:
        rows = purchase_rows(screen)
        listed.update((row["ksef"], row) for row in rows)
        if len(listed) >= total:
            break
        term.keys("PageDown")
        before = [row["ksef"] for row in rows]
        screen = term.wait_for(lambda s: [r["ksef"] for r in purchase_rows(s)] != before, "the next page")  # noqa: B023
    assert len(listed) == total, sorted(listed)
    for ksef, row in listed.items():
        assert is_valid_ksef_number(ksef) and ksef.startswith(row["nip"]), row.group(0)
        assert row["kind"] in ("podstawowa", "korygująca"), row.group(0)
        assert (row["mark"] == "↺") == (row["kind"] == "korygująca"), row.group(0)
    marked = {ksef for ksef, row in listed.items() if row["mark"] == "↺"}
    assert marked and len(marked) < total

    # corrections only (k): as many rows as the screen says, the very ones marked above
    term.keys("k")
    screen = term.wait_for(lambda s: "[k] ✓ tylko korekty" in s and (shown(s) or (0, 0))[0] < total, "corrections")
    count, of = shown(screen) or (0, 0)
    rows = purchase_rows(screen)
    assert of == total and count == len(marked), screen
    assert len(rows) == count, screen  # all of them fit on the screen
    assert {row["ksef"] for row in rows} == marked
    assert all(row["mark"] == "↺" and row["kind"] == "korygująca" for row in rows), screen
    # the highlighted correction's line names the invoice it corrects
    corrects = re.search(rf"^ ({KSEF}) │ korygująca │ koryguje ({KSEF}) │", screen, re.MULTILINE)
    assert corrects and corrects.group(1) in marked and corrects.group(2) != corrects.group(1), screen

    term.keys("k")  # the filter off again
    term.wait_for(lambda s: shown(s) == (total, total) and "[k] - tylko korekty" in s, "the whole list again")


def test_transactions_show_the_status_glyphs(sandbox: Sandbox) -> None:
    term = sandbox.term
    term.keys("F6")
    screen = term.wait_for(lambda s: len(sale_rows(s)) > 3 and summary_line(s) is not None, "the transactions")
    assert "Transakcje klienta, korekty" in screen
    check_transactions(screen, UNICODE)


def test_enter_on_an_accepted_sale_shows_its_detail_and_qr(sandbox: Sandbox) -> None:
    term = sandbox.term
    term.keys("F6")
    rows = sale_rows(term.wait_for(lambda s: len(sale_rows(s)) > 3, "the customer transactions"))
    sale = next(row for row in rows if row["glyph"] == "✓")
    number, ksef = sale["number"], sale["status"]
    highlighted = go_to_row(term, rows, number)
    assert f"✓ przyjęta: nr KSeF {ksef}" in highlighted

    term.keys("Enter")
    screen = term.wait_for(lambda s: f"Faktura sprzedaży {number}" in s and "https://" in s, "the sale's detail")
    for text in (f"Nr KSeF: {ksef}", f"Data wystawienia: {sale['issued']}", "Status KSeF: przyjęta"):
        assert text in screen, text
    assert "Kod QR faktury (KOD I)" in screen
    link = qr_link(screen)
    day, month, year = sale["issued"].split(".")
    assert re.fullmatch(rf"https://\S+/invoice/{DEMO.nip}/{day}-{month}-{year}/[A-Za-z0-9_-]{{43}}", link), link
    assert re.search(rf"^\s+{ksef}$", screen, re.MULTILINE), screen  # the label under the code
    assert qr_on_screen(screen) == qr_modules(link, border=0)  # the drawing is the link's code, module for module

    term.keys("Escape")
    term.wait_for(lambda s: "Faktura sprzedaży" not in s and len(sale_rows(s)) > 3, "the transactions again")


def test_ctrl_q_exits_with_0_and_leaves_nothing(sandbox: Sandbox) -> None:
    sandbox.term.keys("C-q")
    assert wait_exit(sandbox.term, sandbox.exit_file) == "EXIT=0"
    assert sorted(sandbox.home.rglob("*")) == []  # no XDG directory, nothing else
    assert sorted(sandbox.scratch.iterdir()) == []  # the sandbox's own directory removed


def test_the_ascii_glyph_set(terminals: Terminals, tmp_path: Path) -> None:
    """``KSEF_TUI_ASCII=1``: the transactions' glyphs in ASCII, the correction mark K, KOD I drawn with ``##``."""
    box = start_sandbox(terminals, tmp_path, KSEF_TUI_ASCII="1")
    term = box.term

    term.keys("F6")
    screen = term.wait_for(lambda s: len(sale_rows(s)) > 3 and summary_line(s) is not None, "the ASCII transactions")
    rows = check_transactions(screen, ASCII)
    table = "\n".join(line.split("▕", 1)[1] for line in screen.splitlines() if "▕" in line)
    assert not set(table) & set(UNICODE_ONLY), table

    sale = next(row for row in rows if row["glyph"] == "ok")
    go_to_row(term, rows, sale["number"])
    term.keys("Enter")
    screen = term.wait_for(lambda s: f"Faktura sprzedaży {sale['number']}" in s and "######" in s, "ASCII KOD I")
    assert not set(screen) & set("▀▄"), screen
    finder_tops = [line for line in screen.splitlines() if line.count("#" * 14) == 2]
    assert finder_tops, screen  # the tops of the two upper finder patterns, 7 modules of ## each
    term.keys("Escape")

    term.keys("F4")
    screen = term.wait_for(lambda s: bool(purchase_rows(s)), "the ASCII purchases")
    rows_ = purchase_rows(screen)
    assert any(row["kind"] == "korygująca" for row in rows_), screen
    for row in rows_:
        assert (row["mark"] == "K") == (row["kind"] == "korygująca"), row.group(0)

    term.keys("C-q")
    assert wait_exit(term, box.exit_file) == "EXIT=0"
