"""The composition root of one site's edge: every part built here, each given what it needs.

Wiring, in the order a reading travels::

    pollers ─► detectors ─► AlarmManager ─► journal (SQLite) ─► OutboxForwarder ─► MQTT
                   └──────► telemetry windows ─────────────────► OutboxForwarder ─┘
    MQTT cmd/# ─► CommandProcessor ─► AlarmManager (an ack releases detector latches)

An alarm event is durable in the journal before it is queued, and queued before it is
sent; the events of one event-loop turn (the devices of one poll tick answer together) are
queued together, in one outbox transaction, before the turn's telemetry and before the
sender can run; events journaled but not yet queued when the process died are queued again
at start-up; while the outbox cannot write, events wait in memory and are retried every
second. Telemetry goes to the outbox only when a broker is configured (at QoS 0, fresh
windows with nothing queued before them go straight to the connection). The console, the
status topic and the CLI all read one :meth:`EdgeSite.stats` snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gateway.alarms.commands import CommandProcessor
from gateway.alarms.journal import AlarmJournal, JournalError
from gateway.alarms.lifecycle import AlarmKey, AlarmManager
from gateway.alarms.model import DispositionPolicy
from gateway.config import Device, Site
from gateway.contracts.alarm import AlarmEvent
from gateway.contracts.telemetry import TelemetryWindow
from gateway.edge.agent import EdgeAgent, Sink
from gateway.edge.samples import PollSample
from gateway.manifest import build_manifest
from gateway.mqtt.publisher import MqttPublisher, MqttSettings
from gateway.outbox import Outbox, OutboxError, default_quota
from gateway.outbox.forwarder import OutboxForwarder
from gateway.sitestats import DeviceSnapshot, SiteStats

__all__ = ["EdgeSite", "SiteStats"]

log = logging.getLogger(__name__)


class EdgeSite:
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
        self._queue_scheduled = False
        self._queue_failing = False
        self.manager = AlarmManager(
            site,
            self.journal,
            self._on_event,
            on_reset=self._reset_latch,
            disposition=_policy(site),
        )
        self.agent = EdgeAgent(
            site, [_SiteSink(self), *self.sinks], on_transitions=self.manager.on_transitions
        )
        self.commands = CommandProcessor(
            self.manager, operator_keys or {}, release_latch=self._reset_latch
        )
        self.publisher = self._publisher(mqtt)
        self.forwarder = OutboxForwarder(
            self.outbox,
            site.enterprise,
            site.site,
            telemetry_qos=mqtt.telemetry_qos if mqtt else 0,
            on_put=self.publisher.notify if self.publisher else (lambda: None),
            send_fresh=self.publisher.send_fresh if self.publisher else None,
            alarms_first=self._queue_alarms,
        )
        self._requeue_journaled()

    def _publisher(self, mqtt: MqttSettings | None) -> MqttPublisher | None:
        if mqtt is None:
            return None
        manifest = json.dumps(build_manifest(self.site).to_dict(), ensure_ascii=False).encode()
        return MqttPublisher(
            self.site.enterprise,
            self.site.site,
            mqtt,
            self.outbox,
            commands=self.commands.answer,
            status_extra=lambda: self.stats().status_fields(),
            manifest=manifest,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, detect, publish until ``stop`` is set."""
        tasks = [self.agent.run(stop), self._housekeeping(stop)]
        if self.publisher is not None:
            tasks.append(self.publisher.run(stop))
        await asyncio.gather(*tasks)

    def close(self) -> None:
        """Queue the waiting alarms and telemetry; close the SQLite files."""
        try:
            self.forwarder.flush()  # alarms first (``alarms_first``), then telemetry
        except (OutboxError, sqlite3.Error):
            log.exception("Cannot store the last telemetry windows at stop")
        self.outbox.close()
        self.journal.close()

    def stats(self) -> SiteStats:
        """One consistent snapshot for the console, the status topic and the CLI."""
        devices = {
            name: DeviceSnapshot(
                ok=p.stats.consecutive_failures == 0 and p.stats.ok > 0,
                polls=p.stats.polls,
                failures=p.stats.failures,
                overruns=p.stats.overruns,
                late=p.stats.late,
            )
            for name, p in self.agent.pollers.items()
        }
        try:
            dispositions = self.manager.disposition_counts()
        except (JournalError, sqlite3.Error):  # counters unknown; polling goes on
            dispositions = {"open": -1, "overdue": -1}
        return SiteStats(
            devices=devices,
            dispositions_open=dispositions["open"],
            journal_degraded=self.journal.degraded,
            dispositions_overdue=dispositions["overdue"],
            alarms_annunciated=sum(1 for a in self.manager.alarms.values() if a.annunciated),
            alarms_waiting=len(self._unqueued),
            commands_accepted=self.commands.accepted,
            commands_refused=self.commands.refused,
            outbox=self.outbox.stats(),
            mqtt=replace(self.publisher.stats, extra={}) if self.publisher else None,
        )

    # -- alarm events -------------------------------------------------------------------

    def _on_event(self, event: AlarmEvent) -> None:
        for sink in self.sinks:  # operators see it first, whatever happens to the disk
            try:
                sink.on_alarm(event)
            except Exception:  # a broken sink (a closed stdout) must not hold the alarm back
                log.exception("Sink %s failed on alarm %s", type(sink).__name__, event.event_id)
        self._unqueued.append(event)
        self._queue_this_turn()

    def _queue_this_turn(self) -> None:
        # One outbox transaction (one fsync) for every event of this loop turn: in an alarm
        # storm the devices of a tick alarm together, and an fsync per event made the last
        # one wait for all the others (bench/latency.py). Nothing is sent sooner anyway: the
        # sender is a task and runs after this turn. Without a loop: at once.
        if self._queue_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._queue_alarms()
            return
        self._queue_scheduled = True
        loop.call_soon(self._queue_alarms)

    def _queue_alarms(self) -> None:
        """Move the waiting events into the outbox, oldest first, in one transaction.

        While the outbox cannot take them they stay in memory (housekeeping retries every
        second). Also called before any telemetry is stored or sent (``alarms_first``).
        """
        self._queue_scheduled = False
        events = list(self._unqueued)
        if not events:
            return
        try:
            if self.publisher is not None:
                self.forwarder.alarms(events)
        except (OutboxError, sqlite3.Error):
            # Retried at every telemetry group too: say it loudly once, not 20 times a second.
            level = logging.DEBUG if self._queue_failing else logging.CRITICAL
            self._queue_failing = True
            log.log(
                level,
                "Cannot queue alarm %s (%d waiting in memory); retrying every second",
                events[0].event_id,
                len(events),
                exc_info=True,
            )
            return
        if self._queue_failing:
            self._queue_failing = False
            log.warning("Queued the %d alarm events that waited in memory", len(events))
        # Queued: never put them again. If the journal cannot note that, the events are
        # re-queued once at the next start (same event_id), not once per retry.
        for _ in events:
            self._unqueued.popleft()
        try:
            self.journal.mark_outboxed_many([e.event_id for e in events])
        except JournalError:
            log.critical("Cannot mark %d alarm events as queued", len(events), exc_info=True)

    def _requeue_journaled(self) -> None:
        pending = self.journal.pending_outbox()
        requeued: list[tuple[str, str, bytes]] = []
        for _, where, payload in pending:
            device, point = where.split("/", 1)
            requeued.append((device, point, payload.encode()))
        if self.publisher is not None:
            self.forwarder.alarm_payloads(requeued)  # one transaction, like a turn's alarms
        self.journal.mark_outboxed_many([event_id for event_id, _, _ in pending])
        if pending:
            log.warning("Re-queued %d alarm events journaled before a crash", len(pending))

    def _reset_latch(self, key: AlarmKey) -> bool | None:
        # The lifecycle needs the detector's answer at once (a reset is refused while the
        # condition is on), so this is a port it calls, not an event it emits.
        try:
            return self.agent.reset_latch(key.device, key.point)
        except (KeyError, ValueError):  # a device-wide alarm or a disabled device
            return None

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.manager.expire_shelves()
            self._queue_alarms()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)


class _SiteSink(Sink):
    """What the site itself takes from the agent: telemetry to queue, points seen again."""

    def __init__(self, site: EdgeSite) -> None:
        self._site = site

    def on_sample(self, device: Device, sample: PollSample) -> None:
        """Let restored alarms see that their point reads again."""
        manager = self._site.manager
        if any(a.unconfirmed >= 0 for a in manager.alarms.values()):
            good = [p.key for p, q in zip(device.points, sample.quality, strict=True) if not q]
            manager.observe(device.name, good, sample.ts)

    def on_telemetry(self, window: TelemetryWindow) -> None:
        """Queue a telemetry window (only when there is a broker to send it to)."""
        if self._site.publisher is not None:
            self._site.forwarder.telemetry(window)


def _policy(site: Site) -> DispositionPolicy:
    rule = site.config.disposition
    return DispositionPolicy(
        deadline_s=rule.deadline_h * 3600.0,
        default=rule.responsible,
        responsible=tuple(rule.by_device.items()),
    )


def _quota(site: Site) -> int:
    points = [len(d.points) for d in site.devices]
    windows = [d.config.telemetry_window_s for d in site.devices]
    return default_quota(points, windows)
