"""The worker's own network loop (gateway/ingest/source.py) against a broker that comes and
goes: not up at start, then restarted under the worker. It connects when the broker
appears, reconnects after the restart with its backoff, subscribes again, and every window
published on either side of the restart is written once."""

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
    LoadPublisher,
    count_rows,
    make_config,
    published_points,
    running_worker,
    written_points,
)

pytestmark = [pytest.mark.integration]


def test_the_worker_connects_late_and_reconnects_after_a_broker_restart(
    start_server: Callable[..., Any], influxdb1: InfluxDB1, influxdb1_db: str, tmp_path: Path
) -> None:
    enterprise = f"rc-{uuid.uuid4().hex[:6]}"
    broker: Mosquitto = start_server(Mosquitto, tmp_path / "broker")
    config = make_config(
        tmp_path, broker, {"url": influxdb1.url, "api": "v1", "database": influxdb1_db}
    )
    broker.stop()
    with running_worker(config) as worker:
        time.sleep(1.5)  # refused at least once
        assert not worker.stats.connected
        broker.start()
        wait_for(lambda: worker.stats.connected, 20, "worker connected once the broker is up")
        time.sleep(0.3)  # SUBACK
        before = LoadPublisher(broker, enterprise, sites=2)
        for n in range(5):
            before.publish_round(n)
        before.stop()
        wait_for(lambda: count_rows(influxdb1, influxdb1_db, enterprise) >= 40, 20, "first rows")

        broker.restart(downtime=2.0)
        wait_for(lambda: worker.stats.reconnects >= 1 and worker.stats.connected, 30, "reconnect")
        time.sleep(0.3)
        after = LoadPublisher(broker, enterprise, sites=2)
        for n in range(5, 10):
            after.publish_round(n)
        after.stop()
        expected = {**published_points(before), **published_points(after)}
        wait_for(
            lambda: count_rows(influxdb1, influxdb1_db, enterprise) >= len(expected), 20, "all"
        )
        stats = worker.stats
    assert written_points(influxdb1, influxdb1_db, enterprise) == expected
    assert stats.deadletters == {} and stats.unacked == 0
