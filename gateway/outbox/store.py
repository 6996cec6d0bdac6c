"""The durable outbox: written before publishing, deleted only after the broker's ack.

How the publisher uses it, one message or batch at a time::

    session_start = outbox.begin_session()        # on every (re)connect
    for msg in outbox.peek(100):                   # all alarms, then telemetry, oldest first
        payload = mark_replayed(msg.payload) if outbox.is_replay(msg) else msg.payload
        outbox.mark_attempt([msg.id])              # before publishing: a crash now => replay
        await client.publish(msg.topic, payload, qos=msg.qos)
        outbox.ack([msg.id])                       # after PUBACK (QoS 1) or the write (QoS 0)

Durability is spent where it matters: alarm puts commit with ``synchronous=FULL`` (the WAL
is fsynced before ``put`` returns), telemetry puts with ``NORMAL`` (see ``_insert``).
``mark_attempt``, ``ack`` and thinning commit with
``NORMAL``: a process crash loses none of them (the WAL is in the OS cache already) and a
power loss can at worst forget the last few, which means a message is sent once more,
marked as replayed - never lost. All calls are synchronous and short, meant for the
event loop; the connection belongs to the thread that opened the outbox.

A full or failing disk never stops delivery (docs/operations.md, "Full disk"): a put the
database refuses, even after giving up the space reserve and thinning telemetry, is kept
in the :class:`~gateway.outbox.fallback.MemoryLane` and peeked like a row; a failed
``mark_attempt`` is only logged; an ``ack`` whose delete fails is remembered so the
message is not sent again this session. An outbox that cannot even open on a full disk
starts *degraded*, from memory, and retries the file every few seconds. ``stats()``
says so (``degraded``, ``memory_alarms``), and it reaches the status topic.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from gateway.outbox.fallback import DEFAULT_RESERVE_BYTES, MemoryLane, SpaceReserve
from gateway.outbox.model import Lane, OutboxError, OutboxMessage, OutboxStats, is_replay
from gateway.outbox.quota import (
    THIN_TARGET,
    default_quota,
    row_bytes,
    thin_victims,
    thin_window,
)
from gateway.outbox.schema import COUNTERS, open_database, read_counters

__all__ = ["Outbox", "PutItem"]

log = logging.getLogger(__name__)

#: ``(lane, topic, payload, qos)`` as :meth:`Outbox.put_many` takes it.
PutItem = tuple[Lane | int, str, bytes, int]

_COLUMNS = "id, lane, topic, payload, qos, created, attempts"
_CHUNK = 500  # ids per statement, well under SQLite's bound-parameter limit
_THIN_BUDGET_ROWS = 1024  # rows one put may thin before it returns; the next put goes on
_VACUUM_FREE_PAGES = 2048  # hand pages back to the file system beyond this many free ones
_VACUUM_STEP_PAGES = 512
_REOPEN_EVERY_S = 5.0  # a degraded outbox tries its file again this often
_RESERVE_EVERY_S = 10.0  # and a released reserve is made again (when there is room)


class Outbox:
    """SQLite-backed store-and-forward queue with an alarm lane and a telemetry lane."""

    default_quota = staticmethod(default_quota)

    def __init__(
        self,
        path: Path,
        *,
        quota_bytes: int,
        clock: Callable[[], float] = time.time,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
    ) -> None:
        if quota_bytes <= 0:
            msg = f"outbox quota_bytes must be positive, got {quota_bytes!r}"
            raise ValueError(msg)
        self.path = Path(path)
        self.quota_bytes = quota_bytes
        self._clock = clock
        self._sync = "FULL"
        self._thinning = False
        self._warned_alarms = False
        self.memory = MemoryLane()
        self.reserve = SpaceReserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self.degraded = ""  # why the disk cannot be used right now; "" when it can
        self._disk_failures = 0
        self._thin_failures = 0
        self._disk_quota: int | None = None  # lowered to what fitted when the disk filled
        self._unsent_acks: set[int] = set()  # sent, but the delete failed: not sent again
        self._memory_sent = 0
        self._retry_at = 0.0
        self._reserve_at = 0.0
        self._counters = dict.fromkeys(COUNTERS, 0)
        self._floor = 0
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self.session_start = clock()
        self._open()

    def _open(self) -> None:
        """Open the file; on a full or failing disk, release the reserve or go degraded."""
        for attempt in (1, 2):
            try:
                conn = open_database(self.path)
            except OutboxError as exc:
                if not _disk_trouble(exc):
                    raise
                if attempt == 1 and self.reserve.release():
                    continue
                self._disk_failed(str(exc))
                return
            break
        try:
            self._counters = read_counters(conn)
            self._conn = conn
            self._floor = self._max_id()
        except sqlite3.Error as exc:
            self.close()
            msg = f"outbox {self.path}: cannot read its counters: {exc}"
            raise OutboxError(msg) from exc
        self.reserve.ensure()

    def _usable(self) -> bool:
        """True when the database is open; a degraded outbox tries it every few seconds."""
        if self._conn is not None:
            return True
        if self._closed:
            msg = f"outbox {self.path} is closed"
            raise OutboxError(msg)
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + _REOPEN_EVERY_S
        self._open()
        return self._conn is not None

    # -- sessions and replay -------------------------------------------------------------
    def begin_session(self) -> float:
        """Start a broker session: whatever is stored now is a replay when sent from here on."""
        self.session_start = self._clock()
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._floor = self._max_id()
        return self.session_start

    def is_replay(self, msg: OutboxMessage) -> bool:
        """Like :func:`is_replay`, and also true for anything stored before the session began.

        The id check does not trust the wall clock, which may step back after a restart.
        """
        return 0 < msg.id <= self._floor or is_replay(msg, self.session_start)

    # -- writing ---------------------------------------------------------------------------
    def put(self, lane: Lane | int, topic: str, payload: bytes, qos: int) -> int:
        """Store one message durably and return its id (ids only grow)."""
        return self.put_many([(lane, topic, payload, qos)])[0]

    def put_many(self, items: Iterable[PutItem]) -> list[int]:
        """Store messages in one transaction (one fsync); their ids, in order."""
        rows = [_checked(item) for item in items]
        if not rows:
            return []
        try:
            if not self._usable():
                return self._keep(rows)
            if self.memory and not self._flush_memory():
                return self._keep(rows)  # behind the older ones in memory: order is kept
            ids = self._insert_making_room(rows)
        except OutboxError as exc:
            if not _disk_trouble(exc):
                raise
            self._disk_failed(str(exc))
            return self._keep(rows)
        self._disk_ok()
        self._after_put(len(rows))
        return ids

    def _insert_making_room(
        self, rows: list[tuple[Lane, str, bytes, int]], created: list[float] | None = None
    ) -> list[int]:
        try:
            return self._insert(rows, created)
        except OutboxError as exc:
            if not _disk_full(exc):
                raise
            # Deletes need free space too (the WAL grows first): give up the reserve,
            # remember what fitted as the new limit, and thin telemetry into it.
            # The outbox may then grow into half the room the reserve gave back (the
            # other half stays for deletes and checkpoints); with no reserve left, it
            # shrinks to what fitted, so the next puts thin before they hit the wall.
            freed = self.reserve.size if self.reserve.release() else 0
            used = self._counters["bytes_alarms"] + self._counters["bytes_telemetry"]
            self._disk_quota = used + freed // 2 if freed else int(used * THIN_TARGET)
            if self._counters["queued_telemetry"]:
                self._thin_until(0, budget=max(_THIN_BUDGET_ROWS, 4 * len(rows)))
            return self._insert(rows, created)

    def _flush_memory(self) -> bool:
        """Move what memory kept into the database, oldest first; False if it cannot."""
        kept = [*self.memory.alarms, *self.memory.telemetry]
        try:
            self._insert_making_room(
                [(m.lane, m.topic, m.payload, m.qos) for m in kept], [m.created for m in kept]
            )
        except OutboxError as exc:
            if not _disk_trouble(exc):
                raise
            return False
        self.memory.remove({m.id for m in kept})
        log.warning("outbox %s: moved %d messages from memory to disk", self.path, len(kept))
        return True

    def _keep(self, rows: list[tuple[Lane, str, bytes, int]]) -> list[int]:
        now = self._clock()
        return [
            self.memory.put(lane, topic, payload, qos, now) for lane, topic, payload, qos in rows
        ]

    def _disk_failed(self, why: str) -> None:
        """First failure loud, with what to do; repeats counted quietly."""
        self._disk_failures += 1
        if not self.degraded:
            log.critical(
                "outbox %s cannot write (%s): alarms are kept in memory and sent from there; "
                "free disk space (docs/operations.md, Full disk), never delete the outbox",
                self.path,
                why,
            )
        else:
            log.debug("outbox %s still cannot write: %s", self.path, why)
        self.degraded = why

    def _disk_ok(self) -> None:
        if self.degraded:
            log.warning(
                "outbox %s writes again after %d failed writes", self.path, self._disk_failures
            )
            self.degraded = ""
            self._disk_failures = 0
        now = time.monotonic()
        if not self.reserve.held and now >= self._reserve_at:
            self._reserve_at = now + _RESERVE_EVERY_S
            self._vacuum(force=True)
            if self.reserve.ensure():
                self._disk_quota = None

    def mark_attempt(self, ids: Iterable[int]) -> None:
        """Count one more publish attempt for each id (call it just before publishing).

        Never in the way of a send: when the disk refuses the update, a crash now at worst
        resends the message, and it is marked replayed then anyway (it predates the session).
        """
        wanted = list(ids)
        self.memory.mark_attempt({i for i in wanted if i < 0})
        stored = [i for i in wanted if i > 0]
        if not stored or self._conn is None:
            return
        try:
            with self._write("mark_attempt", "NORMAL") as conn:
                for chunk in _chunks(stored):
                    marks = ",".join("?" * len(chunk))
                    conn.execute(
                        f"UPDATE messages SET attempts = attempts + 1 WHERE id IN ({marks})",
                        chunk,
                    )
        except OutboxError as exc:
            if not _disk_trouble(exc):
                raise
            log.debug("%s; publishing anyway", exc)

    def ack(self, ids: Iterable[int]) -> None:
        """Remove messages the broker acknowledged; counts them as sent (and replayed)."""
        wanted = list(ids)
        self._memory_sent += len(self.memory.remove({i for i in wanted if i < 0}))
        stored = [i for i in wanted if i > 0] + sorted(self._unsent_acks)
        if not stored:
            return
        if self._conn is None:  # degraded: delete them once the file opens again
            self._unsent_acks.update(stored)
            return
        try:
            self._delete_sent(stored)
        except OutboxError as exc:
            if not _disk_trouble(exc):
                raise
            self.reserve.release()  # deletes need room too; the next ack tries again
            self._unsent_acks.update(stored)
            return
        self._unsent_acks.clear()
        self._maybe_vacuum()

    def _delete_sent(self, stored: list[int]) -> None:
        deltas = dict.fromkeys(COUNTERS, 0)
        with self._write("ack", "NORMAL") as conn:
            for lane, size, attempts, created, row_id in self._delete(conn, stored):
                _count_removed(deltas, lane, size)
                deltas["sent"] += 1
                if row_id <= self._floor or attempts > 1 or created < self.session_start:
                    deltas["replayed"] += 1
            self._bump(conn, deltas)
        self._apply(deltas)

    # -- reading ---------------------------------------------------------------------------
    def peek(self, limit: int, *, lane: Lane | None = None) -> list[OutboxMessage]:
        """Up to ``limit`` messages, all alarms before any telemetry, each lane oldest first.

        Messages kept in memory follow the stored ones of their lane (they are newer).
        """
        stored: list[OutboxMessage] = []
        if self._usable():
            try:
                stored = self._peek_stored(limit + len(self._unsent_acks), lane)
            except OutboxError as exc:
                if not _disk_trouble(exc):
                    raise
                self._disk_failed(str(exc))
        stored = [m for m in stored if m.id not in self._unsent_acks]
        alarms = [m for m in stored if m.lane is Lane.ALARM]
        telemetry = [m for m in stored if m.lane is Lane.TELEMETRY]
        if lane in (None, Lane.ALARM):
            alarms += self.memory.alarms
        if lane in (None, Lane.TELEMETRY):
            telemetry += self.memory.telemetry
        return [*alarms, *telemetry][:limit]

    def _peek_stored(self, limit: int, lane: Lane | None) -> list[OutboxMessage]:
        args: tuple[int, ...]
        if lane is None:
            sql, args = f"SELECT {_COLUMNS} FROM messages ORDER BY lane, id LIMIT ?", (limit,)
        else:
            sql = f"SELECT {_COLUMNS} FROM messages WHERE lane = ? ORDER BY id LIMIT ?"
            args = (int(lane), limit)
        try:
            rows = self._live().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            msg = f"outbox {self.path}: peek failed: {exc}"
            raise OutboxError(msg) from exc
        return [OutboxMessage(r[0], Lane(r[1]), r[2], bytes(r[3]), r[4], r[5], r[6]) for r in rows]

    def is_empty(self) -> bool:
        """Nothing queued, on disk or in memory, sent or not (the counters: no query).

        A message stays counted until it is acknowledged, so while a batch is in flight
        (or a delete failed) this is False.
        """
        c = self._counters
        return not (c["queued_alarms"] or c["queued_telemetry"] or self.memory)

    def stats(self) -> OutboxStats:
        """Counters as of now; ``file_bytes`` is the database plus its WAL on disk."""
        c = self._counters
        files = (self.path, self.path.with_name(self.path.name + "-wal"))
        memory = self.memory
        return OutboxStats(
            queued_alarms=c["queued_alarms"] + len(memory.alarms),
            queued_telemetry=c["queued_telemetry"] + len(memory.telemetry),
            bytes_on_disk=c["bytes_alarms"] + c["bytes_telemetry"],
            sent=c["sent"] + self._memory_sent,
            replayed=c["replayed"],
            thinned=c["thinned"],
            put_alarms=c["put_alarms"],
            put_telemetry=c["put_telemetry"],
            file_bytes=sum(f.stat().st_size for f in files if f.exists()),
            degraded=self.degraded,
            memory_alarms=len(memory.alarms),
            memory_telemetry=len(memory.telemetry),
            dropped_telemetry=memory.dropped_telemetry,
            reserve_held=self.reserve.held,
        )

    def recount(self) -> tuple[int, int, int]:
        """``(alarms, telemetry, accounted bytes)`` counted from the rows (slow; for checks)."""
        sql = "SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE lane = ?"
        conn = self._live()
        alarms, alarm_bytes = conn.execute(sql, (int(Lane.ALARM),)).fetchone()
        telemetry, telemetry_bytes = conn.execute(sql, (int(Lane.TELEMETRY),)).fetchone()
        return int(alarms), int(telemetry), int(alarm_bytes + telemetry_bytes)

    def close(self) -> None:
        """Close the database (idempotent); SQLite checkpoints the WAL on the way out."""
        self._closed = True
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------
    def _insert(
        self, rows: list[tuple[Lane, str, bytes, int]], created: list[float] | None = None
    ) -> list[int]:
        deltas = dict.fromkeys(COUNTERS, 0)
        ids: list[int] = []
        now = self._clock()
        sql = (
            "INSERT INTO messages (lane, topic, payload, qos, created, size) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        # Alarms are fsynced before put returns. Telemetry alone commits without an fsync:
        # a killed process loses none of it (the WAL is in the OS cache), a power cut may
        # lose the last windows, and the next alarm's fsync makes them durable too. That
        # fsync per window was most of the edge's time on wide sites (bench/pipeline.py).
        sync = "FULL" if any(lane == Lane.ALARM for lane, *_ in rows) else "NORMAL"
        with self._write("put", sync) as conn:
            for i, (lane, topic, payload, qos) in enumerate(rows):
                size = row_bytes(len(topic.encode()) + len(payload))
                when = created[i] if created is not None else now
                cursor = conn.execute(sql, (lane, topic, payload, qos, when, size))
                ids.append(int(cursor.lastrowid or 0))
                name = "alarms" if lane == Lane.ALARM else "telemetry"
                deltas[f"put_{name}"] += 1
                deltas[f"queued_{name}"] += 1
                deltas[f"bytes_{name}"] += size
            self._bump(conn, deltas)
        self._apply(deltas)
        return ids

    def _after_put(self, added: int) -> None:
        quota = self.quota_bytes if self._disk_quota is None else self._disk_quota
        quota = max(1, min(self.quota_bytes, quota))
        if self._counters["bytes_alarms"] + self._counters["bytes_telemetry"] > quota:
            self._thinning = True
        if self._thinning:
            target = int(quota * THIN_TARGET)
            try:
                self._thin_until(target, budget=max(_THIN_BUDGET_ROWS, 2 * added))
            except OutboxError as exc:  # the put itself is committed: report, do not fail it
                self._thin_failures += 1  # first loud; on a full disk it repeats every put
                level = logging.ERROR if self._thin_failures == 1 else logging.DEBUG
                log.log(level, "outbox %s: thinning failed: %s", self.path, exc)
            else:
                self._thin_failures = 0
        alarm_bytes = self._counters["bytes_alarms"]
        if alarm_bytes > self.quota_bytes and not self._warned_alarms:
            log.warning(
                "outbox %s: alarms alone take %d bytes, over the quota of %d; keeping every alarm",
                self.path,
                alarm_bytes,
                self.quota_bytes,
            )
            self._warned_alarms = True
        elif alarm_bytes <= self.quota_bytes * THIN_TARGET:
            self._warned_alarms = False

    def _thin_until(self, target: int, *, budget: int) -> None:
        """Thin the oldest telemetry until the accounted size is ``target`` or less.

        Stops early after ``budget`` rows so no single put stalls the event loop; the
        ``_thinning`` flag makes the next put go on. Alarms are never touched.
        """
        deleted = 0
        while self._counters["bytes_alarms"] + self._counters["bytes_telemetry"] > target:
            if not self._counters["queued_telemetry"]:
                break  # only alarms left: they are kept, whatever the quota
            if deleted >= budget:
                return
            deleted += self._thin_step()
        self._thinning = False

    def _thin_step(self) -> int:
        deltas = dict.fromkeys(COUNTERS, 0)
        window = thin_window(self._counters["queued_telemetry"])
        with self._write("thin", "NORMAL") as conn:
            rows = conn.execute(
                "SELECT id, topic FROM messages WHERE lane = ? ORDER BY id LIMIT ?",
                (int(Lane.TELEMETRY), window),
            ).fetchall()
            for lane, size, *_ in self._delete(conn, thin_victims(rows)):
                _count_removed(deltas, lane, size)
                deltas["thinned"] += 1
            self._bump(conn, deltas)
        self._apply(deltas)
        return deltas["thinned"]

    def _delete(
        self, conn: sqlite3.Connection, ids: Sequence[int]
    ) -> Iterator[tuple[int, int, int, float, int]]:
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            sql = (
                f"DELETE FROM messages WHERE id IN ({marks}) "
                f"RETURNING lane, size, attempts, created, id"
            )
            yield from conn.execute(sql, chunk).fetchall()

    def _maybe_vacuum(self) -> None:
        """After a backlog drained, give free pages back to the file system, a slice a time."""
        c = self._counters
        if (c["bytes_alarms"] + c["bytes_telemetry"]) * 4 > self.quota_bytes:
            return
        self._vacuum()

    def _vacuum(self, *, force: bool = False) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if force or conn.execute("PRAGMA freelist_count").fetchone()[0] > _VACUUM_FREE_PAGES:
                conn.execute(f"PRAGMA incremental_vacuum({_VACUUM_STEP_PAGES})").fetchall()
        except sqlite3.Error as exc:  # on a full disk this is retried every 10 s: quietly
            log.log(
                logging.DEBUG if force else logging.WARNING,
                "outbox %s: incremental vacuum failed: %s",
                self.path,
                exc,
            )

    @contextmanager
    def _write(self, what: str, sync: str) -> Iterator[sqlite3.Connection]:
        conn = self._live()
        try:
            if self._sync != sync:
                conn.execute(f"PRAGMA synchronous = {sync}")
                self._sync = sync
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            msg = f"outbox {self.path}: {what} failed: {exc}"
            raise OutboxError(msg) from exc

    def _bump(self, conn: sqlite3.Connection, deltas: dict[str, int]) -> None:
        changed = [name for name in COUNTERS if deltas[name]]
        if changed:
            sets = ", ".join(f"{name} = {name} + ?" for name in changed)
            conn.execute(f"UPDATE counters SET {sets} WHERE one = 1", [deltas[n] for n in changed])

    def _apply(self, deltas: dict[str, int]) -> None:
        for name, delta in deltas.items():
            self._counters[name] += delta

    def _max_id(self) -> int:
        row = (
            self._live()
            .execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'")
            .fetchone()
        )
        return int(row[0]) if row else 0

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = f"outbox {self.path} is closed"
            raise OutboxError(msg)
        return self._conn


def _checked(item: PutItem) -> tuple[Lane, str, bytes, int]:
    lane, topic, payload, qos = item
    if qos not in (0, 1, 2):
        msg = f"outbox: qos must be 0, 1 or 2, got {qos!r} for topic {topic!r}"
        raise ValueError(msg)
    if not isinstance(payload, bytes | bytearray | memoryview):
        msg = f"outbox: payload for topic {topic!r} must be bytes, got {type(payload).__name__}"
        raise TypeError(msg)
    return Lane(lane), topic, bytes(payload), qos


def _count_removed(deltas: dict[str, int], lane: int, size: int) -> None:
    name = "alarms" if lane == Lane.ALARM else "telemetry"
    deltas[f"queued_{name}"] -= 1
    deltas[f"bytes_{name}"] -= size


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield [int(i) for i in ids[start : start + _CHUNK]]


def _disk_trouble(exc: OutboxError) -> bool:
    """True for a full or failing disk (kept in memory), not for a broken database file."""
    cause = exc.__cause__
    if not isinstance(cause, sqlite3.Error):
        return False
    code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)


def _disk_full(exc: OutboxError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, sqlite3.Error) and getattr(cause, "sqlite_errorcode", 0) in (
        sqlite3.SQLITE_FULL,
    )
