"""What the outbox falls back on when the disk cannot take a write.

A full disk must never silence an alarm (docs/operations.md, "Full disk"). Two things
make sure of it:

* :class:`MemoryLane` keeps the messages SQLite refused, in order, with negative ids so
  they never clash with rows: every alarm (never dropped), and the newest telemetry up
  to a bound (older ones are dropped and counted). The publisher sends them like rows;
  they move into the database as soon as it can write again.
* :class:`SpaceReserve` is a file of zeros kept next to the database. SQLite needs free
  space even to *delete* (the WAL grows first), so on a completely full disk thinning
  could free nothing; deleting the reserve gives it that room. It is made again once the
  file system has space for it.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import deque
from dataclasses import replace
from pathlib import Path

from gateway.outbox.model import Lane, OutboxMessage

__all__ = ["DEFAULT_RESERVE_BYTES", "MEMORY_TELEMETRY", "MemoryLane", "SpaceReserve"]

log = logging.getLogger(__name__)

#: Room kept free for the outbox's own deletes and checkpoints (a few thinning steps).
DEFAULT_RESERVE_BYTES = 4 << 20
#: Telemetry windows kept in memory while the disk is full; older ones are dropped.
MEMORY_TELEMETRY = 2000
_CHUNK = 64 * 1024


class MemoryLane:
    """Messages the database refused, oldest first; ids are negative and only shrink."""

    def __init__(self, telemetry_limit: int = MEMORY_TELEMETRY) -> None:
        self.alarms: deque[OutboxMessage] = deque()
        self.telemetry: deque[OutboxMessage] = deque()
        self.telemetry_limit = telemetry_limit
        self.dropped_telemetry = 0
        self._next_id = -1

    def __len__(self) -> int:
        return len(self.alarms) + len(self.telemetry)

    def put(self, lane: Lane, topic: str, payload: bytes, qos: int, created: float) -> int:
        """Keep one message; the oldest telemetry goes when over the bound."""
        message = OutboxMessage(self._next_id, lane, topic, payload, qos, created, 0)
        self._next_id -= 1
        if lane is Lane.ALARM:
            self.alarms.append(message)
        else:
            self.telemetry.append(message)
            while len(self.telemetry) > self.telemetry_limit:
                self.telemetry.popleft()
                self.dropped_telemetry += 1
        return message.id

    def mark_attempt(self, ids: set[int]) -> None:
        """One more attempt for each kept message in ``ids``."""
        for queue in (self.alarms, self.telemetry):
            for i, message in enumerate(queue):
                if message.id in ids:
                    queue[i] = replace(message, attempts=message.attempts + 1)

    def remove(self, ids: set[int]) -> list[OutboxMessage]:
        """Drop the messages in ``ids`` (sent, or moved into the database); those removed."""
        removed = [m for q in (self.alarms, self.telemetry) for m in q if m.id in ids]
        if removed:
            self.alarms = deque(m for m in self.alarms if m.id not in ids)
            self.telemetry = deque(m for m in self.telemetry if m.id not in ids)
        return removed


class SpaceReserve:
    """A file of ``size`` zero bytes at ``path``, given up when the disk is full."""

    def __init__(self, path: Path, size: int = DEFAULT_RESERVE_BYTES) -> None:
        self.path = path
        self.size = size
        self.released = 0  # times the reserve was given up

    @property
    def held(self) -> bool:
        """True while the reserve file exists at its full size."""
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def ensure(self) -> bool:
        """Make the reserve if it is missing and the disk has twice its size free."""
        if self.size <= 0 or self.held:
            return self.held
        try:
            if shutil.disk_usage(self.path.parent).free < 2 * self.size:
                return False
            with self.path.open("wb") as stream:
                zeros = bytes(_CHUNK)
                for start in range(0, self.size, _CHUNK):
                    stream.write(zeros[: min(_CHUNK, self.size - start)])
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as exc:  # the disk filled up meanwhile: try again later
            log.debug("outbox reserve %s not made: %s", self.path, exc)
            self.path.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> bool:
        """Delete the reserve so SQLite has room; True if there was one to delete."""
        if not self.path.exists():
            return False
        try:
            self.path.unlink()
        except OSError as exc:
            log.error("outbox reserve %s cannot be deleted: %s", self.path, exc)
            return False
        self.released += 1
        log.critical(
            "Disk full: released the outbox reserve %s (%d bytes) so telemetry can be thinned",
            self.path,
            self.size,
        )
        return True
