"""The vault: KSeF tokens and session tokens in a keyring backend chosen explicitly, never by surprise.

The package, by concern:

- ``errors``: ``SecretStoreUnavailable`` and its family (``UserError``s of the configuration category), the
  i18n keys they use, and what the UI can offer when there is no keyring;
- ``master``: the master password of the encrypted file, from the UI, a descriptor or a 0600 file;
- ``backends``: the backend policy (``resolve_backend``), probing the OS keyrings, the file backends
  disarmed so they never prompt, and ``MemoryKeyring``;
- ``vault``: the ``Vault`` itself (tokens and session tokens per profile and environment);
- ``redact``: keeping secrets out of reprs, error details and tracebacks.

Everything other modules use is importable from ``ksef_tui.vault``.
"""

from __future__ import annotations

from ksef_tui.domain.session import SessionTokens, fingerprint
from ksef_tui.vault.backends import (
    DEFAULT_PROBE_TIMEOUT,
    DEFAULT_SYSTEM_TIMEOUT,
    ENCRYPTED_FILE_NAME,
    PLAINTEXT_FILE_NAME,
    SERVICE_PREFIX,
    BackendChoice,
    MemoryKeyring,
    ResolvedBackend,
    default_encrypted_file,
    default_plaintext_file,
    encrypted_file_exists,
    probe_system_backends,
    resolve_backend,
)
from ksef_tui.vault.errors import (
    HINT_PARAMS,
    BackendProbe,
    DamagedSecret,
    MasterPasswordRequired,
    MasterPasswordSourceError,
    NoSecretStorage,
    SecretStoreUnavailable,
    StorageOption,
    VaultFileError,
    WrongMasterPassword,
)
from ksef_tui.vault.master import read_master_password
from ksef_tui.vault.vault import SESSION_SUFFIX, Vault, VaultDescription, service_name

__all__ = [
    "DEFAULT_PROBE_TIMEOUT",
    "DEFAULT_SYSTEM_TIMEOUT",
    "ENCRYPTED_FILE_NAME",
    "HINT_PARAMS",
    "PLAINTEXT_FILE_NAME",
    "SERVICE_PREFIX",
    "SESSION_SUFFIX",
    "BackendChoice",
    "BackendProbe",
    "DamagedSecret",
    "MasterPasswordRequired",
    "MasterPasswordSourceError",
    "MemoryKeyring",
    "NoSecretStorage",
    "ResolvedBackend",
    "SecretStoreUnavailable",
    "SessionTokens",
    "StorageOption",
    "Vault",
    "VaultDescription",
    "VaultFileError",
    "WrongMasterPassword",
    "default_encrypted_file",
    "default_plaintext_file",
    "encrypted_file_exists",
    "fingerprint",
    "probe_system_backends",
    "read_master_password",
    "resolve_backend",
    "service_name",
]
