"""An in-process MQTT broker (amqtt) for the demo, when no broker URL is given.

Good enough for a demo (about 1,400 QoS 1 messages/s here), not for production:
production sites run Mosquitto or an MQTT 5 cluster (see docs/operations.md).
"""

from __future__ import annotations

import logging
from types import TracebackType

from amqtt.broker import Broker

__all__ = ["EmbeddedBroker"]


class EmbeddedBroker:
    """amqtt on 127.0.0.1:``port``, anonymous, as an async context manager."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = Broker(config)
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)

    @property
    def url(self) -> str:
        """mqtt://host:port of the broker."""
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> EmbeddedBroker:
        await self._broker.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._broker.shutdown()
