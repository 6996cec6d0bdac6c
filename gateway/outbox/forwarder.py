"""Typed entry to the outbox: alarm events and telemetry windows in, topics and bytes out.

The composition root hands contract objects here; this is the one place that turns them
into MQTT topics and payloads (through gateway.contracts), so nothing upstream encodes.

Alarms are stored (fsynced) before :meth:`OutboxForwarder.alarms` returns, the events given
together in one transaction (the composition root hands over all the events of one event-loop
turn: an alarm storm on a poll tick costs one fsync, not one per event). Telemetry windows
of one short interval (``group_s``, 50 ms) share one outbox transaction (group commit): on a
wide site every device closes a window each second, evenly spread, and one transaction
per window was most of the edge's CPU (bench/pipeline.py). A window waits at most
``group_s`` before it is queued, which is like the window closing that much later; alarms
never wait for it (they have their own lane and are sent first). Windows are encoded when
their group is stored, not when they arrive: the devices of one poll tick answer together,
and an alarm of the tick's last device then waits for the others' detection only, not for
their JSON (bench/latency.py).

At QoS 0, a group whose turn it is anyway (connected, nothing queued before it) is handed
straight to the connection (``send_fresh``) instead of being stored and deleted a moment
later: the outbox holds what waits, not what goes out at once (docs/mqtt.md).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence

import orjson

from gateway.contracts.alarm import AlarmEvent
from gateway.contracts.telemetry import TelemetryWindow
from gateway.contracts.topics import alarm_topic, telemetry_topic
from gateway.outbox.model import Lane, OutboxError
from gateway.outbox.store import Outbox

__all__ = ["TELEMETRY_GROUP_S", "OutboxForwarder"]

log = logging.getLogger(__name__)

ALARM_QOS = 1
TELEMETRY_GROUP_S = 0.05
GROUP_MAX = 256  # windows in one transaction at most (a burst flushes at once)


class OutboxForwarder:
    """Encodes and queues; ``on_put`` wakes the sender after each put.

    Without a running event loop (or with ``group_s`` 0) telemetry is stored at once.
    ``send_fresh(messages)`` (QoS 0 only) may take a group instead; False: store it.
    ``alarms_first()`` runs before a telemetry group is stored or sent: the composition
    root queues its waiting alarm events there, so no telemetry overtakes them.
    """

    def __init__(
        self,
        outbox: Outbox,
        enterprise: str,
        site: str,
        *,
        telemetry_qos: int = 0,
        on_put: Callable[[], None] = lambda: None,
        group_s: float = TELEMETRY_GROUP_S,
        send_fresh: Callable[[list[tuple[str, bytes]]], bool] | None = None,
        alarms_first: Callable[[], None] = lambda: None,
    ) -> None:
        self.outbox = outbox
        self.enterprise = enterprise
        self.site = site
        self.telemetry_qos = telemetry_qos
        self.group_s = group_s
        self._on_put = on_put
        self._send_fresh = send_fresh if telemetry_qos == 0 else None
        self._alarms_first = alarms_first
        self._pending: list[TelemetryWindow] = []
        self._flush_timer: asyncio.TimerHandle | None = None

    def alarms(self, events: Sequence[AlarmEvent]) -> None:
        """Queue alarm events (QoS 1), in order, in one transaction (all or none stored).

        OutboxError/sqlite3.Error when the disk fails.
        """
        self.alarm_payloads([(e.device, e.point, orjson.dumps(e.to_dict())) for e in events])

    def alarm_payloads(self, alarms: Sequence[tuple[str, str, bytes]]) -> None:
        """Queue ready (device, point, payload) alarms like :meth:`alarms`.

        The payloads are the journal's copies of events not yet queued at a crash.
        """
        items = [
            (Lane.ALARM, alarm_topic(self.enterprise, self.site, device, point), payload, ALARM_QOS)
            for device, point, payload in alarms
        ]
        if items:
            self.outbox.put_many(items)
            self._on_put()

    def telemetry(self, window: TelemetryWindow) -> None:
        """Queue one telemetry window of one device (within ``group_s``)."""
        self._pending.append(window)
        if len(self._pending) >= GROUP_MAX or not self._flush_scheduled():
            self.flush()

    def flush(self) -> None:
        """Store the windows waiting for their group commit now (at stop, or when full)."""
        self._alarms_first()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        windows, self._pending = self._pending, []
        if not windows:
            return
        messages = [self._encode(w) for w in windows]
        if self._send_fresh is not None and self._send_fresh(messages):
            return
        qos = self.telemetry_qos
        self.outbox.put_many([(Lane.TELEMETRY, topic, payload, qos) for topic, payload in messages])
        self._on_put()

    def _encode(self, window: TelemetryWindow) -> tuple[str, bytes]:
        return telemetry_topic(self.enterprise, self.site, window.device), window.to_json()

    def _flush_scheduled(self) -> bool:
        """True when a flush is (now) due within ``group_s``; False: flush at once."""
        if self._flush_timer is not None:
            return True
        if self.group_s <= 0:
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._flush_timer = loop.call_later(self.group_s, self._flush_due)
        return True

    def _flush_due(self) -> None:
        # A timer callback: an error here would only reach the loop's exception handler.
        # The outbox keeps telemetry in memory itself when the disk fails; what is left
        # is a broken database, so report loudly how many windows it refused.
        self._flush_timer = None
        count = len(self._pending)
        try:
            self.flush()
        except (OutboxError, sqlite3.Error):
            log.exception("outbox refused %d telemetry windows", count)
