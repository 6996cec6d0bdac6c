"""The number forms ingest writes (orjson's shortest round-trip text: ``1e-7``, ``0.000025``,
``1e+16``, 17-digit doubles from float32 readings) are accepted by InfluxDB 1.6.7 and
VictoriaMetrics and stored as the payload's values."""

from __future__ import annotations

import math
import uuid

import orjson
import pytest

from gateway.contracts import telemetry_topic
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.ingest.config import InfluxConfig
from gateway.ingest.convert import classify, to_rows
from gateway.ingest.writer import Verdict, Writer
from tests.harness import InfluxDB1, VictoriaMetrics
from tests.integration.ingest.helpers import influx_rows

pytestmark = [pytest.mark.integration]

VALUES = [1e-07, 2.5e-05, 1e16, -1.5e30, 11.039999961853027, 1 / 3, -0.0, 123456.789, 1e-300]
START = 1764583200.0  # 2025-12-01T10:00:00Z


def _window(device: str) -> TelemetryWindow:
    points = tuple(PointWindow(f"p{i}", v, v * 2, v * 1.5, -v, i) for i, v in enumerate(VALUES))
    return TelemetryWindow(device, START, 1.0, points)


def _body(enterprise: str) -> tuple[bytes, TelemetryWindow]:
    window = _window("num-01")
    info = classify(telemetry_topic(enterprise, "site-1", "num-01"))
    assert info is not None
    rows = to_rows(info, orjson.dumps(window.to_dict()))
    return rows.text.encode(), window


def test_influxdb_1_6_stores_every_number_exactly(influxdb1: InfluxDB1, influxdb1_db: str) -> None:
    enterprise = f"num-{uuid.uuid4().hex[:6]}"
    body, window = _body(enterprise)
    config = InfluxConfig(url=influxdb1.url, api="v1", database=influxdb1_db)
    writer = Writer(config)
    try:
        assert writer.write(body).verdict is Verdict.OK
    finally:
        writer.close()
    rows = influx_rows(
        influxdb1,
        influxdb1_db,
        'SELECT "min", "max", "mean", "last", "value", point FROM telemetry',
    )
    got = {r["point"]: (r["min"], r["max"], r["mean"], r["last"], r["value"]) for r in rows}
    want = {p.key: (p.min, p.max, p.mean, p.last, p.last) for p in window.points}
    assert got == want


def test_victoria_metrics_accepts_every_number(victoria_metrics: VictoriaMetrics) -> None:
    enterprise = f"num-{uuid.uuid4().hex[:6]}"
    body, window = _body(enterprise)
    config = InfluxConfig(url=victoria_metrics.url, api="v2", org="o", bucket="b")
    writer = Writer(config)
    try:
        assert writer.write(body).verdict is Verdict.OK
    finally:
        writer.close()
    series = victoria_metrics.wait_for_export(
        f'{{__name__="telemetry_mean",enterprise="{enterprise}"}}'
    )
    got = {s["metric"]["point"]: s["values"][0] for s in series}
    want = {p.key: p.mean for p in window.points}
    assert got.keys() == want.keys()
    assert all(math.isclose(got[k], v, rel_tol=1e-12) for k, v in want.items()), got
