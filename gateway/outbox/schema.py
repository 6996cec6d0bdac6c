"""Open the outbox database: folder, pragmas, schema version, counters.

WAL with ``synchronous=FULL`` makes every committed put survive SIGKILL and power loss (the
WAL is fsynced on commit) while readers never block the writer. ``auto_vacuum=INCREMENTAL``
is set before the first table exists so that space freed after a long outage can be handed
back to the file system a little at a time (``PRAGMA incremental_vacuum``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway.outbox.model import OutboxError
from gateway.outbox.quota import PAGE_SIZE

__all__ = ["COUNTERS", "SCHEMA_VERSION", "open_database", "read_counters"]

SCHEMA_VERSION = 1
#: Columns of the one-row ``counters`` table, updated in the same transaction as the rows
#: they describe, so they are exact after any crash.
COUNTERS = (
    "put_alarms",
    "put_telemetry",
    "sent",
    "replayed",
    "thinned",
    "queued_alarms",
    "queued_telemetry",
    "bytes_alarms",
    "bytes_telemetry",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lane INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL  -- accounted bytes, see gateway.outbox.quota.row_bytes
);
CREATE INDEX IF NOT EXISTS messages_by_lane ON messages (lane, id);
CREATE TABLE IF NOT EXISTS counters (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    {", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTERS)}
);
"""


def open_database(path: Path) -> sqlite3.Connection:
    """Open (or create) the outbox at ``path``; the connection is in autocommit mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"outbox {path}: cannot create its folder: {exc}"
        raise OutboxError(msg) from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    except sqlite3.Error as exc:
        msg = f"outbox {path}: cannot open: {exc}"
        raise OutboxError(msg) from exc
    try:
        _configure(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN):
            # The file is fine, the disk is not: it may hold undelivered alarms, so the
            # advice is to free space, never to move or delete it.
            msg = f"outbox {path}: the disk is full or failing ({exc}); free space on it"
        else:
            msg = (
                f"outbox {path} is not a usable SQLite database ({exc}); move it aside "
                f"(e.g. to {path.name}.broken, keep it: it may hold undelivered alarms) "
                "and start again to create a fresh outbox"
            )
        raise OutboxError(msg) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    # page size and auto_vacuum only take effect before the first table is created
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        msg = f"outbox {path}: the file system refused WAL mode (got {mode!r})"
        raise OutboxError(msg)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA journal_size_limit = 16777216")  # WAL shrinks back after checkpoints
    conn.execute("BEGIN IMMEDIATE")
    try:
        _create_or_check(conn, path)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _create_or_check(conn: sqlite3.Connection, path: Path) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    if row[0] is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    elif row[0] > SCHEMA_VERSION:
        msg = (
            f"outbox {path} has schema version {row[0]}, newer than this hazard-gateway "
            f"understands ({SCHEMA_VERSION}); upgrade hazard-gateway or move the file aside"
        )
        raise OutboxError(msg)
    conn.execute("INSERT OR IGNORE INTO counters (one) VALUES (1)")


def read_counters(conn: sqlite3.Connection) -> dict[str, int]:
    """The persisted counters, by name."""
    row = conn.execute(f"SELECT {', '.join(COUNTERS)} FROM counters WHERE one = 1").fetchone()
    return dict(zip(COUNTERS, (int(v) for v in row), strict=True))
