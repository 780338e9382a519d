"""Messages of the company switcher (``ksef_tui.ui.screens.switcher``). Merged into ``i18n.PL``/``i18n.EN`` (the
same keys in both, a test keeps them in step).

Placeholders: ``count`` a number (plural forms ``.one``/``.few``/``.many``), ``kind`` the credential's kind
(``switcher.token`` or ``switcher.certificate``), ``shown``/``total``/``done`` numbers of companies, ``query``
what was typed, ``problem`` a sentence, ``detail`` an error's text.
"""

from __future__ import annotations

PL_SWITCHER: dict[str, str] = {
    # bindings (footer labels)
    "bind.switcher.choose": "Wybierz",
    "bind.switcher.cancel": "Anuluj",
    "bind.switcher.up": "Poprzednia firma",
    "bind.switcher.down": "Następna firma",
    "bind.switcher.page_up": "Strona w górę",
    "bind.switcher.page_down": "Strona w dół",
    # the dialog
    "switcher.title": "Zmień firmę",
    "switcher.filter": "Szukaj: nazwa, NIP (z kreskami lub bez), środowisko",
    "switcher.col.name": "Firma",
    "switcher.col.nip": "NIP",
    "switcher.col.env": "Środowisko",
    "switcher.col.credential": "Poświadczenie",
    "switcher.col.sync": "Ostatni import",
    "switcher.col.unsent": "Do wysłania",
    "switcher.token": "token",
    "switcher.certificate": "cert.",
    "switcher.days.one": "{kind} {count} dzień",
    "switcher.days.few": "{kind} {count} dni",
    "switcher.days.many": "{kind} {count} dni",
    "switcher.expired": "{kind} wygasł",
    "switcher.never": "nigdy",
    "switcher.shown": "firmy: {shown} z {total}",
    "switcher.progress": "wczytywanie {done} z {total}",
    "switcher.loading": "wczytywanie…",
    "switcher.current": "bieżąca firma",
    "switcher.rejected": "odrzucone przez KSeF: {count}",
    "switcher.no_match": "Żadna firma nie pasuje do „{query}”.",
    "switcher.none": "Nie ma jeszcze firm: dodaj firmę w Ustawieniach KSeF.",
    "switcher.unknown": "nie wiadomo ({problem})",
    "switcher.load_failed": "Nie udało się wczytać listy firm: {detail}",
}

EN_SWITCHER: dict[str, str] = {
    # bindings (footer labels)
    "bind.switcher.choose": "Choose",
    "bind.switcher.cancel": "Cancel",
    "bind.switcher.up": "Previous company",
    "bind.switcher.down": "Next company",
    "bind.switcher.page_up": "Page up",
    "bind.switcher.page_down": "Page down",
    # the dialog
    "switcher.title": "Switch company",
    "switcher.filter": "Filter: name, NIP (with or without dashes), environment",
    "switcher.col.name": "Company",
    "switcher.col.nip": "NIP",
    "switcher.col.env": "Environment",
    "switcher.col.credential": "Credential",
    "switcher.col.sync": "Last import",
    "switcher.col.unsent": "To send",
    "switcher.token": "token",
    "switcher.certificate": "cert.",
    "switcher.days.one": "{kind} {count} day",
    "switcher.days.few": "{kind} {count} days",
    "switcher.days.many": "{kind} {count} days",
    "switcher.expired": "{kind} expired",
    "switcher.never": "never",
    "switcher.shown": "companies: {shown} of {total}",
    "switcher.progress": "reading {done} of {total}",
    "switcher.loading": "reading…",
    "switcher.current": "current company",
    "switcher.rejected": "rejected by KSeF: {count}",
    "switcher.no_match": "No company matches “{query}”.",
    "switcher.none": "No companies yet: add one in KSeF settings.",
    "switcher.unknown": "unknown ({problem})",
    "switcher.load_failed": "Could not read the list of companies: {detail}",
}
