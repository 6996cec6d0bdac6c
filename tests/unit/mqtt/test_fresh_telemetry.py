"""Fresh QoS 0 telemetry skips the outbox only when nothing waits and nothing is unsent.

`MqttPublisher.send_fresh` and `OutboxForwarder` together: every refusal stores the group
in the outbox (order and durability), and QoS 1 telemetry never takes the short cut.
"""

from __future__ import annotations

import contextlib
import socket
from collections import deque
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from paho.mqtt.client import MQTT_ERR_SUCCESS, CallbackAPIVersion, Client, MQTTv5

from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.mqtt.publisher import MqttPublisher, MqttSettings
from gateway.mqtt.qos0 import queue_qos0, unwritten
from gateway.outbox import Lane, Outbox
from gateway.outbox.forwarder import OutboxForwarder


class _Paho:
    """paho's connection state as queue_qos0 and unwritten read it."""

    def __init__(self) -> None:
        self._sock: object | None = object()
        self._protocol = MQTTv5
        self._out_packet: deque[dict[str, Any]] = deque()
        self.writes: list[bytes] = []

    def _packet_queue(self, command: int, packet: bytearray, mid: int, qos: int, info: Any) -> int:
        self.writes.append(bytes(packet))
        return int(MQTT_ERR_SUCCESS)


def _window(device: str, start: float) -> TelemetryWindow:
    return TelemetryWindow(device, start, 1.0, (PointWindow("gas", 1.0, 2.0, 1.5, 2.0, 1),))


@pytest.fixture
def parts(tmp_path: Path) -> tuple[MqttPublisher, OutboxForwarder, _Paho]:
    outbox = Outbox(tmp_path / "outbox.sqlite", quota_bytes=1 << 20)
    publisher = MqttPublisher("ent", "site-a", MqttSettings(), outbox)
    paho = _Paho()
    publisher._connection = SimpleNamespace(_client=paho)  # type: ignore[assignment]
    forwarder = OutboxForwarder(
        outbox, "ent", "site-a", on_put=publisher.notify, send_fresh=publisher.send_fresh
    )
    return publisher, forwarder, paho


def test_an_idle_connection_takes_the_group_as_one_write(
    parts: tuple[MqttPublisher, OutboxForwarder, _Paho],
) -> None:
    publisher, forwarder, paho = parts
    forwarder.telemetry(_window("gas-01", 100.0))  # no running loop: flushed at once
    forwarder.telemetry(_window("gas-02", 100.0))
    assert len(paho.writes) == 2
    assert b"hazard/v1/ent/site-a/gas-02/telemetry" in paho.writes[1]
    assert publisher.outbox.stats().put_telemetry == 0
    assert (publisher.stats.telemetry_sent, publisher.stats.telemetry_direct) == (2, 2)


def test_anything_queued_sends_the_group_through_the_outbox_behind_it(
    parts: tuple[MqttPublisher, OutboxForwarder, _Paho],
) -> None:
    publisher, forwarder, paho = parts
    forwarder.alarm_payloads([("gas-01", "gas", b'{"event_id": "a"}')])  # not yet sent
    forwarder.telemetry(_window("gas-01", 100.0))
    assert paho.writes == []
    queued = publisher.outbox.peek(10)
    assert [m.lane for m in queued] == [Lane.ALARM, Lane.TELEMETRY]
    publisher.outbox.ack([m.id for m in queued])
    forwarder.telemetry(_window("gas-01", 101.0))  # acknowledged: the short cut again
    assert len(paho.writes) == 1


def test_unwritten_bytes_or_no_connection_keep_the_group_on_disk(
    parts: tuple[MqttPublisher, OutboxForwarder, _Paho],
) -> None:
    publisher, forwarder, paho = parts
    paho._out_packet.append({"pos": 10, "to_process": 90})  # a slow broker
    forwarder.telemetry(_window("gas-01", 100.0))
    paho._out_packet.clear()
    paho._sock = None  # the socket went away before the session noticed
    forwarder.telemetry(_window("gas-01", 101.0))
    publisher._connection = None  # between sessions
    forwarder.telemetry(_window("gas-01", 102.0))
    assert paho.writes == []
    assert publisher.outbox.stats().queued_telemetry == 3
    assert publisher.stats.telemetry_direct == 0


def test_a_connection_that_raises_leaves_the_group_to_the_outbox(
    parts: tuple[MqttPublisher, OutboxForwarder, _Paho],
) -> None:
    publisher, forwarder, paho = parts

    def broken(*_args: Any) -> int:
        raise OSError("socket gone bad")

    paho._packet_queue = broken  # type: ignore[method-assign]
    forwarder.telemetry(_window("gas-01", 100.0))
    assert publisher.outbox.stats().queued_telemetry == 1


def test_qos_1_telemetry_never_skips_the_outbox(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite", quota_bytes=1 << 20)

    def refuse(_messages: list[tuple[str, bytes]]) -> bool:
        raise AssertionError("QoS 1 telemetry must wait for its PUBACK in the outbox")

    forwarder = OutboxForwarder(outbox, "ent", "site-a", telemetry_qos=1, send_fresh=refuse)
    forwarder.telemetry(_window("gas-01", 100.0))
    assert outbox.stats().queued_telemetry == 1


def test_unwritten_counts_a_partly_written_packet_until_its_last_byte() -> None:
    client = Client(CallbackAPIVersion.VERSION2, protocol=MQTTv5)
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client._sock = ours  # paho without a loop of its own writes at once, as far as it can
    try:
        assert unwritten(client) == 0
        assert queue_qos0(client, [("t", bytes(1 << 20))]) == MQTT_ERR_SUCCESS
        assert unwritten(client) == 1, "a partial write stays queued"
        broker.setblocking(False)
        for _ in range(10_000):
            with contextlib.suppress(BlockingIOError):
                while broker.recv(1 << 16):
                    pass
            client.loop_write()
            if not unwritten(client):
                break
        assert unwritten(client) == 0
    finally:
        client._sock = None
        ours.close()
        broker.close()
