"""The ingest worker: MQTT in, line protocol out, acknowledged only once stored.

Two threads, one composition root (:class:`IngestService`):

- the caller's thread (:meth:`IngestService.run`) runs the MQTT connection
  (gateway.ingest.source: one ``poll`` per turn) and **collects** rounds from what each
  turn brings: up to ``batch.max_points`` rows or ``batch.max_messages`` messages, or
  what arrived within ``flush_interval_s`` of the first. Each message is triaged at once:
  not ours (manifest, command, another partition) -> ack only; breaks the contract ->
  dead-letter store, then ack; else its rows join the round's batch;
- the writer thread (gateway.ingest.pipeline) **delivers** each round's batch
  (gateway.ingest.delivery: retries, splits, bisects) and then **acknowledges** every
  message of the round, in the order received.

If the service stops while a batch waits for InfluxDB, nothing of it is acknowledged:
the broker keeps it in the worker's session and delivers it again. A message the code
cannot handle (a bug) is dead-lettered as ``internal`` and logged; it never ends the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from gateway.contracts import DEADLETTER_ROOT, ContractError
from gateway.ingest.config import IngestConfig
from gateway.ingest.convert import classify, to_rows
from gateway.ingest.deadletter import DeadLetterStore
from gateway.ingest.delivery import Delivery
from gateway.ingest.metrics import IngestStats, StatsCollector, status_line
from gateway.ingest.model import Message, Pending, Round
from gateway.ingest.partition import Partition, subscriptions
from gateway.ingest.pipeline import BatchWriter
from gateway.ingest.source import MqttSource, Source
from gateway.ingest.writer import Writer, WriteResult

__all__ = ["DEADLETTER_TOPIC", "IngestService"]

log = logging.getLogger(__name__)

DEADLETTER_TOPIC = f"{DEADLETTER_ROOT}/ingest"
_IDLE_WAIT_S = 0.2
_AHEAD = 2  # finished rounds waiting for the writer, at most


class IngestService:
    """One worker. ``write`` replaces the HTTP writer, ``source`` the MQTT session (tests)."""

    def __init__(
        self,
        config: IngestConfig,
        *,
        write: Callable[[bytes], WriteResult] | None = None,
        source: Source | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.stats = IngestStats()
        self.partition = Partition.of(config.scale)
        self.store = DeadLetterStore(config.deadletter.path)
        self._writer = Writer(config.influxdb) if write is None else None
        self._write = write or self._writer.write  # type: ignore[union-attr]
        self.source: Source = source or MqttSource(config, self.stats, subscriptions(config.scale))
        self._on_status = on_status
        self._internal_errors = 0
        self._lock = threading.Lock()  # stats shared by the collector and the writer
        self._open: dict[int, float | None] = {}

    def run(self, stop: threading.Event) -> None:
        """Ingest until ``stop`` is set; returns after a clean disconnect.

        ``stop`` is also set when the loop ends on its own (a bug in the writer thread,
        raised here after the disconnect), so whoever waits on it sees the end.
        """
        cap = self.config.batch.max_backoff_s
        delivery = Delivery(self._write, self._reject, self.stats, stop, max_backoff_s=cap)
        writer = BatchWriter(delivery, self.source.ack_all, self._round_done, stop)
        status = _StatusTicker(self.config.metrics.status_every_s, self.stats, self._on_status)
        server = self._serve_metrics()
        self.source.start()
        writer.start()
        try:
            self._loop(stop, writer, status)
        finally:
            stop.set()
            writer.join(timeout=30)
            self.source.stop()
            if server is not None:
                server.shutdown()
                server.server_close()
            self.close()
        if writer.failed is not None:
            raise writer.failed

    def _serve_metrics(self) -> WSGIServer | None:
        """Prometheus /metrics on its own registry (port 0: none)."""
        metrics = self.config.metrics
        if not metrics.port:
            return None
        registry = CollectorRegistry(auto_describe=True)
        registry.register(StatsCollector(lambda: self.stats))
        server, _thread = start_http_server(metrics.port, metrics.host, registry)
        log.info("Metrics at http://%s:%d/metrics", metrics.host, metrics.port)
        return server

    def close(self) -> None:
        """Release the HTTP pool and the dead-letter database."""
        if self._writer is not None:
            self._writer.close()
        self.store.close()

    def _loop(self, stop: threading.Event, writer: BatchWriter, status: _StatusTicker) -> None:
        """Poll the source and collect what it brings into rounds for the writer.

        At most ``_AHEAD`` finished rounds wait for the writer; beyond that, messages wait
        unparsed in ``backlog`` while the loop keeps polling (keepalive, acks). The broker's
        in-flight window should bound them, but Mosquitto 2.0.11 overshoots a client's
        Receive Maximum (eclipse-mosquitto issue 2301): with ``max_messages`` waiting, the
        loop stops reading the socket (``read=False``) and TCP holds the broker back.
        """
        limits = self.config.batch
        backlog: deque[Message] = deque()
        work, deadline = Round(), 0.0
        while not stop.is_set():
            wait = deadline - time.monotonic() if work.received else _IDLE_WAIT_S
            timeout = max(0.0, min(wait, _IDLE_WAIT_S))
            backlog.extend(self.source.poll(timeout, read=len(backlog) < limits.max_messages))
            while backlog and writer.queued < _AHEAD:
                message = backlog.popleft()
                if not work.received:
                    deadline = time.monotonic() + limits.flush_interval_s
                work.received.append(message)
                self._triage(message, work)
                if len(work.received) >= limits.max_messages or work.points >= limits.max_points:
                    if not self._submit(work, writer):
                        return
                    work = Round()
            if work.received and time.monotonic() >= deadline:
                if not self._submit(work, writer):
                    return
                work = Round()
            status.maybe_print()

    def _submit(self, work: Round, writer: BatchWriter) -> bool:
        """Count the round as open and queue it for the writer; False once stopping."""
        self._round_open(work)
        return writer.submit(work)

    def _triage(self, message: Message, work: Round) -> None:
        try:
            info = classify(message.topic)
            if info is None:
                self.stats.messages_ignored += 1
            elif not self.partition.owns(info.enterprise, info.site):
                self.stats.messages_foreign += 1
            else:
                work.add(Pending(message, to_rows(info, message.payload)))
        except ContractError as exc:
            if exc.what == "topic" and not self.partition.owns_strays:
                self.stats.messages_foreign += 1
                return
            self._dead_letter(message, "contract", str(exc))
        except Exception as exc:  # a bug must not end ingest: keep the message, say so
            self._internal_errors += 1
            level = logging.ERROR if self._internal_errors == 1 else logging.DEBUG
            log.log(level, "Could not convert a message on %s", message.topic, exc_info=True)
            self._dead_letter(message, "internal", f"{type(exc).__name__}: {exc}")

    def _round_open(self, work: Round) -> None:
        with self._lock:
            self._open[id(work)] = work.oldest_ts
            self.stats.unacked += len(work.received)
            self._set_oldest()

    def _round_done(self, work: Round) -> None:
        with self._lock:
            self._open.pop(id(work), None)
            self.stats.unacked -= len(work.received)
            self._set_oldest()

    def _set_oldest(self) -> None:
        stamps = [ts for ts in self._open.values() if ts is not None]
        self.stats.oldest_unwritten_ts = min(stamps) if stamps else None

    def _reject(self, pending: Pending, reason: str) -> None:
        self._dead_letter(pending.message, "rejected", reason)

    def _dead_letter(self, message: Message, kind: str, reason: str) -> None:
        with self._lock:
            letter = self.store.add(message.topic, message.payload, kind, reason)
            self.stats.count(self.stats.deadletters, kind)
        log.debug("Dead-lettered %s (%s): %s", message.topic[:200], kind, reason)
        if self.config.deadletter.publish:
            self.source.publish(DEADLETTER_TOPIC, letter.notice())


class _StatusTicker:
    """Prints the status line every ``every_s`` seconds (0: never)."""

    def __init__(
        self, every_s: float, stats: IngestStats, sink: Callable[[str], None] | None
    ) -> None:
        self._every = every_s
        self._stats = stats
        self._sink = sink
        self._last = time.monotonic()
        self._last_points = 0

    def maybe_print(self) -> None:
        now = time.monotonic()
        if self._sink is None or self._every <= 0 or now - self._last < self._every:
            return
        rate = (self._stats.points_written - self._last_points) / (now - self._last)
        self._sink(status_line(self._stats, rate))
        self._last, self._last_points = now, self._stats.points_written
