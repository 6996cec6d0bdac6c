"""The dead-letter store: what ingest could not write, kept with the reason.

A message lands here when it breaks the contract (bad JSON, wrong types, oversized,
unknown topic: found before InfluxDB sees it) or when InfluxDB rejected it alone
(400/422 after bisecting, e.g. a field-type conflict). It is stored durably (SQLite,
WAL, ``synchronous=FULL``) *before* the MQTT message is acknowledged, and a short
notice goes to ``hazard/v1/_deadletter/ingest`` so an operator sees it live. Nothing
is dropped silently: the row keeps the topic, the payload (up to 1 MB; its full size is
recorded) and the reason.

Inspect with ``sqlite3 FILE 'select id, received, topic, kind, reason from deadletter'``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.timeutil import rfc3339

__all__ = ["DeadLetter", "DeadLetterStore"]

MAX_KEPT_PAYLOAD = 1024 * 1024
_PREVIEW = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deadletter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received TEXT NOT NULL,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    payload BLOB NOT NULL
)
"""


@dataclass(frozen=True)
class DeadLetter:
    """One stored dead letter. ``kind``: ``contract`` (refused before writing) or
    ``rejected`` (InfluxDB refused it)."""

    id: int
    received: str
    topic: str
    kind: str
    reason: str
    size: int
    payload: bytes

    def notice(self) -> bytes:
        """The JSON published on the dead-letter topic (a preview, not the payload)."""
        preview = self.payload[:_PREVIEW].decode("utf-8", errors="replace")
        body = {
            "id": self.id,
            "received": self.received,
            "topic": self.topic[:512],
            "kind": self.kind,
            "reason": self.reason,
            "size": self.size,
            "preview": preview,
        }
        return json.dumps(body, ensure_ascii=False).encode()


class DeadLetterStore:
    """An append-only SQLite table of dead letters."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def add(self, topic: str, payload: bytes, kind: str, reason: str) -> DeadLetter:
        """Store one dead letter durably and return it (with its id)."""
        received = rfc3339(time.time())
        kept = payload[:MAX_KEPT_PAYLOAD]
        cursor = self._db.execute(
            "INSERT INTO deadletter (received, topic, kind, reason, size, payload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (received, topic, kind, reason, len(payload), kept),
        )
        row_id = int(cursor.lastrowid or 0)
        return DeadLetter(row_id, received, topic, kind, reason, len(payload), kept)

    def all(self) -> list[DeadLetter]:
        """Every dead letter, oldest first (for tests and the operator)."""
        rows = self._db.execute(
            "SELECT id, received, topic, kind, reason, size, payload FROM deadletter ORDER BY id"
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def count(self) -> int:
        """How many dead letters are stored."""
        return int(self._db.execute("SELECT count(*) FROM deadletter").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()
