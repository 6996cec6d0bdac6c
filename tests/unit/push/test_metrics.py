"""/metrics is rendered from the stats snapshot."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from gateway.push.metrics import PushCollector
from gateway.push.queue import ChannelQueue
from gateway.push.service import ChannelStats, PushStats
from gateway.push.worker import WorkerCounters
from tests.unit.push.helpers import alarm_item


def test_metrics_from_snapshot(tmp_path: Path) -> None:
    queue = ChannelQueue(tmp_path / "q.sqlite")
    queue.put(alarm_item(1), 100.0)
    counters = WorkerCounters(failures={"timeout": 3})
    snapshot = PushStats(
        (ChannelStats("wh", "webhook", queue.stats(), counters),), 7, 1, 2, 4, True
    )
    queue.close()
    registry = CollectorRegistry()
    registry.register(PushCollector(lambda: snapshot, clock=lambda: 130.0))
    text = generate_latest(registry).decode()
    for line in (
        'hazard_push_backlog{channel="wh"} 1.0',
        'hazard_push_oldest_age_seconds{channel="wh"} 30.0',
        'hazard_push_failures_total{channel="wh",class="timeout"} 3.0',
        "hazard_push_received_total 7.0",
        "hazard_push_overdue_total 2.0",
        "hazard_push_broker_connected 1.0",
    ):
        assert line in text, line
