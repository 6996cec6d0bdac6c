"""The two values that travel through a worker: a received message, and a message
waiting in a batch with its rows. Kept apart from paho and HTTP so every stage can be
tested with plain values."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.ingest.convert import Rows

__all__ = ["Message", "Pending", "Round"]


@dataclass(frozen=True)
class Message:
    """One received message and the connection (generation) that delivered it."""

    mid: int
    qos: int
    generation: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class Pending:
    """A stored-kind message waiting for its batch to be written."""

    message: Message
    rows: Rows


@dataclass
class Round:
    """The messages of one collection round, in arrival order, and the batch to write.

    Every message in ``received`` is acknowledged once the round is finished (its batch
    written or dead-lettered); ``batch`` holds those whose rows are to be written.
    """

    received: list[Message] = field(default_factory=list)
    batch: list[Pending] = field(default_factory=list)
    points: int = 0
    oldest_ts: float | None = None

    def add(self, pending: Pending) -> None:
        """Put a message's rows into the batch."""
        self.batch.append(pending)
        self.points += len(pending.rows.lines)
        if self.oldest_ts is None or pending.rows.oldest_ts < self.oldest_ts:
            self.oldest_ts = pending.rows.oldest_ts
