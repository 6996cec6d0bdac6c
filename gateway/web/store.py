"""The panel's own alarm history (SQLite, WAL), de-duplicated by ``event_id``.

The panel keeps what it received so that a restart loses nothing and a redelivery (QoS 1
may deliver twice; a replaying edge resends) doubles nothing: ``events`` holds every
event once, ``activations`` folds them into one row per alarm activation (raised,
acknowledged, cleared, disposition: what history, CSV and the monthly report read),
``current`` keeps the newest event per alarm key (what the console rebuilds from after a
restart), and ``status_log`` records each online/offline change for offline hours.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.contracts import AlarmEvent, AlarmState

__all__ = ["ACTIVATION_COLUMNS", "AlarmStore", "HistoryQuery"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, enterprise TEXT, site TEXT, seq INTEGER, epoch REAL,
    payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activations (
    activation_id TEXT PRIMARY KEY, enterprise TEXT, site TEXT, device TEXT, point TEXT,
    kind TEXT, level INTEGER, first_out INTEGER, raised REAL, value REAL, limit_value REAL,
    unit TEXT, acked REAL, acked_by TEXT, cleared REAL, disposed REAL, disposed_by TEXT,
    cause TEXT, action TEXT, last_state TEXT);
CREATE INDEX IF NOT EXISTS activations_raised ON activations (enterprise, site, raised);
CREATE TABLE IF NOT EXISTS current (
    enterprise TEXT, site TEXT, device TEXT, point TEXT, kind TEXT, seq INTEGER,
    payload TEXT NOT NULL, PRIMARY KEY (enterprise, site, device, point, kind));
CREATE TABLE IF NOT EXISTS status_log (enterprise TEXT, site TEXT, epoch REAL, state TEXT);
"""
ACTIVATION_COLUMNS = (
    "activation_id", "enterprise", "site", "device", "point", "kind", "level", "first_out",
    "raised", "value", "limit_value", "unit", "acked", "acked_by", "cleared", "disposed",
    "disposed_by", "cause", "action", "last_state",
)  # fmt: skip
# Which column an event of each state stamps with its time (and who did it).
_STAMP = {
    AlarmState.ACKNOWLEDGED: ("acked", "acked_by"),
    AlarmState.CLEARED: ("cleared", None),
    AlarmState.DISPOSITION: ("disposed", "disposed_by"),
}


@dataclass(frozen=True)
class HistoryQuery:
    """History filters (all optional) and a page."""

    enterprise: str | None = None
    site: str | None = None
    device: str | None = None
    point: str | None = None
    kind: str | None = None
    level: int | None = None
    since: float | None = None
    until: float | None = None
    no_disposition: bool = False
    overdue_before: float | None = None  # raised before this and still without disposition
    limit: int = 50
    offset: int = 0

    def where(self) -> tuple[str, list[Any]]:
        """The SQL WHERE clause and its parameters."""
        clauses, params = ["1=1"], []
        for column in ("enterprise", "site", "device", "point", "kind", "level"):
            value = getattr(self, column)
            if value is not None and value != "":
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append("raised >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("raised < ?")
            params.append(self.until)
        if self.no_disposition or self.overdue_before is not None:
            clauses.append("disposed IS NULL")
        if self.overdue_before is not None:
            clauses.append("raised < ?")
            params.append(self.overdue_before)
        return " AND ".join(clauses), params


class AlarmStore:
    """SQLite store of alarm events; one connection shared under a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def add(self, event: AlarmEvent) -> bool:
        """Store ``event`` once; False when its ``event_id`` was already stored."""
        payload = json.dumps(event.to_dict(), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?)",
                (event.event_id, event.enterprise, event.site, event.seq, event.epoch, payload),
            )
            if cursor.rowcount == 0:
                return False
            self._fold(event)
            self._db.execute(
                "INSERT INTO current VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET seq = excluded.seq, payload = excluded.payload "
                "WHERE excluded.seq >= current.seq",
                (*_key(event), event.seq, payload),
            )
        return True

    def _fold(self, event: AlarmEvent) -> None:
        """Fold one new event into its activation row."""
        activation = event.activation_id or event.event_id
        self._db.execute(
            "INSERT OR IGNORE INTO activations (activation_id, enterprise, site, device, point,"
            " kind, level, first_out, raised, value, limit_value, unit)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (activation, *_key(event), event.level, int(bool(event.first_out)), event.epoch,
             event.value, event.limit, event.unit),
        )  # fmt: skip
        if event.state == AlarmState.ACTIVE and activation == event.event_id:
            self._db.execute(
                "UPDATE activations SET raised = ?, value = ?, limit_value = ?, first_out = ?"
                " WHERE activation_id = ?",
                (event.epoch, event.value, event.limit, int(bool(event.first_out)), activation),
            )
        stamp = _STAMP.get(event.state)
        if stamp is not None:
            column, by_column = stamp
            sets, params = [f"{column} = COALESCE({column}, ?)"], list[Any]([event.epoch])
            if by_column is not None:
                sets.append(f"{by_column} = COALESCE({by_column}, ?)")
                params.append(event.by)
            if event.state == AlarmState.DISPOSITION:
                sets += ["cause = ?", "action = ?"]
                params += [event.cause, event.action]
            self._db.execute(
                f"UPDATE activations SET {', '.join(sets)} WHERE activation_id = ?",
                (*params, activation),
            )
        self._db.execute(
            "UPDATE activations SET last_state = ? WHERE activation_id = ?",
            (event.state.value, activation),
        )

    def current(self) -> Iterator[AlarmEvent]:
        """The newest event of every alarm key ever seen (the console's restart state)."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM current").fetchall()
        for row in rows:
            yield AlarmEvent.from_payload(row["payload"])

    def activation(self, activation_id: str) -> dict[str, Any] | None:
        """The activation row of ``activation_id``, if stored."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM activations WHERE activation_id = ?", (activation_id,)
            ).fetchone()
        return dict(row) if row is not None else None

    def history(self, query: HistoryQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of activations, newest first, and the total matching the filters."""
        where, params = query.where()
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM activations WHERE {where}", params)
            count = int(total.fetchone()[0])
            rows = self._db.execute(
                f"SELECT * FROM activations WHERE {where} ORDER BY raised DESC LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
        return [dict(row) for row in rows], count

    def activations(self, enterprise: str, site: str, since: float, until: float) -> list[Any]:
        """Every activation of a site raised in [since, until), oldest first."""
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT * FROM activations WHERE enterprise = ? AND site = ?"
                    " AND raised >= ? AND raised < ? ORDER BY raised",
                    (enterprise, site, since, until),
                )
            )

    def log_status(self, enterprise: str, site: str, epoch: float, state: str) -> None:
        """Record an online/offline change (callers pass only changes)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO status_log VALUES (?, ?, ?, ?)", (enterprise, site, epoch, state)
            )

    def status_changes(self, enterprise: str, site: str) -> Sequence[tuple[float, str]]:
        """Every recorded (epoch, state) change of a site, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT epoch, state FROM status_log WHERE enterprise = ? AND site = ?"
                " ORDER BY epoch",
                (enterprise, site),
            ).fetchall()
        return [(float(r["epoch"]), str(r["state"])) for r in rows]


def _key(event: AlarmEvent) -> tuple[str, str, str, str, str]:
    return (event.enterprise, event.site, event.device, event.point, event.kind.value)
