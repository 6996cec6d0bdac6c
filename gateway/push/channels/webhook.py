"""`webhook`: HTTPS POST of each item as JSON, signed with HMAC-SHA256.

Headers (docs/push.md shows a receiver checking them in a few lines)::

    X-Hazard-Timestamp: 1764583200                       unix seconds, when signed
    X-Hazard-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>
    Idempotency-Key:    <event_id>                        the receiver de-duplicates on it
    X-Hazard-Type:      alarm | site_status | realtime | heartbeat | overdue

The body of an alarm is DESIGN.md's alarm event, unchanged; other items are described in
docs/push.md. One item per request keeps the idempotency key one-to-one with the body; a
batch is sent in order, one request after another, and committed in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from gateway.central import SecretRef
from gateway.push.channels.base import Channel, DeliveryError
from gateway.push.channels.http import avoid_sniffio_search, post
from gateway.push.items import PushItem
from gateway.push.manifests import ManifestBook
from gateway.push.settings import ChannelSettings

if TYPE_CHECKING:
    import httpx

__all__ = ["WebhookChannel", "WebhookSettings", "sign"]


class WebhookSettings(ChannelSettings):
    """A signed JSON webhook."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", description="the receiver's URL")
    secret: SecretRef = Field(description="HMAC key: {file: PATH} or {env: NAME}")
    ca_file: str | None = None


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body``."""
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode(item: PushItem) -> bytes:
    """The JSON body of one item (compact, UTF-8)."""
    body: dict[str, Any] = item.body()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookChannel(Channel):
    """Posts one signed item per request, a batch in order."""

    max_batch = 20
    sequential = True

    def __init__(self, settings: WebhookSettings) -> None:
        import httpx  # noqa: PLC0415 - the CLI must start without it

        avoid_sniffio_search()
        super().__init__(settings)
        self._url = settings.url
        self._key = settings.secret.read().encode()
        verify: Any = settings.ca_file or True
        timeout = settings.delivery.timeout_s
        self._client: httpx.AsyncClient = httpx.AsyncClient(timeout=timeout, verify=verify)

    async def deliver(self, items: Sequence[PushItem], book: ManifestBook) -> None:
        """POST each item, signed, in order; a failure says how many went before it."""
        for done, item in enumerate(items):
            try:
                await self._post(item)
            except DeliveryError as exc:
                exc.done = done
                raise

    async def _post(self, item: PushItem) -> None:
        """One signed POST."""
        body = encode(item)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Hazard-Timestamp": stamp,
            "X-Hazard-Signature": sign(self._key, stamp, body),
            "Idempotency-Key": item.idempotency_key,
            "X-Hazard-Type": str(item.kind),
        }
        await post(self._client, self._url, body, headers)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
