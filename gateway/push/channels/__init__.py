"""Channel types, by name: a registry (adding a province = one module + one line here).

    base            Channel, and the error classes a delivery failure is sorted into
    http            HTTP answers -> error classes, Retry-After
    webhook         signed JSON webhook (HMAC-SHA256)
    memhttp         SM4-encrypted record upload (provincial access gateways)
    memhttp_fields  the documented mem-http field mapping table
    mqttbridge      republish to the regulator's MQTT broker

Each type has a sample config ``examples/push-{type}.yaml`` and a section in docs/push.md;
tests/unit/push/test_registry.py checks both exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from gateway.push.channels.base import Channel
from gateway.push.channels.memhttp import MemHttpChannel, MemHttpSettings
from gateway.push.channels.mqttbridge import MqttBridgeChannel, MqttBridgeSettings
from gateway.push.channels.webhook import WebhookChannel, WebhookSettings

__all__ = ["CHANNEL_TYPES", "AnyChannelSettings", "ChannelType", "build_channel"]


@dataclass(frozen=True)
class ChannelType:
    """One registered channel type."""

    name: str
    settings: type[Any]
    factory: Callable[[Any], Channel]


CHANNEL_TYPES: dict[str, ChannelType] = {
    t.name: t
    for t in (
        ChannelType("webhook", WebhookSettings, WebhookChannel),
        ChannelType("mem-http", MemHttpSettings, MemHttpChannel),
        ChannelType("mqtt-bridge", MqttBridgeSettings, MqttBridgeChannel),
    )
}

AnyChannelSettings = Annotated[
    WebhookSettings | MemHttpSettings | MqttBridgeSettings, Field(discriminator="type")
]


def build_channel(settings: WebhookSettings | MemHttpSettings | MqttBridgeSettings) -> Channel:
    """The channel object for ``settings`` (reads its secrets now)."""
    return CHANNEL_TYPES[settings.type].factory(settings)
