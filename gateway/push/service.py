"""The composition root of ``hazard-gateway push``: :func:`run_push`.

Builds each part once and passes it what it needs: one queue, channel and worker task per
channel; the router (the only writer of the queues) fed by the subscriber; timers for the
offline sweep and overdue dispositions (every second), the real-time upload and the
heartbeat (their configured periods), forgetting old delivered keys (hourly); /metrics
when configured. :meth:`PushService.stats` is the one snapshot /metrics and tests read.

Programmatic use (e.g. from the demo)::

    stop = asyncio.Event()
    await run_push(load_push_config(Path("push.yaml")), stop)   # returns after stop.set()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.push.channels import build_channel
from gateway.push.config import PushConfig
from gateway.push.manifests import ManifestBook
from gateway.push.overdue import Dispositions
from gateway.push.queue import ChannelQueue, QueueStats
from gateway.push.router import Route, Router
from gateway.push.sites import SiteTracker
from gateway.push.subscriber import Subscriber
from gateway.push.worker import ChannelWorker, WorkerCounters

__all__ = ["ChannelStats", "PushService", "PushStats", "run_push"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelStats:
    """One channel: lasting figures from its queue, and this run's counters."""

    name: str
    type: str
    queue: QueueStats
    counters: WorkerCounters


@dataclass(frozen=True)
class PushStats:
    """Everything /metrics shows."""

    channels: tuple[ChannelStats, ...]
    received: int
    malformed: int
    overdue: int
    open_activations: int
    connected: bool


class PushService:
    """Owns the parts of one push process."""

    def __init__(self, config: PushConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        state = Path(config.state_dir)
        self.book = ManifestBook()
        self.tracker = SiteTracker(config.periods.offline_threshold_s)
        self.dispositions = Dispositions(config.periods.disposition_limit_s)
        self.workers = [
            ChannelWorker(
                build_channel(s), ChannelQueue(state / f"{s.name}.sqlite"), self.book, clock
            )
            for s in config.channels
        ]
        routes = [Route(w.channel.settings, w.queue, w.wake) for w in self.workers]
        self.router = Router(routes, self.book, self.tracker, self.dispositions, state)
        self.subscriber: Subscriber | None = None

    def stats(self) -> PushStats:
        """A snapshot of every figure."""
        channels = tuple(
            ChannelStats(
                w.channel.name,
                str(getattr(w.channel.settings, "type", "")),
                w.queue.stats(),
                w.counters,
            )
            for w in self.workers
        )
        return PushStats(
            channels,
            self.router.received,
            self.router.malformed,
            self.dispositions.overdue,
            self.dispositions.open_count,
            self.subscriber is not None and self.subscriber.connected,
        )

    def _handle(self, messages: list[tuple[str, bytes]]) -> None:
        self.router.handle_many(messages, self.clock())

    def _every_second(self) -> None:
        now = self.clock()
        for item in self.tracker.sweep(now) + self.dispositions.due(now):
            self.router.dispatch(item, now)

    def _realtime(self) -> None:
        now = self.clock()
        for item in self.tracker.realtime(now):
            self.router.dispatch(item, now)

    def _prune(self) -> None:
        now = self.clock()
        for worker in self.workers:
            worker.queue.prune(now)

    def _heartbeat(self) -> None:
        now = self.clock()
        for item in self.tracker.heartbeat(now):
            self.router.dispatch(item, now)

    async def run(self, stop: asyncio.Event, ready: Callable[[], None] | None = None) -> None:
        """Subscribe and deliver until ``stop`` is set, then close everything.

        ``ready`` is called once the broker confirmed the subscriptions.
        """
        loop = asyncio.get_running_loop()
        self.subscriber = Subscriber(self.config.broker, self._handle, loop)
        periods = self.config.periods
        tasks = [asyncio.create_task(w.run(stop)) for w in self.workers]
        tasks += [
            asyncio.create_task(_every(1.0, self._every_second, stop)),
            asyncio.create_task(_every(periods.realtime_s, self._realtime, stop)),
            asyncio.create_task(_every(periods.heartbeat_s, self._heartbeat, stop)),
            asyncio.create_task(_every(3600.0, self._prune, stop)),
        ]
        metrics = self._start_metrics()
        self.subscriber.start()
        if ready is not None:
            tasks.append(asyncio.create_task(_when_set(self.subscriber.ready, ready)))
        try:
            await stop.wait()
        finally:
            await _shutdown(
                tasks, [self.subscriber.close(), *(w.channel.aclose() for w in self.workers)]
            )
            if metrics is not None:
                metrics()
            for worker in self.workers:
                worker.queue.close()
            self.router.close()

    def _start_metrics(self) -> Callable[[], None] | None:
        if self.config.metrics is None:
            return None
        from gateway.push.metrics import serve_metrics  # noqa: PLC0415

        settings = self.config.metrics
        return serve_metrics(self.stats, settings.host, settings.port)


async def _every(period: float, tick: Callable[[], None], stop: asyncio.Event) -> None:
    """Call ``tick`` every ``period`` seconds until ``stop``; a failing tick is logged."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period)
        if stop.is_set():
            return
        try:
            tick()
        except Exception:
            log.exception("push: periodic task %s failed", getattr(tick, "__name__", tick))


async def _when_set(event: asyncio.Event, then: Callable[[], None]) -> None:
    await event.wait()
    then()


async def _shutdown(tasks: list[asyncio.Task[None]], closers: list[Awaitable[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*closers, return_exceptions=True)


async def run_push(
    config: PushConfig, stop: asyncio.Event, clock: Callable[[], float] = time.time
) -> None:
    """Run the push service for ``config`` until ``stop`` is set."""
    await PushService(config, clock).run(stop)
