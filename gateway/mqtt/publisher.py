"""Publish alarm events and telemetry over MQTT, alarms first, reconnecting forever.

Reconnection is one supervisor loop around a reusable aiomqtt client (the pattern
aiomqtt documents). Alarms and telemetry wait in separate lanes: the sender always
empties the alarm lane before it takes telemetry, so an alarm is never queued
behind telemetry. A message leaves its lane only after the publish call returned
(for QoS 1, after the broker's PUBACK). The site status topic is retained and the
broker publishes the last will ``offline`` there if the agent vanishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import aiomqtt

from gateway.alarms.events import AlarmEvent, rfc3339
from gateway.config import Device, Site
from gateway.edge.agent import Sink
from gateway.edge.detection import TelemetryWindow
from gateway.edge.poller import Backoff
from gateway.edge.samples import PollSample
from gateway.mqtt.topics import alarm_topic, status_topic, telemetry_topic

__all__ = ["MqttPublisher", "MqttSettings", "PublisherStats", "telemetry_payload"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to connect; secrets come from the environment, never the site file."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    telemetry_qos: int = 0
    keepalive: int = 30

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> MqttSettings:
        """Parse ``mqtt://[user[:password]@]host[:port]``."""
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
            msg = f"MQTT URL {url!r} must look like mqtt://host:1883"
            raise ValueError(msg)
        return cls(
            host=parsed.hostname,
            port=parsed.port or 1883,
            username=parsed.username,
            password=parsed.password,
            **overrides,
        )


@dataclass
class PublisherStats:
    """Counters shown on the console and in the status message."""

    alarms_sent: int = 0
    telemetry_sent: int = 0
    telemetry_dropped: int = 0
    reconnects: int = 0
    connected: bool = False
    queued_alarms: int = 0
    queued_telemetry: int = 0
    last_error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def telemetry_payload(window: TelemetryWindow) -> dict[str, Any]:
    """JSON object of one telemetry window (docs/mqtt.md)."""
    return {
        "device": window.device,
        "ts": rfc3339(window.start),
        "window_s": window.window_s,
        "points": {
            p.key: {"min": p.min, "max": p.max, "mean": p.mean, "last": p.last, "count": p.count}
            for p in window.points
        },
    }


class MqttPublisher(Sink):
    """A Sink that publishes to MQTT; run ``await publisher.run(stop)`` beside the agent."""

    def __init__(self, site: Site, settings: MqttSettings, *, telemetry_limit: int = 10_000):
        self.site = site
        self.settings = settings
        self.stats = PublisherStats()
        self._alarms: deque[tuple[str, bytes]] = deque()
        self._telemetry: deque[tuple[str, bytes]] = deque()
        self._telemetry_limit = telemetry_limit
        self._wake = asyncio.Event()
        self._status_topic = status_topic(site.enterprise, site.site)

    def on_alarm(self, event: AlarmEvent) -> None:
        """Queue an alarm event (never dropped)."""
        topic = alarm_topic(event.enterprise, event.site, event.device, event.point)
        self._alarms.append((topic, json.dumps(event.to_dict()).encode()))
        self._wake.set()

    def on_telemetry(self, window: TelemetryWindow) -> None:
        """Queue a telemetry window (bounded: the oldest is dropped and counted)."""
        topic = telemetry_topic(self.site.enterprise, self.site.site, window.device)
        if len(self._telemetry) >= self._telemetry_limit:
            self._telemetry.popleft()
            self.stats.telemetry_dropped += 1
        self._telemetry.append((topic, json.dumps(telemetry_payload(window)).encode()))
        self._wake.set()

    def on_sample(self, device: Device, sample: PollSample) -> None:
        """Raw samples are not published; windows are."""

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, publish, reconnect with backoff, until ``stop`` is set."""
        backoff = Backoff(base=0.5, cap=15.0)
        while not stop.is_set():
            try:
                await self._session(stop)
                backoff.reset()
            except aiomqtt.MqttError as exc:
                self.stats.connected = False
                self.stats.last_error = str(exc)
                self.stats.reconnects += 1
                delay = backoff.next_delay()
                log.warning("MQTT %s: %s; reconnecting in %.1f s", self._where(), exc, delay)
                await _sleep_or_stop(stop, delay)

    async def _session(self, stop: asyncio.Event) -> None:
        will = aiomqtt.Will(self._status_topic, self._status_payload("offline"), qos=1, retain=True)
        async with aiomqtt.Client(
            self.settings.host,
            self.settings.port,
            username=self.settings.username,
            password=self.settings.password,
            identifier=self.settings.client_id or None,
            keepalive=self.settings.keepalive,
            will=will,
        ) as client:
            self.stats.connected = True
            await client.publish(
                self._status_topic, self._status_payload("online"), qos=1, retain=True
            )
            while not stop.is_set():
                await self._drain(client)
                self._wake.clear()
                if not self._alarms and not self._telemetry:
                    await _wait_either(self._wake, stop)
            await client.publish(
                self._status_topic, self._status_payload("offline"), qos=1, retain=True
            )

    async def _drain(self, client: aiomqtt.Client) -> None:
        while self._alarms or self._telemetry:
            if self._alarms:
                topic, payload = self._alarms[0]
                await client.publish(topic, payload, qos=1)
                self._alarms.popleft()
                self.stats.alarms_sent += 1
                continue
            topic, payload = self._telemetry[0]
            await client.publish(topic, payload, qos=self.settings.telemetry_qos)
            self._telemetry.popleft()
            self.stats.telemetry_sent += 1
        self.stats.queued_alarms = len(self._alarms)
        self.stats.queued_telemetry = len(self._telemetry)

    def _status_payload(self, state: str) -> bytes:
        body = {"state": state, "ts": rfc3339(time.time()), "site": self.site.site}
        return json.dumps(body).encode()

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"


async def _wait_either(first: asyncio.Event, second: asyncio.Event) -> None:
    waiters = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def _sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
