"""The panel's MQTT connection (paho-mqtt 2.x, network loop in paho's thread).

The panel subscribes to every site's status, manifest, telemetry, alarms and command
replies, and publishes the operator commands it signs. paho calls back on its own
thread; each message is handed to the event loop with ``call_soon_threadsafe`` so all
state lives on one thread and needs no locks. Subscriptions are made in ``on_connect``,
so a reconnect (paho retries by itself) subscribes again. With a ``client_id`` the
session is persistent: alarms published while the panel was down are delivered when it
comes back, and the store's de-duplication absorbs the redelivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.central import BrokerConfig
from gateway.contracts import ROOT

__all__ = ["SUBSCRIPTIONS", "MqttBus"]

log = logging.getLogger(__name__)

SUBSCRIPTIONS = (
    (f"{ROOT}/+/+/status", 1),
    (f"{ROOT}/+/+/manifest", 1),
    (f"{ROOT}/+/+/+/telemetry", 0),
    (f"{ROOT}/+/+/alarm/#", 1),
    (f"{ROOT}/+/+/reply/+", 1),
)


class MqttBus:
    """Subscribe and publish; ``on_message(topic, payload)`` runs on ``loop``."""

    def __init__(
        self,
        broker: BrokerConfig,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[str, bytes], None],
    ) -> None:
        self.connected = False
        self._loop = loop
        self._on_message = on_message
        persistent = bool(broker.client_id)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=broker.client_id,
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
        )
        if broker.user:
            self._client.username_pw_set(broker.user, broker.secret())
        context = broker.tls_context()
        if context is not None:
            self._client.tls_set_context(context)
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._broker = broker

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers)."""
        self._client.connect_async(self._broker.host, self._broker.port, self._broker.keepalive)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop paho's thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue a message (paho sends it once connected)."""
        self._client.publish(topic, payload, qos=qos)

    def _connected(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect to %s refused: %s", self._broker.host, reason)
            return
        self.connected = True
        log.info("MQTT connected to %s:%s", self._broker.host, self._broker.port)
        client.subscribe(list(SUBSCRIPTIONS))

    def _disconnected(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False
        if reason.is_failure:
            log.warning("MQTT disconnected (%s); paho reconnects", reason)
        else:
            log.info("MQTT disconnected")

    def _message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._loop.call_soon_threadsafe(self._on_message, message.topic, bytes(message.payload))
        except RuntimeError:  # the loop closed while paho was still delivering
            pass
        except UnicodeDecodeError:  # a topic that is not UTF-8: not ours
            log.debug("dropped a message with a non-UTF-8 topic")
