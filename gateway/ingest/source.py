"""The MQTT side of a worker: a persistent paho-mqtt session with manual acknowledgement.

paho-mqtt 2.x drives the connection in its own thread (``loop_start``: keepalive,
reconnects with backoff, redelivery) and hands every message to :attr:`messages`; the
service acknowledges it later with :meth:`ack`, once its batch is written or it is
dead-lettered (aiomqtt has no manual ack, see DESIGN.md). The session is persistent —
a fixed client id with ``clean_start=False`` and a session expiry on MQTT 5,
``clean_session=False`` on 3.1.1 — so messages not yet acknowledged when a worker dies
come back to its next session. MQTT 5's Receive Maximum bounds how many unacknowledged
messages the broker sends at once (one batch); on 3.1.1, Mosquitto's
``max_inflight_messages`` does.

Each connection is a *generation*: a message is acknowledged only on the connection
that delivered it (a packet id means nothing on the next one). Messages of a lost
connection are still written (idempotent) and come again, marked dup, on the next.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.ingest.config import IngestConfig
from gateway.ingest.metrics import IngestStats
from gateway.ingest.model import Message

__all__ = ["MqttSource"]

log = logging.getLogger(__name__)


class MqttSource:
    """Subscribes with QoS 1 and queues what arrives; acks on request."""

    def __init__(self, config: IngestConfig, stats: IngestStats, topics: list[str]) -> None:
        self.config = config
        self.messages: queue.Queue[Message] = queue.Queue()
        self.generation = 0
        self._stats = stats
        self._topics = topics
        self._v5 = config.protocol == "5"
        self._client = self._make_client()
        self._ever_connected = False
        self._stopping = False
        self._refusals = 0

    def _make_client(self) -> mqtt.Client:
        broker = self.config.broker
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self._v5 else False,
            manual_ack=True,
        )
        if broker.user:
            client.username_pw_set(broker.user, broker.secret())
        context = broker.tls_context()
        if context is not None:
            client.tls_set_context(context)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers)."""
        broker = self.config.broker
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.config.session_expiry_s
            properties.ReceiveMaximum = self.config.batch.max_messages
        self._client.connect_async(
            broker.host, broker.port, broker.keepalive, clean_start=False, properties=properties
        )
        self._client.loop_start()

    def ack(self, message: Message) -> None:
        """Acknowledge ``message`` if the connection that delivered it is still up."""
        if message.qos > 0 and message.generation == self.generation:
            self._client.ack(message.mid, message.qos)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 (paho queues it while disconnected)."""
        self._client.publish(topic, payload, qos=1)

    def stop(self) -> None:
        """Disconnect (unacknowledged messages stay in the broker's session) and stop."""
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._refusals += 1
            level = logging.ERROR if self._refusals == 1 else logging.DEBUG
            log.log(level, "Broker refused the connection: %s (retrying)", reason)
            return
        self._refusals = 0
        self.generation += 1
        self._stats.connected = True
        if self._ever_connected and not flags.session_present:
            log.warning(
                "Broker has no session for %s: it may have lost queued messages",
                self.config.client_id,
            )
        self._ever_connected = True
        log.info("Connected to %s as %s", self.config.broker.url, self.config.client_id)
        for topic in self._topics:
            client.subscribe(topic, qos=1)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._stats.connected and not self._stopping:
            self._stats.reconnects += 1
            log.warning("Lost the broker (%s); reconnecting", reason)
        self._stats.connected = False
        self.generation += 1  # nothing of the lost connection may be acked any more

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:  # an exception here would end paho's network thread
            try:
                topic = message.topic
            except UnicodeDecodeError:
                topic = bytes(message._topic).decode("utf-8", errors="replace")
            self._stats.received += 1
            payload = bytes(message.payload)
            received = Message(message.mid, message.qos, self.generation, topic, payload)
            self.messages.put(received)
        except Exception:
            log.exception("Could not queue a received message")
