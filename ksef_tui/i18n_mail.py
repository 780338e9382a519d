"""Messages of the customer e-mail (``services.mail``, ``cli_mail``): the PL and EN mail templates, the CLI's help
and output, and the errors. Merged into ``i18n.PL``/``i18n.EN`` (the same keys in both, a test keeps them in step).

The templates (``mail.subject``, ``mail.body``, ``mail.attachment``) are rendered in the customer's language, not
the session's; their placeholders: ``number``, ``ksef_number``, ``issue_date``, ``gross``, ``kod1``, ``seller``.
"""

from __future__ import annotations

PL_MAIL: dict[str, str] = {
    # --- the message to the customer
    "mail.subject": "Faktura {number} – numer KSeF {ksef_number}",
    "mail.body": (
        "Dzień dobry,\n"
        "\n"
        "faktura nr {number} z dnia {issue_date} na kwotę {gross} brutto została przyjęta\n"
        "w Krajowym Systemie e-Faktur (KSeF) i otrzymała numer KSeF:\n"
        "\n"
        "    {ksef_number}\n"
        "\n"
        "Fakturę można sprawdzić i pobrać z KSeF pod adresem (KOD I – kod weryfikujący fakturę):\n"
        "{kod1}\n"
        "\n"
        "W załączniku przesyłamy wizualizację faktury (plik HTML). Dokumentem jest faktura\n"
        "ustrukturyzowana zapisana w KSeF.\n"
        "\n"
        "Z poważaniem\n"
        "{seller}\n"
    ),
    "mail.attachment": "faktura_{number}.html",
    # --- settings
    "mail.not_configured": "profil {profile} nie ma ustawień wysyłki e-maili",
    "mail.not_configured.hint": (
        "ustaw je: ksef-tui mail setup --profile {profile} --host … --sender … "
        "(w piaskownicy: --transport file --dir KATALOG)"
    ),
    "mail.password_missing": "w menedżerze haseł nie ma hasła użytkownika {user} do serwera poczty {host}",
    "mail.password_missing.hint": "zapisz je: ksef-tui mail setup --password-file PLIK (plik z uprawnieniami 600)",
    "mail.bad_sender": "niepoprawny adres nadawcy: „{value}” (np. Firma <faktury@firma.pl>)",
    "mail.no_dir": "wysyłka do plików wymaga katalogu: --dir KATALOG",
    "mail.bad_host": "niepoprawny adres serwera poczty: „{value}”",
    "mail.bad_host.hint": "podaj nazwę serwera SMTP, np. --host smtp.firma.pl",
    "mail.bad_port": "niepoprawny numer portu serwera poczty: {value} (1–65535)",
    "mail.bad_user": "nazwa użytkownika serwera poczty zawiera niedozwolone znaki",
    "mail.cleartext_login": (
        "logowanie do serwera {host} bez szyfrowania wysłałoby hasło otwartym tekstem; "
        "wybierz --security starttls albo ssl"
    ),
    "mail.password_empty": "hasło do serwera poczty jest puste",
    "mail.password_fd_unreadable": "nie można odczytać hasła do serwera poczty z deskryptora {fd}",
    "mail.force_needs_invoice": "--force dotyczy tylko wskazanych faktur: dodaj --invoice NUMER",
    # --- an invoice that cannot be mailed
    "mail.unknown_invoice": "faktury {number} nie ma w rejestrze sprzedaży",
    "mail.not_accepted": "faktura {number} nie ma jeszcze numeru KSeF (stan: {state}); e-mail wysyła się po przyjęciu",
    "mail.no_recipient": "faktura {number}: kontrahent {customer} nie ma adresu e-mail ani w kartotece, ani w fakturze",
    "mail.no_recipient.hint": "dopisz adres e-mail kontrahenta w kartotece kontrahentów",
    "mail.bad_address": "faktura {number}: „{value}” nie jest poprawnym adresem e-mail",
    # --- delivery failures (kept with the message in the outbox)
    "mail.err.connect": "nie można połączyć się z serwerem poczty {server}: {detail}",
    "mail.err.tls": "nie udało się nawiązać szyfrowanego połączenia z serwerem poczty {server}: {detail}",
    "mail.err.no_starttls": (
        "serwer poczty {server} nie oferuje szyfrowania STARTTLS; wiadomości nie wysłano bez szyfrowania"
    ),
    "mail.err.login": "serwer poczty {server} odrzucił logowanie użytkownika {user}: {detail}",
    "mail.err.no_auth": "serwer poczty {server} nie przyjmuje logowania; usuń użytkownika albo zmień serwer",
    "mail.err.refused": "serwer poczty {server} odrzucił wiadomość: {detail}",
    "mail.err.lost": "połączenie z serwerem poczty {server} zerwało się przed końcem wiadomości: {detail}",
    "mail.err.no_answer": (
        "serwer poczty {server} nie potwierdził przyjęcia wiadomości ({detail}); mogła zostać dostarczona"
    ),
    "mail.err.interrupted": "program przerwano w trakcie wysyłania; wiadomość mogła zostać dostarczona",
    "mail.err.file": "nie można zapisać wiadomości {path}: {detail}",
    # --- the command line
    "cli.mail": "e-maile do kontrahentów z numerem KSeF przyjętych faktur",
    "cli.mail.pending": "wyślij wszystkie e-maile czekające w kolejce (domyślnie)",
    "cli.mail.invoice": "wyślij e-mail tych faktur (numery faktur)",
    "cli.mail.force": "wyślij ponownie także wiadomość, która mogła już dojść",
    "cli.mail.setup": "ustawienia wysyłki e-maili profilu (serwer SMTP, nadawca, automatyczna wysyłka)",
    "cli.mail.list": "kolejka e-maili i ich stan",
    "cli.mail.host": "serwer SMTP",
    "cli.mail.port": "port serwera (domyślnie 587 dla starttls, 465 dla ssl, 25 bez szyfrowania)",
    "cli.mail.security": "szyfrowanie połączenia: starttls, ssl albo none (tylko serwer na tym komputerze)",
    "cli.mail.user": "użytkownik serwera SMTP (pusty: bez logowania)",
    "cli.mail.sender": "nadawca, np. 'Firma <faktury@firma.pl>'",
    "cli.mail.password_file": "hasło do serwera z pliku (uprawnienia 600); trafia do menedżera haseł",
    "cli.mail.password_fd": "hasło do serwera z deskryptora pliku",
    "cli.mail.password_stdin": "hasło do serwera z pierwszego wiersza standardowego wejścia",
    "cli.mail.forget_password": "usuń hasło do serwera z menedżera haseł",
    "cli.mail.auto": "wysyłaj e-mail automatycznie po przyjęciu faktury przez KSeF",
    "cli.mail.transport": "smtp albo file (zapis wiadomości .eml do katalogu, do piaskownicy)",
    "cli.mail.dir": "katalog wiadomości dla --transport file",
    "mail.out.sent": "wysłano e-mail faktury {number} do {recipient}",
    "mail.out.failed.temporary": "nie wysłano e-maila faktury {number} do {recipient}: {error}; czeka w kolejce",
    "mail.out.failed.permanent": (
        "nie wysłano e-maila faktury {number} do {recipient}: {error}; "
        "popraw adres i ponów: ksef-tui mail --invoice {number}"
    ),
    "mail.out.failed.uncertain": (
        "e-mail faktury {number} do {recipient}: {error}; nie zostanie wysłany automatycznie, "
        "ponów świadomie: ksef-tui mail --invoice {number} --force"
    ),
    "mail.out.held.permanent": (
        "e-mail faktury {number} do {recipient} odrzucony: {error}; "
        "popraw adres i ponów: ksef-tui mail --invoice {number}"
    ),
    "mail.out.held.uncertain": (
        "e-mail faktury {number} do {recipient} mógł już dojść ({error}); "
        "wyślij ponownie tylko świadomie: ksef-tui mail --invoice {number} --force"
    ),
    "mail.out.already_sent": "e-mail faktury {number} wysłano już {date} do {recipient}; nie wysłano ponownie",
    "mail.out.refused": "{number}: {message}",
    "mail.out.nothing": "brak e-maili do wysłania",
    "mail.out.empty": "kolejka e-maili jest pusta",
    "mail.out.saved": (
        "zapisano ustawienia e-maili profilu {profile}: {where}, nadawca {sender}, wysyłka automatyczna: {auto}"
    ),
    "mail.out.yes": "tak",
    "mail.out.no": "nie",
    "mail.out.password_saved": "hasło do serwera poczty zapisano w menedżerze haseł",
    "mail.out.password_forgotten": "hasło do serwera poczty usunięto z menedżera haseł",
    "mail.out.password_none": (
        "w menedżerze haseł nie ma hasła użytkownika {user}; dodaj je: ksef-tui mail setup --password-file PLIK"
    ),
    "mail.col.recipient": "Adresat",
    "mail.col.state": "Stan",
    "mail.col.attempts": "Próby",
    "mail.col.updated": "Zmiana",
    "mail.col.error": "Ostatni błąd",
    "mail.state.pending": "do wysłania",
    "mail.state.sending": "wysyłany",
    "mail.state.sent": "wysłany",
    "mail.state.failed": "błąd wysyłki",
    "mail.failure.temporary": "ponowi się",
    "mail.failure.permanent": "odrzucony",
    "mail.failure.uncertain": "mógł dojść",
}

EN_MAIL: dict[str, str] = {
    # --- the message to the customer
    "mail.subject": "Invoice {number} – KSeF number {ksef_number}",
    "mail.body": (
        "Hello,\n"
        "\n"
        "invoice {number} of {issue_date} for {gross} (gross) has been accepted by the Polish\n"
        "National e-Invoicing System (KSeF) and given the KSeF number:\n"
        "\n"
        "    {ksef_number}\n"
        "\n"
        "You can verify the invoice and download it from KSeF at (KOD I, the invoice verification code):\n"
        "{kod1}\n"
        "\n"
        "The invoice visualisation (an HTML file) is attached. The binding document is the structured\n"
        "invoice kept in KSeF.\n"
        "\n"
        "Kind regards\n"
        "{seller}\n"
    ),
    "mail.attachment": "invoice_{number}.html",
    # --- settings
    "mail.not_configured": "profile {profile} has no e-mail settings",
    "mail.not_configured.hint": (
        "set them: ksef-tui mail setup --profile {profile} --host … --sender … "
        "(in the sandbox: --transport file --dir DIR)"
    ),
    "mail.password_missing": "the keyring holds no password of user {user} for the mail server {host}",
    "mail.password_missing.hint": "store it: ksef-tui mail setup --password-file FILE (a file with mode 600)",
    "mail.bad_sender": "not a valid sender address: “{value}” (e.g. Company <invoices@company.com>)",
    "mail.no_dir": "the file transport needs a directory: --dir DIR",
    "mail.bad_host": "not a valid mail server: “{value}”",
    "mail.bad_host.hint": "give the SMTP server's name, e.g. --host smtp.company.com",
    "mail.bad_port": "not a valid mail server port: {value} (1–65535)",
    "mail.bad_user": "the mail server user name contains characters that are not allowed",
    "mail.cleartext_login": (
        "logging in to {host} without encryption would send the password in clear text; "
        "choose --security starttls or ssl"
    ),
    "mail.password_empty": "the mail server password is empty",
    "mail.password_fd_unreadable": "cannot read the mail server password from file descriptor {fd}",
    "mail.force_needs_invoice": "--force applies to named invoices only: add --invoice NUMBER",
    # --- an invoice that cannot be mailed
    "mail.unknown_invoice": "invoice {number} is not in the sales register",
    "mail.not_accepted": "invoice {number} has no KSeF number yet (state: {state}); the e-mail goes after acceptance",
    "mail.no_recipient": (
        "invoice {number}: the customer {customer} has no e-mail address, neither in the customer list nor in "
        "the invoice"
    ),
    "mail.no_recipient.hint": "add the customer's e-mail address to the customer list",
    "mail.bad_address": "invoice {number}: “{value}” is not a valid e-mail address",
    # --- delivery failures (kept with the message in the outbox)
    "mail.err.connect": "cannot connect to the mail server {server}: {detail}",
    "mail.err.tls": "cannot set up an encrypted connection to the mail server {server}: {detail}",
    "mail.err.no_starttls": "the mail server {server} does not offer STARTTLS; the message was not sent unencrypted",
    "mail.err.login": "the mail server {server} refused the login of user {user}: {detail}",
    "mail.err.no_auth": "the mail server {server} does not accept logins; remove the user or change the server",
    "mail.err.refused": "the mail server {server} refused the message: {detail}",
    "mail.err.lost": "the connection to the mail server {server} broke before the end of the message: {detail}",
    "mail.err.no_answer": (
        "the mail server {server} did not confirm the message ({detail}); it may have been delivered"
    ),
    "mail.err.interrupted": "the program stopped while sending; the message may have been delivered",
    "mail.err.file": "cannot write the message {path}: {detail}",
    # --- the command line
    "cli.mail": "e-mail customers the KSeF number of accepted invoices",
    "cli.mail.pending": "send every e-mail waiting in the outbox (the default)",
    "cli.mail.invoice": "send the e-mail of these invoices (invoice numbers)",
    "cli.mail.force": "also send again a message that may already have arrived",
    "cli.mail.setup": "the profile's e-mail settings (SMTP server, sender, automatic mail)",
    "cli.mail.list": "the e-mail outbox and the state of each message",
    "cli.mail.host": "the SMTP server",
    "cli.mail.port": "the server's port (by default 587 for starttls, 465 for ssl, 25 unencrypted)",
    "cli.mail.security": "connection encryption: starttls, ssl or none (a server on this machine only)",
    "cli.mail.user": "the SMTP user (empty: no login)",
    "cli.mail.sender": "the sender, e.g. 'Company <invoices@company.com>'",
    "cli.mail.password_file": "the server password from a file (mode 600); it goes to the keyring",
    "cli.mail.password_fd": "the server password from a file descriptor",
    "cli.mail.password_stdin": "the server password from the first line of standard input",
    "cli.mail.forget_password": "delete the server password from the keyring",
    "cli.mail.auto": "e-mail automatically once KSeF accepts an invoice",
    "cli.mail.transport": "smtp or file (messages written as .eml into a directory, for the sandbox)",
    "cli.mail.dir": "the messages' directory for --transport file",
    "mail.out.sent": "e-mailed invoice {number} to {recipient}",
    "mail.out.failed.temporary": (
        "the e-mail of invoice {number} to {recipient} was not sent: {error}; it waits in the outbox"
    ),
    "mail.out.failed.permanent": (
        "the e-mail of invoice {number} to {recipient} was not sent: {error}; "
        "correct the address and retry: ksef-tui mail --invoice {number}"
    ),
    "mail.out.failed.uncertain": (
        "the e-mail of invoice {number} to {recipient}: {error}; it will not be sent automatically, "
        "retry deliberately: ksef-tui mail --invoice {number} --force"
    ),
    "mail.out.held.permanent": (
        "the e-mail of invoice {number} to {recipient} was refused: {error}; "
        "correct the address and retry: ksef-tui mail --invoice {number}"
    ),
    "mail.out.held.uncertain": (
        "the e-mail of invoice {number} to {recipient} may already have arrived ({error}); "
        "send it again only deliberately: ksef-tui mail --invoice {number} --force"
    ),
    "mail.out.already_sent": "the e-mail of invoice {number} was sent on {date} to {recipient}; not sent again",
    "mail.out.refused": "{number}: {message}",
    "mail.out.nothing": "no e-mail to send",
    "mail.out.empty": "the e-mail outbox is empty",
    "mail.out.saved": (
        "saved the e-mail settings of profile {profile}: {where}, sender {sender}, automatic mail: {auto}"
    ),
    "mail.out.yes": "yes",
    "mail.out.no": "no",
    "mail.out.password_saved": "the mail server password is in the keyring",
    "mail.out.password_forgotten": "the mail server password was deleted from the keyring",
    "mail.out.password_none": (
        "the keyring holds no password of user {user}; add it: ksef-tui mail setup --password-file FILE"
    ),
    "mail.col.recipient": "Recipient",
    "mail.col.state": "State",
    "mail.col.attempts": "Attempts",
    "mail.col.updated": "Changed",
    "mail.col.error": "Last error",
    "mail.state.pending": "to send",
    "mail.state.sending": "sending",
    "mail.state.sent": "sent",
    "mail.state.failed": "failed",
    "mail.failure.temporary": "will retry",
    "mail.failure.permanent": "refused",
    "mail.failure.uncertain": "may have arrived",
}
