"""A channel's persistent queue (SQLite WAL): an item leaves only when the endpoint took it.

One file per channel (``{state_dir}/{channel}.sqlite``), so a slow or dead channel never
shares a lock with another. Tables::

    items   the backlog, in arrival order (id); ``key`` is unique, so a redelivered
            MQTT message does not queue the same event twice
    done    keys delivered recently: a late redelivery of a delivered event is not
            sent again (kept for ``DONE_KEEP_S``)
    dead    dead-lettered items with the reason (4xx answers, missing regulator codes)
    stats   one row: delivered, retries, dead, last success, last error

WAL with ``synchronous=FULL``: a committed put survives SIGKILL and power loss. The
queue is used by one thread at a time (the service's event loop; it may be built in
another); ``push status`` opens the file read-only beside a running service.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.push.items import PushItem

__all__ = ["ChannelQueue", "QueueStats", "open_read_only", "read_stats"]

DONE_KEEP_S = 7 * 86400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL, queued REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS done (key TEXT PRIMARY KEY, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS dead (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, body TEXT NOT NULL,
    reason TEXT NOT NULL, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS stats (
    one INTEGER PRIMARY KEY CHECK (one = 1), delivered INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0,
    last_success REAL, last_error TEXT, last_error_ts REAL);
INSERT OR IGNORE INTO stats (one) VALUES (1);
"""


@dataclass(frozen=True)
class QueueStats:
    """What ``push status`` and /metrics show for one channel."""

    backlog: int
    oldest: float | None
    delivered: int
    retries: int
    dead: int
    last_success: float | None
    last_error: str | None
    last_error_ts: float | None


class ChannelQueue:
    """The backlog, dead-letter and counters of one channel."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(
            path, isolation_level=None, timeout=10.0, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction (the connection is in autocommit mode otherwise)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def put(self, item: PushItem, now: float) -> bool:
        """Queue ``item`` unless its key is queued or was delivered; True when added."""
        return self.put_many([item], now) == 1

    def put_many(self, items: list[PushItem], now: float) -> int:
        """Queue ``items`` in one transaction (one fsync); how many were new."""
        added = 0
        with self._tx():
            for item in items:
                if self._db.execute("SELECT 1 FROM done WHERE key = ?", (item.key,)).fetchone():
                    continue
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO items (key, body, queued) VALUES (?, ?, ?)",
                    (item.key, item.model_dump_json(), now),
                )
                added += cur.rowcount
        return added

    def head(self, limit: int) -> list[tuple[int, PushItem]]:
        """The oldest ``limit`` items with their row ids."""
        rows = self._db.execute("SELECT id, body FROM items ORDER BY id LIMIT ?", (limit,))
        return [(int(i), PushItem.model_validate_json(body)) for i, body in rows.fetchall()]

    def delivered(self, ids: list[int], now: float) -> None:
        """The endpoint accepted these rows: remove them, remember their keys."""
        marks = ",".join("?" * len(ids))
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO done (key, ts) "
                f"SELECT key, ? FROM items WHERE id IN ({marks})",
                (now, *ids),
            )
            self._db.execute(f"DELETE FROM items WHERE id IN ({marks})", ids)
            self._db.execute(
                "UPDATE stats SET delivered = delivered + ?, last_success = ?", (len(ids), now)
            )

    def failed(self, ids: list[int], error: str, now: float) -> None:
        """A retryable failure: the rows stay; count the retry and keep the error."""
        marks = ",".join("?" * len(ids))
        with self._tx():
            self._db.execute(f"UPDATE items SET attempts = attempts + 1 WHERE id IN ({marks})", ids)
            self._db.execute(
                "UPDATE stats SET retries = retries + 1, last_error = ?, last_error_ts = ?",
                (error[:500], now),
            )

    def dead_letter(self, ids: list[int], reason: str, now: float) -> None:
        """Move rows to the dead-letter table with ``reason`` (kept, counted, not sent)."""
        marks = ",".join("?" * len(ids))
        with self._tx():
            self._db.execute(
                "INSERT INTO dead (key, body, reason, ts) "
                f"SELECT key, body, ?, ? FROM items WHERE id IN ({marks}) ORDER BY id",
                (reason[:1000], now, *ids),
            )
            self._db.execute(f"DELETE FROM items WHERE id IN ({marks})", ids)
            self._db.execute(
                "UPDATE stats SET dead = dead + ?, last_error = ?, last_error_ts = ?",
                (len(ids), reason[:500], now),
            )

    def dead_items(self) -> list[tuple[PushItem, str]]:
        """Every dead-lettered item with its reason, oldest first."""
        rows = self._db.execute("SELECT body, reason FROM dead ORDER BY id").fetchall()
        return [(PushItem.model_validate_json(body), str(reason)) for body, reason in rows]

    def prune(self, now: float) -> None:
        """Forget delivered keys older than ``DONE_KEEP_S``."""
        with self._tx():
            self._db.execute("DELETE FROM done WHERE ts < ?", (now - DONE_KEEP_S,))

    def stats(self) -> QueueStats:
        """The channel's figures now."""
        return read_stats(self._db)

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def read_stats(db: sqlite3.Connection) -> QueueStats:
    """Figures of a queue database (also used read-only by ``push status``)."""
    backlog, oldest = db.execute("SELECT count(*), min(queued) FROM items").fetchone()
    row = db.execute(
        "SELECT delivered, retries, dead, last_success, last_error, last_error_ts FROM stats"
    ).fetchone()
    return QueueStats(int(backlog), oldest, *row)


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a queue file (for ``push status``)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
