"""Simulator -> edge -> Mosquitto -> ingest -> InfluxDB 1.6.7 (v1) and VictoriaMetrics
(v2 API): every row read back equals what the edge published, value for value."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.timeutil import parse_ts
from tests.harness import InfluxDB1, Mosquitto, VictoriaMetrics
from tests.harness.cli_process import CliProcess
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.integration.ingest.edge_procs import write_site
from tests.integration.ingest.helpers import BIG_QUEUE, influx_rows, make_config, running_worker
from tests.integration.mqtt.collect import Received

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIELDS = ("min", "max", "mean", "last", "count")
# tank-overfill ramps the level from 5 s to 25 s: H (and HH) alarms within ~20 s
PROFILE, SCENARIO = "generic-radar-level", "tank-overfill"


@pytest.fixture(name="procs")
def fixture_procs() -> Iterator[list[CliProcess]]:
    started: list[CliProcess] = []
    yield started
    for proc in started:
        proc.stop()


def _ms(ts: str) -> int:
    return round(parse_ts(ts) * 1000)


def _expected_points(received: Received) -> dict[tuple[str, str, int], dict[str, Any]]:
    """(device, point, ms) -> the aggregates the edge published."""
    out = {}
    for window in received.telemetry:
        for key, point in window["points"].items():
            out[(window["device"], key, _ms(window["ts"]))] = point
    return out


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _check_influx(server: InfluxDB1, db: str, received: Received) -> None:
    expected = _expected_points(received)
    rows = influx_rows(server, db, "SELECT * FROM telemetry")
    got = {(r["device"], r["point"], r["time"] // 1_000_000): r for r in rows}
    assert got.keys() == expected.keys()
    for key, point in expected.items():
        for field in FIELDS:
            assert _close(got[key].get(field), point[field]), (key, field)
        assert _close(got[key].get("value"), point["last"]), key
    alarms = {r["event_id"]: r for r in influx_rows(server, db, "SELECT * FROM alarm")}
    assert alarms.keys() == {a["event_id"] for a in received.alarms}
    for event in received.alarms:
        row = alarms[event["event_id"]]
        assert row["time"] == _ms(event["ts"]) * 1_000_000 + event["seq"] % 1_000_000
        assert (row["kind"], row["level"], row["state"], row["seq"]) == (
            event["kind"], event["level"], event["state"], event["seq"],
        )  # fmt: skip
        assert _close(row["value"], event["value"]) and _close(row["limit"], event["limit"])
        assert row.get("isa_state") == event.get("isa_state")
    status = influx_rows(server, db, "SELECT * FROM site_status")
    got_status = {r["time"] // 1_000_000: r["online"] for r in status}
    assert got_status == {_ms(s["ts"]): int(s["state"] == "online") for s in received.status}


def _check_victoria(vm: VictoriaMetrics, enterprise: str, received: Received) -> None:
    expected = _expected_points(received)
    for field in FIELDS:
        series = vm.export(f'{{__name__="telemetry_{field}",enterprise="{enterprise}"}}')
        got = {
            (s["metric"]["device"], s["metric"]["point"], ms): value
            for s in series
            for ms, value in zip(s["timestamps"], s["values"], strict=True)
        }
        want = {k: p[field] for k, p in expected.items() if p[field] is not None}
        assert got.keys() == want.keys(), field
        assert all(_close(got[k], v) for k, v in want.items()), field
    # A series VictoriaMetrics registers last can take a moment to become searchable even
    # after force_flush (the alarm is the newest series here): poll for it, not sleep.
    series = vm.wait_for_export(f'{{__name__="alarm_value",enterprise="{enterprise}"}}')
    got_alarms = sorted(
        (s["metric"]["kind"], ms, v)
        for s in series
        for ms, v in zip(s["timestamps"], s["values"], strict=True)
    )
    want_alarms = sorted((a["kind"], _ms(a["ts"]), a["value"]) for a in received.alarms)
    assert got_alarms == want_alarms
    online = vm.export(f'{{__name__="site_status_online",enterprise="{enterprise}"}}')
    assert sorted(online[0]["timestamps"]) == sorted(_ms(s["ts"]) for s in received.status)


def test_round_trip_to_influxdb_1_and_victoria_metrics_value_for_value(
    start_server: Callable[..., Any],
    tmp_path: Path,
    influxdb1: InfluxDB1,
    influxdb1_db: str,
    victoria_metrics: VictoriaMetrics,
    procs: list[CliProcess],
) -> None:
    enterprise = f"rt-{uuid.uuid4().hex[:8]}"
    broker = start_server(Mosquitto, tmp_path / "broker", extra_config=BIG_QUEUE)
    v1 = make_config(
        tmp_path, broker, {"url": influxdb1.url, "api": "v1", "database": influxdb1_db},
        client_id="rt-v1",
    )  # fmt: skip
    v2 = make_config(
        tmp_path, broker, {"url": victoria_metrics.url, "org": "o", "bucket": "b"},
        client_id="rt-v2",
    )  # fmt: skip
    probe = MqttProbe(broker.host, broker.port).connect()
    probe.subscribe("hazard/v1/#", qos=1)
    site = write_site(tmp_path / "site.yaml", enterprise, "plant-1", PROFILE)
    received = Received()
    with running_worker(v1) as influx_worker, running_worker(v2) as vm_worker:
        wait_for(lambda: influx_worker.stats.connected and vm_worker.stats.connected, 10, "up")
        simulator = CliProcess("simulate", "--site", str(site), "--scenario", SCENARIO)
        procs.append(simulator)
        wait_for(lambda: simulator.said("READY"), 20, "simulator READY")
        edge = CliProcess(
            "edge", "--site", str(site), "--mqtt", broker.url, "--telemetry-qos", "1",
            "--state-dir", str(tmp_path / "state"), "--status-every", "1",
        )  # fmt: skip
        procs.append(edge)

        def enough() -> bool:
            received.drain(probe)
            return len(received.alarms) >= 1 and len(received.telemetry) >= 5

        wait_for(enough, 40, "an alarm and five telemetry windows from the edge")
        edge.stop()

        def offline() -> bool:
            received.drain(probe)
            return bool(received.status) and received.status[-1]["state"] == "offline"

        wait_for(offline, 10, "offline status")

        def caught_up() -> bool:
            want = len(received.telemetry) + len(received.alarms) + len(received.status)
            return all(w.stats.messages_written >= want for w in (influx_worker, vm_worker))

        wait_for(caught_up, 15, "ingest to write everything")
        assert influx_worker.store.all() == [] and vm_worker.store.all() == []
    received.drain(probe)
    probe.close()
    _check_influx(influxdb1, influxdb1_db, received)
    _check_victoria(victoria_metrics, enterprise, received)
    for query in _doc_queries():  # docs/influxdb.md's examples run on 1.6.7 (raise if not)
        influxdb1.query(query, influxdb1_db)


def _doc_queries() -> list[str]:
    text = (Path(__file__).parents[3] / "docs" / "influxdb.md").read_text(encoding="utf-8")
    block = text.split("```sql\n", 1)[1].split("```", 1)[0]
    statements = " ".join(
        line.strip() for line in block.splitlines() if not line.startswith("--")
    ).split("SELECT ")
    queries = ["SELECT " + q.strip() for q in statements if q.strip()]
    assert len(queries) == 5
    return queries
