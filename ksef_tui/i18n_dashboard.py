"""Messages of the home screen's dashboard (``services.dashboard``, ``ui.screens.home``, ``ui.widgets.bars``).
Merged into ``i18n.PL``/``i18n.EN`` (the same keys in both, a test keeps them in step).

Placeholders: ``count`` a number of invoices (plural forms ``.one``/``.few``/``.many``), ``month`` a month's
name and year.
"""

from __future__ import annotations

PL_DASHBOARD: dict[str, str] = {
    "dash.month.1": "styczeń",
    "dash.month.2": "luty",
    "dash.month.3": "marzec",
    "dash.month.4": "kwiecień",
    "dash.month.5": "maj",
    "dash.month.6": "czerwiec",
    "dash.month.7": "lipiec",
    "dash.month.8": "sierpień",
    "dash.month.9": "wrzesień",
    "dash.month.10": "październik",
    "dash.month.11": "listopad",
    "dash.month.12": "grudzień",
    "dash.this_month": "Ten miesiąc: {month}",
    "dash.sales": "Sprzedaż",
    "dash.purchases": "Zakupy",
    "dash.invoices.one": "{count} faktura",
    "dash.invoices.few": "{count} faktury",
    "dash.invoices.many": "{count} faktur",
    "dash.vat_due": "VAT należny",
    "dash.vat_deductible": "VAT do odliczenia",
    "dash.vat_note": "należny: sprzedaż wystawiona w tym miesiącu; do odliczenia: zakupy zaksięgowane na ten okres",
    "dash.traffic": "Ruch w KSeF, ostatnie 30 dni",
    "dash.received": "Otrzymane (zakupy)",
    "dash.sent": "Wysłane (sprzedaż przyjęta)",
    "dash.loading": "wczytywanie danych firmy…",
    "dash.no_data": "brak danych firmy na tym komputerze: zaimportuj faktury zakupu albo wystaw fakturę sprzedaży",
}

EN_DASHBOARD: dict[str, str] = {
    "dash.month.1": "January",
    "dash.month.2": "February",
    "dash.month.3": "March",
    "dash.month.4": "April",
    "dash.month.5": "May",
    "dash.month.6": "June",
    "dash.month.7": "July",
    "dash.month.8": "August",
    "dash.month.9": "September",
    "dash.month.10": "October",
    "dash.month.11": "November",
    "dash.month.12": "December",
    "dash.this_month": "This month: {month}",
    "dash.sales": "Sales",
    "dash.purchases": "Purchases",
    "dash.invoices.one": "{count} invoice",
    "dash.invoices.few": "{count} invoices",
    "dash.invoices.many": "{count} invoices",
    "dash.vat_due": "VAT due",
    "dash.vat_deductible": "Deductible VAT",
    "dash.vat_note": "due: sales issued this month; deductible: purchases booked into this period",
    "dash.traffic": "KSeF traffic, last 30 days",
    "dash.received": "Received (purchases)",
    "dash.sent": "Sent (sales accepted)",
    "dash.loading": "reading the company's data…",
    "dash.no_data": "no company data on this computer yet: import purchase invoices or issue a sales invoice",
}
