"""Messages of ``ksef-tui cert`` and ``ksef-tui contexts`` (``cli_certs``, ``services.certificates``). Merged into
``i18n.PL``/``i18n.EN`` (the same keys in both, a test keeps them in step).

Placeholders: ``profile`` a profile's name, ``name`` a credential's or certificate's name, ``serial`` a KSeF
certificate's serial number, ``nip`` a company's NIP, ``count`` days.
"""

from __future__ import annotations

# ruff: noqa: E501  (a message catalog: one message a line, like i18n.py)

PL_CERTS_CLI: dict[str, str] = {
    # --- help
    "cli.cert": "certyfikaty KSeF: zamówienie, lista, szczegóły, unieważnienie",
    "cli.cert.enroll": "zamów certyfikat KSeF (nowy klucz zostaje w sejfie)",
    "cli.cert.name": "nazwa nowego poświadczenia (domyślnie <profil>-ksef-auth lub <profil>-ksef-offline)",
    "cli.cert.use": "od teraz loguj ten profil nowym certyfikatem (tylko certyfikat uwierzytelniający)",
    "cli.cert.key": "rodzaj klucza: ec (P-256, zalecany) lub rsa (2048 bitów)",
    "cli.cert.list": "certyfikaty KSeF zalogowanego podmiotu",
    "cli.cert.show": "szczegóły certyfikatu KSeF",
    "cli.cert.revoke": "unieważnij certyfikat KSeF (nieodwracalne)",
    "cli.cert.yes": "nie pytaj o potwierdzenie",
    "cli.contexts": "firmy, które nadały biuru (NIP profilu) uprawnienia do faktur",
    # --- errors
    "certs.token_profile": "profil „{profile}” loguje się tokenem KSeF, a KSeF wydaje certyfikaty tylko po zalogowaniu podpisem (kwalifikowanym podpisem lub pieczęcią elektroniczną albo Profilem Zaufanym)",
    "certs.token_profile.hint": "zaloguj się do Aplikacji Podatnika KSeF podpisem lub Profilem Zaufanym, wybierz Certyfikaty → Wniosek o certyfikat, pobierz certyfikat (.crt) i klucz (.key) i zaimportuj je: ksef-tui profile add --name NAZWA --nip NIP --env ŚRODOWISKO --start-date RRRR-MM-DD --cert-pem PLIK.crt --key-pem PLIK.key --key-password-file PLIK_Z_HASŁEM (plik .p12: --cert-p12 PLIK --cert-password-file PLIK_Z_HASŁEM); z profilem logującym się pieczęcią lub podpisem kwalifikowanym możesz też użyć ksef-tui cert enroll",
    "certs.not_found": "KSeF nie zna certyfikatu o numerze seryjnym {serial} tego podmiotu",
    "certs.not_found.hint": "numery seryjne certyfikatów pokazuje ksef-tui cert list --profile NAZWA",
    "certs.bad_kind": "nieznany rodzaj certyfikatu „{kind}” (dozwolone: {kinds})",
    "certs.use_offline": "certyfikatem offline nie można się logować do KSeF",
    "certs.use_offline.hint": "opcja --use działa tylko z certyfikatem uwierzytelniającym (--type authentication)",
    "certs.bad_name": "nieprawidłowa nazwa poświadczenia „{name}”",
    "certs.name_taken": "poświadczenie „{name}” już istnieje",
    "certs.name_taken.hint": "podaj inną nazwę w --name albo pomiń --name, a program nada nazwę sam",
    "certs.bad_reason": "nieznana przyczyna unieważnienia „{reason}” (dozwolone: {reasons})",
    "certs.revoke.confirm_needed": "unieważnienie certyfikatu {serial} jest nieodwracalne i wymaga potwierdzenia",
    "certs.revoke.confirm_needed.hint": "dodaj --yes, jeśli na pewno chcesz go unieważnić",
    # --- enroll
    "certs.enrolling": "Zamawianie certyfikatu KSeF ({kind})…",
    "certs.enrolled": "Wydano certyfikat {serial} ({subject}), ważny do {until}; certyfikat i klucz są w sejfie jako poświadczenie „{name}”",
    "certs.now_used": "Profil {profile} loguje się teraz poświadczeniem „{name}”",
    "certs.use_later": "Aby logować się nim: ksef-tui profile add --name NAZWA --nip {nip} --env ŚRODOWISKO --start-date RRRR-MM-DD --credential {name}, albo zamów go z opcją --use",
    "certs.kind.authentication": "uwierzytelniający",
    "certs.kind.offline": "offline",
    # --- list, show
    "certs.none": "Ten podmiot nie ma certyfikatów KSeF",
    "certs.col.serial": "Numer seryjny",
    "certs.col.type": "Rodzaj",
    "certs.col.name": "Nazwa",
    "certs.col.status": "Stan",
    "certs.col.until": "Ważny do",
    "certs.col.days": "Dni",
    "certs.col.local": "Poświadczenie",
    "certs.col.subject": "Podmiot",
    "certs.col.identity": "Identyfikator",
    "certs.col.valid": "Ważność",
    "certs.col.profiles": "Profile",
    "certs.status.Active": "aktywny",
    "certs.status.Blocked": "w trakcie unieważniania",
    "certs.status.Revoked": "unieważniony",
    "certs.status.Expired": "wygasły",
    "certs.expiring.one": "Uwaga: certyfikat {serial} ({name}) wygasa za {count} dzień; zamów nowy (ksef-tui cert enroll)",
    "certs.expiring.few": "Uwaga: certyfikat {serial} ({name}) wygasa za {count} dni; zamów nowy (ksef-tui cert enroll)",
    "certs.expiring.many": "Uwaga: certyfikat {serial} ({name}) wygasa za {count} dni; zamów nowy (ksef-tui cert enroll)",
    # --- revoke
    "certs.revoke.ask": "Unieważnić certyfikat {serial}? Tego nie można cofnąć. [t/N]",
    "certs.revoke.kept": "Certyfikat {serial} pozostaje ważny",
    "certs.revoked": "Certyfikat {serial} został unieważniony",
    "certs.revoked.users": "Uwaga: tym certyfikatem logują się profile {profiles}; KSeF odmówi im logowania, dopóki nie dostaną innego poświadczenia",
    # --- contexts
    "contexts.none": "Żadna firma nie nadała uprawnień biuru {profile} (NIP {nip})",
    "contexts.no_delegation": "brak",
    "contexts.local": "profil: {profiles}",
    "contexts.line": "NIP {nip}  uprawnienia: {permissions}  może przekazać: {delegate}  {where}",
}

EN_CERTS_CLI: dict[str, str] = {
    # --- help
    "cli.cert": "KSeF certificates: request, list, show, revoke",
    "cli.cert.enroll": "request a KSeF certificate (the new key stays in the vault)",
    "cli.cert.name": "the new credential's name (default <profile>-ksef-auth or <profile>-ksef-offline)",
    "cli.cert.use": "sign this profile in with the new certificate from now on (authentication certificates only)",
    "cli.cert.key": "key type: ec (P-256, recommended) or rsa (2048 bits)",
    "cli.cert.list": "the signed-in subject's KSeF certificates",
    "cli.cert.show": "a KSeF certificate's details",
    "cli.cert.revoke": "revoke a KSeF certificate (irreversible)",
    "cli.cert.yes": "do not ask for confirmation",
    "cli.contexts": "the companies that granted the office (the profile's NIP) invoice permissions",
    # --- errors
    "certs.token_profile": "profile '{profile}' signs in with a KSeF token, and KSeF issues certificates only after signing in with a signature (a qualified signature or seal, or Profil Zaufany)",
    "certs.token_profile.hint": "sign in to the KSeF taxpayer application with a signature or Profil Zaufany, choose Certyfikaty → Wniosek o certyfikat, download the certificate (.crt) and the key (.key) and import them: ksef-tui profile add --name NAME --nip NIP --env ENV --start-date YYYY-MM-DD --cert-pem FILE.crt --key-pem FILE.key --key-password-file PASSWORD_FILE (a .p12 file: --cert-p12 FILE --cert-password-file PASSWORD_FILE); with a profile that signs in with a qualified seal or signature you can also use ksef-tui cert enroll",
    "certs.not_found": "KSeF knows no certificate with serial number {serial} for this subject",
    "certs.not_found.hint": "ksef-tui cert list --profile NAME shows the certificates' serial numbers",
    "certs.bad_kind": "unknown certificate type '{kind}' (allowed: {kinds})",
    "certs.use_offline": "an offline certificate cannot sign in to KSeF",
    "certs.use_offline.hint": "--use works only with an authentication certificate (--type authentication)",
    "certs.bad_name": "invalid credential name '{name}'",
    "certs.name_taken": "credential '{name}' already exists",
    "certs.name_taken.hint": "give another name with --name, or leave --name out and the program picks one",
    "certs.bad_reason": "unknown revocation reason '{reason}' (allowed: {reasons})",
    "certs.revoke.confirm_needed": "revoking certificate {serial} is irreversible and needs confirmation",
    "certs.revoke.confirm_needed.hint": "add --yes if you are sure you want to revoke it",
    # --- enroll
    "certs.enrolling": "Requesting a KSeF certificate ({kind})…",
    "certs.enrolled": "Certificate {serial} issued ({subject}), valid until {until}; the certificate and its key are in the vault as credential '{name}'",
    "certs.now_used": "Profile {profile} now signs in with credential '{name}'",
    "certs.use_later": "To sign in with it: ksef-tui profile add --name NAME --nip {nip} --env ENV --start-date YYYY-MM-DD --credential {name}, or request it with --use",
    "certs.kind.authentication": "authentication",
    "certs.kind.offline": "offline",
    # --- list, show
    "certs.none": "This subject has no KSeF certificates",
    "certs.col.serial": "Serial number",
    "certs.col.type": "Type",
    "certs.col.name": "Name",
    "certs.col.status": "Status",
    "certs.col.until": "Valid until",
    "certs.col.days": "Days",
    "certs.col.local": "Credential",
    "certs.col.subject": "Subject",
    "certs.col.identity": "Identifier",
    "certs.col.valid": "Validity",
    "certs.col.profiles": "Profiles",
    "certs.status.Active": "active",
    "certs.status.Blocked": "being revoked",
    "certs.status.Revoked": "revoked",
    "certs.status.Expired": "expired",
    "certs.expiring.one": "Warning: certificate {serial} ({name}) expires in {count} day; request a new one (ksef-tui cert enroll)",
    "certs.expiring.few": "Warning: certificate {serial} ({name}) expires in {count} days; request a new one (ksef-tui cert enroll)",
    "certs.expiring.many": "Warning: certificate {serial} ({name}) expires in {count} days; request a new one (ksef-tui cert enroll)",
    # --- revoke
    "certs.revoke.ask": "Revoke certificate {serial}? This cannot be undone. [y/N]",
    "certs.revoke.kept": "Certificate {serial} stays valid",
    "certs.revoked": "Certificate {serial} revoked",
    "certs.revoked.users": "Warning: profiles {profiles} sign in with this certificate; KSeF will refuse them until they get another credential",
    # --- contexts
    "contexts.none": "No company has granted the office {profile} (NIP {nip}) any permissions",
    "contexts.no_delegation": "none",
    "contexts.local": "profile: {profiles}",
    "contexts.line": "NIP {nip}  permissions: {permissions}  may pass on: {delegate}  {where}",
}
