"""paho-mqtt's Client with a lean path for the one packet ingest receives by the thousand.

For every PUBLISH, paho 2.x builds an MQTT 5 ``Properties`` object (about 25 µs here even
when the packet carries none: its constructor fills two tables and its ``unpack`` clears
27 attributes by name), an ``MQTTMessage`` with a ``threading.Condition`` inside, and
passes it through two locks and a topic matcher to ``on_message``. For a 20-point
telemetry window that is 2-3 µs per point, about a third of the worker's CPU.

:class:`IngestClient` overrides only the PUBLISH handler, and only for the common case:
QoS 0 or 1, manual acknowledgement, a topic, and (MQTT 5) an empty property list. Such a
packet is decoded here — topic, packet id and payload are all ingest needs — and handed
to :attr:`IngestClient.sink`. Anything else (QoS 2, properties such as a topic alias or a
message expiry, a short or malformed packet, no sink) goes to paho's own handler, as does
everything that is not a PUBLISH: the connection, session, keepalive, acknowledgements and
reconnects stay paho's. The override reads paho's ``_in_packet`` (the packet just read);
tests/unit/ingest/test_ingest_mqttclient.py checks it against paho's own decoding, so a
paho release that changes it fails there, not in production.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

__all__ = ["IngestClient", "Sink", "decode_publish"]

# (qos, packet id, topic, payload) of one received PUBLISH
Sink = Callable[[int, int, str, bytes], None]


class IngestClient(mqtt.Client):
    """A paho Client whose plain PUBLISH packets go straight to :attr:`sink`."""

    sink: Sink | None = None

    def _handle_publish(self) -> MQTTErrorCode:
        """paho's PUBLISH handler, short-cut for QoS 0/1 packets without properties."""
        sink = self.sink
        if sink is not None and self._manual_ack:
            incoming: Any = self._in_packet
            v5 = self._protocol == MQTTProtocolVersion.MQTTv5
            decoded = decode_publish(incoming["command"], incoming["packet"], v5)
            if decoded is not None:
                sink(*decoded)  # manual ack: acknowledged later by the service, never here
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_publish()


def decode_publish(
    command: int, packet: bytes | bytearray, v5: bool
) -> tuple[int, int, str, bytes] | None:
    """``(qos, mid, topic, payload)`` of a plain PUBLISH, or None for paho to handle.

    ``packet`` is everything after the fixed header: topic (2-byte length + UTF-8), packet
    id (QoS > 0), on MQTT 5 the property length (0 here) and the payload.
    """
    qos = (command & 0x06) >> 1
    size = len(packet)
    if qos > 1 or size < 2:
        return None
    end = 2 + ((packet[0] << 8) | packet[1])
    head = end + (2 if qos else 0)
    if end == 2 or head + v5 > size:
        return None  # no topic (a topic alias) or truncated: paho decides
    if v5 and packet[head] != 0:
        return None  # properties: paho decodes them
    mid = (packet[end] << 8) | packet[end + 1] if qos else 0
    topic = bytes(packet[2:end]).decode("utf-8", errors="replace")
    return qos, mid, topic, bytes(memoryview(packet)[head + v5 :])
