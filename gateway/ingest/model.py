"""The values that travel through a worker: a received message, the rows it becomes, and
a message waiting in a batch with its rows. Kept apart from paho and HTTP so every stage can be
tested with plain values.

Message and Pending are named tuples: one of each is made per MQTT message, and a tuple
costs a third of a frozen dataclass to build, with the same immutability and field names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["Message", "Pending", "Round", "Rows"]


@dataclass(frozen=True, slots=True)
class Rows:
    """The lines one message becomes, joined by newlines (one string per message, not per
    line: the body of a write is a join of these), how many, and the oldest reading in it
    (for the lag gauge)."""

    text: str
    count: int
    oldest_ts: float

    @classmethod
    def of(cls, lines: Sequence[str], oldest_ts: float) -> Rows:
        """Rows from separate lines."""
        return cls("\n".join(lines), len(lines), oldest_ts)

    @property
    def lines(self) -> tuple[str, ...]:
        """The lines one by one."""
        return tuple(self.text.split("\n")) if self.count else ()


class Message(NamedTuple):
    """One received message and the connection (generation) that delivered it."""

    mid: int
    qos: int
    generation: int
    topic: str
    payload: bytes


class Pending(NamedTuple):
    """A stored-kind message waiting for its batch to be written."""

    message: Message
    rows: Rows


@dataclass(slots=True)
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
        rows = pending.rows
        self.points += rows.count
        if self.oldest_ts is None or rows.oldest_ts < self.oldest_ts:
            self.oldest_ts = rows.oldest_ts
