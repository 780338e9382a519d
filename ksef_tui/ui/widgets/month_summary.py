"""This month at a glance (the home screen's dashboard): sales and purchases (how many, gross), VAT due against
VAT deductible as two bars on one scale, the invoices to send and those KSeF rejected, and the offline invoices
waiting to be sent with the most urgent one's deadline (the error colour when one is due today or overdue, the
warning colour when the next business day is its last).

:func:`summary_rows` lays the lines out as plain cells (tested alone); :class:`MonthSummary` colours them with
theme variables (its component classes). Before the numbers arrive every value is ``…``; when the company's data
cannot be read, ``-`` (the screen says why beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from ksef_tui.i18n import t
from ksef_tui.services.dashboard import Amounts, Dashboard, OfflineWaiting, amount_text
from ksef_tui.ui.widgets.bars import hbar

#: Cells of the middle column (a count of invoices, or a VAT bar).
MIDDLE = 12


@dataclass(frozen=True, slots=True)
class Row:
    """One line: a label, the middle cell (count or bar), the amount at the right; ``tone`` names its colour."""

    label: str = ""
    middle: str = ""
    amount: str = ""
    tone: str = ""  # "", "due", "deductible", "bad", "ok"


def _amount_rows(label: str, middle: str, amounts: Amounts | None, tone: str, missing: str) -> list[Row]:
    if amounts is None:
        return [Row(label, middle, missing, tone)]
    rows = [Row(label, middle, amount_text(amounts.pln), tone)]
    rows.extend(Row("", "", "+ " + amount_text(value, currency), tone) for currency, value in amounts.others)
    return rows


def summary_rows(
    dash: Dashboard | None, unsent: int | None, rejected: int | None, *, ascii_only: bool = False, fail: str = "✗"
) -> list[Row]:
    """The summary's lines. ``unsent``/``rejected`` are the overview's counts, shown while the dashboard loads
    (the dashboard's own once it has them)."""
    loading = dash is None
    missing = "…" if loading else "-"
    if dash is not None and dash.unsent is not None:
        unsent, rejected = dash.unsent, dash.rejected
    sales = None if dash is None else dash.sales
    purchases = None if dash is None else dash.purchases
    rows: list[Row] = []
    for label, side in ((t("dash.sales"), sales), (t("dash.purchases"), purchases)):
        count = missing if side is None else t("dash.invoices", count=side.count)
        rows += _amount_rows(label, count, None if side is None else side.gross, "", missing)
    due = None if dash is None else dash.vat_due
    deductible = None if dash is None else dash.vat_deductible
    top = max(due.pln if due is not None else Decimal(0), deductible or Decimal(0))
    rows += _amount_rows(
        t("dash.vat_due"),
        hbar(due.pln, top, MIDDLE - 2, ascii_only=ascii_only) if due is not None else "",
        due,
        "due",
        missing,
    )
    rows.append(
        Row(
            t("dash.vat_deductible"),
            hbar(deductible, top, MIDDLE - 2, ascii_only=ascii_only) if deductible is not None else "",
            missing if deductible is None else amount_text(deductible),
            "deductible",
        )
    )
    rows.append(Row())
    unknown = "…" if loading and unsent is None else "-"  # the overview's counts come before the dashboard's
    rows.append(Row(f"{t('home.unsent')}: {unknown if unsent is None else unsent}"))
    bad = bool(rejected)
    shown = unknown if rejected is None else f"{rejected} {fail}" if bad else str(rejected)
    rows.append(Row(f"{t('home.rejected')}: {shown}", tone="bad" if bad else ""))
    if dash is not None and dash.offline is not None and dash.offline.count:
        rows += offline_rows(dash.offline, fail=fail)
    return rows


def offline_rows(offline: OfflineWaiting, *, fail: str = "✗") -> list[Row]:
    """The offline invoices waiting to be sent: how many, then the most urgent one and its deadline (the error
    tone when one is due today or overdue, with how many; the warning tone when its next business day is its
    last)."""
    from ksef_tui.services.offline import deadline_text

    rows = [Row(t("dash.offline.count", count=offline.count))]
    status = offline.status
    if status is None:
        return rows
    if offline.due:
        rows.append(Row(f"{fail} {t('dash.offline.due', count=offline.urgent)}", tone="bad"))
        tone = "bad"
    else:
        tone = "due" if status.warning else ""
    rows.append(Row(f"  {t('dash.offline.nearest', number=offline.nearest)}", tone=tone))
    rows.append(Row(f"  {deadline_text(status)}", tone=tone))
    return rows


class MonthSummary(Widget):
    """This month's numbers, in columns: label, count or bar, amount (right-aligned)."""

    DEFAULT_CSS: ClassVar[str] = """
    MonthSummary { height: auto; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    MonthSummary > .month-summary--amount { text-style: bold; }
    MonthSummary > .month-summary--due { color: $warning; }
    MonthSummary > .month-summary--deductible { color: $success; }
    MonthSummary > .month-summary--bad { color: $error; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "month-summary--amount",
        "month-summary--due",
        "month-summary--deductible",
        "month-summary--bad",
    }

    def __init__(self, *, ascii_only: bool = False, fail: str = "✗", id: str | None = None) -> None:
        super().__init__(id=id)
        self.ascii_only = ascii_only
        self.fail = fail
        self.rows: list[Row] = summary_rows(None, None, None, ascii_only=ascii_only, fail=fail)

    def show(self, dash: Dashboard | None, unsent: int | None, rejected: int | None) -> None:
        self.rows = summary_rows(dash, unsent, rejected, ascii_only=self.ascii_only, fail=self.fail)
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows)

    def render(self) -> Text:
        width = self.size.width
        label_width = max((cell_len(row.label) for row in self.rows if row.middle or row.amount), default=0) + 1
        amount_style = self.get_component_rich_style("month-summary--amount")
        text = Text(no_wrap=True, overflow="ellipsis")
        for number, row in enumerate(self.rows):
            tone = self.get_component_rich_style(f"month-summary--{row.tone}") if row.tone else None
            if not row.middle and not row.amount:
                text.append(row.label, tone or "")
            else:
                text.append(row.label + " " * max(label_width - cell_len(row.label), 0))
                text.append(row.middle + " " * max(MIDDLE - cell_len(row.middle), 0), tone or "")
                room = max(width - label_width - MIDDLE, cell_len(row.amount))
                text.append(row.amount.rjust(room), amount_style + tone if tone else amount_style)
            if number < len(self.rows) - 1:
                text.append("\n")
        return text
