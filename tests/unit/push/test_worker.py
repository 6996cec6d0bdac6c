"""The worker sorts each outcome by class (an in-process fake channel; time injected)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.push.channels.base import AuthRefused, Channel, DeliveryError, Rejected, RetryLater
from gateway.push.items import PushItem
from gateway.push.manifests import ManifestBook
from gateway.push.queue import ChannelQueue
from gateway.push.settings import ChannelSettings, Delivery
from gateway.push.worker import ChannelWorker
from tests.unit.push.helpers import alarm_item


class Scripted(Channel):
    """Raises the scripted errors in turn, then accepts."""

    max_batch = 10

    def __init__(self, script: list[DeliveryError | None]) -> None:
        super().__init__(
            ChannelSettings(name="fake", delivery=Delivery(backoff_initial_s=2, backoff_max_s=8))
        )
        self.script = script
        self.sent: list[list[str]] = []

    async def deliver(self, items: Sequence[PushItem], book: ManifestBook) -> None:
        error = self.script.pop(0) if self.script else None
        if error is not None:
            raise error
        self.sent.append([i.key for i in items])


def _worker(tmp_path: Path, script: list[DeliveryError | None]) -> tuple[ChannelWorker, Scripted]:
    channel = Scripted(script)
    queue = ChannelQueue(tmp_path / "q.sqlite")
    for seq in (1, 2):
        queue.put(alarm_item(seq, received=0.0), 0.0)
    return ChannelWorker(channel, queue, ManifestBook(), clock=lambda: 5.0), channel


@pytest.mark.parametrize(
    ("error", "wait", "what"),
    [
        (RetryLater("HTTP 503"), 2.0, "retry"),
        (RetryLater("HTTP 429", retry_after=30.0), 30.0, "retry"),
        (AuthRefused("HTTP 401: bad signature"), 2.0, "auth"),
    ],
)
async def test_retryable_failures_keep_the_items(
    tmp_path: Path, error: DeliveryError, wait: float, what: str
) -> None:
    worker, channel = _worker(tmp_path, [error, error])
    assert await worker._step(worker.queue.head(10)) == wait
    assert await worker._step(worker.queue.head(10)) == (
        wait if error.__dict__.get("retry_after") else 4.0
    )
    assert worker.queue.stats().backlog == 2 and worker.counters.failures == {what: 2}
    assert await worker._step(worker.queue.head(10)) == 0.0
    assert len(channel.sent[0]) == 2 and worker.queue.stats().backlog == 0
    assert worker.queue.stats().retries == 2 and worker.counters.latencies == [5.0, 5.0]
    worker.queue.close()


async def test_rejected_is_dead_lettered_and_the_rest_flows(tmp_path: Path) -> None:
    worker, channel = _worker(tmp_path, [Rejected("HTTP 422: unknown point")])
    await worker._step(worker.queue.head(1))
    await worker._step(worker.queue.head(1))
    [(item, reason)] = worker.queue.dead_items()
    assert reason == "rejected: HTTP 422: unknown point"
    assert len(channel.sent) == 1 and channel.sent[0] != [item.key]
    worker.queue.close()


async def test_run_delivers_on_wake_and_stops(tmp_path: Path) -> None:
    worker, channel = _worker(tmp_path, [])
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.05)
    worker.queue.put(alarm_item(3), 1.0)
    worker.wake()
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert sum(len(s) for s in channel.sent) == 3
    worker.queue.close()


class Sequential(Scripted):
    """Accepts ``ok`` items of a batch, then fails with ``error``."""

    sequential = True

    def __init__(self, ok: int, error: DeliveryError) -> None:
        super().__init__([])
        self.ok, self.error = ok, error

    async def deliver(self, items: Sequence[PushItem], book: ManifestBook) -> None:
        if self.ok < len(items):
            self.sent.append([i.key for i in items[: self.ok]])
            self.error.done = self.ok
            raise self.error
        self.sent.append([i.key for i in items])


async def test_sequential_batch_commits_the_accepted_head(tmp_path: Path) -> None:
    channel = Sequential(1, Rejected("HTTP 400: bad value"))
    queue = ChannelQueue(tmp_path / "q.sqlite")
    items = [alarm_item(seq, received=0.0) for seq in (1, 2, 3)]
    for item in items:
        queue.put(item, 0.0)
    worker = ChannelWorker(channel, queue, ManifestBook(), clock=lambda: 5.0)
    assert await worker._step(queue.head(10)) == 0.0
    assert [i.key for i, _ in queue.dead_items()] == [items[1].key]
    assert [i.key for _, i in queue.head(10)] == [items[2].key]
    assert queue.stats().delivered == 1
    queue.close()
