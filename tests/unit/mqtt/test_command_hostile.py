"""Hostile commands: no payload ends the reader, builds a bad topic or drowns a real ack."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from gateway.alarms.commands import (
    SENDER_BURST,
    TOTAL_BURST,
    CommandProcessor,
    RefusalLimiter,
    sign_command,
)
from gateway.alarms.journal import AlarmJournal
from gateway.alarms.lifecycle import AlarmManager, IsaState
from gateway.alarms.model import Transition
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmEvent, AlarmKind
from gateway.contracts.command import REQUEST_ID_PATTERN, is_trusted_reply
from gateway.mqtt.commandio import ReplyQueue
from gateway.mqtt.publisher import MqttPublisher, MqttSettings
from gateway.outbox import Outbox
from gateway.timeutil import rfc3339
from tests.unit.mqtt.fakes import PahoLikeClient

A = "hazard/v1/ent/site-a"
NOW = 1_800_000_000.0
KEY = b"0123456789abcdef-li"
HOSTILE_IDS = ["x" * 70_000, "abc\ud800defgh", "abc\x01\x02defgh"]


@pytest.fixture(name="processor")
def fixture_processor(tmp_path: Path) -> Iterator[CommandProcessor]:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    events: list[AlarmEvent] = []
    manager = AlarmManager(load_site_arg(None), journal, events.append, clock=lambda: NOW)
    manager.on_transitions([Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW)])
    yield CommandProcessor(manager, {"li.wei": KEY}, clock=lambda: NOW)
    journal.close()


def _signed_ack(request_id: str | None = None) -> bytes:
    body: dict[str, Any] = {
        "request_id": request_id or str(uuid.uuid4()),
        "by": "li.wei",
        "ts": rfc3339(NOW),
        "device": "gas-01",
        "point": "gas",
        "kind": "HH",
    }
    body["sig"] = sign_command(body, KEY)
    return json.dumps(body).encode()


def _hostile(request_id: str) -> bytes:
    return json.dumps({"request_id": request_id, "by": "li.wei", "ts": "x", "sig": "0"}).encode()


async def _serve(publisher: MqttPublisher, client: PahoLikeClient, replies: int) -> None:
    queue = ReplyQueue()
    reader = asyncio.create_task(publisher._serve_commands(client, queue))  # type: ignore[arg-type]
    sender = asyncio.create_task(publisher._send_replies(client, queue))  # type: ignore[arg-type]
    for _ in range(200):
        await asyncio.sleep(0.01)
        if len(client.published) >= replies or reader.done() or sender.done():
            break
    assert not reader.done() and not sender.done(), "the command reader must live on"
    for task in (reader, sender):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _publisher(tmp_path: Path, handler: Any) -> MqttPublisher:
    outbox = Outbox(tmp_path / "outbox.sqlite", quota_bytes=1 << 20)
    return MqttPublisher("ent", "site-a", MqttSettings(), outbox, commands=handler)


async def test_hostile_request_ids_get_a_reply_on_unknown_and_a_later_ack_is_applied(
    tmp_path: Path, processor: CommandProcessor
) -> None:
    ack_id = "operator-ack-0001"
    commands = [(f"{A}/cmd/ack", _hostile(rid)) for rid in HOSTILE_IDS]
    client = PahoLikeClient([*commands, (f"{A}/cmd/ack", _signed_ack(ack_id))])
    publisher = _publisher(tmp_path, processor.answer)
    await _serve(publisher, client, replies=4)
    topics = [topic for topic, _ in client.published]
    assert topics == [f"{A}/reply/{ack_id}"] + [f"{A}/reply/unknown"] * 3 or sorted(
        topics
    ) == sorted([f"{A}/reply/{ack_id}", *[f"{A}/reply/unknown"] * 3])
    ack = next(body for topic, body in client.published if topic.endswith(ack_id))
    assert ack["ok"] is True
    assert next(iter(processor.manager.alarms.values())).state is IsaState.ACKED
    publisher.outbox.close()


@pytest.mark.parametrize("request_id", HOSTILE_IDS, ids=["70k", "surrogate", "control"])
async def test_a_handler_echoing_a_hostile_id_never_makes_a_topic_of_it(
    tmp_path: Path, request_id: str
) -> None:
    def echo(action: str, payload: bytes) -> dict[str, Any]:
        return {"request_id": request_id, "ok": False, "error": {"code": "malformed"}}

    client = PahoLikeClient([(f"{A}/cmd/ack", b"{}"), (f"{A}/cmd/ack", b"{}")])
    publisher = _publisher(tmp_path, echo)
    await _serve(publisher, client, replies=2)
    assert [topic for topic, _ in client.published] == [f"{A}/reply/unknown"] * 2
    publisher.outbox.close()


async def test_a_failing_reply_publish_is_counted_and_the_reader_goes_on(tmp_path: Path) -> None:
    def handler(action: str, payload: bytes) -> dict[str, Any]:
        return {"request_id": "request-01", "ok": True, "event": {}}

    client = PahoLikeClient([(f"{A}/cmd/ack", b"{}"), (f"{A}/cmd/ack", b"{}")])
    client.fail_next_publish = True
    publisher = _publisher(tmp_path, handler)
    await _serve(publisher, client, replies=1)
    assert len(client.published) == 1 and publisher.stats.command_errors == 1
    publisher.outbox.close()


async def test_a_command_task_that_dies_is_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = _publisher(tmp_path, lambda action, payload: None)
    calls = 0

    async def serve(client: object, replies: ReplyQueue) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in the reader")
        await asyncio.Event().wait()

    monkeypatch.setattr(publisher, "_serve_commands", serve)
    readers = publisher._command_tasks(PahoLikeClient([]))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    readers.check()
    await asyncio.sleep(0.01)
    readers.check()
    assert calls == 2 and publisher.stats.reader_restarts == 1
    await readers.stop()
    publisher.outbox.close()


async def test_a_lost_connection_in_a_command_task_ends_the_session(tmp_path: Path) -> None:
    publisher = _publisher(tmp_path, lambda action, payload: None)

    class Lost(PahoLikeClient):
        async def subscribe(self, *_: object, **__: object) -> None:
            raise aiomqtt.MqttError("Disconnected")

    readers = publisher._command_tasks(Lost([]))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    with pytest.raises(aiomqtt.MqttError):
        readers.check()
    await readers.stop()
    publisher.outbox.close()


def _garbage(i: int) -> bytes:
    kinds = [
        b"not json at all",
        b"[1, 2, 3]",
        b"{" * 5000,
        b"x" * 70_000,
        json.dumps({"request_id": f"garbage-{i:06d}", "by": f"mallory-{i % 50}"}).encode(),
        json.dumps({"request_id": f"forged-{i:06d}", "by": "li.wei", "ts": rfc3339(NOW),
                    "device": "gas-01", "point": "gas", "kind": "HH", "sig": "0" * 64}).encode(),
    ]  # fmt: skip
    return kinds[i % len(kinds)]


def test_a_flood_of_garbage_is_refused_cheaply_and_the_signed_ack_is_applied(
    processor: CommandProcessor,
) -> None:
    replies = []
    for i in range(2000):
        if i == 1000:
            replies.append(processor.answer("ack", _signed_ack("operator-ack-0002")))
        replies.append(processor.answer("ack", _garbage(i)))
    answered = [r for r in replies if r is not None]
    assert processor.accepted == 1 and processor.refused == 2000
    assert len(answered) <= TOTAL_BURST + 1, "refusal replies must be rate-limited"
    assert processor.suppressed == 2001 - len(answered)
    trusted = [r for r in answered if is_trusted_reply(r)]
    assert [r["request_id"] for r in trusted] == ["operator-ack-0002"]
    assert next(iter(processor.manager.alarms.values())).state is IsaState.ACKED


def test_refusal_replies_per_sender_are_limited_then_one_rate_limited_note() -> None:
    now = [0.0]
    limiter = RefusalLimiter(clock=lambda: now[0])
    verdicts = [limiter.verdict("mallory") for _ in range(SENDER_BURST + 3)]
    assert verdicts == ["reply"] * SENDER_BURST + ["warn", "drop", "drop"]
    assert limiter.verdict("li.wei") == "reply", "another sender has its own budget"
    now[0] += 1.0  # refilled at SENDER_RATE per second
    assert limiter.verdict("mallory") == "reply"


async def test_trusted_replies_jump_the_queue_and_refusals_are_bounded() -> None:
    queue = ReplyQueue(backlog=3)
    refusals = [
        {"request_id": f"r{i}", "ok": False, "error": {"code": "malformed"}} for i in range(5)
    ]
    kept = [queue.put(r) for r in refusals]
    queue.put({"request_id": "ack", "ok": True, "event": {}})
    queue.put({"request_id": "late", "ok": False, "error": {"code": "invalid_state"}})
    order = [(await queue.get())["request_id"] for _ in range(5)]
    assert kept == [True, True, True, False, False]
    assert order == ["ack", "late", "r2", "r3", "r4"]


def test_the_reply_topic_pattern_is_one_strict_topic_level() -> None:
    pattern = re.compile(REQUEST_ID_PATTERN)
    for bad in [*HOSTILE_IDS, "a/b/c/d/e", "abcdefg#", "abcdefg+", "short"]:
        assert pattern.fullmatch(bad) is None
