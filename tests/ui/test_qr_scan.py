"""KOD I as the terminal draws it, read by a real QR decoder (zbar's ``zbarimg``), not by our own code.

The detail screen's QR cells are painted as a terminal paints them (a cell is 8 × 16 pixels; ``▀`` fills its top
half, ``▄`` its bottom half, ``█`` both, a space neither; black on white, as the widget's style says: checked by
``screen_cells``), written as a PBM image and given to ``zbarimg``. It must read back the link printed under the
code: the code on the screen is one a phone can scan. The ASCII drawing (``##`` per module, two cells wide and
one high) is read the same way. Skipped where zbar is not installed (``.ci/run`` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ksef_tui.ui.widgets.qr import QrCode
from ksef_tui.vault import Vault

from .test_invoice_detail import mf_company, open_detail, screen_cells

pytestmark = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools (zbarimg) not installed")

CELL_W, CELL_H = 8, 16
#: Which halves of a cell are black, by the character drawn in it.
HALVES = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


def pixels_of_cells(lines: list[str]) -> list[list[bool]]:
    """The cells as a terminal paints them: half blocks, CELL_W × CELL_H pixels a cell (True = black)."""
    rows: list[list[bool]] = []
    for line in lines:
        top = [black for char in line for black in [HALVES[char][0]] * CELL_W]
        bottom = [black for char in line for black in [HALVES[char][1]] * CELL_W]
        rows += [top] * (CELL_H // 2) + [bottom] * (CELL_H // 2)
    return rows


def pixels_of_ascii(lines: list[str]) -> list[list[bool]]:
    """The ASCII drawing painted: a '#' cell black, a space white (a module is '##': two cells wide, one high)."""
    rows: list[list[bool]] = []
    for line in lines:
        row = [black for char in line for black in [char == "#"] * CELL_W]
        rows += [row] * CELL_H
    return rows


def decode(pixels: list[list[bool]], where: Path) -> str:
    """zbarimg's reading of the picture (a plain PBM with a white margin around it)."""
    margin = 4 * CELL_W
    width = len(pixels[0]) + 2 * margin
    blank = "0" * width
    body = ["0" * margin + "".join("1" if black else "0" for black in row) + "0" * margin for row in pixels]
    image = where / "screen.pbm"
    image.write_text(f"P1\n{width} {len(body) + 2 * margin}\n" + "\n".join([blank] * margin + body + [blank] * margin))
    done = subprocess.run(
        ["zbarimg", "--raw", "-q", str(image)], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"zbarimg read nothing ({done.returncode}): {done.stderr}"
    return done.stdout.strip()


@pytest.mark.parametrize("ascii_only", [False, True], ids=["half-blocks", "ascii"])
async def test_the_code_on_the_screen_scans_to_its_link(vault: Vault, tmp_path: Path, ascii_only: bool) -> None:
    app = mf_company(vault, ascii_only=ascii_only)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await open_detail(pilot, "sale", "FV2026/02/150")
        assert screen.view is not None
        cells = screen_cells(screen.query_one(QrCode))
        url = screen.view.qr_url
    pixels: Any = pixels_of_ascii(cells) if ascii_only else pixels_of_cells(cells)
    assert decode(pixels, tmp_path) == url
