"""A blocking paho-mqtt client for tests: connect, subscribe, publish, collect messages.

Tests assert what a real subscriber sees on a real broker. Every call waits for the broker's
acknowledgement (CONNACK, SUBACK, PUBACK) with a deadline, so a test never sleeps to "let
things settle", and failures name the broker's reason code.
"""

from __future__ import annotations

import queue
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from .waiting import wait_for

__all__ = ["MqttConnectError", "MqttProbe", "ReceivedMessage"]


class MqttConnectError(ConnectionError):
    """The broker refused the connection; ``reason`` is its CONNACK reason code."""

    def __init__(self, reason: ReasonCode | str) -> None:
        self.reason = reason
        super().__init__(f"MQTT connection refused: {reason}")


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the subscriber saw it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttProbe:
    """paho client (MQTT 3.1.1, callback API v2) with a background network loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_cert: Path | None = None,
        client_cert: Path | None = None,
        client_key: Path | None = None,
        client_id: str = "",
        clean_session: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.messages: queue.Queue[ReceivedMessage] = queue.Queue()
        self.connects = 0
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._lock = threading.Lock()
        self._subacks: dict[int, list[ReasonCode]] = {}
        # clean_session=False (with a client_id) keeps the subscription and queued QoS 1
        # messages across reconnects: what a real alarm subscriber does.
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_cert is not None:
            self.client.tls_set(
                ca_certs=str(ca_cert),
                certfile=str(client_cert) if client_cert else None,
                keyfile=str(client_key) if client_key else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not reason.is_failure:
            with self._lock:
                self.connects += 1
        self._connack.put(reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put(
            ReceivedMessage(
                message.topic, bytes(message.payload), message.qos, bool(message.retain)
            )
        )

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        self._subacks[mid] = list(codes)

    def connect(self, timeout: float = 5.0) -> Self:
        """Connect and wait for CONNACK; raise ``MqttConnectError`` when refused.

        On any failure the network loop is stopped, so a refused probe does not keep
        reconnecting in the background for the rest of the test run.
        """
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        try:
            reason = self._connack.get(timeout=timeout)
        except queue.Empty:
            self.close()
            msg = f"no CONNACK from {self.host}:{self.port} within {timeout} s"
            raise TimeoutError(msg) from None
        if reason.is_failure:
            self.close()
            raise MqttConnectError(reason)
        return self

    def wait_connects(self, count: int, timeout: float = 10.0) -> None:
        """Wait until the client has connected ``count`` times (reconnects included)."""
        wait_for(lambda: self.connects >= count, timeout, f"{count} MQTT connects")

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 5.0) -> None:
        """Subscribe and wait for SUBACK; raise ``PermissionError`` when the broker refuses."""
        result, mid = self.client.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            msg = f"subscribe to {topic!r} failed to send (rc={result})"
            raise ConnectionError(msg)
        codes = wait_for(lambda: self._subacks.get(mid), timeout, f"SUBACK for {topic!r}")
        if any(code.is_failure for code in codes):
            msg = f"broker refused subscription to {topic!r}: {codes}"
            raise PermissionError(msg)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait until it is sent (and acknowledged for QoS > 0)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=5.0)
        if not info.is_published():
            msg = f"publish to {topic!r} not acknowledged (rc={info.rc})"
            raise TimeoutError(msg)

    def get(self, timeout: float = 5.0) -> ReceivedMessage:
        """The next received message; raises ``queue.Empty`` after ``timeout``."""
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        """Disconnect and stop the network loop."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
