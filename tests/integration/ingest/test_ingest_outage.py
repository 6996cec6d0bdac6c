"""InfluxDB stopped under load and restarted: no row lost, none doubled.

InfluxDB is stopped for 30 s, as the issue asks. Nothing in ingest depends on the length: while
writes fail the batch stays unacknowledged, the broker holds everything behind it in
the worker's session, and the retry backoff is capped (1 s here, 30 s by default).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness import InfluxDB1, Mosquitto
from tests.harness.waiting import wait_for
from tests.integration.ingest.helpers import (
    BIG_QUEUE,
    LoadPublisher,
    count_rows,
    make_config,
    published_points,
    running_worker,
    written_points,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OUTAGE_S = 30.0


def test_influxdb_outage_under_load_loses_and_doubles_nothing(
    start_server: Callable[..., Any], tmp_path: Path
) -> None:
    enterprise = f"out-{uuid.uuid4().hex[:6]}"
    broker = start_server(Mosquitto, tmp_path / "broker", extra_config=BIG_QUEUE)
    influx = start_server(InfluxDB1, tmp_path / "influx")
    influx.create_database("hz")
    config = make_config(tmp_path, broker, {"url": influx.url, "api": "v1", "database": "hz"})
    publisher = LoadPublisher(broker, enterprise, sites=3)
    with running_worker(config) as worker:
        wait_for(lambda: worker.stats.connected, 10, "worker connected")
        publisher.run(rate_hz=20)  # 3 sites x 2 devices x 2 points: 240 points/s
        wait_for(lambda: count_rows(influx, "hz", enterprise) > 100, 10, "first rows")
        influx.stop()
        time.sleep(OUTAGE_S)
        unacked_during = worker.stats.unacked
        influx.start()
        time.sleep(2.0)
        publisher.stop()
        expected = published_points(publisher)
        wait_for(lambda: count_rows(influx, "hz", enterprise) >= len(expected), 30, "catch-up")
        time.sleep(0.5)
        stats = worker.stats
    assert written_points(influx, "hz", enterprise) == expected
    assert stats.retries.get("connection", 0) >= 3, stats.retries
    assert 0 < unacked_during <= config.batch.max_messages
    assert stats.deadletters == {}
