"""A flood of malformed payloads is dead-lettered with reasons while valid traffic flows.

The flood: bad JSON, wrong types, 1 MB strings, NaN/inf, impossible dates, unknown
topics, names that disagree with the topic, and telemetry that InfluxDB itself refuses
(a field-type conflict: ``count`` was written as a float into that shard first), which
ingest finds by bisecting the batch.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.ingest import DEADLETTER_TOPIC
from tests.harness import InfluxDB1, Mosquitto, free_port
from tests.harness.http import request
from tests.harness.mqtt_probe import MqttProbe
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

OLD_TS = 978307200.0  # 2001-01-01: its own shard, where `count` is made a float first


def _flood(ent: str) -> list[tuple[str, bytes]]:
    tel = f"hazard/v1/{ent}/site-0/dev-0/telemetry"
    good = TelemetryWindow("dev-0", OLD_TS, 1.0, (PointWindow("gas", 1, 2, 1.5, 2, 3),))
    body = good.to_dict()
    return [
        (tel, b"{not json"),
        (tel, json.dumps({**body, "window_s": "long"}).encode()),
        (tel, json.dumps({**body, "device": "x" * 1_000_000}).encode()),
        (tel, json.dumps(body).replace("1.5", "NaN").encode()),
        (tel, json.dumps(body).replace("1.5", "Infinity").encode()),
        (tel, json.dumps({**body, "ts": "2025-13-45T10:00:00.000Z"}).encode()),
        (tel, json.dumps({**body, "device": "dev-9"}).encode()),
        (f"hazard/v1/{ent}/site-0/what/is/this", b"{}"),
        (f"hazard/v1/{ent}/site-0/alarm/dev-0/gas", b'{"kind": "HH"}'),
        (f"hazard/v1/{ent}/site-0/status", b'{"state": "maybe"}'),
        (tel, json.dumps(body).encode()),  # valid, but InfluxDB refuses it (type conflict)
    ]


def test_malformed_flood_is_dead_lettered_while_valid_traffic_flows(
    start_server: Callable[..., Any],
    tmp_path: Path,
    influxdb1: InfluxDB1,
    influxdb1_db: str,
) -> None:
    ent = f"bad-{uuid.uuid4().hex[:6]}"
    broker = start_server(Mosquitto, tmp_path / "broker", extra_config=BIG_QUEUE)
    conflict = f"telemetry,device=dev-0,enterprise={ent},point=gas,site=site-0 count=1.5"
    influxdb1.write(f"{conflict} {int(OLD_TS * 1e9)}", influxdb1_db)
    influx = {"url": influxdb1.url, "api": "v1", "database": influxdb1_db}
    metrics_port = free_port()
    config = make_config(tmp_path, broker, influx, metrics_port=metrics_port)
    watcher = MqttProbe(broker.host, broker.port).connect()
    watcher.subscribe(DEADLETTER_TOPIC, qos=1)
    publisher = LoadPublisher(broker, ent, sites=2)
    flood = _flood(ent) * 20
    with running_worker(config) as worker:
        wait_for(lambda: worker.stats.connected, 10, "worker connected")
        publisher.run(rate_hz=20)
        time.sleep(1.0)
        started = time.monotonic()
        for topic, payload in flood:
            publisher.raw(topic, payload)
        flood_s = time.monotonic() - started
        time.sleep(1.0)
        publisher.stop()
        expected = published_points(publisher)
        wait_for(lambda: count_rows(influxdb1, influxdb1_db, ent) >= len(expected), 15,
                 "valid traffic written")  # fmt: skip
        wait_for(lambda: worker.store.count() >= len(flood), 15, "every bad message stored")
        letters = worker.store.all()
        lag_after = worker.stats.lag_s()
        _, body = request("GET", f"http://127.0.0.1:{metrics_port}/metrics")
    metrics = body.decode()
    assert 'hazard_ingest_deadletters_total{reason="contract"} 200.0' in metrics
    assert 'hazard_ingest_deadletters_total{reason="rejected"} 20.0' in metrics
    assert "hazard_ingest_points_written_total" in metrics
    written = written_points(influxdb1, influxdb1_db, ent)
    assert {k: v for k, v in written.items() if k[3] != OLD_TS * 1000} == expected
    assert Counter(letter.kind for letter in letters) == {"contract": 200, "rejected": 20}
    assert all("field type conflict" in x.reason for x in letters if x.kind == "rejected")
    assert {x.topic for x in letters} == {t for t, _ in _flood(ent)}
    assert max(x.size for x in letters) > 1_000_000
    assert all(x.reason for x in letters)
    wait_for(lambda: watcher.messages.qsize() >= len(flood), 10, "dead-letter notices")
    notices = [json.loads(watcher.messages.get_nowait().payload) for _ in range(len(flood))]
    watcher.close()
    assert {n["reason"] for n in notices} == {x.reason for x in letters}
    assert flood_s < 30 and lag_after == 0.0
