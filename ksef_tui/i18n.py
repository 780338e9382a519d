"""Message catalogs (Polish by default, English selectable) shared by the CLI and the UI.

The language comes from ``set_language`` (CLI ``--lang``, UI settings) or the ``KSEF_TUI_LANG`` environment
variable (``pl`` or ``en``). Every key exists in both catalogs; a test keeps them in step.
"""

from __future__ import annotations

import os

PL: dict[str, str] = {
    "cli.description": "Terminalowy klient KSeF 2.0: faktury zakupu, sprzedaży i weryfikacja tokena.",
    "cli.invoice": "operacje na plikach faktur FA(3)/FA(2)",
    "cli.invoice.show": "pokaż fakturę (podsumowanie lub --json)",
    "cli.invoice.validate": "sprawdź pliki względem XSD i reguł KSeF",
    "cli.invoice.render": "zapisz oficjalną wizualizację HTML",
    "cli.invoice.qr": "link weryfikacyjny KOD I i kod QR",
    "cli.sim": "symulator KSeF 2.0",
    "cli.sim.serve": "uruchom symulator po HTTP",
    "cli.lang": "język komunikatów: pl lub en",
    "err.file_missing": "nie ma pliku: {path}",
    "err.file_unreadable": "nie można odczytać pliku {path}: {reason}",
    "err.file_too_large": "plik {path} ma {size} MB; faktura KSeF ma najwyżej 3 MB",
    "err.not_invoice": "{path}: {reason}",
    "err.render": "{path}: nie można zapisać wizualizacji: {reason}",
    "err.internal": "błąd wewnętrzny ({kind}); uruchom ponownie z KSEF_TUI_DEBUG=1, aby zobaczyć szczegóły",
    "err.interrupted": "przerwano",
    "err.unknown_env": "nieznane środowisko {env}; dostępne: test, demo, prod",
    "show.header": "{schema}  {kind}  nr {number}  z dnia {date}",
    "show.seller": "Sprzedawca",
    "show.buyer": "Nabywca",
    "show.currency": "Waluta",
    "show.sale_date": "Data sprzedaży",
    "show.bucket": "Stawka / pole",
    "show.net": "Netto",
    "show.vat": "VAT",
    "show.vat_pln": "VAT w PLN",
    "show.gross": "Do zapłaty (P_15)",
    "show.lines": "Pozycje",
    "show.corrects": "Koryguje",
    "show.corrects_outside": "poza KSeF",
    "show.reason": "Przyczyna korekty",
    "show.payment_due": "Termin płatności",
    "show.bank_account": "Rachunek",
    "show.reverse_charge": "Odwrotne obciążenie",
    "show.split_payment": "Mechanizm podzielonej płatności",
    "show.exemption": "Zwolnienie z VAT",
    "show.no_id": "brak identyfikatora",
    "validate.valid": "VALID",
    "validate.invalid": "INVALID",
    "validate.more": "… i {count} więcej",
    "render.written": "zapisano {path}",
    "qr.label": "Etykieta",
    "val.line": "wiersz {line}: ",
    "val.empty": "plik jest pusty",
    "val.bom": "znacznik BOM (UTF-8) jest niedozwolony",
    "val.encoding": "kodowanie {name} jest niedozwolone, KSeF przyjmuje tylko UTF-8",
    "val.not_utf8": "plik nie jest poprawnym UTF-8",
    "val.not_xml": "niepoprawny XML: {detail}",
    "val.doctype": "deklaracja DOCTYPE jest niedozwolona",
    "val.pi": "instrukcja przetwarzania <?{target}?> jest niedozwolona",
    "val.discouraged": "niedozwolony (discouraged) znak {code}",
    "val.unknown_schema": "to nie jest faktura FA(3) ani FA(2) (przestrzeń nazw {namespace})",
    "val.expected_schema": "oczekiwano {label}, przestrzeń nazw to {namespace}",
    "val.too_large": "{size} bajtów, KSeF przyjmuje najwyżej {limit}",
    "val.xsd_failed": "walidacja schematu nie powiodła się: {detail}",
    "bucket.P_13_1": "23% / 22%",
    "bucket.P_13_2": "8% / 7%",
    "bucket.P_13_3": "5%",
    "bucket.P_13_4": "4% / 3% (ryczałt taxi)",
    "bucket.P_13_5": "procedura szczególna (OSS)",
    "bucket.P_13_6_1": "0% kraj",
    "bucket.P_13_6_2": "0% WDT",
    "bucket.P_13_6_3": "0% eksport",
    "bucket.P_13_7": "zwolnione",
    "bucket.P_13_8": "np. (poza krajem)",
    "bucket.P_13_9": "np. (usługi art. 100 ust. 1 pkt 4)",
    "bucket.P_13_10": "odwrotne obciążenie",
    "bucket.P_13_11": "marża",
}

EN: dict[str, str] = {
    "cli.description": "Terminal client for KSeF 2.0: purchase and sales invoices, token verification.",
    "cli.invoice": "work with FA(3)/FA(2) invoice files",
    "cli.invoice.show": "show an invoice (summary or --json)",
    "cli.invoice.validate": "check files against the XSD and KSeF rules",
    "cli.invoice.render": "write the official HTML visualisation",
    "cli.invoice.qr": "KOD I verification link and QR code",
    "cli.sim": "KSeF 2.0 simulator",
    "cli.sim.serve": "serve the simulator over HTTP",
    "cli.lang": "message language: pl or en",
    "err.file_missing": "no such file: {path}",
    "err.file_unreadable": "cannot read {path}: {reason}",
    "err.file_too_large": "{path} is {size} MB; a KSeF invoice is at most 3 MB",
    "err.not_invoice": "{path}: {reason}",
    "err.render": "{path}: cannot write the visualisation: {reason}",
    "err.internal": "internal error ({kind}); run again with KSEF_TUI_DEBUG=1 to see details",
    "err.interrupted": "interrupted",
    "err.unknown_env": "unknown environment {env}; choose test, demo or prod",
    "show.header": "{schema}  {kind}  no. {number}  of {date}",
    "show.seller": "Seller",
    "show.buyer": "Buyer",
    "show.currency": "Currency",
    "show.sale_date": "Sale date",
    "show.bucket": "Rate / field",
    "show.net": "Net",
    "show.vat": "VAT",
    "show.vat_pln": "VAT in PLN",
    "show.gross": "Total due (P_15)",
    "show.lines": "Lines",
    "show.corrects": "Corrects",
    "show.corrects_outside": "outside KSeF",
    "show.reason": "Correction reason",
    "show.payment_due": "Payment due",
    "show.bank_account": "Bank account",
    "show.reverse_charge": "Reverse charge",
    "show.split_payment": "Split payment",
    "show.exemption": "VAT exemption",
    "show.no_id": "no identifier",
    "validate.valid": "VALID",
    "validate.invalid": "INVALID",
    "validate.more": "… and {count} more",
    "render.written": "wrote {path}",
    "qr.label": "Label",
    "val.line": "line {line}: ",
    "val.empty": "the file is empty",
    "val.bom": "UTF-8 byte order mark (BOM) is not allowed",
    "val.encoding": "encoding {name} is not allowed, KSeF accepts UTF-8 only",
    "val.not_utf8": "the file is not valid UTF-8",
    "val.not_xml": "not well-formed XML: {detail}",
    "val.doctype": "a DOCTYPE declaration is not allowed",
    "val.pi": "processing instruction <?{target}?> is not allowed",
    "val.discouraged": "discouraged character {code}",
    "val.unknown_schema": "not an FA(3) or FA(2) invoice (root namespace {namespace})",
    "val.expected_schema": "expected {label}, root namespace is {namespace}",
    "val.too_large": "{size} bytes, KSeF accepts at most {limit}",
    "val.xsd_failed": "schema validation failed: {detail}",
    "bucket.P_13_1": "23% / 22%",
    "bucket.P_13_2": "8% / 7%",
    "bucket.P_13_3": "5%",
    "bucket.P_13_4": "4% / 3% (taxi lump sum)",
    "bucket.P_13_5": "special procedure (OSS)",
    "bucket.P_13_6_1": "0% domestic",
    "bucket.P_13_6_2": "0% intra-EU supply",
    "bucket.P_13_6_3": "0% export",
    "bucket.P_13_7": "exempt",
    "bucket.P_13_8": "not taxable in PL",
    "bucket.P_13_9": "not taxable (art. 100(1)(4) services)",
    "bucket.P_13_10": "reverse charge",
    "bucket.P_13_11": "margin scheme",
}

CATALOGS: dict[str, dict[str, str]] = {"pl": PL, "en": EN}
_language: str | None = None


def set_language(language: str | None) -> None:
    global _language  # noqa: PLW0603 - one process-wide setting, set once at start-up
    _language = language if language in CATALOGS else None


def language() -> str:
    if _language is not None:
        return _language
    env = os.environ.get("KSEF_TUI_LANG", "").lower()[:2]
    return env if env in CATALOGS else "pl"


def t(key: str, **values: object) -> str:
    """The message ``key`` in the current language, formatted with ``values``."""
    text = CATALOGS[language()].get(key) or EN.get(key) or key
    return text.format(**values) if values else text
