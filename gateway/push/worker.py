"""One task per channel: take the queue's head, deliver it, sort the outcome.

    head ──check──► dead-letter (missing regulator code)         ─┐
      │                                                           │
      └──deliver (timeout)──► 2xx ──► delete, count ──────────────┤
                  ├─ Rejected (4xx + reason) ──► dead-letter ─────┤ next
                  ├─ RetryLater / timeout ──► keep, back off ─────┤
                  ├─ AuthRefused ──► keep, back off, log loudly ──┤
                  └─ NotReady (no manifest yet) ──► keep, wait ───┘

Items stay in the queue until the endpoint accepted them, in arrival order, so per-point
order holds. Each channel has its own task, HTTP pool, timeout and SQLite file: a dead or
hanging endpoint only ever delays itself. The first failure of a run logs at ERROR, repeats
at DEBUG until the next success (which logs at WARNING that the channel recovered).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.push.channels.base import (
    AuthRefused,
    Channel,
    DeliveryError,
    NotReady,
    Rejected,
    RetryLater,
)
from gateway.push.items import PushItem
from gateway.push.manifests import ManifestBook
from gateway.push.queue import ChannelQueue

__all__ = ["ChannelWorker", "WorkerCounters"]

log = logging.getLogger(__name__)


@dataclass
class WorkerCounters:
    """In-memory figures of one channel since start (the queue keeps the lasting ones)."""

    delivered: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    dead: int = 0
    latencies: list[float] = field(default_factory=list)

    def fail(self, what: str) -> None:
        """Count one failure of class ``what``."""
        self.failures[what] = self.failures.get(what, 0) + 1


class ChannelWorker:
    """Delivers one channel's queue; ``wake()`` after a put."""

    def __init__(
        self,
        channel: Channel,
        queue: ChannelQueue,
        book: ManifestBook,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel = channel
        self.queue = queue
        self.book = book
        self.clock = clock
        self.counters = WorkerCounters()
        self._wake = asyncio.Event()
        self._failures = 0
        self._batch = min(channel.settings.delivery.batch, channel.max_batch)
        # the channel's own client timeout fires first; this one catches a stuck channel
        self._timeout = channel.settings.delivery.timeout_s + 1.0

    def wake(self) -> None:
        """New items were queued."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set."""
        while not stop.is_set():
            rows = self.queue.head(self._batch)
            if not rows:
                self._wake.clear()
                await _sleep(self._wake, stop, 1.0)
                continue
            wait = await self._step(rows)
            if wait > 0:
                await _sleep(stop, stop, wait)

    async def _step(self, rows: list[tuple[int, PushItem]]) -> float:
        """Deliver ``rows``; the seconds to wait before the next try (0: go on)."""
        try:
            sendable = self._checked(rows)
        except NotReady as exc:
            return self._retry([i for i, _ in rows], "not_ready", str(exc), None)
        if not sendable:
            return 0.0
        timeout = self._timeout * (len(sendable) if self.channel.sequential else 1)
        try:
            await asyncio.wait_for(
                self.channel.deliver([it for _, it in sendable], self.book), timeout
            )
        except (Rejected, NotReady, RetryLater) as exc:
            return self._partly(sendable, exc)
        except TimeoutError as exc:
            return self._failed([i for i, _ in sendable], exc)
        self._success(sendable)
        return 0.0

    def _partly(self, rows: list[tuple[int, PushItem]], exc: DeliveryError) -> float:
        """Commit what a sequential channel delivered before ``exc``, then sort ``exc``."""
        done = exc.done if self.channel.sequential else 0
        if done:
            self._success(rows[:done])
        rest = [i for i, _ in rows[done:]]
        if isinstance(exc, Rejected):
            self.counters.fail("rejected")
            self._dead(rest[:1] if self.channel.sequential else rest, f"rejected: {exc}")
            return 0.0
        return self._failed(rest, exc)

    def _failed(self, ids: list[int], exc: Exception) -> float:
        """Sort a retryable failure; the back-off delay."""
        if isinstance(exc, RetryLater):
            loud = isinstance(exc, AuthRefused)
            return self._retry(ids, exc.what, str(exc), exc.retry_after, loud=loud)
        if isinstance(exc, NotReady):
            return self._retry(ids, "not_ready", str(exc), None)
        return self._retry(ids, "timeout", "no answer in time", None)

    def _checked(self, rows: list[tuple[int, PushItem]]) -> list[tuple[int, PushItem]]:
        """Rows the channel can send; the others are dead-lettered with their reason."""
        sendable = []
        for row_id, item in rows:
            reason = self.channel.check(item, self.book)
            if reason is None:
                sendable.append((row_id, item))
            else:
                self.counters.fail("missing_code")
                self._dead([row_id], reason)
        return sendable

    def _success(self, rows: list[tuple[int, PushItem]]) -> None:
        now = self.clock()
        self.queue.delivered([i for i, _ in rows], now)
        self.counters.delivered += len(rows)
        self.counters.latencies.extend(now - item.received for _, item in rows)
        del self.counters.latencies[:-10000]
        if self._failures:
            log.warning(
                "push channel %s: delivering again after %s failure(s)",
                self.channel.name,
                self._failures,
            )
        self._failures = 0

    def _dead(self, ids: list[int], reason: str) -> None:
        self.queue.dead_letter(ids, reason, self.clock())
        self.counters.dead += len(ids)
        log.error(
            "push channel %s: %s item(s) dead-lettered: %s", self.channel.name, len(ids), reason
        )

    def _retry(
        self, ids: list[int], what: str, reason: str, after: float | None, loud: bool = False
    ) -> float:
        self.counters.fail(what)
        self.queue.failed(ids, f"{what}: {reason}", self.clock())
        self._failures += 1
        delay = self.channel.settings.delivery.backoff(self._failures, after)
        level = logging.ERROR if loud or self._failures == 1 else logging.DEBUG
        log.log(
            level,
            "push channel %s: %s (%s); retry in %.1f s",
            self.channel.name,
            reason,
            what,
            delay,
        )
        return delay


async def _sleep(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Wait until ``wake`` or ``stop`` is set, at most ``seconds``."""
    waiters = [asyncio.ensure_future(wake.wait())]
    if stop is not wake:
        waiters.append(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
