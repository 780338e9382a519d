"""A profile: one company (NIP) in one KSeF environment, with its KSeF start date and mail settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from urllib.parse import urlsplit

ENVIRONMENTS: dict[str, str] = {
    "test": "https://api-test.ksef.mf.gov.pl/v2",
    "demo": "https://api-demo.ksef.mf.gov.pl/v2",
    "prod": "https://api.ksef.mf.gov.pl/v2",
}
PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class ProfileProblem(Enum):
    NAME = "name"
    ENVIRONMENT = "environment"
    PORT = "port"


class InvalidProfile(ValueError):
    def __init__(self, problem: ProfileProblem, value: str) -> None:
        super().__init__(f"invalid profile {problem.value}: {value!r}")
        self.problem = problem
        self.value = value


def normalize_environment(value: str) -> str:
    """``test``/``demo``/``prod``, or an http(s) base URL (kept without a trailing slash)."""
    text = value.strip()
    if text.lower() in ENVIRONMENTS:
        return text.lower()
    parts = urlsplit(text)
    try:
        port = parts.port  # urlsplit checks the port's range only when it is read
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise InvalidProfile(ProfileProblem.PORT, value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return text.rstrip("/")
    raise InvalidProfile(ProfileProblem.ENVIRONMENT, value)


class MailSecurity(StrEnum):
    """How the connection to the SMTP server is protected."""

    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587); refused if the server cannot
    SSL = "ssl"  # TLS from the first byte (port 465)
    NONE = "none"  # a local relay only: a password is never sent over it to another host


class MailTransport(StrEnum):
    SMTP = "smtp"
    FILE = "file"  # writes each message as an .eml file into ``file_dir`` (the sandbox): nothing leaves the machine


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Where the customer's e-mail with the KSeF number goes out from. The SMTP password is never here: it
    lives in the vault (``Vault.get_mail_password``)."""

    host: str = ""
    port: int = 587
    username: str = ""  # empty: the server takes mail without AUTH (a local relay)
    sender: str = ""  # the From address, ``Name <address>`` or ``address``
    security: MailSecurity = MailSecurity.STARTTLS
    auto: bool = False  # mail each accepted invoice whose customer has an address
    transport: MailTransport = MailTransport.SMTP
    file_dir: str = ""  # the directory of the file transport

    @property
    def configured(self) -> bool:
        """Whether a message could be sent at all (a server or a directory, and a sender)."""
        where = self.file_dir if self.transport is MailTransport.FILE else self.host
        return bool(where and self.sender)


class BackendChoice(StrEnum):
    """Where secrets may live (the vault implements each; settings and profiles only name them)."""

    SYSTEM = "system"  # the OS keyring
    ENCRYPTED_FILE = "encrypted-file"  # keyrings.cryptfile, master password from the caller
    PLAINTEXT_FILE = "plaintext-file"  # keyrings.alt, base64 in a 0600 file: explicit opt-in only
    ENVIRONMENT = "environment"  # PYTHON_KEYRING_BACKEND / keyringrc.cfg, what keyring loads
    MEMORY = "memory"  # tests; "ask every session"


@dataclass(frozen=True, slots=True)
class SecretLocation:
    """Where this profile's secret lives, remembered so every later command finds it (not a secret itself)."""

    backend: str
    file: str | None = None
    password_file: str | None = None


@dataclass(frozen=True, slots=True)
class Numbering:
    """The company's number series (``domain.numbering`` patterns): invoices and corrections apart."""

    invoices: str = "FV/{n}/{MM}/{YYYY}"
    corrections: str = "KOR/{n}/{MM}/{YYYY}"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    nip: str
    environment: str
    start_date: date
    mail: MailSettings = MailSettings()
    secrets: SecretLocation | None = None
    numbering: Numbering = Numbering()
    credential: str = ""  # the credential it signs in with; "" = its own token, kept under the profile's name

    @property
    def credential_name(self) -> str:
        """The vault name of the credential: profiles from before credentials used their own name."""
        return self.credential or self.name

    @property
    def base_url(self) -> str:
        return ENVIRONMENTS.get(self.environment, self.environment)

    @property
    def is_custom(self) -> bool:
        return self.environment not in ENVIRONMENTS

    @property
    def vault_environment(self) -> str:
        """Keeps test, demo, prod and every custom server's secrets apart."""
        if not self.is_custom:
            return self.environment
        parts = urlsplit(self.environment)
        return f"custom:{parts.hostname}:{parts.port or ''}"

    @property
    def company_key(self) -> str:
        """The company context (environment + NIP) that owns the local data: a name reused for another
        company never sees the previous company's invoices."""
        if not self.is_custom:
            env = self.environment
        else:
            parts = urlsplit(self.environment)
            env = f"custom-{parts.hostname}-{parts.port or ''}".rstrip("-")
        return f"{env}/{self.nip}"

    @property
    def qr_environment(self) -> str:
        return self.environment if not self.is_custom else "test"


def check_profile_name(name: str) -> str:
    if not PROFILE_NAME_RE.fullmatch(name):  # fullmatch: "$" also matches before a final "\n"
        raise InvalidProfile(ProfileProblem.NAME, name)
    return name
