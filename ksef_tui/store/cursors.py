"""Sync cursors: where the next purchase sync starts (the last High Water Mark), one document per key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tinydb import Query

from ksef_tui.store.db import SYNC_CURSORS, Store


@dataclass(frozen=True, slots=True)
class Cursor:
    key: str
    position: datetime  # permanentStorageDate from which the next window starts (aware)
    hwm: datetime | None  # the last High Water Mark KSeF reported
    updated_at: datetime


class CursorRepository:
    def __init__(self, store: Store) -> None:
        self._table = store.table(SYNC_CURSORS)

    def get(self, key: str) -> Cursor | None:
        doc: dict[str, Any] | None = self._table.get(Query().key == key)
        if doc is None:
            return None
        return Cursor(
            key=key,
            position=datetime.fromisoformat(doc["position"]),
            hwm=datetime.fromisoformat(doc["hwm"]) if doc.get("hwm") else None,
            updated_at=datetime.fromisoformat(doc["updated_at"]),
        )

    def set(self, cursor: Cursor) -> None:
        """One write; called only after the data the cursor covers is saved."""
        self._table.upsert(
            {
                "key": cursor.key,
                "position": cursor.position.isoformat(),
                "hwm": cursor.hwm.isoformat() if cursor.hwm else None,
                "updated_at": cursor.updated_at.isoformat(),
            },
            Query().key == cursor.key,
        )
