"""Typed entry to the outbox: alarm events and telemetry windows in, topics and bytes out.

The composition root hands contract objects here; this is the one place that turns them
into MQTT topics and payloads (through gateway.contracts), so nothing upstream encodes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from gateway.contracts.alarm import AlarmEvent
from gateway.contracts.telemetry import TelemetryWindow
from gateway.contracts.topics import alarm_topic, telemetry_topic
from gateway.outbox.model import Lane
from gateway.outbox.store import Outbox

__all__ = ["OutboxForwarder"]

ALARM_QOS = 1


class OutboxForwarder:
    """Encodes and queues; ``on_put`` wakes the sender after each put."""

    def __init__(
        self,
        outbox: Outbox,
        enterprise: str,
        site: str,
        *,
        telemetry_qos: int = 0,
        on_put: Callable[[], None] = lambda: None,
    ) -> None:
        self.outbox = outbox
        self.enterprise = enterprise
        self.site = site
        self.telemetry_qos = telemetry_qos
        self._on_put = on_put

    def alarm(self, event: AlarmEvent) -> None:
        """Queue one alarm event (QoS 1); OutboxError/sqlite3.Error when the disk fails."""
        topic = alarm_topic(self.enterprise, self.site, event.device, event.point)
        self.outbox.put(Lane.ALARM, topic, json.dumps(event.to_dict()).encode(), ALARM_QOS)
        self._on_put()

    def alarm_payload(self, device: str, point: str, payload: bytes) -> None:
        """Queue an alarm payload stored earlier (the journal's copy, re-queued at start)."""
        topic = alarm_topic(self.enterprise, self.site, device, point)
        self.outbox.put(Lane.ALARM, topic, payload, ALARM_QOS)
        self._on_put()

    def telemetry(self, window: TelemetryWindow) -> None:
        """Queue one telemetry window of one device."""
        topic = telemetry_topic(self.enterprise, self.site, window.device)
        payload = json.dumps(window.to_dict()).encode()
        self.outbox.put(Lane.TELEMETRY, topic, payload, self.telemetry_qos)
        self._on_put()
