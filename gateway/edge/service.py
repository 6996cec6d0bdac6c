"""The edge service of one site: agent, alarm lifecycle, journal, outbox, MQTT.

Wiring, in the order a reading travels::

    pollers ─► detectors ─► AlarmManager ─► journal (SQLite) ─► outbox (SQLite) ─► MQTT
                   └──────► telemetry windows ──────────────────► outbox ─────────┘
    MQTT cmd/# ─► CommandProcessor ─► AlarmManager (ack releases detector latches)

An alarm event is durable in the journal before it is queued, and queued before it is
sent; events journaled but not yet queued when the process died are queued again at
start-up. Telemetry goes to the outbox only when a broker is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.alarms.commands import CommandProcessor
from gateway.alarms.journal import AlarmJournal, JournalError
from gateway.alarms.lifecycle import AlarmKey, AlarmManager
from gateway.config import Device, Site
from gateway.contracts.alarm import AlarmEvent
from gateway.contracts.telemetry import TelemetryWindow
from gateway.contracts.topics import alarm_topic, telemetry_topic
from gateway.edge.agent import EdgeAgent, Sink
from gateway.edge.samples import PollSample
from gateway.mqtt.publisher import MqttPublisher, MqttSettings
from gateway.outbox import Lane, Outbox, OutboxError, default_quota

__all__ = ["EdgeService"]

log = logging.getLogger(__name__)


class EdgeService(Sink):
    """Everything one site's edge agent runs; ``await run(stop)``, then ``close()``."""

    def __init__(
        self,
        site: Site,
        state_dir: Path,
        mqtt: MqttSettings | None,
        *,
        operator_keys: dict[str, bytes] | None = None,
        sinks: Sequence[Sink] = (),
        outbox_quota_bytes: int | None = None,
    ) -> None:
        self.site = site
        self.sinks = list(sinks)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.journal = AlarmJournal(state_dir / "journal.sqlite")
        self.outbox = Outbox(
            state_dir / "outbox.sqlite", quota_bytes=outbox_quota_bytes or _quota(site)
        )
        self._unqueued: deque[AlarmEvent] = deque()
        self.manager = AlarmManager(
            site, self.journal, self._on_event, on_acknowledge=self._release_latch
        )
        self.agent = EdgeAgent(
            site, [self, *self.sinks], on_transitions=self.manager.on_transitions
        )
        self.commands = CommandProcessor(self.manager, operator_keys or {})
        self.publisher = (
            MqttPublisher(
                site.enterprise,
                site.site,
                mqtt,
                self.outbox,
                commands=self.commands.handle,
                status_extra=self._status_extra,
            )
            if mqtt is not None
            else None
        )
        self._requeue_journaled()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, detect, publish until ``stop`` is set."""
        tasks = [self.agent.run(stop), self._housekeeping(stop)]
        if self.publisher is not None:
            tasks.append(self.publisher.run(stop))
        await asyncio.gather(*tasks)

    def close(self) -> None:
        """Close the SQLite files."""
        self.outbox.close()
        self.journal.close()

    # -- Sink: what the agent hands us ------------------------------------------------

    def on_sample(self, device: Device, sample: PollSample) -> None:
        """Let restored alarms see that their point reads again."""
        if any(a.unconfirmed >= 0 for a in self.manager.alarms.values()):
            good = [p.key for p, q in zip(device.points, sample.quality, strict=True) if not q]
            self.manager.observe(device.name, good, sample.ts)

    def on_telemetry(self, window: TelemetryWindow) -> None:
        """Queue a telemetry window (only when there is a broker to send it to)."""
        if self.publisher is None:
            return
        topic = telemetry_topic(self.site.enterprise, self.site.site, window.device)
        payload = json.dumps(window.to_dict()).encode()
        self.outbox.put(Lane.TELEMETRY, topic, payload, self.publisher.settings.telemetry_qos)
        self.publisher.notify()

    # -- alarm events -------------------------------------------------------------------

    def _on_event(self, event: AlarmEvent) -> None:
        for sink in self.sinks:  # operators see it first, whatever happens to the disk
            try:
                sink.on_alarm(event)
            except Exception:  # a broken sink (a closed stdout) must not hold the alarm back
                log.exception("Sink %s failed on alarm %s", type(sink).__name__, event.event_id)
        self._unqueued.append(event)
        self._queue_alarms()

    def _queue_alarms(self) -> None:
        """Move events into the outbox, oldest first; keep them in memory while it fails."""
        while self._unqueued:
            event = self._unqueued[0]
            try:
                if self.publisher is not None:
                    topic = alarm_topic(event.enterprise, event.site, event.device, event.point)
                    self.outbox.put(Lane.ALARM, topic, json.dumps(event.to_dict()).encode(), 1)
                    self.publisher.notify()
            except (OutboxError, sqlite3.Error):
                log.critical(
                    "Cannot queue alarm %s (%d waiting in memory); retrying every second",
                    event.event_id,
                    len(self._unqueued),
                    exc_info=True,
                )
                return
            # Queued: never put it again. If the journal cannot note that, the event is
            # re-queued once at the next start (same event_id), not once per retry.
            self._unqueued.popleft()
            try:
                self.journal.mark_outboxed(event.event_id)
            except JournalError:
                log.critical("Cannot mark alarm %s as queued", event.event_id, exc_info=True)

    def _requeue_journaled(self) -> None:
        pending = self.journal.pending_outbox()
        for event_id, where, payload in pending:
            device, point = where.split("/", 1)
            if self.publisher is not None:
                topic = alarm_topic(self.site.enterprise, self.site.site, device, point)
                self.outbox.put(Lane.ALARM, topic, payload.encode(), 1)
            self.journal.mark_outboxed(event_id)
        if pending:
            log.warning("Re-queued %d alarm events journaled before a crash", len(pending))

    def _release_latch(self, key: AlarmKey) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.agent.acknowledge(key.device, key.point)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.manager.expire_shelves()
            self._queue_alarms()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    def _status_extra(self) -> dict[str, Any]:
        stats = [p.stats for p in self.agent.pollers.values()]
        annunciated = sum(1 for a in self.manager.alarms.values() if a.annunciated)
        return {
            "devices": {
                name: {
                    "ok": p.stats.consecutive_failures == 0 and p.stats.ok > 0,
                    "polls": p.stats.polls,
                    "failures": p.stats.failures,
                    "overruns": p.stats.overruns,
                }
                for name, p in self.agent.pollers.items()
            },
            "polls": sum(s.polls for s in stats),
            "alarms_annunciated": annunciated,
            "commands": {"accepted": self.commands.accepted, "refused": self.commands.refused},
        }


def _quota(site: Site) -> int:
    points = [len(d.points) for d in site.devices]
    windows = [d.config.telemetry_window_s for d in site.devices]
    return default_quota(points, windows)
