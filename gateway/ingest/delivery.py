"""Deliver one batch: write it, and act on the answer by class until every message in
it is either written (2xx) or dead-lettered. Only then may the caller acknowledge.

::

    write(batch) ── OK ──────────────► done (ack all)
        │ RETRY (conn, 5xx, 429)  ──► wait min(cap, 2^n s) or Retry-After, write again
        │ REFUSED (401/403/404)   ──► log loudly, wait long, write again (never ack, never drop)
        │ TOO_LARGE (413)         ──► split in halves, deliver each
        │ BAD_DATA (400/422)      ──► bisect: halves that succeed are written; a single
        ▼                             message that still fails is dead-lettered with the reason

Bisecting rewrites rows that a partial write (InfluxDB 1.x) already stored; that is safe
because rows are idempotent (same series, same payload timestamp). Waits go through
``stop.wait`` so a stopping service leaves at once, with the batch unacknowledged: the
broker redelivers it to the next session. The first failure of a streak is logged at
ERROR, repeats at DEBUG, and the recovery at WARNING.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from gateway.ingest.metrics import IngestStats
from gateway.ingest.model import Pending
from gateway.ingest.writer import Verdict, WriteResult

__all__ = ["Delivery"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 300.0
REFUSED_BACKOFF_S = 30.0


class Delivery:
    """Writes batches with the error policy above; counts into ``stats``."""

    def __init__(
        self,
        write: Callable[[bytes], WriteResult],
        dead_letter: Callable[[Pending, str], None],
        stats: IngestStats,
        stop: threading.Event,
        *,
        base_backoff_s: float = 0.5,
        max_backoff_s: float = MAX_BACKOFF_S,
    ) -> None:
        self._write = write
        self._dead_letter = dead_letter
        self._stats = stats
        self._stop = stop
        self._base = base_backoff_s
        self._cap = max_backoff_s
        self._failures = 0

    def deliver(self, batch: Sequence[Pending]) -> bool:
        """True once all of ``batch`` is written or dead-lettered; False when stopped."""
        started = time.monotonic()
        parts: list[Sequence[Pending]] = [batch]
        while parts:
            part = parts.pop()
            result = self._write_until_answered(part)
            if result is None:
                return False
            if result.verdict is Verdict.OK:
                self._stats.points_written += sum(m.rows.count for m in part)
                self._stats.messages_written += len(part)
                continue
            if len(part) == 1:
                self._reject(part[0], result)
                continue
            half = len(part) // 2
            parts += [part[half:], part[:half]]  # first half is written first
        self._stats.batches += 1
        self._stats.batch_seconds += time.monotonic() - started
        return True

    def _write_until_answered(self, part: Sequence[Pending]) -> WriteResult | None:
        """Write until the server gives an answer other than 'later' (None: stopped)."""
        # One joined text per message (gateway.ingest.convert.Rows): a join of a few hundred
        # strings, not of every line. A message without rows adds no empty line.
        body = "\n".join(m.rows.text for m in part if m.rows.count).encode()
        while not self._stop.is_set():
            result = self._write(body)
            if result.verdict not in (Verdict.RETRY, Verdict.REFUSED):
                self._recovered()
                return result
            self._failed(result)
            if self._stop.wait(self._delay(result)):
                return None
        return None

    def _delay(self, result: WriteResult) -> float:
        if result.verdict is Verdict.REFUSED:
            return max(REFUSED_BACKOFF_S, self._base)
        if result.retry_after_s is not None:
            return min(result.retry_after_s, MAX_RETRY_AFTER_S)
        return float(min(self._cap, self._base * 2 ** min(self._failures - 1, 16)))

    def _failed(self, result: WriteResult) -> None:
        self._failures += 1
        self._stats.write_failing = True
        self._stats.count(self._stats.retries, _retry_class(result))
        if self._failures == 1 or result.verdict is Verdict.REFUSED:
            level = logging.ERROR
        else:
            level = logging.DEBUG
        hint = " (check the token/credentials and the database or bucket)"
        extra = hint if result.verdict is Verdict.REFUSED else "; retrying, nothing is acked"
        log.log(level, "InfluxDB write failed: %s%s", result.reason, extra)

    def _recovered(self) -> None:
        if self._failures:
            log.warning("InfluxDB writes work again after %d failed attempt(s)", self._failures)
        self._failures = 0
        self._stats.write_failing = False

    def _reject(self, message: Pending, result: WriteResult) -> None:
        reason = result.reason or f"rejected ({result.verdict})"
        if result.verdict is Verdict.TOO_LARGE:
            reason = f"too large to write even alone: {reason}"
        self._dead_letter(message, reason)


def _retry_class(result: WriteResult) -> str:
    """Retry counter label: connection, throttle (429/503), server (5xx), refused."""
    if result.verdict is Verdict.REFUSED:
        return "refused"
    if result.status is None:
        return "connection"
    if result.status in (429, 503):
        return "throttle"
    return "server"
