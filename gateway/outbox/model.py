"""Value objects of the outbox, and how a replayed message is told apart from a fresh one.

A message that waited in the outbox (the broker was away, or the process restarted) carries
old data. Subscribers, dashboards and the regulator must never take it for a live reading,
so the publisher adds ``"replayed": true`` to such a payload before sending it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum

from gateway.errors import GatewayError

__all__ = ["Lane", "OutboxError", "OutboxMessage", "OutboxStats", "is_replay", "mark_replayed"]


class OutboxError(GatewayError):
    """The outbox database cannot be opened, read or written (the message says what to do)."""


class Lane(IntEnum):
    """Delivery class; the lower value is always sent first."""

    ALARM = 0
    TELEMETRY = 1


@dataclass(frozen=True)
class OutboxMessage:
    """One stored message, as :meth:`Outbox.peek` returns it."""

    id: int
    lane: Lane
    topic: str
    payload: bytes
    qos: int
    created: float
    attempts: int


@dataclass
class OutboxStats:
    """Counters for the console and the status message; they survive restarts.

    ``bytes_on_disk`` is the accounted size the quota is checked against (payload + topic +
    a fixed per-row overhead); ``file_bytes`` is what the database and its WAL take in the
    file system right now (larger after thinning, see the package docstring).
    """

    queued_alarms: int = 0
    queued_telemetry: int = 0
    bytes_on_disk: int = 0
    sent: int = 0
    replayed: int = 0
    thinned: int = 0
    put_alarms: int = 0
    put_telemetry: int = 0
    file_bytes: int = 0
    #: Why the outbox cannot write its file right now ("" when it can: not degraded).
    degraded: str = ""
    memory_alarms: int = 0  # alarms kept in memory because the disk refused them
    memory_telemetry: int = 0
    dropped_telemetry: int = 0  # telemetry windows lost while the disk was full
    reserve_held: bool = True  # False after the space reserve was given up


def is_replay(msg: OutboxMessage, session_start: float) -> bool:
    """True when ``msg`` was tried before, or was written before this session began."""
    return msg.attempts > 0 or msg.created < session_start


def mark_replayed(payload: bytes) -> bytes:
    """Return ``payload`` with ``"replayed": true`` added, if it is a JSON object.

    Anything else (not UTF-8, not JSON, a JSON array) is returned unchanged: the outbox
    never refuses to deliver a message because it cannot annotate it.
    """
    try:
        body = json.loads(payload)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return payload
    if not isinstance(body, dict):
        return payload
    body["replayed"] = True
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
