"""An in-process stand-in for aiomqtt.Client: the publisher's command reader and reply sender."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiomqtt


class PahoLikeClient:
    """Hands out commands, then stays quiet; refuses topics the way paho and Mosquitto do."""

    def __init__(self, commands: list[tuple[str, bytes]]) -> None:
        self._commands = commands
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.fail_next_publish = False

    async def subscribe(self, *_: object, **__: object) -> None:
        return None

    @property
    def messages(self) -> AsyncIterator[Any]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Any]:
        for topic, payload in self._commands:
            yield SimpleNamespace(topic=aiomqtt.Topic(topic), payload=payload)
        await asyncio.Event().wait()

    async def publish(self, topic: str, payload: bytes, qos: int = 0, **_: object) -> None:
        if self.fail_next_publish:
            self.fail_next_publish = False
            raise RuntimeError("an unexpected failure while publishing")
        if "+" in topic or "#" in topic:  # paho-mqtt's own check
            raise ValueError("Publish topic cannot contain wildcards.")
        encoded = topic.encode("utf-8")  # a lone surrogate raises here, as in paho
        if len(encoded) > 65535:
            raise ValueError("Publish topic is too long.")
        if any(c < 0x20 for c in encoded):  # Mosquitto disconnects: malformed packet
            raise aiomqtt.MqttError("disconnected: malformed packet")
        self.published.append((topic, json.loads(payload)))
