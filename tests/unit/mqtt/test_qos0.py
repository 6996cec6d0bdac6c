"""Our QoS 0 PUBLISH bytes are paho's own, for MQTT 3.1.1 and 5 (pins paho's private API)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from paho.mqtt.client import (
    MQTT_ERR_NO_CONN,
    MQTT_ERR_SUCCESS,
    CallbackAPIVersion,
    Client,
    MQTTv5,
    MQTTv311,
)

from gateway.mqtt.qos0 import encode_qos0, queue_qos0

TOPICS = ["hazard/v1/acme/s1/telemetry/gas-01", "h/" + "é" * 70, "t" * 300]
SIZES = [0, 1, 100, 125, 16_000, 2_100_000]  # remaining-length of 1, 2, 3 and 4 bytes


class _Capture:
    """Stands for paho's socket and queue: records what paho would write."""

    def __init__(self, client: Client) -> None:
        self.packets: list[tuple[Any, ...]] = []
        client._sock = SimpleNamespace(close=lambda: None)  # type: ignore[assignment]
        client._packet_queue = self._queue  # type: ignore[method-assign]

    def _queue(self, command: int, packet: bytearray, mid: int, qos: int, info: Any) -> int:
        self.packets.append((command, bytes(packet), mid, qos, info))
        return int(MQTT_ERR_SUCCESS)


@pytest.mark.parametrize("protocol", [MQTTv311, MQTTv5])
def test_encoded_publish_is_what_paho_writes(protocol: int) -> None:
    client = Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    capture = _Capture(client)
    ours = bytearray()
    for topic in TOPICS:
        for size in SIZES:
            payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
            client.publish(topic, payload, qos=0)
            encode_qos0(ours, topic, payload, v5=protocol == MQTTv5)
    assert ours == b"".join(packet for _, packet, *_ in capture.packets)


@pytest.mark.parametrize("protocol", [MQTTv311, MQTTv5])
def test_a_batch_is_one_queued_write_that_paho_can_finish(protocol: int) -> None:
    client = Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    capture = _Capture(client)
    messages = [(TOPICS[0], b'{"n": %d}' % i) for i in range(5)]
    assert queue_qos0(client, messages) == MQTT_ERR_SUCCESS
    ((command, packet, mid, qos, info),) = capture.packets
    expected = bytearray()
    for topic, payload in messages:
        expected += _paho_bytes(protocol, topic, payload)
    assert (command, packet, mid, qos) == (0x30, bytes(expected), 0, 0)
    info._set_as_published()  # what paho's writer calls on it once the bytes are out
    assert info.is_published()


def test_no_socket_is_refused_like_publish_and_nothing_is_queued() -> None:
    client = Client(CallbackAPIVersion.VERSION2, protocol=MQTTv5)
    assert queue_qos0(client, [(TOPICS[0], b"x")]) == MQTT_ERR_NO_CONN


def test_over_the_packet_limit_is_an_error_naming_the_topic() -> None:
    with pytest.raises(ValueError, match=r"telemetry/gas-01 .* over MQTT's packet limit"):
        encode_qos0(bytearray(), TOPICS[0], bytes(268_435_456), v5=True)


def _paho_bytes(protocol: int, topic: str, payload: bytes) -> bytes:
    client = Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    capture = _Capture(client)
    client.publish(topic, payload, qos=0)
    return capture.packets[0][1]
