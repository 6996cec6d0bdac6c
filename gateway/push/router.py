"""From MQTT messages to channel queues: parse with the contract, route by each channel's filters.

    alarm     AlarmEvent ──► ALARM item (key = event_id) ──► channels whose filters match
    status    SiteStatus ──► SiteTracker ──► STATUS item on a change
    manifest  SiteManifest ──► ManifestBook (regulator codes); wakes every channel
    telemetry TelemetryWindow ──► SiteTracker (latest values, sign of life)

Network input never raises out of :meth:`Router.handle`: a payload that breaks the
contract is kept in ``{state_dir}/_input.sqlite`` with its reason and counted, the first
one logged at ERROR and the rest at DEBUG. :meth:`Router.handle_many` returns only after
every queue committed the items, so the subscriber acknowledges a message only when it is
safe.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.contracts import (
    AlarmEvent,
    ContractError,
    SiteManifest,
    SiteStatus,
    TelemetryWindow,
    TopicInfo,
    TopicKind,
    parse_topic,
)
from gateway.push.items import ItemKind, PushItem
from gateway.push.manifests import ManifestBook
from gateway.push.overdue import Dispositions
from gateway.push.queue import ChannelQueue
from gateway.push.settings import ChannelSettings
from gateway.push.sites import SiteTracker

__all__ = ["Route", "Router", "accepts"]

log = logging.getLogger(__name__)

_FLAGS = {
    ItemKind.ALARM: "alarms",
    ItemKind.OVERDUE: "overdue",
    ItemKind.STATUS: "status",
    ItemKind.REALTIME: "realtime",
    ItemKind.HEARTBEAT: "heartbeat",
}


@dataclass(frozen=True)
class Route:
    """One channel as the router sees it."""

    settings: ChannelSettings
    queue: ChannelQueue
    wake: Callable[[], None]


def accepts(settings: ChannelSettings, item: PushItem) -> bool:
    """True when ``item`` passes the channel's filters and send flags."""
    if not getattr(settings.sends, _FLAGS[item.kind]):
        return False
    if not settings.filters.site_ok(item.enterprise, item.site):
        return False
    event = item.event
    return event is None or settings.filters.alarm_ok(event.kind, event.level)


class Router:
    """Parses messages and queues items; the single writer of every queue."""

    def __init__(
        self,
        routes: list[Route],
        book: ManifestBook,
        tracker: SiteTracker,
        dispositions: Dispositions,
        state_dir: Path,
    ) -> None:
        self.routes = routes
        self.book = book
        self.tracker = tracker
        self.dispositions = dispositions
        self.received = 0
        self.malformed = 0
        self._pending: list[list[PushItem]] | None = None
        state_dir.mkdir(parents=True, exist_ok=True)
        self._bad = sqlite3.connect(
            state_dir / "_input.sqlite", isolation_level=None, check_same_thread=False
        )
        self._bad.execute(
            "CREATE TABLE IF NOT EXISTS bad (topic TEXT, payload BLOB, reason TEXT, ts REAL)"
        )

    def handle_many(self, messages: list[tuple[str, bytes]], now: float) -> None:
        """Messages from the broker, queued everywhere they go when this returns.

        Items are collected per channel and committed in one transaction per queue: a
        burst costs one fsync per channel, not one per message.
        """
        self._pending = [[] for _ in self.routes]
        try:
            for topic, payload in messages:
                self.handle(topic, payload, now)
            batches = self._pending
        finally:
            self._pending = None
        for route, items in zip(self.routes, batches, strict=True):
            if items and route.queue.put_many(items, now):
                route.wake()

    def handle(self, topic: str, payload: bytes, now: float) -> None:
        """One message from the broker."""
        self.received += 1
        if not payload:
            return  # a cleared retained message
        try:
            info = parse_topic(topic)
            self._handle(info, payload, now)
        except ContractError as exc:
            self._malformed(topic, payload, str(exc), now)

    def _handle(self, info: TopicInfo, payload: bytes, now: float) -> None:
        if info.kind is TopicKind.ALARM:
            event = AlarmEvent.from_payload(payload)
            _same_site(info, event.enterprise, event.site, event.device, event.point)
            self.dispositions.on_event(event, now)
            self.dispatch(
                PushItem(
                    kind=ItemKind.ALARM,
                    key=event.event_id,
                    enterprise=event.enterprise,
                    site=event.site,
                    ts=event.ts,
                    received=now,
                    event=event,
                ),
                now,
            )
        elif info.kind is TopicKind.STATUS:
            status = SiteStatus.from_payload(payload)
            self.dispatch(self.tracker.on_status(info.enterprise, info.site, status, now), now)
        elif info.kind is TopicKind.MANIFEST:
            manifest = SiteManifest.from_payload(payload)
            _same_site(info, manifest.enterprise, manifest.site)
            self.book.put(manifest)
            for route in self.routes:
                route.wake()
        elif info.kind is TopicKind.TELEMETRY:
            window = TelemetryWindow.from_payload(payload)
            self.dispatch(self.tracker.on_telemetry(info.enterprise, info.site, window, now), now)

    def dispatch(self, item: PushItem | None, now: float) -> None:
        """Queue ``item`` in every channel that takes it."""
        if item is None:
            return
        for n, route in enumerate(self.routes):
            if not accepts(route.settings, item):
                continue
            if self._pending is not None:
                self._pending[n].append(item)
            elif route.queue.put(item, now):
                route.wake()

    def _malformed(self, topic: str, payload: bytes, reason: str, now: float) -> None:
        self.malformed += 1
        level = logging.ERROR if self.malformed == 1 else logging.DEBUG
        log.log(level, "push: malformed message on %s kept in _input.sqlite: %s", topic, reason)
        with self._bad:
            self._bad.execute(
                "INSERT INTO bad VALUES (?, ?, ?, ?)", (topic[:512], payload[:65536], reason, now)
            )

    def close(self) -> None:
        """Close the malformed-input store."""
        self._bad.close()


def _same_site(info: TopicInfo, enterprise: str, site: str, *names: str) -> None:
    """The payload must name the site (and point) its topic names."""
    expected = (info.enterprise, info.site, *([info.device, info.point] if names else []))
    if (enterprise, site, *names) != expected:
        what = "alarm event" if names else "site manifest"
        raise ContractError(what, "site", f"{enterprise}/{site}", "does not match its topic")
