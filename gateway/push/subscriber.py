"""The MQTT side of push: a paho-mqtt client with manual acknowledgement.

aiomqtt has no manual ack (its issue 345), so push drives paho-mqtt directly, as DESIGN.md
says. paho's network thread hands messages to the event loop (a deque and one
``call_soon_threadsafe`` per burst); the loop queues them in every channel (one SQLite
commit per channel per burst) and only then sends their PUBACKs. A persistent session
(``clean_session=False``, a fixed client id) makes the broker keep QoS 1 alarms while
push is down, and resend any it sent but never got a PUBACK for, so a SIGKILLed push
loses nothing. paho reconnects by itself (1 s .. 30 s).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.central import BrokerConfig
from gateway.contracts import ROOT

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

__all__ = ["SUBSCRIPTIONS", "Subscriber"]

log = logging.getLogger(__name__)

#: (topic filter, QoS). Telemetry is perishable (the latest value wins): QoS 0.
SUBSCRIPTIONS = (
    (f"{ROOT}/+/+/manifest", 1),
    (f"{ROOT}/+/+/status", 1),
    (f"{ROOT}/+/+/alarm/+/+", 1),
    (f"{ROOT}/+/+/+/telemetry", 0),
)

Handler = Callable[[list[tuple[str, bytes]]], None]
MAX_BATCH = 500


class Subscriber:
    """Subscribes, hands messages to ``handle`` on the loop, acknowledges after it returns."""

    def __init__(
        self, broker: BrokerConfig, handle: Handler, loop: asyncio.AbstractEventLoop
    ) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415 - the CLI must start without it
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        self._handle = handle
        self._loop = loop
        self._pending: collections.deque[tuple[str, bytes, int, int]] = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self.ready = asyncio.Event()
        self.connected = False
        self._errors = 0
        client_id = broker.client_id or "hazard-push"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True
        )
        if broker.user:
            self._client.username_pw_set(broker.user, broker.secret())
        context = broker.tls_context()
        if context is not None:
            self._client.tls_set_context(context)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 30)
        self._client.connect_async(broker.host, broker.port, keepalive=broker.keepalive)

    def start(self) -> None:
        """Start paho's network thread."""
        self._client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if rc.is_failure:
            log.error("push: broker refused the connection: %s", rc)
            return
        self.connected = True
        log.info("push: connected to the broker; subscribing")
        client.subscribe(list(SUBSCRIPTIONS))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if self.connected:
            log.warning("push: lost the broker (%s); reconnecting", rc)
        self.connected = False

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        self._loop.call_soon_threadsafe(self.ready.set)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._pending.append((message.topic, bytes(message.payload), message.mid, message.qos))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._loop.call_soon_threadsafe(self._process)

    def _process(self) -> None:
        """On the loop: queue what arrived (one commit per channel), then acknowledge it."""
        with self._lock:
            self._scheduled = False
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
            try:
                self._handle([(topic, payload) for topic, payload, _, _ in batch])
            except Exception:
                self._errors += 1
                # Not acknowledged: the broker resends them after the next reconnect.
                log.exception("push: could not queue %s message(s); not acknowledged", len(batch))
                continue
            for _, _, mid, qos in batch:
                if qos:
                    self._client.ack(mid, qos)

    async def close(self) -> None:
        """Disconnect and stop paho's thread."""
        self.connected = False
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
