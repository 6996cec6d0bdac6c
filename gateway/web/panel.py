"""The panel's core: MQTT messages in, live state and history out, commands and replies.

Every message from the network is untrusted: it is parsed with the contracts, checked
against its topic (a payload naming another site than its topic is dropped), and any
failure is counted and logged (the first loudly, repeats quietly) instead of raising,
so bad input never stops the panel. Alarm events go to the store first; only an event
the store has not seen before changes the live state, so a redelivery doubles nothing.
At start the console is rebuilt from the store and the retained topics refill the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from gateway.contracts import (
    AlarmEvent,
    CommandReply,
    ContractError,
    SiteManifest,
    SiteStatus,
    TelemetryWindow,
    TopicInfo,
    TopicKind,
    parse_topic,
)
from gateway.web.actions import ActionRequest, build_command
from gateway.web.state import LiveState
from gateway.web.store import AlarmStore

__all__ = ["CommandTimeout", "Panel", "Publisher"]

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """What the panel needs of its MQTT connection to send a command."""

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue one message."""
        ...


class CommandTimeout(Exception):
    """The edge did not answer a command in time (it may still apply it)."""


class Panel:
    """State, store and pending commands; ``handle`` is the MQTT entry point."""

    def __init__(self, store: AlarmStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.state = LiveState()
        self.publisher: Publisher | None = None
        self.rejected = 0
        self._pending: dict[str, asyncio.Future[CommandReply]] = {}
        self._clock = clock
        self._restore()

    def _restore(self) -> None:
        """Rebuild the console from the store's newest event per alarm."""
        for event in self.store.current():
            self._show(event)

    def handle(self, topic: str, payload: bytes) -> None:
        """One MQTT message; never raises for bad input."""
        try:
            self._dispatch(parse_topic(topic), payload)
        except (ContractError, ValueError) as exc:
            self.rejected += 1
            level = logging.WARNING if self.rejected == 1 else logging.DEBUG
            log.log(level, "dropped message on %s: %s (%d dropped)", topic, exc, self.rejected)
        except Exception:  # a bug must not stop the panel: report it and go on
            self.rejected += 1
            log.exception("failed to handle a message on %s", topic)

    def _dispatch(self, info: TopicInfo, payload: bytes) -> None:
        if info.kind is TopicKind.TELEMETRY:
            window = TelemetryWindow.from_payload(payload)
            _same(info.device, window.device, "device")
            self.state.apply_telemetry(info.enterprise, info.site, window)
        elif info.kind is TopicKind.ALARM:
            self._alarm(info, AlarmEvent.from_payload(payload))
        elif info.kind is TopicKind.STATUS:
            status = SiteStatus.from_payload(payload)
            _same(info.site, status.site, "site")
            if self.state.apply_status(info.enterprise, status):
                self.store.log_status(info.enterprise, info.site, status.epoch, status.state)
        elif info.kind is TopicKind.MANIFEST:
            manifest = SiteManifest.from_payload(payload)
            _same((info.enterprise, info.site), (manifest.enterprise, manifest.site), "site")
            self.state.apply_manifest(manifest)
        elif info.kind is TopicKind.REPLY and payload:
            self._reply(info, CommandReply.from_payload(payload))

    def _alarm(self, info: TopicInfo, event: AlarmEvent) -> None:
        topic_key = (info.enterprise, info.site, info.device, info.point)
        _same(topic_key, (event.enterprise, event.site, event.device, event.point), "alarm key")
        if self.store.add(event):
            self._show(event)

    def _show(self, event: AlarmEvent) -> None:
        row = self.store.activation(event.activation_id or event.event_id) or {}
        raised = float(row.get("raised") or event.epoch)
        self.state.apply_alarm(event, raised, bool(row.get("first_out") or event.first_out))

    def _reply(self, info: TopicInfo, reply: CommandReply) -> None:
        future = self._pending.get(info.request_id or "")
        if future is not None and not future.done():
            future.set_result(reply)

    async def command(
        self, request: ActionRequest, by: str, key: bytes, timeout_s: float
    ) -> CommandReply:
        """Sign and send ``request`` as ``by``; the edge's reply (CommandTimeout if none)."""
        if self.publisher is None:
            msg = "not connected to the broker"
            raise CommandTimeout(msg)
        topic, request_id, body = build_command(request, by, key, self._clock)
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.publisher.publish(topic, payload, qos=1)
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            msg = f"no reply from the edge within {timeout_s:g} s"
            raise CommandTimeout(msg) from None
        finally:
            self._pending.pop(request_id, None)

    def stats(self) -> dict[str, Any]:
        """One snapshot for logs and tests."""
        return {
            "sites": len(self.state.sites),
            "points": len(self.state.points),
            "active_alarms": len(self.state.alarms),
            "rejected": self.rejected,
            "pending_commands": len(self._pending),
        }


def _same(expected: object, got: object, what: str) -> None:
    if expected != got:
        msg = f"payload {what} {got!r} does not match its topic ({expected!r})"
        raise ValueError(msg)
