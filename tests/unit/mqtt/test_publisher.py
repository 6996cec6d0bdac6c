"""The publisher outlives bad commands and a failing outbox (in-process fakes, no broker)."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import pytest

from gateway.mqtt.commandio import ReplyQueue
from gateway.mqtt.publisher import MqttPublisher, MqttSettings
from gateway.outbox import Outbox, OutboxError
from tests.unit.mqtt.fakes import PahoLikeClient

A = "hazard/v1/ent/site-a"


def _publisher(tmp_path: Path, handler: Any) -> MqttPublisher:
    outbox = Outbox(tmp_path / "outbox.sqlite", quota_bytes=1 << 20)
    return MqttPublisher("ent", "site-a", MqttSettings(), outbox, commands=handler)


async def _serve(publisher: MqttPublisher, client: PahoLikeClient, replies: int) -> None:
    queue = ReplyQueue()
    reader = asyncio.create_task(publisher._serve_commands(client, queue))  # type: ignore[arg-type]
    sender = asyncio.create_task(publisher._send_replies(client, queue))  # type: ignore[arg-type]
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(client.published) >= replies or reader.done() or sender.done():
            break
    assert not reader.done() and not sender.done(), "the command reader must live on"
    for task in (reader, sender):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_request_id_with_wildcards_is_answered_and_the_reader_lives_on(
    tmp_path: Path,
) -> None:
    def handler(action: str, payload: bytes) -> dict[str, Any]:
        request_id = json.loads(payload)["request_id"]
        return {"request_id": request_id, "ok": False, "error": {"code": "malformed"}}

    client = PahoLikeClient(
        [
            (f"{A}/cmd/ack", b'{"request_id": "abc/#"}'),
            (f"{A}/cmd/ack", b'{"request_id": "req-0002"}'),
        ]
    )
    publisher = _publisher(tmp_path, handler)
    await _serve(publisher, client, replies=2)
    assert [t for t, _ in client.published] == [f"{A}/reply/unknown", f"{A}/reply/req-0002"]
    publisher.outbox.close()


async def test_a_handler_that_raises_gets_an_error_reply_and_the_reader_lives_on(
    tmp_path: Path,
) -> None:
    def handler(action: str, payload: bytes) -> dict[str, Any]:
        if payload == b"boom":
            raise RuntimeError("database is locked")
        return {"request_id": "r2", "ok": True}

    client = PahoLikeClient([(f"{A}/cmd/ack", b"boom"), (f"{A}/cmd/ack", b"{}")])
    publisher = _publisher(tmp_path, handler)
    await _serve(publisher, client, replies=2)
    (_, first), (_, second) = client.published
    assert first["ok"] is False and first["error"]["code"] == "internal_error"
    assert second["ok"] is True and publisher.stats.commands == 2
    publisher.outbox.close()


async def test_an_outbox_error_is_retried_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = _publisher(tmp_path, None)
    stop = asyncio.Event()
    sessions = 0

    async def session(_: asyncio.Event) -> None:
        nonlocal sessions
        sessions += 1
        if sessions == 1:
            raise OutboxError("outbox: peek failed: database is locked")
        stop.set()

    monkeypatch.setattr(publisher, "_session", session)
    await asyncio.wait_for(publisher.run(stop), timeout=5)
    assert sessions == 2 and "locked" in publisher.stats.last_error
    publisher.outbox.close()


def test_mqtts_url_verifies_the_broker_even_without_a_ca_file() -> None:
    secure = MqttSettings.from_url("mqtts://edge@broker.example")
    context = secure.tls_context()
    assert secure.port == 8883 and context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert MqttSettings.from_url("mqtt://broker.example").tls_context() is None


async def test_an_unexpected_error_in_a_session_is_retried_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = _publisher(tmp_path, None)
    stop = asyncio.Event()
    sessions = 0

    async def session(_: asyncio.Event) -> None:
        nonlocal sessions
        sessions += 1
        if sessions == 1:
            raise ValueError("Publish topic cannot contain wildcards.")
        stop.set()

    monkeypatch.setattr(publisher, "_session", session)
    await asyncio.wait_for(publisher.run(stop), timeout=5)
    assert sessions == 2 and publisher.stats.session_errors == 1
    publisher.outbox.close()
