"""The mail outbox of a company: every e-mail to a customer (the KSeF number of an accepted sales invoice) with
its delivery state, kept beside the store: ``store.outbox.json`` (the messages) and ``store.outbox/`` (each
message's ``.eml``, built once).

Blocking by design (file I/O and fsync): call from thread workers.

* **A message is never lost.** It enters the outbox (its ``.eml`` written and flushed first) before anything
  is sent, and leaves the ``pending``/``failed`` states only for ``sent``; a failure records the error and keeps
  the message.
* **The same bytes every time.** The ``.eml`` (with its ``Message-ID``) is built once; a retry sends that file,
  checked against the digest recorded with it, so a recipient who got it twice could tell it is one message.
* **Exactly once, as far as SMTP allows.** The sender marks a message ``sending`` (written) before the SMTP
  transaction and ``sent`` after the server's reply to the message; what the state file says is what happened
  up to that window. Which failures are retried how is the sender's (``services.mail``) to decide, through
  :class:`Failure`.
* **One file, rewritten whole.** A state change rewrites ``store.outbox.json`` atomically (``atomic_write``)
  under :attr:`Store.mutex`: a few hundred bytes per message, so a year of a busy company's mail (10,000
  messages, a few MB) still rewrites in milliseconds plus the fsync. The parsed file is kept between calls
  and read again only when it changed on disk.
* **Read-only stores** read the outbox and refuse every write (:class:`StoreReadOnly`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from ksef_tui.store.atomic import atomic_write, clean_stale_temp_files
from ksef_tui.store.db import Signature, Store, StoreCorrupt, StoreReadOnly, StoreTooNew, _signature
from ksef_tui.store.sales import _aware, _moment

OUTBOX = "outbox"
SCHEMA = 1


class OutboxState(Enum):
    PENDING = "pending"  # built, not sent yet
    SENDING = "sending"  # an SMTP transaction is (or was, if the program stopped) under way
    SENT = "sent"  # the server took it (250 after the message)
    FAILED = "failed"  # see ``failure``


class Failure(Enum):
    """Why a message is ``failed``, which says how it may be sent again."""

    TEMPORARY = "temporary"  # not delivered (no connection, a 4xx, a lost connection before the message's end)
    PERMANENT = "permanent"  # not delivered: the server refused it for good (a 5xx), e.g. an unknown mailbox
    UNCERTAIN = "uncertain"  # may have been delivered: no answer after the message's last byte, or a crash


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One e-mail of the outbox. ``id`` is stable (the invoice number and the purpose): one invoice's KSeF-number
    mail is one message however often it is queued."""

    id: str
    invoice_number: str
    purpose: str
    recipient: str  # the bare address
    language: str
    subject: str
    message_id: str  # the Message-ID header of the .eml
    eml: str  # the file's name in the outbox directory
    eml_sha256: str  # hex, of the file as built
    state: OutboxState
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    last_error: str | None = None  # in the language of the session that failed; never a secret
    failure: Failure | None = None
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware("created_at", self.created_at)
        _aware("updated_at", self.updated_at)
        _aware("sent_at", self.sent_at)

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "invoice_number": self.invoice_number,
            "purpose": self.purpose,
            "recipient": self.recipient,
            "language": self.language,
            "subject": self.subject,
            "message_id": self.message_id,
            "eml": self.eml,
            "eml_sha256": self.eml_sha256,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "failure": None if self.failure is None else self.failure.value,
            "sent_at": None if self.sent_at is None else self.sent_at.isoformat(),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> OutboxMessage:
        failure = doc.get("failure")
        created, updated = _moment(doc["created_at"]), _moment(doc["updated_at"])
        if created is None or updated is None:
            raise ValueError("a message without its timestamps")
        return cls(
            id=str(doc["id"]),
            invoice_number=str(doc["invoice_number"]),
            purpose=str(doc["purpose"]),
            recipient=str(doc["recipient"]),
            language=str(doc["language"]),
            subject=str(doc["subject"]),
            message_id=str(doc["message_id"]),
            eml=str(doc["eml"]),
            eml_sha256=str(doc["eml_sha256"]),
            state=OutboxState(doc["state"]),
            created_at=created,
            updated_at=updated,
            attempts=int(doc.get("attempts", 0)),
            last_error=doc.get("last_error"),
            failure=None if failure is None else Failure(failure),
            sent_at=_moment(doc.get("sent_at")),
        )


def eml_name(message_id: str) -> str:
    """The file of a message: invoice numbers have slashes and any letter, so the name is a digest of the id."""
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32] + ".eml"


class Outbox:
    """The outbox of one open store (:meth:`of`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = store.path.with_name(f"{store.path.stem}.{OUTBOX}.json")
        self.directory = store.path.with_name(f"{store.path.stem}.{OUTBOX}")
        self.delivery_lock = threading.Lock()
        """Held by whoever sends from this outbox: within the process that owns the store, a message found
        ``sending`` by the holder is a leftover of a run that stopped, never another thread's transaction."""
        self._cached: dict[str, OutboxMessage] | None = None
        self._cached_sig: Signature | None = None
        if not store.read_only:
            clean_stale_temp_files(self.path)
            for stale in self.directory.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()

    @classmethod
    def of(cls, store: Store) -> Outbox:
        return store.attachment(OUTBOX, cls)

    def close(self) -> None:
        self._cached = None

    # --- reading

    def _load(self) -> dict[str, OutboxMessage]:
        sig = _signature(self.path)
        if self._cached is not None and sig == self._cached_sig:
            return self._cached
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            messages: dict[str, OutboxMessage] = {}
        else:
            messages = self._parse(raw)
        self._cached, self._cached_sig = messages, sig
        return messages

    def _parse(self, raw: bytes) -> dict[str, OutboxMessage]:
        try:
            data = json.loads(raw.decode("utf-8"))
            version = data["version"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreCorrupt(self.path, f"{type(exc).__name__}: {exc}") from None
        if isinstance(version, int) and version > SCHEMA:
            raise StoreTooNew(self.path, version, SCHEMA)
        messages: dict[str, OutboxMessage] = {}
        for doc in data.get("messages", []):
            try:
                message = OutboxMessage.from_doc(doc)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                key = doc.get("id") if isinstance(doc, dict) else None
                raise StoreCorrupt(self.path, f"{key}: {type(exc).__name__}: {exc}") from None
            messages[message.id] = message
        return messages

    def all(self) -> list[OutboxMessage]:
        """Every message, oldest first."""
        with self.store.mutex:
            found = list(self._load().values())
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def get(self, message_id: str) -> OutboxMessage | None:
        with self.store.mutex:
            return self._load().get(message_id)

    def in_state(self, *states: OutboxState) -> list[OutboxMessage]:
        return [m for m in self.all() if m.state in states]

    def read_eml(self, message: OutboxMessage) -> bytes:
        """The message's bytes exactly as built; :class:`StoreCorrupt` if the file is gone or changed."""
        path = self.directory / message.eml
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreCorrupt(path, f"{type(exc).__name__}: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != message.eml_sha256:
            raise StoreCorrupt(path, "the file differs from the message as it was built (SHA-256)")
        return data

    # --- writing

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise StoreReadOnly(self.path)

    def _save(self, messages: dict[str, OutboxMessage]) -> None:
        payload = {"version": SCHEMA, "messages": [m.to_doc() for m in messages.values()]}
        self._cached, self._cached_sig = None, None
        atomic_write(self.path, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        self._cached, self._cached_sig = messages, _signature(self.path)

    def write_eml(self, message_id: str, data: bytes) -> tuple[str, str]:
        """Write a message's bytes (flushed: call before the outbox names them); returns the file's name and
        digest for :class:`OutboxMessage`."""
        self._check_writable()
        name = eml_name(message_id)
        atomic_write(self.directory / name, data)
        return name, hashlib.sha256(data).hexdigest()

    def put(self, *messages: OutboxMessage) -> None:
        """Add messages or replace the ones with their ids (one write; none for no message)."""
        if not messages:
            return
        self._check_writable()
        with self.store.mutex:
            stored = dict(self._load())
            stored.update((m.id, m) for m in messages)
            self._save(stored)

    def update(
        self, ids: Iterable[str], change: Callable[[OutboxMessage], OutboxMessage | None]
    ) -> dict[str, OutboxMessage]:
        """Read-modify-write under the store's mutex: ``change`` gets each message as stored now and returns its
        new version (``None``: leave it); unknown ids are skipped. One write; the changed messages by id."""
        self._check_writable()
        with self.store.mutex:
            messages = dict(self._load())
            changed: dict[str, OutboxMessage] = {}
            for message_id in dict.fromkeys(ids):
                current = messages.get(message_id)
                new = None if current is None else change(current)
                if new is not None:
                    messages[message_id] = changed[message_id] = new
            if changed:
                self._save(messages)
            return changed
