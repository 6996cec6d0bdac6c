"""Dead-letter store rows and notices; the Prometheus view and the status line."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from gateway.ingest.deadletter import MAX_KEPT_PAYLOAD, DeadLetterStore
from gateway.ingest.metrics import IngestStats, StatsCollector, status_line


def test_dead_letters_are_kept_with_reason_and_size(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "d" / "dead.sqlite")
    big = b"x" * (MAX_KEPT_PAYLOAD + 10)
    first = store.add("hazard/v1/a/b/c/telemetry", b"{bad", "contract", "not JSON")
    second = store.add("t", big, "rejected", "HTTP 400: conflict")
    store.close()
    reopened = DeadLetterStore(tmp_path / "d" / "dead.sqlite")
    rows = reopened.all()
    assert [r.id for r in rows] == [first.id, second.id]
    assert rows[1].size == len(big) and len(rows[1].payload) == MAX_KEPT_PAYLOAD
    notice = json.loads(first.notice())
    assert notice["reason"] == "not JSON" and notice["preview"] == "{bad"
    assert len(json.loads(second.notice())["preview"]) == 200
    assert reopened.count() == 2


def test_metrics_and_status_line_show_the_same_snapshot() -> None:
    stats = IngestStats(points_written=1234, messages_written=50, unacked=7, connected=True)
    stats.count(stats.retries, "server", 3)
    stats.count(stats.deadletters, "contract", 2)
    registry = CollectorRegistry()
    registry.register(StatsCollector(lambda: stats))
    text = generate_latest(registry).decode()
    assert "hazard_ingest_points_written_total 1234.0" in text
    assert 'hazard_ingest_retries_total{class="server"} 3.0' in text
    assert 'hazard_ingest_messages_total{outcome="deadlettered"} 2.0' in text
    assert "hazard_ingest_unacked_messages 7.0" in text
    line = status_line(stats, 250.0)
    assert "1234 points (250/s)" in line and "7 unacked" in line and "dead letters 2" in line
    assert "\n" not in line
