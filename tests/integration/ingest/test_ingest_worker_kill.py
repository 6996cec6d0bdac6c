"""Two workers on static partitions; one is SIGKILLed under load and restarted.

On Mosquitto each partition worker has its own persistent session (fixed client id,
clean start off), so what the killed worker had received but not acknowledged, and all
that arrived while it was dead, is delivered to it again when it comes back: every
message is written once, or rewritten identically, and nothing is lost.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ingest.partition import Partition
from tests.harness import InfluxDB1, Mosquitto
from tests.harness.cli_process import CliProcess
from tests.harness.waiting import wait_for
from tests.integration.ingest.helpers import (
    BIG_QUEUE,
    LoadPublisher,
    count_rows,
    make_config,
    published_points,
    write_config,
    written_points,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sites_per_worker(publisher: LoadPublisher) -> list[int]:
    parts = [Partition(0, 2), Partition(1, 2)]
    return [sum(p.owns(publisher.enterprise, s) for s in publisher.sites) for p in parts]


def test_a_sigkilled_worker_loses_nothing_after_restart(
    start_server: Callable[..., Any],
    tmp_path: Path,
    influxdb1: InfluxDB1,
    influxdb1_db: str,
    procs: list[CliProcess],
) -> None:
    enterprise = f"kill-{uuid.uuid4().hex[:6]}"
    broker = start_server(Mosquitto, tmp_path / "broker", extra_config=BIG_QUEUE)
    influx = {"url": influxdb1.url, "api": "v1", "database": influxdb1_db}
    config = make_config(tmp_path, broker, influx, client_id="kill-test")
    path = write_config(tmp_path / "ingest.yaml", config)
    args = ("ingest", "--config", str(path), "--partition")
    first, second = CliProcess(*args, "0/2"), CliProcess(*args, "1/2")
    procs += [first, second]
    publisher = LoadPublisher(broker, enterprise, sites=6)
    assert all(n > 0 for n in _sites_per_worker(publisher)), "both partitions must own sites"
    wait_for(lambda: first.said("as kill-test-0of2") and second.said("as kill-test-1of2"), 20,
             "both workers started")  # fmt: skip
    time.sleep(1.0)  # both have subscribed (their sessions now exist)
    publisher.run(rate_hz=20)
    wait_for(lambda: count_rows(influxdb1, influxdb1_db, enterprise) > 200, 15, "rows")
    second.stop(signal.SIGKILL)
    time.sleep(3.0)
    restarted = CliProcess(*args, "1/2")
    procs.append(restarted)
    time.sleep(2.0)
    publisher.stop()
    expected = published_points(publisher)
    wait_for(
        lambda: count_rows(influxdb1, influxdb1_db, enterprise) >= len(expected), 30, "catch-up"
    )
    time.sleep(0.5)
    assert written_points(influxdb1, influxdb1_db, enterprise) == expected
    assert second.proc.returncode == -signal.SIGKILL
