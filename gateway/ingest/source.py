"""The MQTT side of a worker: a persistent paho-mqtt session with manual acknowledgement.

The session is persistent — a fixed client id with ``clean_start=False`` and a session
expiry on MQTT 5, ``clean_session=False`` on 3.1.1 — so messages not yet acknowledged when
a worker dies come back to its next session. A message is acknowledged (:meth:`ack_all`)
only once its batch is written or it is dead-lettered (aiomqtt has no manual ack, see
DESIGN.md). MQTT 5's Receive Maximum bounds how many unacknowledged messages the broker
sends at once; on 3.1.1, Mosquitto's ``max_inflight_messages`` does.

Each connection is a *generation*: a message is acknowledged only on the connection that
delivered it (a packet id means nothing on the next one). Messages of a lost connection
are still written (idempotent) and come again, marked dup, on the next.

The network loop is the worker's, through paho's external-loop API (``socket``,
``loop_read``, ``loop_write``, ``loop_misc``, ``reconnect``), one :meth:`MqttSource.poll`
per turn of the worker's collecting thread::

    poll(timeout)
      no connection?  wait out the backoff (1 s doubling to 30 s), then reconnect()
      select(socket and wake-up pair, socket for writing when output is queued, timeout)
      read a burst: loop_read() until a call brings no message (at most MAX_BURST),
        unless the caller holds enough unparsed messages (read=False, see poll)
      loop_write() when acks, publishes, subscribes or pings are queued
      loop_misc() (keepalive)                       -> the messages of this turn

Why not paho's own thread (``loop_start``): it does one ``select`` per packet and wakes
itself through a socket write for every acknowledgement queued from another thread, and
each hand-over between it and the parsing thread is a GIL switch. Here the messages reach
the parser with no hand-over (and most PUBLISH packets skip paho's per-message objects,
gateway.ingest.mqttclient), and :meth:`ack_all` queues a round's PUBACKs in paho
(thread-safe) and wakes the loop once. Only the loop's thread touches the socket:
``on_socket_register_write`` is set, so paho never writes from the calling thread.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import time
from collections.abc import Sequence
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.ingest.config import IngestConfig
from gateway.ingest.metrics import IngestStats
from gateway.ingest.model import Message
from gateway.ingest.mqttclient import IngestClient

__all__ = ["MAX_BURST", "MqttSource", "Source"]

log = logging.getLogger(__name__)

MAX_BURST = 1000  # messages read per turn at most, so a round is flushed on time
_MIN_DELAY_S = 1.0
_MAX_DELAY_S = 30.0
_STOP_FLUSH_S = 2.0


class Source(Protocol):
    """What the service needs of a message source (MqttSource; an in-process fake in tests)."""

    def start(self) -> None:
        """Begin connecting."""

    def poll(self, timeout: float, read: bool = True) -> list[Message]:
        """One turn of I/O, waiting at most ``timeout`` s; the messages that arrived
        (``read=False``: hold new messages back if possible)."""

    def ack_all(self, messages: Sequence[Message]) -> None:
        """Acknowledge ``messages`` (any thread)."""

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 (any thread)."""

    def stop(self) -> None:
        """Disconnect, keeping the session."""


class MqttSource:
    """Subscribes with QoS 1; :meth:`poll` runs the network loop in the caller's thread."""

    def __init__(self, config: IngestConfig, stats: IngestStats, topics: list[str]) -> None:
        self.config = config
        self.generation = 0
        self._stats = stats
        self._topics = topics
        self._v5 = config.protocol == "5"
        self._inbox: list[Message] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._client = self._make_client()
        self._ever_connected = False
        self._stopping = False
        self._refusals = 0
        self._unreachable = 0
        self._delay = _MIN_DELAY_S
        self._retry_at = 0.0
        self._last_read = 0.0

    def _make_client(self) -> IngestClient:
        broker = self.config.broker
        client = IngestClient(
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
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message  # what the lean path leaves to paho
        client.sink = self._on_publish
        client.on_socket_register_write = self._on_register_write
        return client

    def start(self) -> None:
        """Name the broker and the session; the first :meth:`poll` connects."""
        broker = self.config.broker
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.config.session_expiry_s
            properties.ReceiveMaximum = self.config.batch.max_messages
        self._client.connect_async(
            broker.host, broker.port, broker.keepalive, clean_start=False, properties=properties
        )

    def poll(self, timeout: float, read: bool = True) -> list[Message]:
        """One turn of the network loop (module docstring); the messages received in it.

        ``read=False`` (the caller has enough waiting) leaves the socket unread, so TCP flow
        control holds the broker back, except once per half keepalive, so that the broker's
        PINGRESP is read and the connection survives a long InfluxDB outage.
        """
        sock = self._client.socket()
        if sock is None:
            self._connect(timeout)
        else:
            now = time.monotonic()
            reading = read or now - self._last_read >= self.config.broker.keepalive / 2
            self._turn(sock, timeout, reading)
            if reading:
                self._last_read = now
        received, self._inbox = self._inbox, []
        self._stats.received += len(received)
        return received

    def ack_all(self, messages: Sequence[Message]) -> None:
        """Acknowledge those of ``messages`` the current connection delivered; wake the loop."""
        generation = self.generation
        ack = self._client.ack
        for message in messages:
            if message.qos > 0 and message.generation == generation:
                ack(message.mid, message.qos)
        self._wake()

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 (paho queues it while disconnected)."""
        self._client.publish(topic, payload, qos=1)
        self._wake()

    def stop(self) -> None:
        """Disconnect (unacknowledged messages stay in the broker's session), after sending
        what is queued (acknowledgements first); call from the thread that polls."""
        self._stopping = True
        client = self._client
        if client.socket() is not None:
            client.disconnect()
            deadline = time.monotonic() + _STOP_FLUSH_S
            while (sock := client.socket()) is not None and time.monotonic() < deadline:
                select.select([], [sock], [], 0.1)
                client.loop_write()  # the DISCONNECT, once sent, closes the socket
        self._wake_r.close()
        self._wake_w.close()

    def _turn(self, sock: Any, timeout: float, reading: bool) -> None:
        """Wait for traffic, read a burst, write what is queued, keep the connection alive."""
        client = self._client
        buffered = _tls_pending(sock) if reading else 0
        readers = [sock, self._wake_r] if reading else [self._wake_r]
        writers = [sock] if client.want_write() else []
        try:
            readable, _, _ = select.select(
                readers, writers, [], 0.0 if buffered else max(timeout, 0.0)
            )
        except (OSError, ValueError):  # closed under us: the next read reports it
            readable = [sock]
        if self._wake_r in readable:
            self._drain_wake()
        if reading and (buffered or sock in readable):
            self._read_burst()
        if client.want_write():
            client.loop_write()
        client.loop_misc()

    def _read_burst(self) -> None:
        """``loop_read`` reads one packet per call here: call it while messages come."""
        inbox = self._inbox
        read = self._client.loop_read
        for _ in range(MAX_BURST):
            before = len(inbox)
            if read() != MQTTErrorCode.MQTT_ERR_SUCCESS or len(inbox) == before:
                return

    def _connect(self, timeout: float) -> None:
        """Reconnect once the backoff has passed; until then wait (acks and stop wake us)."""
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            select.select([self._wake_r], [], [], min(wait, max(timeout, 0.0)))
            self._drain_wake()
            return
        try:
            self._client.reconnect()
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            self._unreachable += 1
            level = logging.ERROR if self._unreachable == 1 else logging.DEBUG
            log.log(level, "Cannot reach the broker at %s: %s (retrying)", self._url(), exc)
            self._back_off()

    def _back_off(self) -> None:
        """Schedule the next attempt: 1 s, doubling to 30 s, reset by a good connection."""
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, _MAX_DELAY_S)

    def _wake(self) -> None:
        """Make a waiting :meth:`poll` return now (its select watches the pair)."""
        with contextlib.suppress(OSError):  # full (it is awake anyway) or closed (stopped)
            self._wake_w.send(b"\0")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_r.recv(4096)

    def _url(self) -> str:
        return self.config.broker.url

    def _on_register_write(self, _c: mqtt.Client, _u: Any, _sock: Any) -> None:
        self._wake()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._refusals += 1
            level = logging.ERROR if self._refusals == 1 else logging.DEBUG
            log.log(level, "Broker refused the connection: %s (retrying)", reason)
            return
        self._refusals = self._unreachable = 0
        self._delay = _MIN_DELAY_S
        self.generation += 1
        self._stats.connected = True
        if self._ever_connected and not flags.session_present:
            log.warning(
                "Broker has no session for %s: it may have lost queued messages",
                self.config.client_id,
            )
        self._ever_connected = True
        log.info("Connected to %s as %s", self._url(), self.config.client_id)
        for topic in self._topics:
            client.subscribe(topic, qos=1)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._stats.connected and not self._stopping:
            self._stats.reconnects += 1
            log.warning("Lost the broker (%s); reconnecting", reason)
        self._stats.connected = False
        self.generation += 1  # nothing of the lost connection may be acked any more
        self._back_off()

    def _on_publish(self, qos: int, mid: int, topic: str, payload: bytes) -> None:
        """A plain PUBLISH from the lean path (gateway.ingest.mqttclient)."""
        self._inbox.append(Message(mid, qos, self.generation, topic, payload))

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:  # an exception here would end the loop's turn
            try:
                topic = message.topic
            except UnicodeDecodeError:
                topic = bytes(message._topic).decode("utf-8", errors="replace")
            payload = bytes(message.payload)  # already bytes: no copy
            self._inbox.append(Message(message.mid, message.qos, self.generation, topic, payload))
        except Exception:
            log.exception("Could not take a received message")


def _tls_pending(sock: Any) -> int:
    """Bytes a TLS socket has decrypted but not handed out (select cannot see them)."""
    pending = getattr(sock, "pending", None)
    return int(pending()) if pending is not None else 0
