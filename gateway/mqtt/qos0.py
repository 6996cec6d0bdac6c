"""QoS 0 PUBLISH packets of a whole telemetry batch, handed to paho as one write.

paho's ``publish()`` costs, per message, a packet object, a socket-pair wake-up (one
syscall), a register-write callback, one ``send`` on the broker's socket, and for MQTT 5 a
``ReasonCode`` and a ``Properties`` built for the ``on_publish`` callback. On a site that
sends 200 windows a tick that was a tenth of the edge's CPU (bench/pipeline.py). A QoS 0
PUBLISH has no packet id and no acknowledgement, so the packets of a batch can be encoded
here, back to back, and queued as one: one wake-up, one callback, one ``send``.

**Be aware:** this uses paho's private ``_packet_queue``, ``_protocol``, ``_sock`` and
``_out_packet``.
``tests/unit/mqtt/test_qos0.py`` compares the bytes with what paho's own ``publish`` queues,
for MQTT 3.1.1 and 5, so a paho release that changes them fails there.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from paho.mqtt.client import MQTT_ERR_NO_CONN, MQTT_ERR_SUCCESS, MQTTMessageInfo, MQTTv5

__all__ = ["encode_qos0", "queue_qos0", "unwritten"]

_PUBLISH_QOS0 = 0x30
_MAX_REMAINING = 268_435_455  # MQTT's variable-byte integer limit
_TOPIC_LEN = struct.Struct("!H")


def encode_qos0(out: bytearray, topic: str, payload: bytes, *, v5: bool) -> None:
    """Append one QoS 0, non-retained PUBLISH of ``payload`` on ``topic`` to ``out``."""
    name = topic.encode()
    remaining = 2 + len(name) + len(payload) + (1 if v5 else 0)
    if remaining > _MAX_REMAINING:
        msg = f"PUBLISH on {topic} is {remaining} bytes: over MQTT's packet limit"
        raise ValueError(msg)
    out.append(_PUBLISH_QOS0)
    while True:  # the remaining length, 7 bits a byte, low first
        byte, remaining = remaining & 0x7F, remaining >> 7
        out.append(byte | 0x80 if remaining else byte)
        if not remaining:
            break
    out += _TOPIC_LEN.pack(len(name))
    out += name
    if v5:
        out.append(0)  # no properties
    out += payload


def queue_qos0(paho: Any, messages: Iterable[tuple[str, bytes]]) -> int:
    """Queue ``messages`` (topic, payload) on the paho client as one write; paho's rc.

    Returns ``MQTT_ERR_NO_CONN`` when the client has no socket, like ``publish`` does.
    """
    if paho._sock is None:
        return int(MQTT_ERR_NO_CONN)
    v5 = paho._protocol == MQTTv5
    packet = bytearray()
    for topic, payload in messages:
        encode_qos0(packet, topic, payload, v5=v5)
    if not packet:
        return int(MQTT_ERR_SUCCESS)
    # mid 0 is never a real packet id: aiomqtt's on_publish finds nothing to release.
    return int(paho._packet_queue(_PUBLISH_QOS0, packet, 0, 0, MQTTMessageInfo(0)))


def unwritten(paho: Any) -> int:
    """Packets paho has queued but not yet written whole to the socket.

    paho pops a packet off its queue only once all its bytes are sent (a partial write
    puts it back in front), so 0 means everything queued so far is in the kernel's hands.
    """
    return len(paho._out_packet)
