"""The alarm journal: every transition with who and why, and the state to restart from.

SQLite (WAL, synchronous=FULL) because the journal is the record a safety officer
and a regulator will ask for after an incident: alarm, acknowledgement, shelving,
clearing and disposition, in order, with the operator's name and note. It also
holds each alarm's current lifecycle state, so a restarted agent neither forgets
an unacknowledged alarm nor raises it twice, and a flag per event telling whether
it reached the outbox (events journaled just before a crash are re-queued).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.contracts.alarm import AlarmEvent
from gateway.errors import GatewayError

__all__ = ["AlarmJournal", "JournalError", "StoredAlarm"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts TEXT NOT NULL,
    device TEXT NOT NULL,
    point TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    activation_id TEXT,
    by TEXT,
    note TEXT,
    payload TEXT NOT NULL,
    outboxed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_activation ON events (activation_id);
CREATE INDEX IF NOT EXISTS events_pending ON events (outboxed) WHERE outboxed = 0;
CREATE TABLE IF NOT EXISTS alarms (
    device TEXT NOT NULL,
    point TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    condition INTEGER NOT NULL,
    activation_id TEXT,
    shelved_until REAL,
    PRIMARY KEY (device, point, kind)
);
CREATE TABLE IF NOT EXISTS deadlines (
    activation_id TEXT PRIMARY KEY,
    responsible TEXT NOT NULL,
    due REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dispositions (
    activation_id TEXT PRIMARY KEY,
    cause TEXT NOT NULL,
    action TEXT NOT NULL,
    by TEXT NOT NULL,
    ts TEXT NOT NULL
);
"""


def _open_on_disk(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
    except sqlite3.Error:
        db.close()
        raise
    return db


def _disk_trouble(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("full", "disk i/o", "unable to open", "readonly"))


def _copy_into_memory(path: Path) -> sqlite3.Connection:
    """The journal's content in memory; read with ``immutable`` (no -shm file needed)."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    if path.exists() and path.stat().st_size:
        # read-only keeps what a killed agent left in the WAL; it needs the -shm file, so
        # on a disk too full to create one, read the main file alone (immutable)
        for mode in ("mode=ro", "immutable=1"):
            try:
                source = sqlite3.connect(f"file:{path}?{mode}", uri=True)
                try:
                    source.backup(memory)
                finally:
                    source.close()
                break
            except sqlite3.Error as exc:
                log.error("alarm journal %s: reading with %s failed: %s", path, mode, exc)
    memory.executescript(_SCHEMA)
    return memory


class JournalError(GatewayError):
    """The journal file cannot be opened or used."""


@dataclass(frozen=True)
class StoredAlarm:
    """An alarm's lifecycle state as last journaled."""

    device: str
    point: str
    kind: str
    state: str
    condition: bool
    activation_id: str | None
    shelved_until: float | None


class AlarmJournal:
    """Append-only event log plus current alarm states, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.degraded = ""  # why the journal runs from memory ("" when on disk)
        try:
            self._db = _open_on_disk(path)
        except sqlite3.OperationalError as exc:
            if not _disk_trouble(exc):
                msg = f"alarm journal {path} cannot be opened ({exc})"
                raise JournalError(msg) from exc
            # A full disk must not keep the agent from starting: detection, alarms and
            # publication go on (the outbox sends from memory), and the journal runs on a
            # copy of the file in memory until the next start with free space.
            self._db = _copy_into_memory(path)
            self.degraded = f"journal in memory: {exc}"
            log.critical(
                "alarm journal %s cannot be written (%s): journaling in memory until a "
                "restart with free space; alarms are still published (docs/operations.md)",
                path,
                exc,
            )
        except sqlite3.DatabaseError as exc:
            msg = f"alarm journal {path} is unusable ({exc}); move it aside to start a new one"
            raise JournalError(msg) from exc

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def next_seq(self) -> int:
        """The next site sequence number (monotonic across restarts)."""
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(row[0]) + 1

    def record(
        self,
        event: AlarmEvent,
        alarm: StoredAlarm | None,
        due: tuple[str, float] | None = None,
    ) -> None:
        """Journal an event and the alarm's new state in one transaction.

        ``due``: (responsible person, deadline in epoch seconds) of a new activation.

        Raises JournalError when SQLite cannot write (disk full, I/O error).
        """
        try:
            self._record(event, alarm, due)
        except sqlite3.Error as exc:
            msg = f"cannot journal event {event.event_id} in {self.path}: {exc}"
            raise JournalError(msg) from exc

    def _record(
        self, event: AlarmEvent, alarm: StoredAlarm | None, due: tuple[str, float] | None
    ) -> None:
        payload = json.dumps(event.to_dict())
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO events (seq, event_id, ts, device, point, kind, state,"
                " activation_id, by, note, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    event.seq,
                    event.event_id,
                    event.ts,
                    event.device,
                    event.point,
                    event.kind.value,
                    event.state.value,
                    event.activation_id,
                    event.by,
                    event.note,
                    payload,
                ),
            )
            if alarm is not None:
                self._save_alarm(alarm)
            if due is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO deadlines VALUES (?,?,?)", (event.event_id, *due)
                )

    def mark_outboxed_many(self, event_ids: Sequence[str]) -> None:
        """The events are safely in the outbox: one transaction (JournalError on failure)."""
        if not event_ids:
            return
        try:
            with self._transaction():
                self._db.executemany(
                    "UPDATE events SET outboxed = 1 WHERE event_id = ?", [(i,) for i in event_ids]
                )
        except sqlite3.Error as exc:
            more = f" and {len(event_ids) - 1} more" if len(event_ids) > 1 else ""
            msg = f"cannot mark event {event_ids[0]}{more} as queued in {self.path}: {exc}"
            raise JournalError(msg) from exc

    def pending_outbox(self) -> list[tuple[str, str, str]]:
        """(event_id, device/point topic parts, payload) of events not yet in the outbox."""
        rows = self._db.execute(
            "SELECT event_id, device || '/' || point, payload FROM events"
            " WHERE outboxed = 0 ORDER BY seq"
        ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def alarms(self) -> list[StoredAlarm]:
        """Every alarm's last journaled state."""
        rows = self._db.execute(
            "SELECT device, point, kind, state, condition, activation_id, shelved_until FROM alarms"
        ).fetchall()
        return [StoredAlarm(d, p, k, s, bool(c), a, u) for d, p, k, s, c, a, u in rows]

    def events(self, limit: int = 1000) -> list[dict[str, object]]:
        """The newest ``limit`` events, oldest first, as JSON objects."""
        rows = self._db.execute(
            "SELECT payload FROM (SELECT seq, payload FROM events ORDER BY seq DESC LIMIT ?)"
            " ORDER BY seq",
            (limit,),
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def activation_exists(self, activation_id: str) -> bool:
        """True when ``activation_id`` is the event_id of a journaled activation."""
        row = self._db.execute(
            "SELECT 1 FROM events WHERE event_id = ? AND state = 'active'", (activation_id,)
        ).fetchone()
        return row is not None

    def add_disposition(
        self, activation_id: str, cause: str, action: str, by: str, ts: str
    ) -> bool:
        """Record the disposition of an activation; False when one exists already."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO dispositions VALUES (?,?,?,?,?)",
            (activation_id, cause, action, by, ts),
        )
        return cursor.rowcount == 1

    def due(self, activation_id: str) -> tuple[str, float] | None:
        """(responsible person, deadline) of an activation, None if none was recorded."""
        row = self._db.execute(
            "SELECT responsible, due FROM deadlines WHERE activation_id = ?", (activation_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def overdue(self, now: float, limit: int = 1000) -> list[dict[str, object]]:
        """Activations past their deadline without a disposition, oldest first.

        Each is the activation's payload plus ``responsible`` and ``due`` (epoch s).
        """
        rows = self._db.execute(
            "SELECT e.payload, t.responsible, t.due FROM events e"
            " JOIN deadlines t ON t.activation_id = e.event_id"
            " LEFT JOIN dispositions d ON d.activation_id = e.event_id"
            " WHERE d.activation_id IS NULL AND t.due < ? ORDER BY e.seq LIMIT ?",
            (now, limit),
        ).fetchall()
        return [{**json.loads(p), "responsible": r, "due": due} for p, r, due in rows]

    def open_dispositions(self) -> int:
        """How many activations still lack a disposition."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM events e LEFT JOIN dispositions d"
            " ON d.activation_id = e.event_id WHERE e.state = 'active'"
            " AND d.activation_id IS NULL"
        ).fetchone()
        return int(row[0])

    def without_disposition(self, limit: int = 1000) -> list[dict[str, object]]:
        """Activations (oldest first) that still lack a disposition (闭环 not closed)."""
        rows = self._db.execute(
            "SELECT e.payload FROM events e LEFT JOIN dispositions d"
            " ON d.activation_id = e.event_id WHERE e.state = 'active'"
            " AND d.activation_id IS NULL ORDER BY e.seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def event(self, event_id: str) -> dict[str, object] | None:
        """One journaled event by id."""
        row = self._db.execute(
            "SELECT payload FROM events WHERE event_id = ?", (event_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save_alarm(self, alarm: StoredAlarm) -> None:
        """Store an alarm's state without an event (e.g. condition while shelved).

        Raises JournalError when SQLite cannot write (disk full, I/O error).
        """
        try:
            self._save_alarm(alarm)
        except sqlite3.Error as exc:
            where = f"{alarm.device}/{alarm.point}/{alarm.kind}"
            msg = f"cannot save alarm {where} in {self.path}: {exc}"
            raise JournalError(msg) from exc

    def _save_alarm(self, alarm: StoredAlarm) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO alarms VALUES (?,?,?,?,?,?,?)",
            (
                alarm.device,
                alarm.point,
                alarm.kind,
                alarm.state,
                int(alarm.condition),
                alarm.activation_id,
                alarm.shelved_until,
            ),
        )

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _transaction(self) -> AlarmJournal._Tx:
        return AlarmJournal._Tx(self._db)
