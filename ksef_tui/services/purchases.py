"""Purchase invoices as both faces show them: rows with words and Warsaw dates, and totals per currency.

The CLI prints these rows as a table (``purchases list``), the UI will put them in a DataTable; neither formats
a record itself. Every text a supplier controls (invoice number, seller name) is stripped of control characters
here, so an escape sequence in a seller's name cannot repaint the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ksef_tui.domain.booking import Period, warsaw_date
from ksef_tui.domain.money import ZERO, format_amount, q2
from ksef_tui.i18n import language, t
from ksef_tui.services.booking import category_label, kind_label, parse_period, plain_text
from ksef_tui.store.index import ColumnIndex
from ksef_tui.store.purchases import PurchaseRecord, PurchaseRepository, select

if TYPE_CHECKING:
    from ksef_tui.store.db import Store


@dataclass(frozen=True, slots=True)
class PurchaseRow:
    """One purchase invoice, display-ready: text with words instead of codes, dates (``RRRR-MM-DD``) in
    Europe/Warsaw, amounts in the current language's format; the rounded amounts ride along for totals."""

    ksef_number: str
    invoice_number: str
    issue_date: str
    received: str  # the day KSeF assigned the number, in Warsaw (the receipt date)
    seller_nip: str
    seller_name: str
    kind: str  # "podstawowa", "korygująca", ...
    corrects: str  # the corrected invoice's KSeF number, or ""
    net: str
    vat: str
    gross: str
    currency: str
    booked: str  # "niezaksięgowana" or how it is booked; "skorygowana (jest korekta); " first when corrected
    amounts: tuple[Decimal, Decimal, Decimal]  # net, VAT, gross, rounded to the grosz
    is_booked: bool
    is_corrected: bool


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """The sums of one currency's rows, as text (``net``, ``vat``, ``gross``) and as numbers (``amounts``)."""

    currency: str
    count: int
    net: str
    vat: str
    gross: str
    amounts: tuple[Decimal, Decimal, Decimal]

    def text(self) -> str:
        """The totals line, e.g. "Razem 3 faktury w PLN: netto …" (the plural chosen by ``count``)."""
        return t(
            "purchases.total", count=self.count, currency=self.currency, net=self.net, vat=self.vat, gross=self.gross
        )


def money(value: Decimal) -> str:
    """An amount for the screen: ``1 234,56`` in Polish, ``1,234.56`` in English."""
    return format_amount(value, decimal_comma=language() == "pl")


def list_purchases(
    repo: PurchaseRepository, period: str | None = None, *, booked: bool | None = None
) -> list[PurchaseRecord]:
    """Purchases issued in ``period`` (``YYYY-MM``, the one parser: a malformed period is a ``BadPeriod``)."""
    return repo.list(None if period is None else parse_period(period), booked)


def purchase_row(record: PurchaseRecord, *, corrected: bool = False) -> PurchaseRow:
    booking = record.booking
    return _row(
        ksef_number=record.ksef_number,
        invoice_number=record.invoice_number,
        issue_date=record.issue_date,
        received=warsaw_date(record.acquisition_date),
        seller_nip=record.seller_nip,
        seller_name=record.seller_name,
        kind=record.kind,
        corrects=record.corrected_ksef_number or "",
        amounts=(record.net, record.vat, record.gross),
        currency=record.currency,
        booking=None if booking is None else (booking.category, booking.vat_deduction, booking.period),
        corrected=corrected,
    )


def _row(
    *,
    ksef_number: str,
    invoice_number: str,
    issue_date: date,
    received: date,
    seller_nip: str,
    seller_name: str,
    kind: str,
    corrects: str,
    amounts: tuple[Decimal, Decimal, Decimal],
    currency: str,
    booking: tuple[str, int, str] | None,
    corrected: bool,
) -> PurchaseRow:
    parts = [t("purchase.state.corrected")] if corrected else []
    if booking is None:
        parts.append(t("purchase.state.unbooked"))
    else:
        category, deduction, period = booking
        parts.append(
            t("purchase.booked_as", category=plain_text(category_label(category)), deduction=deduction, period=period)
        )
    net, vat, gross = (q2(amount) for amount in amounts)
    return PurchaseRow(
        ksef_number=ksef_number,
        invoice_number=plain_text(invoice_number),
        issue_date=issue_date.isoformat(),
        received=received.isoformat(),
        seller_nip=plain_text(seller_nip),
        seller_name=plain_text(seller_name),
        kind=kind_label(kind),
        corrects=corrects,
        net=money(net),
        vat=money(vat),
        gross=money(gross),
        currency=plain_text(currency),
        booked="; ".join(parts),
        amounts=(net, vat, gross),
        is_booked=booking is not None,
        is_corrected=corrected,
    )


def purchase_rows(records: Iterable[PurchaseRecord], *, corrected: Collection[str] = ()) -> list[PurchaseRow]:
    """Rows in the records' order. ``corrected``: KSeF numbers that have a correction
    (``PurchaseRepository.corrected_numbers()``), marked "skorygowana (jest korekta)"."""
    return [purchase_row(r, corrected=r.ksef_number in corrected) for r in records]


def totals(rows: Iterable[PurchaseRow]) -> list[CurrencyTotal]:
    """Sums per currency (PLN first, then alphabetical); amounts are never added across currencies."""
    return _totals((row.currency, row.amounts) for row in rows)


def _totals(amounts: Iterable[tuple[str, tuple[Decimal, Decimal, Decimal]]]) -> list[CurrencyTotal]:
    sums: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    counts: dict[str, int] = {}
    for currency, (net, vat, gross) in amounts:
        old_net, old_vat, old_gross = sums.get(currency, (ZERO, ZERO, ZERO))
        sums[currency] = (old_net + net, old_vat + vat, old_gross + gross)
        counts[currency] = counts.get(currency, 0) + 1
    result = []
    for currency in sorted(sums, key=lambda c: (c != "PLN", c)):
        total = sums[currency]
        result.append(
            CurrencyTotal(currency, counts[currency], money(total[0]), money(total[1]), money(total[2]), total)
        )
    return result


#: The columns a purchase list sorts by, with the index columns each reads.
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "received": ("received",),
    "ksef_number": ("ksef_number",),
    "invoice_number": ("invoice_number",),
    "issue_date": ("issue_date",),
    "seller_nip": ("seller_nip",),
    "seller_name": ("seller_name",),
    "kind": ("kind",),
    "net": ("net",),
    "vat": ("vat",),
    "gross": ("gross",),
    "currency": ("currency",),
    "booked": ("period",),
}
DEFAULT_SORT = "issue_date"
#: Rows summed under one hold of the store's lock (``PurchaseBrowser.totals_until``).
TOTALS_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class PurchaseQuery:
    """What a purchase list shows: a search text, filters and a sort column.

    ``text``: in the KSeF number, invoice number, seller NIP or name (any case); ``period``: the issue month;
    ``booked``: ``False`` unbooked only, ``True`` booked only; ``corrections``: corrective invoices only;
    ``seller``: a seller NIP (dashes allowed) or part of the name; ``sort``: one of :data:`SORT_COLUMNS`."""

    text: str = ""
    period: Period | None = None
    booked: bool | None = None
    corrections: bool = False
    seller: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False


class PurchaseBrowser:
    """Every purchase of a store as the purchase screen lists it: read from the store's index (no record is
    built), found per keystroke, made display-ready only for the rows painted.

    Rows are index positions, listed by issue date then KSeF number. Everything here works in memory on the
    index the repository holds (build it in a thread worker: opening the repository reads the index), under the
    store's lock, so a booking saved by a worker thread never shows half-written; call :meth:`refresh` after a
    sync or a booking made by another session. At 100,000 purchases a search takes a few tens of
    milliseconds (``bench/store.py``).
    """

    def __init__(self, repo: PurchaseRepository) -> None:
        self._repo = repo
        self._order: tuple[tuple[int, int], list[int]] | None = None
        self._lowered: dict[str, tuple[int, list[str]]] = {}
        self._corrected: tuple[int, frozenset[str]] | None = None
        self._last: tuple[tuple[object, ...], str, list[int]] | None = None
        self._sorts: dict[tuple[str, bool], tuple[object, list[int]]] = {}

    @classmethod
    def of_store(cls, store: Store) -> PurchaseBrowser:
        """A browser over the purchases of an open ``store`` (blocking: opening the repository reads its index)."""
        return cls(PurchaseRepository(store))

    @property
    def repository(self) -> PurchaseRepository:
        """The purchases it browses (for a service that reads the same store: the register export)."""
        return self._repo

    @property
    def _index(self) -> ColumnIndex:
        return self._repo.index

    def refresh(self) -> None:
        """Take in what another session wrote (a read-only view); the writer's own index is always current."""
        with self._repo.lock:
            self._repo.table.refresh()

    def __len__(self) -> int:
        with self._repo.lock:
            return len(self._index)

    def order(self) -> list[int]:
        """Every row by issue date then KSeF number (sorted again only when those columns changed; read-only)."""
        with self._repo.lock:
            index = self._index
            key = (index.column_versions["issue_date"], index.column_versions["ksef_number"])
            if self._order is None or self._order[0] != key:
                numbers, issued = index.text("ksef_number"), index.ints("issue_date")
                rows = sorted(range(len(index)), key=numbers.__getitem__)
                rows.sort(key=issued.__getitem__)  # stable: by date, then number
                self._order = (key, rows)
            return self._order[1]

    def _lower(self, column: str) -> list[str]:
        version = self._index.column_versions[column]
        cached = self._lowered.get(column)
        if cached is None or cached[0] != version:
            cached = (version, [text.casefold() for text in self._index.text(column)])
            self._lowered[column] = cached
        return cached[1]

    def search(self, text: str = "", *, period: Period | None = None, booked: bool | None = None) -> list[int]:
        """Rows whose KSeF number, invoice number, seller NIP or seller name contains ``text`` (any case), of
        ``period`` (the issue month) and booked or not, in :meth:`order`. Typing on (the text grows, nothing else
        changed) searches only the previous answer."""
        return self.query(PurchaseQuery(text=text, period=period, booked=booked))

    def query(self, query: PurchaseQuery) -> list[int]:
        """The rows :meth:`search` finds, narrowed by ``query``'s other filters (corrections only, a seller), in
        the order of its sort column (ties: issue date then KSeF number). Typing on searches only the previous
        answer; a new sort column is sorted once, then kept until its values change."""
        with self._repo.lock:
            index = self._index
            needle = query.text.strip().casefold()
            key = (
                query.period,
                query.booked,
                query.corrections,
                query.seller.strip().casefold(),
                query.sort,
                query.descending,
                index.version,
            )
            last = self._last
            if last is not None and last[0] == key and needle.startswith(last[1]):
                candidates = last[2]
            else:
                where = self._where(query)
                candidates = select(
                    index, query.period, query.booked, where=where, rows=self.sorted(query.sort, query.descending)
                )
            found = self._matching(needle, candidates) if needle else candidates
            self._last = (key, needle, found)
            return found

    def _where(self, query: PurchaseQuery) -> Callable[[int], bool] | None:
        tests: list[Callable[[int], bool]] = []
        index = self._index
        if query.corrections:
            kind_codes, kinds = index.coded("kind")
            wanted = {code for code, kind in enumerate(kinds) if kind.startswith("KOR")}
            tests.append(lambda i: kind_codes[i] in wanted)
        seller = query.seller.strip().casefold()
        if seller:
            name_codes, names = index.coded("seller_name")
            nip_codes, nips = index.coded("seller_nip")
            digits = seller.replace("-", "").replace(" ", "")
            by_name = {code for code, name in enumerate(names) if seller in name.casefold()}
            by_nip = {code for code, nip in enumerate(nips) if digits and digits in nip}
            tests.append(lambda i: name_codes[i] in by_name or nip_codes[i] in by_nip)
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda i: all(test(i) for test in tests)

    def sorted(self, column: str = DEFAULT_SORT, descending: bool = False) -> list[int]:
        """Every row by ``column`` (one of :data:`SORT_COLUMNS`), ties by issue date then KSeF number; cached
        until the column's values (or the rows) change. Read-only."""
        if column not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {column!r}")
        if column == DEFAULT_SORT and not descending:
            return self.order()
        with self._repo.lock:
            base = self.order()
            sources = SORT_COLUMNS[column]
            version = (*(self._index.column_versions[name] for name in sources), len(self._index))
            cached = self._sorts.get((column, descending))
            if cached is not None and cached[0] == (version, self._order_key()):
                return cached[1]
            keys = self._sort_keys(column)
            rows = sorted(base, key=keys.__getitem__, reverse=descending)  # stable: ties keep the base order
            self._sorts[(column, descending)] = ((version, self._order_key()), rows)
            return rows

    def _order_key(self) -> tuple[int, int]:
        index = self._index
        return (index.column_versions["issue_date"], index.column_versions["ksef_number"])

    def _sort_keys(self, column: str) -> Sequence[Any]:
        index = self._index
        if column in ("received", "issue_date"):
            return index.ints(column)
        if column in ("ksef_number", "invoice_number"):
            return self._lower(column)
        if column in ("net", "vat", "gross"):
            return [Decimal(text) for text in index.text(column)]
        if column == "booked":
            codes, values = index.coded("period")
            return [values[code] or "~" for code in codes]  # unbooked last, then by period
        codes, values = index.coded(column)
        ranks = {code: rank for rank, code in enumerate(sorted(range(len(values)), key=lambda c: values[c].casefold()))}
        return [ranks[code] for code in codes]

    def _matching(self, needle: str, rows: list[int]) -> list[int]:
        index = self._index
        seller_codes, seller_values = index.coded("seller_name")
        nip_codes, nip_values = index.coded("seller_nip")
        sellers = {code for code, value in enumerate(seller_values) if needle in value.casefold()}
        nips = {code for code, value in enumerate(nip_values) if needle in value}
        if len(sellers) == len(seller_values) or len(nips) == len(nip_values):
            return list(rows)  # every seller matches (a first letter often does): nothing to test row by row
        numbers, invoices = self._lower("ksef_number"), self._lower("invoice_number")
        if len(rows) < len(index) // 4:  # a narrowed answer: test its rows one by one
            return [
                i
                for i in rows
                if seller_codes[i] in sellers or nip_codes[i] in nips or needle in invoices[i] or needle in numbers[i]
            ]
        hits = {i for i, value in enumerate(invoices) if needle in value}  # column by column: no call per row
        hits.update(i for i, value in enumerate(numbers) if needle in value)
        if sellers:
            hits.update(i for i, code in enumerate(seller_codes) if code in sellers)
        if nips:
            hits.update(i for i, code in enumerate(nip_codes) if code in nips)
        return [i for i in rows if i in hits]

    def _corrected_numbers(self) -> frozenset[str]:
        version = self._index.column_versions["corrected"]
        if self._corrected is None or self._corrected[0] != version:
            self._corrected = (version, frozenset(self._index.text("corrected")) - {""})
        return self._corrected[1]

    def row(self, row: int) -> PurchaseRow:
        """One row, display-ready (what a table paints for the rows on screen)."""
        with self._repo.lock:
            index = self._index
            number = index.text("ksef_number")[row]
            period = index.coded("period")
            booking = None
            if period[1][period[0][row]]:
                booking = (str(index.value("category", row)), index.ints("deduction")[row], period[1][period[0][row]])
            received = datetime.fromtimestamp(index.ints("received")[row], UTC)
            return _row(
                ksef_number=number,
                invoice_number=index.text("invoice_number")[row],
                issue_date=date.fromordinal(index.ints("issue_date")[row]),
                received=warsaw_date(received),
                seller_nip=str(index.value("seller_nip", row)),
                seller_name=str(index.value("seller_name", row)),
                kind=str(index.value("kind", row)),
                corrects=index.text("corrected")[row],
                amounts=self._amounts(row),
                currency=str(index.value("currency", row)),
                booking=booking,
                corrected=number in self._corrected_numbers(),
            )

    def ksef_number(self, row: int) -> str:
        with self._repo.lock:
            return self._index.text("ksef_number")[row]

    def latest_issue(self, rows: Iterable[int]) -> date | None:
        """The latest issue date of ``rows`` (a booking's period may not be earlier than its month)."""
        with self._repo.lock:
            days = self._index.ints("issue_date")
            latest = max((days[row] for row in rows), default=None)
            return None if latest is None else date.fromordinal(latest)

    def received_at(self, row: int) -> datetime:
        """When KSeF assigned the number (the acquisition moment), in UTC."""
        with self._repo.lock:
            return datetime.fromtimestamp(self._index.ints("received")[row], UTC)

    def is_correction(self, row: int) -> bool:
        """A corrective invoice (``KOR``, ``KOR_ZAL``, ``KOR_ROZ``)."""
        with self._repo.lock:
            return str(self._index.value("kind", row)).startswith("KOR")

    def row_of(self, ksef_number: str) -> int | None:
        with self._repo.lock:
            return self._index.row_of(ksef_number)

    def _amounts(self, row: int) -> tuple[Decimal, Decimal, Decimal]:
        index = self._index
        return (Decimal(index.text("net")[row]), Decimal(index.text("vat")[row]), Decimal(index.text("gross")[row]))

    def totals(self, rows: Iterable[int]) -> list[CurrencyTotal]:
        """Sums per currency of ``rows`` (e.g. what a search found), as :func:`totals` computes them."""
        found = self.totals_until(list(rows), lambda: False)
        assert found is not None
        return found

    def totals_until(
        self,
        rows: Sequence[int],
        cancelled: Callable[[], bool],
        *,
        chunk: int = TOTALS_CHUNK,
        between: Callable[[], None] | None = None,
    ) -> list[CurrencyTotal] | None:
        """:meth:`totals` in chunks of ``chunk`` rows, the store's lock taken for one chunk at a time (a table
        painting its rows meanwhile waits for one chunk, not for 100,000 rows); ``None`` as soon as
        ``cancelled()`` says the answer is no longer wanted (typed on). ``between`` runs between chunks (a
        thread worker sleeps a moment there, leaving the interpreter to the UI)."""
        amounts: list[tuple[str, tuple[Decimal, Decimal, Decimal]]] = []
        for start in range(0, len(rows), chunk):
            if start and between is not None:
                between()
            if cancelled():
                return None
            with self._repo.lock:
                codes, currencies = self._index.coded("currency")
                for row in rows[start : start + chunk]:
                    net, vat, gross = self._amounts(row)
                    amounts.append((currencies[codes[row]], (q2(net), q2(vat), q2(gross))))
        return _totals(amounts)
