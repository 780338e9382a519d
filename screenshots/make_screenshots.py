"""The documentation screenshots: every main screen of the sandbox app, in Polish and in English.

Run from the repository (after ``pip install -e .``): ``python screenshots/make_screenshots.py [--only home,setup]``.

It drives ``ksef-tui sandbox``'s app headless, built as the command builds it (``create_sandbox`` + ``make_app``
with the sandbox's demo data prepared after the first frame), at 120×34, and writes ``NAME.LANG.svg`` into this
folder, plus ``NAME.LANG.png`` beside each when ``rsvg-convert`` is on PATH (Debian: ``librsvg2-bin``):

home (the dashboard), setup (KSeF settings), diagnostics, api-log (the KSeF communication log), api-call (one
call of it), switcher (the company switcher), palette (the command palette), purchases (the purchase invoices
after the sandbox's import, newest first), transactions (the customer transactions, every state of the demo's
sales, the rejected one highlighted with KSeF's reason), detail (an accepted sale's detail with its KOD I QR code),
form (the new invoice form filled in: a customer, two lines at two VAT rates, the VAT summary).

Kept the same from run to run where the app allows: the dark theme, no cursor blink, a clock that stands still
(the moment the script starts; the sandbox's invoices and KSeF's answers are dated by the real clock, so dates
and times on the screens are those of the day it runs), the time zone Europe/Warsaw, the terminal's name, and
the sandbox's directory (``ksef-tui-sandbox-screenshots`` in the temporary directory, removed after). The user's own
configuration and profiles are never read: the sandbox lives in a temporary directory with an in-memory vault.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the working tree's ksef_tui, installed or not

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import DataTable, Input, Select, Static  # noqa: E402

from ksef_tui.domain.vat import VatRate  # noqa: E402
from ksef_tui.i18n import set_language  # noqa: E402
from ksef_tui.sandbox import create_sandbox  # noqa: E402
from ksef_tui.services.transactions import TxStatus  # noqa: E402
from ksef_tui.settings import Settings  # noqa: E402
from ksef_tui.ui.app import KsefApp, make_app  # noqa: E402
from ksef_tui.ui.screens.invoice_form import InvoiceFormScreen  # noqa: E402
from ksef_tui.ui.screens.purchases import PurchasesScreen  # noqa: E402
from ksef_tui.ui.screens.transactions import TransactionsScreen  # noqa: E402
from ksef_tui.ui.widgets.invoice_lines import InvoiceLines  # noqa: E402
from ksef_tui.ui.widgets.qr import QrCode  # noqa: E402

SIZE = (120, 34)
LANGUAGES = ("pl", "en")
SHOTS = (
    "home",
    "purchases",
    "transactions",
    "detail",
    "form",
    "setup",
    "diagnostics",
    "api-log",
    "api-call",
    "switcher",
    "palette",
)


def always(_app: KsefApp) -> bool:
    return True


@dataclass(frozen=True)
class Step:
    """From where the tour is: the keys pressed, the screen they lead to (its class name), ``ready`` once its data
    is shown, ``prepare`` (keys or values typed there), the screenshot taken then ("": none)."""

    keys: tuple[str, ...]
    screen: str
    name: str = ""
    ready: Callable[[KsefApp], bool] = always
    prepare: Callable[[KsefApp, Pilot[int]], Awaitable[None]] | None = None


def static_text(app: KsefApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def purchases_ready(app: KsefApp) -> bool:
    """The import has run and the rows are summed (the totals' lines under the count)."""
    screen = app.screen
    return (
        isinstance(screen, PurchasesScreen)
        and screen.last_outcome is not None
        and not screen.syncing
        and "\n" in static_text(app, "#purchases-totals")
    )


async def newest_first(_app: KsefApp, pilot: Pilot[int]) -> None:
    await pilot.press("r", "home")  # the sort reversed (this month's invoices on top), the cursor on the first


def transactions_ready(app: KsefApp) -> bool:
    screen = app.screen
    return isinstance(screen, TransactionsScreen) and bool(screen.transactions.rows) and not screen.sending


async def highlight(app: KsefApp, pilot: Pilot[int], status: TxStatus) -> None:
    """The transactions' cursor moved (by keys) onto the first sale in ``status`` that is not a correction."""
    screen = app.screen
    assert isinstance(screen, TransactionsScreen)
    rows = screen.transactions.of(screen.customer)
    target = next(i for i, row in enumerate(rows) if row.status is status and not row.is_correction)
    steps = target - screen.query_one("#tx-table", DataTable).cursor_row
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps))


async def highlight_rejected(app: KsefApp, pilot: Pilot[int]) -> None:
    await highlight(app, pilot, TxStatus.REJECTED)


async def highlight_accepted(app: KsefApp, pilot: Pilot[int]) -> None:
    await highlight(app, pilot, TxStatus.ACCEPTED)


def detail_ready(app: KsefApp) -> bool:
    return bool(app.screen.query(QrCode)) and bool(app.screen.query_one(QrCode).lines)


def form_ready(app: KsefApp) -> bool:
    screen = app.screen
    return isinstance(screen, InvoiceFormScreen) and screen.context is not None and bool(screen.query(InvoiceLines))


#: The new invoice's lines as a person types them in each language: name, unit, quantity, unit net price, VAT rate.
FORM_LINES = {
    "pl": (
        ("Konsultacje wdrożeniowe", "h", "12,5", "180", VatRate.R23),
        ("Szkolenie stanowiskowe", "szt.", "2", "450", VatRate.R8),
    ),
    "en": (
        ("Implementation consulting", "h", "12.5", "180", VatRate.R23),
        ("On-site training", "pcs", "2", "450", VatRate.R8),
    ),
}


async def fill_form(app: KsefApp, pilot: Pilot[int]) -> None:
    """A customer with a NIP, two lines at 23 % and 8 %, typed key by key (the rate and customer chosen)."""
    screen = app.screen
    assert isinstance(screen, InvoiceFormScreen) and screen.context is not None
    customer = next(c for c in screen.context.customers if c.key.startswith("nip:"))
    screen.query_one("#f-customer", Select).value = customer.key
    lines = screen.query_one(InvoiceLines)
    for index, (*texts, rate) in enumerate(FORM_LINES[app.settings.language or "pl"]):
        if index:
            await pilot.press("ctrl+n")
            await settle(app, pilot)
        row = lines.rows[index]
        for selector, text in zip((".line-name", ".line-unit", ".line-quantity", ".line-price"), texts, strict=True):
            field = row.query_one(selector, Input)
            field.focus()
            field.value = ""
            await pilot.press(*text)
        row.query_one(".line-rate", Select).value = rate
    lines.rows[0].query_one(".line-name", Input).focus()


#: The tour from the home screen, one screenshot where a step is named.
TOUR: tuple[Step, ...] = (
    Step(("f4",), "PurchasesScreen", "purchases", purchases_ready, newest_first),
    Step(("f6",), "TransactionsScreen", "transactions", transactions_ready, highlight_rejected),
    Step((), "TransactionsScreen", prepare=highlight_accepted),
    Step(("enter",), "InvoiceDetailScreen", "detail", detail_ready),
    Step(("escape", "f2"), "HomeScreen"),
    Step(("f7",), "InvoiceFormScreen", "form", form_ready, fill_form),
    Step(("escape",), "ChoiceDialog"),  # leave without saving?
    Step(("enter",), "HomeScreen"),
    Step(("f3",), "SetupWizardScreen", "setup"),
    Step(("f12",), "DiagnosticsScreen", "diagnostics"),
    Step(("l",), "ApiLogScreen", "api-log"),
    Step(("enter",), "ApiCallDialog", "api-call"),
    Step(("escape", "escape", "f2"), "HomeScreen"),
    Step(("ctrl+o",), "CompanySwitcher", "switcher"),
    Step(("escape",), "HomeScreen"),
    Step(("ctrl+p",), "CommandPalette", "palette"),
)
#: How long one screen may take to settle (the sandbox's demo data: a few seconds).
SETTLE_TIMEOUT = 60.0


async def settle(app: KsefApp, pilot: Pilot[int], ready: Callable[[], bool] = lambda: True) -> None:
    """Until ``ready()`` holds, no worker runs and the screen has been refreshed."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.05)
        if ready() and not any(worker.is_running for worker in app.workers):
            await pilot.pause()
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the screen {app.screen!r} did not settle in {SETTLE_TIMEOUT:.0f} s")


def showing(app: KsefApp, screen: str) -> bool:
    return type(app.screen).__name__ == screen


def ready(app: KsefApp, step: Step) -> bool:
    return showing(app, step.screen) and step.ready(app)


def no_toasts(app: KsefApp, name: str) -> None:
    """A screenshot with a notification on it is not taken: an error is the app's, to be fixed there."""
    shown = list(app._notifications)
    if shown:
        raise RuntimeError(f"{name}: notifications on the screen: {[(n.severity, n.message) for n in shown]}")


async def shoot(language: str, only: set[str], out: Path) -> list[Path]:
    """The screenshots in one language; returns the SVGs written."""
    set_language(language)
    settings = Settings(language=language, theme="ksef-dark")
    now = datetime.now(UTC)
    written: list[Path] = []
    root = Path(tempfile.gettempdir()) / "ksef-tui-sandbox-screenshots"  # the same paths on Diagnostics every run
    shutil.rmtree(root, ignore_errors=True)
    sandbox = create_sandbox(settings, root=root)
    try:
        app = make_app(
            settings,
            sandbox.workspace,
            clock=lambda: now,
            sandbox=sandbox.base_url,
            prepare=sandbox.seed,
            profile_name=sandbox.profile.name,
        )

        def save(name: str) -> None:
            if name in only:
                filename = f"{name}.{language}.svg"
                app.save_screenshot(filename, path=str(out))
                written.append(out / filename)

        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot, lambda: app.overview is not None)
            save("home")
            for step in TOUR:
                await pilot.press(*step.keys)
                await settle(app, pilot, functools.partial(showing, app, step.screen))
                if step.prepare is not None:
                    await step.prepare(app, pilot)
                    await settle(app, pilot)
                await settle(app, pilot, functools.partial(ready, app, step))
                if step.screen == "CommandPalette":
                    await pilot.pause(0.3)  # the palette gathers its commands in a task of its own
                if step.name:
                    no_toasts(app, step.name)
                    save(step.name)
    finally:
        sandbox.close()
        shutil.rmtree(root, ignore_errors=True)
    return written


def to_png(svg: Path) -> Path:
    """The PNG of ``svg``. Textual writes a line's runs of spaces as no-break spaces, which librsvg collapses into
    one (the dashboard's bars, right-aligned amounts and the footer's keys slid left): converted with
    ``xml:space="preserve"`` on the root element, the SVG file itself left as Textual wrote it."""
    png = svg.with_suffix(".png")
    text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    command = ["rsvg-convert", "--background-color", "#121212", "-o", str(png)]
    subprocess.run(command, input=text.encode(), check=True)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default=",".join(SHOTS), help=f"screens to take (of {', '.join(SHOTS)})")
    parser.add_argument("--lang", default=",".join(LANGUAGES), help="languages (pl, en)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the files go (default: this folder)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    unknown = only - set(SHOTS)
    if unknown:
        parser.error(f"unknown screens: {', '.join(sorted(unknown))}")
    # Diagnostics shows these: the same on every machine that makes the screenshots
    os.environ.update(TZ="Europe/Warsaw", TERM="xterm-256color", COLORTERM="truecolor")
    for name in ("TMUX", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        os.environ.pop(name, None)
    time.tzset()
    Input.cursor_blink = False  # type: ignore[assignment]  # a class default: every Input, steady
    args.out.mkdir(parents=True, exist_ok=True)
    converter = shutil.which("rsvg-convert")
    for language in args.lang.split(","):
        for svg in asyncio.run(shoot(language, only, args.out)):
            print(svg)
            if converter:
                print(to_png(svg))
    if not converter:
        print("rsvg-convert is not on PATH: SVGs only (Debian: apt-get install librsvg2-bin)")


if __name__ == "__main__":
    main()
