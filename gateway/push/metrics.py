"""/metrics for Prometheus, read from :meth:`PushService.stats` at each scrape.

A custom collector (no counters updated along the code paths): every figure comes from the
one stats snapshot, so /metrics and ``push status`` can never disagree. Names::

    hazard_push_backlog{channel}                 items queued
    hazard_push_oldest_age_seconds{channel}      age of the oldest queued item
    hazard_push_delivered_total{channel}         accepted by the endpoint (lasting)
    hazard_push_retries_total{channel}           failed attempts that will be retried (lasting)
    hazard_push_dead_letters_total{channel}      dead-lettered items (lasting)
    hazard_push_failures_total{channel,class}    this run's failures by class
    hazard_push_last_success_timestamp_seconds{channel}
    hazard_push_received_total, hazard_push_malformed_total,
    hazard_push_overdue_total, hazard_push_open_activations, hazard_push_broker_connected
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from gateway.push.service import PushStats

__all__ = ["PushCollector", "serve_metrics"]


class PushCollector:
    """Turns a stats snapshot into Prometheus metric families."""

    def __init__(
        self, stats: Callable[[], PushStats], clock: Callable[[], float] = time.time
    ) -> None:
        self._stats = stats
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        """One scrape."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily  # noqa: PLC0415

        stats = self._stats()
        now = self._clock()
        label = ["channel"]
        backlog = GaugeMetricFamily("hazard_push_backlog", "items queued", labels=label)
        oldest = GaugeMetricFamily(
            "hazard_push_oldest_age_seconds", "oldest queued item age", labels=label
        )
        delivered = CounterMetricFamily("hazard_push_delivered", "items delivered", labels=label)
        retries = CounterMetricFamily(
            "hazard_push_retries", "failed attempts retried", labels=label
        )
        dead = CounterMetricFamily("hazard_push_dead_letters", "items dead-lettered", labels=label)
        success = GaugeMetricFamily(
            "hazard_push_last_success_timestamp_seconds", "last delivery", labels=label
        )
        failures = CounterMetricFamily(
            "hazard_push_failures", "failures by class (this run)", labels=["channel", "class"]
        )
        for ch in stats.channels:
            q = ch.queue
            backlog.add_metric([ch.name], q.backlog)
            oldest.add_metric([ch.name], 0.0 if q.oldest is None else now - q.oldest)
            delivered.add_metric([ch.name], q.delivered)
            retries.add_metric([ch.name], q.retries)
            dead.add_metric([ch.name], q.dead)
            success.add_metric([ch.name], q.last_success or 0.0)
            for what, count in sorted(ch.counters.failures.items()):
                failures.add_metric([ch.name, what], count)
        yield from (backlog, oldest, delivered, retries, dead, success, failures)
        yield CounterMetricFamily(
            "hazard_push_received", "MQTT messages received", value=stats.received
        )
        yield CounterMetricFamily(
            "hazard_push_malformed", "malformed messages kept", value=stats.malformed
        )
        yield CounterMetricFamily(
            "hazard_push_overdue", "overdue dispositions pushed", value=stats.overdue
        )
        yield GaugeMetricFamily(
            "hazard_push_open_activations",
            "activations without disposition",
            value=stats.open_activations,
        )
        yield GaugeMetricFamily(
            "hazard_push_broker_connected", "1 when subscribed", value=int(stats.connected)
        )


def serve_metrics(stats: Callable[[], PushStats], host: str, port: int) -> Callable[[], None]:
    """Serve /metrics on ``host:port`` in a thread; returns the function that stops it."""
    from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415

    registry = CollectorRegistry()
    registry.register(PushCollector(stats))
    server, thread = start_http_server(port, addr=host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
