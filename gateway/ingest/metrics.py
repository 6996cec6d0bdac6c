"""One stats snapshot of an ingest worker, seen as Prometheus metrics and a status line.

The delivery loop and the MQTT source update :class:`IngestStats` (plain counters, one
writer thread each); nothing reaches back into them. At scrape time
:class:`StatsCollector` turns the snapshot into metric families, and
:func:`status_line` into the console line printed every few seconds, so both always
show the same figures. What each counter means is in docs/operations.md ("Ingest").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

__all__ = ["IngestStats", "StatsCollector", "status_line"]

_P = "hazard_ingest"


@dataclass
class IngestStats:
    """Counters since start; gauges set by the service loop."""

    received: int = 0
    points_written: int = 0
    messages_written: int = 0
    messages_ignored: int = 0
    messages_foreign: int = 0
    deadletters: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    batch_seconds: float = 0.0
    unacked: int = 0
    oldest_unwritten_ts: float | None = None
    connected: bool = False
    reconnects: int = 0
    write_failing: bool = False

    def count(self, table: dict[str, int], key: str, n: int = 1) -> None:
        """Add ``n`` to ``table[key]`` (retries by class, dead letters by reason class)."""
        table[key] = table.get(key, 0) + n

    def lag_s(self, now: float | None = None) -> float:
        """Now minus the oldest reading still waiting to be written (0 when none)."""
        if self.oldest_unwritten_ts is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.oldest_unwritten_ts)


class StatsCollector(Collector):
    """Prometheus view of one IngestStats (register it on the service's own registry)."""

    def __init__(self, stats: Callable[[], IngestStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """The metric families of the current snapshot."""
        s = self._stats()
        yield _counter("points_written", "points written (2xx) to InfluxDB", s.points_written)
        messages = CounterMetricFamily(f"{_P}_messages", "messages by outcome", labels=["outcome"])
        for outcome, value in (
            ("received", s.received),
            ("written", s.messages_written),
            ("ignored", s.messages_ignored),
            ("foreign_partition", s.messages_foreign),
            ("deadlettered", sum(s.deadletters.values())),
        ):
            messages.add_metric([outcome], value)
        yield messages
        yield _labelled("retries", "write retries by error class", "class", s.retries)
        yield _labelled("deadletters", "dead-lettered messages by reason", "reason", s.deadletters)
        batch = SummaryMetricFamily(
            f"{_P}_batch_seconds", "time to write one batch (incl. retries)"
        )
        batch.add_metric([], s.batches, s.batch_seconds)
        yield batch
        yield _gauge("unacked_messages", "messages received, not yet acknowledged", s.unacked)
        yield _gauge("lag_seconds", "now - oldest unwritten ts", s.lag_s())
        yield _gauge("connected", "1 while connected to the broker", int(s.connected))
        yield _gauge("write_failing", "1 while writes fail", int(s.write_failing))
        yield _counter("reconnects", "broker reconnects", s.reconnects)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{_P}_{name}", doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{_P}_{name}", doc, value=value)


def _labelled(name: str, doc: str, label: str, table: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(f"{_P}_{name}", doc, labels=[label])
    for key, value in sorted(table.items()):
        family.add_metric([key], value)
    return family


def status_line(s: IngestStats, points_per_s: float) -> str:
    """The one-line console status (same figures as /metrics)."""
    state = "connected" if s.connected else "DISCONNECTED"
    failing = " WRITES FAILING" if s.write_failing else ""
    return (
        f"ingest {state}{failing}: {s.points_written} points ({points_per_s:,.0f}/s), "
        f"{s.messages_written} msgs written, {s.unacked} unacked, lag {s.lag_s():.1f} s, "
        f"retries {sum(s.retries.values())}, dead letters {sum(s.deadletters.values())}, "
        f"ignored {s.messages_ignored + s.messages_foreign}"
    )
