"""`mem-http`: the provincial hazardous-chemicals / dust access gateway style.

POST of ``{"appid": "<appid>", "data": "<hex>"}`` where ``data`` is the JSON array of
records (gateway/push/channels/memhttp_fields.py) encrypted with SM4-CBC and PKCS#7
padding, key and IV issued by the platform (hex files, 16 bytes each). Records need the
regulator codes in ``required_codes``; an item whose point lacks one is dead-lettered
with the missing field named. Real-time items send only points that have an indicator
code (the "mapped" points); the others are counted as ``unmapped``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from gateway.central import SecretRef
from gateway.errors import ConfigError, Problem
from gateway.push.channels.base import Channel, NotReady
from gateway.push.channels.http import avoid_sniffio_search, post
from gateway.push.channels.memhttp_fields import RecordSource, record
from gateway.push.items import ItemKind, PushItem
from gateway.push.manifests import (
    DEVICE_CODES,
    POINT_CODES,
    SITE_CODES,
    CodeName,
    CodeNeeds,
    ManifestBook,
)
from gateway.push.settings import ChannelSettings

if TYPE_CHECKING:
    import httpx

__all__ = ["MemHttpChannel", "MemHttpSettings", "sm4_decrypt", "sm4_encrypt"]

_DEFAULT_CODES: tuple[CodeName, ...] = (
    "credit_code",
    "indicator_code",
    "equipment_code",
    "tag_number",
)


class MemHttpSettings(ChannelSettings):
    """An SM4-encrypted record upload."""

    type: Literal["mem-http"]
    url: str = Field(pattern=r"^https?://")
    appid: str = Field(min_length=1, max_length=128)
    key: SecretRef = Field(description="SM4 key, 32 hex digits, from a file or variable")
    iv: SecretRef = Field(description="SM4 CBC IV, 32 hex digits")
    required_codes: tuple[CodeName, ...] = _DEFAULT_CODES
    ca_file: str | None = None


def _key(ref: SecretRef, what: str) -> bytes:
    """16 bytes from a hex secret; ConfigError naming the secret (never its value)."""
    text = ref.read()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        where = ref.file or f"${ref.env}"
        msg = f"SM4 {what} must be 32 hex digits (16 bytes); got {len(text)} characters"
        raise ConfigError([Problem(where, None, what, msg)])
    return raw


def sm4_encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding."""
    from cryptography.hazmat.primitives import padding  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415

    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def sm4_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """The inverse of :func:`sm4_encrypt` (for receivers and tests)."""
    from cryptography.hazmat.primitives import padding  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415

    decryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def records(item: PushItem, book: ManifestBook) -> list[dict[str, Any]]:
    """The records of one item (several for a real-time upload, else one)."""
    site = book.site(item.enterprise, item.site)
    if site is None:
        msg = f"no manifest yet for {item.enterprise}/{item.site}"
        raise NotReady(msg)
    if item.kind is ItemKind.REALTIME:
        out = []
        for value in item.values:
            ref = book.point(item.enterprise, item.site, value.device, value.point)
            if ref is not None and ref.point.indicator_code:
                out.append(record(RecordSource(item, site, ref, value)))
        return out
    ref = None
    if item.event is not None:
        ref = book.point(item.enterprise, item.site, item.event.device, item.event.point)
    return [record(RecordSource(item, site, ref))]


class MemHttpChannel(Channel):
    """Posts batches of records, SM4-encrypted, as ``{"appid", "data"}``."""

    max_batch = 200

    def __init__(self, settings: MemHttpSettings) -> None:
        import httpx  # noqa: PLC0415 - the CLI must start without it

        avoid_sniffio_search()

        codes = set(settings.required_codes)
        needs = CodeNeeds(
            site=tuple(c for c in SITE_CODES if c in codes),
            device=tuple(c for c in DEVICE_CODES if c in codes),
            point=tuple(c for c in POINT_CODES if c in codes),
        )
        super().__init__(settings, needs)
        self._url = settings.url
        self._appid = settings.appid
        self._key = _key(settings.key, "key")
        self._iv = _key(settings.iv, "iv")
        verify: Any = settings.ca_file or True
        timeout = settings.delivery.timeout_s
        self._client: httpx.AsyncClient = httpx.AsyncClient(timeout=timeout, verify=verify)

    def encode(self, items: Sequence[PushItem], book: ManifestBook) -> bytes | None:
        """The request body for ``items`` (None when they hold no mapped record)."""
        batch = [r for item in items for r in records(item, book)]
        if not batch:
            return None
        plain = json.dumps(batch, separators=(",", ":"), ensure_ascii=False).encode()
        data = sm4_encrypt(self._key, self._iv, plain).hex()
        return json.dumps({"appid": self._appid, "data": data}).encode()

    async def deliver(self, items: Sequence[PushItem], book: ManifestBook) -> None:
        """POST all records of ``items`` in one request."""
        body = self.encode(items, book)
        if body is not None:
            await post(self._client, self._url, body, {"Content-Type": "application/json"})

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
