"""Messages of the sandbox (``ksef_tui.sandbox``, ``ksef-tui sandbox``). Merged into ``i18n.PL``/``i18n.EN`` (the
same keys in both, a test keeps them in step).

Placeholders: ``step`` a step of preparing the sandbox (``sandbox.step.*``, translated), ``reason`` its cause in
the user's words, ``kind``/``detail`` an unexpected error's type and text, ``path`` a directory, ``number`` an
invoice number, ``expected``/``found`` states, ``nip`` the demo company's NIP.
"""

from __future__ import annotations

# ruff: noqa: E501  (a message catalog: one message a line, like i18n.py)

PL_SANDBOX: dict[str, str] = {
    "sandbox.badge": "PIASKOWNICA",
    "sandbox.note": "Piaskownica: symulator KSeF działa w tym programie, firma demonstracyjna (NIP {nip}) ma gotowy profil; wszystko, co tu zrobisz, zniknie po zamknięciu ({path}). Twoje profile nie są używane.",
    "sandbox.opening": "Przygotowuję piaskownicę…",
    "sandbox.failed": "nie udało się przygotować piaskownicy (krok: {step}): {reason}",
    "sandbox.failed.hint": "Twoje profile i dane nie zostały zmienione; uruchom ksef-tui sandbox jeszcze raz, a gdy błąd się powtórzy, zgłoś go z tym komunikatem",
    "sandbox.cause": "{kind}: {detail}",
    "sandbox.not_isolated": "piaskownica się nie uruchomi: katalog programu ({path}) nie leży w jej katalogu tymczasowym, więc mogłaby zmienić Twoje prawdziwe profile",
    "sandbox.not_isolated.hint": "na tym systemie katalogi programu nie zależą od zmiennych XDG_*; do ćwiczeń użyj ksef-tui sim serve i osobnego profilu",
    "sandbox.root_not_empty": "katalog piaskownicy {path} nie jest pusty",
    "sandbox.root_not_empty.hint": "podaj pusty katalog albo nie podawaj żadnego (piaskownica założy katalog tymczasowy)",
    "sandbox.unexpected": "faktura demonstracyjna {number} jest w stanie „{found}”, a miała być w stanie „{expected}”",
    "sandbox.state.missing": "brak w rejestrze",
    "sandbox.state.draft": "szkic",
    "sandbox.state.queued": "do wysłania",
    "sandbox.state.sending": "wysyłana",
    "sandbox.state.accepted": "przyjęta (nadano nr KSeF)",
    "sandbox.state.rejected": "odrzucona",
    "sandbox.state.needs-attention": "wymaga uwagi",
    "sandbox.state.duplicate": "duplikat",
    "sandbox.state.no-ksef-number": "przyjęta bez numeru KSeF",
    "sandbox.state.mail-pending": "e-mail do wysłania",
    "sandbox.state.mail-none": "bez e-maila",
    "sandbox.state.mail-sent": "e-mail wysłany",
    "sandbox.state.mail-failed": "błąd wysyłki e-maila",
    "sandbox.step.simulator": "uruchomienie symulatora KSeF",
    "sandbox.step.profile": "profil firmy demonstracyjnej",
    "sandbox.step.mail": "ustawienia poczty",
    "sandbox.step.purchases": "import faktur zakupu z KSeF",
    "sandbox.step.sales": "faktury sprzedaży i nabywcy",
    "sandbox.step.send": "wysyłka faktur do KSeF",
    "sandbox.step.check": "sprawdzenie danych demonstracyjnych",
}

EN_SANDBOX: dict[str, str] = {
    "sandbox.badge": "SANDBOX",
    "sandbox.note": "Sandbox: the KSeF simulator runs inside this program and the demo company (NIP {nip}) has a ready profile; whatever you do here is gone when you close it ({path}). Your own profiles are not used.",
    "sandbox.opening": "Preparing the sandbox…",
    "sandbox.failed": "the sandbox could not be prepared (step: {step}): {reason}",
    "sandbox.failed.hint": "your own profiles and data were not changed; run ksef-tui sandbox again, and if the error comes back, report it with this message",
    "sandbox.cause": "{kind}: {detail}",
    "sandbox.not_isolated": "the sandbox will not start: the program's directory ({path}) is not inside its temporary directory, so it could change your real profiles",
    "sandbox.not_isolated.hint": "on this system the program's directories do not follow the XDG_* variables; to practise, use ksef-tui sim serve and a separate profile",
    "sandbox.root_not_empty": "the sandbox directory {path} is not empty",
    "sandbox.root_not_empty.hint": "give an empty directory, or none (the sandbox then makes a temporary one)",
    "sandbox.unexpected": "demo invoice {number} is “{found}” where it should be “{expected}”",
    "sandbox.state.missing": "not in the register",
    "sandbox.state.draft": "draft",
    "sandbox.state.queued": "to send",
    "sandbox.state.sending": "sending",
    "sandbox.state.accepted": "accepted (KSeF number assigned)",
    "sandbox.state.rejected": "rejected",
    "sandbox.state.needs-attention": "needs attention",
    "sandbox.state.duplicate": "duplicate",
    "sandbox.state.no-ksef-number": "accepted without a KSeF number",
    "sandbox.state.mail-pending": "e-mail to send",
    "sandbox.state.mail-none": "no e-mail",
    "sandbox.state.mail-sent": "e-mail sent",
    "sandbox.state.mail-failed": "e-mail failed",
    "sandbox.step.simulator": "starting the KSeF simulator",
    "sandbox.step.profile": "the demo company's profile",
    "sandbox.step.mail": "mail settings",
    "sandbox.step.purchases": "importing purchase invoices from KSeF",
    "sandbox.step.sales": "sales invoices and customers",
    "sandbox.step.send": "sending invoices to KSeF",
    "sandbox.step.check": "checking the demo data",
}
