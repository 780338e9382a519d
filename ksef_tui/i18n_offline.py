"""Messages of offline invoicing (issue 14): the modes and outages (``ksef_tui.domain.offline``), the deadline as
the UI shows it, the public holidays, and KOD II's refusals (``ksef_tui.fa.kod2``). Merged into
``i18n.PL``/``i18n.EN`` (the same keys in both, a test keeps them in step).

Placeholders: ``date`` a deadline as the UI writes it, ``count`` a number of business days (plural forms
``.one``/``.few``/``.many``), ``kind`` a certificate type as given, ``bits`` an RSA key's size, ``key`` a key's
description (``EC secp384r1``), ``serial``/``own`` certificate serials, ``type``/``value``/``known`` a login
context type, its value and the known types, ``url`` a link, ``nip`` a NIP.
"""

from __future__ import annotations

# ruff: noqa: E501  (a message catalog: one message a line, like i18n.py)

PL_OFFLINE: dict[str, str] = {
    # modes (OfflineMode) and outages (OutageKind)
    "offline.mode.offline24": "tryb offline24",
    "offline.mode.offline": "tryb offline (niedostępność KSeF)",
    "offline.mode.emergency": "tryb awaryjny",
    "offline.mode.total_failure": "awaria całkowita",
    "offline.outage.unavailability": "niedostępność KSeF",
    "offline.outage.failure": "awaria KSeF",
    "offline.outage.total_failure": "awaria całkowita KSeF",
    # the deadline (DeadlineStatus)
    "offline.deadline.open.one": "wyślij do {date} (został {count} dzień roboczy)",
    "offline.deadline.open.few": "wyślij do {date} (zostały {count} dni robocze)",
    "offline.deadline.open.many": "wyślij do {date} (zostało {count} dni roboczych)",
    "offline.deadline.due_today": "wyślij dziś: termin mija {date}",
    "offline.deadline.overdue.one": "po terminie o {count} dzień roboczy (termin minął {date})",
    "offline.deadline.overdue.few": "po terminie o {count} dni robocze (termin minął {date})",
    "offline.deadline.overdue.many": "po terminie o {count} dni roboczych (termin minął {date})",
    "offline.deadline.late": "po terminie (termin minął {date})",
    "offline.deadline.waiting": "termin będzie znany po zakończeniu awarii lub niedostępności KSeF",
    "offline.deadline.not_required": "awaria całkowita: faktury nie trzeba wysyłać do KSeF",
    # public holidays (domain.offline.polish_holidays)
    "holiday.new_year": "Nowy Rok",
    "holiday.epiphany": "Święto Trzech Króli",
    "holiday.easter": "Wielkanoc",
    "holiday.easter_monday": "Poniedziałek Wielkanocny",
    "holiday.labour_day": "Święto Pracy",
    "holiday.constitution_day": "Święto Konstytucji 3 Maja",
    "holiday.pentecost": "Zielone Świątki",
    "holiday.corpus_christi": "Boże Ciało",
    "holiday.assumption": "Wniebowzięcie Najświętszej Maryi Panny",
    "holiday.all_saints": "Wszystkich Świętych",
    "holiday.independence_day": "Narodowe Święto Niepodległości",
    "holiday.christmas_eve": "Wigilia Bożego Narodzenia",
    "holiday.christmas": "Boże Narodzenie (pierwszy dzień)",
    "holiday.boxing_day": "Boże Narodzenie (drugi dzień)",
    # KOD II
    "kod2.label": "KOD II (CERTYFIKAT)",
    "kod2.failed": "nie można utworzyć KOD II",
    "kod2.not_offline": "KOD II podpisuje się tylko certyfikatem KSeF typu Offline, a ten jest typu {kind}",
    "kod2.not_offline.hint": "wystąp o certyfikat KSeF typu Offline (ksef-tui cert enroll --type offline) i użyj go do faktur offline; certyfikatu uwierzytelniającego nie wolno do tego używać",
    "kod2.key_mismatch": "klucz prywatny nie pasuje do certyfikatu KSeF typu Offline",
    "kod2.key_mismatch.hint": "wskaż klucz, z którego powstał wniosek o ten certyfikat",
    "kod2.weak_rsa": "klucz RSA certyfikatu ma {bits} bitów, a KSeF wymaga co najmniej 2048",
    "kod2.unsupported_key": "KOD II podpisuje się kluczem RSA (co najmniej 2048 bitów) albo EC P-256, a ten jest {key}",
    "kod2.serial_mismatch": "numer seryjny {serial} nie jest numerem tego certyfikatu ({own})",
    "kod2.not_ksef_serial": "numer seryjny certyfikatu {serial} nie ma 16 cyfr szesnastkowych: to nie jest certyfikat KSeF",
    "kod2.bad_serial": "numer seryjny certyfikatu KSeF musi mieć 16 cyfr szesnastkowych, a jest {serial}",
    "kod2.bad_context_type": "nieznany typ kontekstu {type} (dostępne: {known})",
    "kod2.bad_context_value": "{value} nie jest poprawnym identyfikatorem kontekstu typu {type}",
    "kod2.bad_hash": "{value} nie jest skrótem SHA-256 faktury (Base64 albo Base64URL)",
    "kod2.not_a_link": "to nie jest link KOD II: {url}",
}

EN_OFFLINE: dict[str, str] = {
    # modes (OfflineMode) and outages (OutageKind)
    "offline.mode.offline24": "offline24 mode",
    "offline.mode.offline": "offline mode (KSeF unavailability)",
    "offline.mode.emergency": "emergency mode",
    "offline.mode.total_failure": "total failure",
    "offline.outage.unavailability": "KSeF unavailability",
    "offline.outage.failure": "KSeF failure",
    "offline.outage.total_failure": "KSeF total failure",
    # the deadline (DeadlineStatus)
    "offline.deadline.open.one": "send by {date} ({count} business day left)",
    "offline.deadline.open.few": "send by {date} ({count} business days left)",
    "offline.deadline.open.many": "send by {date} ({count} business days left)",
    "offline.deadline.due_today": "send today: the deadline is {date}",
    "offline.deadline.overdue.one": "overdue by {count} business day (the deadline was {date})",
    "offline.deadline.overdue.few": "overdue by {count} business days (the deadline was {date})",
    "offline.deadline.overdue.many": "overdue by {count} business days (the deadline was {date})",
    "offline.deadline.late": "overdue (the deadline was {date})",
    "offline.deadline.waiting": "the deadline will be known when the KSeF failure or unavailability ends",
    "offline.deadline.not_required": "total failure: the invoice need not be sent to KSeF",
    # public holidays (domain.offline.polish_holidays)
    "holiday.new_year": "New Year's Day",
    "holiday.epiphany": "Epiphany",
    "holiday.easter": "Easter Sunday",
    "holiday.easter_monday": "Easter Monday",
    "holiday.labour_day": "Labour Day",
    "holiday.constitution_day": "Constitution Day",
    "holiday.pentecost": "Pentecost Sunday",
    "holiday.corpus_christi": "Corpus Christi",
    "holiday.assumption": "Assumption Day",
    "holiday.all_saints": "All Saints' Day",
    "holiday.independence_day": "Independence Day",
    "holiday.christmas_eve": "Christmas Eve",
    "holiday.christmas": "Christmas Day",
    "holiday.boxing_day": "Second Day of Christmas",
    # KOD II
    "kod2.label": "KOD II (certificate)",
    "kod2.failed": "cannot make KOD II",
    "kod2.not_offline": "KOD II is signed only with a KSeF certificate of type Offline, and this one is of type {kind}",
    "kod2.not_offline.hint": "enrol a KSeF certificate of type Offline (ksef-tui cert enroll --type offline) and use it for offline invoices; an authentication certificate must never sign them",
    "kod2.key_mismatch": "the private key does not match the KSeF Offline certificate",
    "kod2.key_mismatch.hint": "give the key the certificate's request was made from",
    "kod2.weak_rsa": "the certificate's RSA key has {bits} bits and KSeF requires at least 2048",
    "kod2.unsupported_key": "KOD II is signed with an RSA key (at least 2048 bits) or EC P-256, and this one is {key}",
    "kod2.serial_mismatch": "serial number {serial} is not this certificate's ({own})",
    "kod2.not_ksef_serial": "the certificate's serial number {serial} is not 16 hex digits: this is not a KSeF certificate",
    "kod2.bad_serial": "a KSeF certificate serial number must be 16 hex digits, got {serial}",
    "kod2.bad_context_type": "unknown context type {type} (expected one of: {known})",
    "kod2.bad_context_value": "{value} is not a valid context identifier of type {type}",
    "kod2.bad_hash": "{value} is not an invoice's SHA-256 hash (Base64 or Base64URL)",
    "kod2.not_a_link": "not a KOD II link: {url}",
}
