"""`mqtt-bridge`: republish items to another broker (the regulator's), QoS 1.

The bridge has its own broker settings (URL, user, password from a file or variable, CA,
client certificate), so the regulator's ACL and TLS apply to it alone. An item counts as
delivered when that broker sent PUBACK. Topics::

    {prefix}/{enterprise}/{site}/alarm/{device}/{point}   alarm events (as received)
    {prefix}/{enterprise}/{site}/push/{type}              status, realtime, heartbeat, overdue

Payloads are the JSON bodies the webhook sends (docs/push.md, "Bodies").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from gateway.central import BrokerConfig
from gateway.push.channels.base import AuthRefused, Channel, RetryLater, TimedOut
from gateway.push.channels.webhook import encode
from gateway.push.items import ItemKind, PushItem
from gateway.push.manifests import ManifestBook
from gateway.push.settings import ChannelSettings

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

__all__ = ["MqttBridgeChannel", "MqttBridgeSettings", "bridge_topic"]

log = logging.getLogger(__name__)


class MqttBridgeSettings(ChannelSettings):
    """Republish to another MQTT broker."""

    type: Literal["mqtt-bridge"]
    broker: BrokerConfig
    topic_prefix: str = Field("hazard/v1", pattern=r"^[^#+]+$", max_length=200)


def bridge_topic(prefix: str, item: PushItem) -> str:
    """Where ``item`` is republished."""
    base = f"{prefix}/{item.enterprise}/{item.site}"
    if item.kind is ItemKind.ALARM and item.event is not None:
        return f"{base}/alarm/{item.event.device}/{item.event.point}"
    return f"{base}/push/{item.kind}"


class MqttBridgeChannel(Channel):
    """A paho client (own network thread) publishing with QoS 1."""

    max_batch = 50

    def __init__(self, settings: MqttBridgeSettings) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415 - the CLI must start without it
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        super().__init__(settings)
        self._prefix = settings.topic_prefix
        self._timeout = settings.delivery.timeout_s
        broker = settings.broker
        client_id = broker.client_id or f"hazard-push-bridge-{settings.name}"
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._refused: str | None = None
        self._client.on_connect = self._on_connect
        if broker.user:
            self._client.username_pw_set(broker.user, broker.secret())
        context = broker.tls_context()
        if context is not None:
            self._client.tls_set_context(context)
        self._client.reconnect_delay_set(1, 30)
        self._client.connect_async(broker.host, broker.port, keepalive=broker.keepalive)
        self._client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        self._refused = None if not rc.is_failure else str(rc)

    async def deliver(self, items: Sequence[PushItem], book: ManifestBook) -> None:
        """Publish every item with QoS 1 and wait for each PUBACK."""
        if not self._client.is_connected():
            if self._refused:
                msg = f"bridge broker refused the connection: {self._refused}"
                raise AuthRefused(msg)
            msg = "not connected to the bridge broker"
            raise RetryLater(msg)
        infos = [
            self._client.publish(bridge_topic(self._prefix, item), encode(item), qos=1)
            for item in items
        ]
        await asyncio.to_thread(self._wait, infos)

    def _wait(self, infos: list[mqtt.MQTTMessageInfo]) -> None:
        for info in infos:
            try:
                info.wait_for_publish(self._timeout)
            except (RuntimeError, ValueError) as exc:
                msg = f"publish failed: {exc}"
                raise RetryLater(msg) from None
            if not info.is_published():
                msg = "no PUBACK from the bridge broker in time"
                raise TimedOut(msg)

    async def aclose(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
