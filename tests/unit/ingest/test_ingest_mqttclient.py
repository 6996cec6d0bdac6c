"""The lean PUBLISH path gives what paho's own handler gives, and leaves the rest to paho.

It reads paho's private ``_in_packet``: these tests pin that, so a paho release that
changes it fails here (gateway/ingest/mqttclient.py)."""

from __future__ import annotations

import struct

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gateway.ingest.mqttclient import IngestClient, decode_publish

TOPIC = "hazard/v1/ent/site-1/gas-01/telemetry"
EXPIRY = b"\x05\x02\x00\x00\x00\x3c"  # properties: Message Expiry Interval 60 s


def _packet(topic: bytes, mid: int | None, props: bytes | None, payload: bytes) -> bytearray:
    """A PUBLISH after its fixed header (what paho keeps in ``_in_packet["packet"]``)."""
    out = struct.pack("!H", len(topic)) + topic
    if mid is not None:
        out += struct.pack("!H", mid)
    if props is not None:
        out += props
    return bytearray(out + payload)


def _client(cls: type[mqtt.Client], v5: bool) -> mqtt.Client:
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    return cls(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol, manual_ack=True)


def _handle(client: mqtt.Client, command: int, packet: bytearray) -> int:
    client._in_packet = {**client._in_packet, "command": command, "packet": packet}
    return int(client._handle_publish())


def _stock(command: int, packet: bytearray, v5: bool) -> tuple[int, int, str, bytes]:
    """What paho's own handler hands to on_message."""
    got: list[mqtt.MQTTMessage] = []
    client = _client(mqtt.Client, v5)
    client.on_message = lambda _c, _u, m: got.append(m)
    assert _handle(client, command, bytearray(packet)) == 0
    (m,) = got
    return m.qos, m.mid, m.topic, bytes(m.payload)


CASES = [
    # command, topic, mid, properties (v5), payload
    (0x32, TOPIC.encode(), 7, b"\x00", b'{"device": "gas-01"}'),
    (0x3A, TOPIC.encode(), 65535, b"\x00", b"dup flag set"),
    (0x33, TOPIC.encode(), 1, b"\x00", b"retained"),
    (0x30, TOPIC.encode(), None, b"\x00", b"qos 0"),
    (0x32, "温度/ü".encode(), 9, b"\x00", b""),
    (0x32, b"t", 2, b"\x00", b"x" * 70_000),
]


@pytest.mark.parametrize(("command", "topic", "mid", "props", "payload"), CASES)
@pytest.mark.parametrize("v5", [True, False], ids=["v5", "v311"])
def test_plain_publishes_decode_as_paho_decodes_them(
    command: int, topic: bytes, mid: int | None, props: bytes, payload: bytes, v5: bool
) -> None:
    packet = _packet(topic, mid, props if v5 else None, payload)
    got: list[tuple[int, int, str, bytes]] = []
    client = _client(IngestClient, v5)
    assert isinstance(client, IngestClient)
    client.sink = lambda *fields: got.append(fields)
    client.on_message = lambda *_a: pytest.fail("the lean path should have taken it")
    assert _handle(client, command, bytearray(packet)) == 0
    assert got == [_stock(command, packet, v5)]
    assert decode_publish(command, packet, v5) == got[0]


@pytest.mark.parametrize(
    ("command", "packet", "v5"),
    [
        (0x34, _packet(TOPIC.encode(), 3, b"\x00", b"qos 2"), True),
        (0x32, _packet(TOPIC.encode(), 3, EXPIRY, b"with properties"), True),
        (0x32, _packet(b"", 3, b"\x03\x23\x00\x01", b"topic alias"), True),
    ],
    ids=["qos2", "properties", "topic-alias"],
)
def test_everything_else_goes_to_paho(command: int, packet: bytearray, v5: bool) -> None:
    assert decode_publish(command, packet, v5) is None
    client = _client(IngestClient, v5)
    assert isinstance(client, IngestClient)
    client.sink = lambda *_f: pytest.fail("paho's handler should have taken it")
    seen: list[mqtt.MQTTMessage] = []
    client.on_message = lambda _c, _u, m: seen.append(m)
    if command & 0x06 == 0x04:  # paho holds QoS 2 until PUBREL (here: no socket for PUBREC)
        _handle(client, command, packet)
        assert seen == []
        return
    _handle(client, command, packet)
    assert len(seen) == 1 and seen[0].properties is not None  # paho decoded the properties


@pytest.mark.parametrize(
    "packet",
    [bytearray(b""), bytearray(b"\x00"), bytearray(b"\x00\x10abc"), bytearray(b"\x00\x01t")],
)
def test_truncated_packets_are_left_to_paho(packet: bytearray) -> None:
    assert decode_publish(0x32, packet, True) is None
