"""Durable store-and-forward between the alarm/telemetry producers and MQTT.

Every alarm event and telemetry batch is written to SQLite (WAL, fsynced) before it is
published and deleted only after the broker acknowledged it. After a restart or reconnect
the backlog is sent again in order, all alarms before any telemetry, and each resent
payload is marked ``"replayed": true`` so stale data never looks fresh. The disk is bounded
by a quota (:func:`default_quota`: 7 days of the site's telemetry); over it the oldest
telemetry is thinned and counted, alarms are never dropped. On a full disk the outbox gives
up its space reserve to thin, keeps what still does not fit in memory (alarms always) and
sends it from there; it starts degraded rather than refusing (docs/operations.md)::

    model.py   Lane, OutboxMessage, OutboxStats, OutboxError, is_replay, mark_replayed
    quota.py   byte accounting, default_quota, which telemetry to thin
    schema.py  opening the database: pragmas, schema version, counters
    store.py   Outbox (put, put_many, peek, mark_attempt, ack, stats)
    fallback.py  MemoryLane and SpaceReserve: what a full disk falls back on

Known cost of thinning: deleting every second row leaves SQLite pages partly empty, so the
file can be larger than the accounted ``bytes_on_disk`` (``OutboxStats.file_bytes`` shows
both); new rows reuse freed pages, and pages come back to the file system once a backlog
has drained (incremental vacuum).
"""

from __future__ import annotations

from gateway.outbox.model import (
    Lane,
    OutboxError,
    OutboxMessage,
    OutboxStats,
    is_replay,
    mark_replayed,
)
from gateway.outbox.quota import default_quota
from gateway.outbox.store import Outbox, PutItem

__all__ = [
    "Lane",
    "Outbox",
    "OutboxError",
    "OutboxMessage",
    "OutboxStats",
    "PutItem",
    "default_quota",
    "is_replay",
    "mark_replayed",
]
