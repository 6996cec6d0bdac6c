"""Subscribe to a topic filter and hand every message to a callback, reconnecting forever.

For in-process readers such as the demo's proof that alarms come back through the
broker. aiomqtt errors stay inside this module: a lost broker is retried with capped
backoff and counted, and a callback that raises is logged, never ends the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiomqtt

from gateway.mqtt.publisher import MqttSettings

__all__ = ["SubscriberStats", "watch"]

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]


@dataclass
class SubscriberStats:
    """What the reader saw."""

    messages: int = 0
    reconnects: int = 0
    handler_errors: int = 0


async def watch(
    settings: MqttSettings,
    topic_filter: str,
    on_message: MessageHandler,
    stop: asyncio.Event,
    *,
    client_id: str = "",
    stats: SubscriberStats | None = None,
) -> SubscriberStats:
    """Deliver every message on ``topic_filter`` to ``on_message`` until ``stop`` is set."""
    stats = stats or SubscriberStats()
    delay = 0.5
    while not stop.is_set():
        try:
            async with _client(settings, client_id) as client:
                delay = 0.5
                await client.subscribe(topic_filter, qos=1)
                reader = asyncio.create_task(_read(client, on_message, stats))
                await _until(stop, reader)
        except aiomqtt.MqttError as exc:
            stats.reconnects += 1
            log.debug("Subscriber %s: %s; retrying in %.1f s", topic_filter, exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 10.0)
    return stats


def _client(settings: MqttSettings, client_id: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        settings.host,
        settings.port,
        identifier=client_id or None,
        username=settings.username,
        password=settings.password,
        tls_context=settings.tls_context(),
        protocol=aiomqtt.ProtocolVersion.V311 if settings.protocol == "3.1.1" else None,
        timeout=5.0,
    )


async def _until(stop: asyncio.Event, reader: asyncio.Task[None]) -> None:
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader  # re-raises the reader's MqttError: reconnect


async def _read(client: aiomqtt.Client, on_message: MessageHandler, stats: SubscriberStats) -> None:
    async for message in client.messages:
        stats.messages += 1
        try:
            on_message(message.topic.value, bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
        except Exception:
            stats.handler_errors += 1
            log.exception("Handler failed on a message from %s", message.topic.value)
