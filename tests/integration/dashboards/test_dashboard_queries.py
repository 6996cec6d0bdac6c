"""Every dashboard query, run for real against InfluxDB 1.6.7 filled by the real pipeline.

simulator (gas-leak, dust-clog, tank-overfill) → edge → Mosquitto → ingest → InfluxDB
1.6.7; then each panel target, template variable and annotation query of the committed
dashboard JSON runs with Grafana's substitutions and must return non-empty series of the
right shape. Each dashboard's answers are drawn to a PNG (``HAZARD_ARTIFACTS`` or the
pytest temp folder).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness import InfluxDB1, Mosquitto, MqttProbe
from tests.harness.cli_process import CliProcess
from tests.harness.pytest_support import running
from tests.harness.waiting import wait_for
from tests.integration.dashboards.bridge import MqttToInflux
from tests.integration.dashboards.pipeline import Pipeline
from tests.integration.dashboards.queries import (
    Query,
    all_queries,
    check_series,
    load_dashboards,
    substitute,
)
from tests.integration.dashboards.render import PanelResult, render_dashboard

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DASHBOARDS = load_dashboards()
QUERIES = all_queries(DASHBOARDS)
#: "ingest": `hazard-gateway ingest` writes; "bridge": the fallback in bridge.py does.
WRITER = os.environ.get("HAZARD_DASHBOARD_WRITER", "ingest")
SPARKS_COUNTED_S = 41.0  # dust-clog: spark bursts at 36-39 s, the collector cools from 45 s


@dataclass(frozen=True)
class Filled:
    """The database the pipeline filled, and the time range the queries use."""

    influxdb: InfluxDB1
    database: str
    start_ms: int
    end_ms: int
    variables: dict[str, list[str]]

    def run(self, query: Query) -> dict[str, Any]:
        text = substitute(query.text, self.variables, self.start_ms, self.end_ms)
        return self.influxdb.query(text, self.database, epoch="ms")


def _ingest_config(path: Path, broker: Mosquitto, influxdb: InfluxDB1, database: str) -> Path:
    path.write_text(
        f"broker: {{url: '{broker.url}', client_id: dashboards-ingest}}\n"
        f"influxdb: {{url: '{influxdb.url}', api: v1, database: {database}}}\n"
        "batch: {flush_interval_s: 0.2}\n"
        f"deadletter: {{path: '{path.parent / 'deadletter.sqlite'}', publish: false}}\n"
        "metrics: {port: 0, status_every_s: 0}\n",
        encoding="utf-8",
    )
    return path


def _drive(pipeline: Pipeline, probe: MqttProbe, pump: Any) -> None:
    """Run the scenarios: acknowledge and dispose, kill the dust edge, wait for the clears."""

    def seen(scenario: str, point: str, kind: str, state: str) -> Any:
        pump()
        return pipeline.find(scenario, point, kind, state)

    gas = wait_for(lambda: seen("gas-leak", "gas", "H", "active"), 60, "gas H active")
    pipeline.command(probe, gas, "ack")
    wait_for(lambda: seen("gas-leak", "gas", "H", "acknowledged"), 20, "gas H acknowledged")
    activation = gas.activation_id or gas.event_id
    pipeline.command(
        probe, gas, "disposition", activation_id=activation, cause="test", action="vent"
    )
    wait_for(lambda: seen("gas-leak", "gas", "H", "disposition"), 20, "gas H disposition")
    wait_for(lambda: seen("dust-clog", "diff_pressure", "H", "active"), 60, "dust dp H active")
    wait_for(lambda: seen("dust-clog", "hopper_temperature", "HH", "active"), 30, "hopper HH")
    dust = pipeline.runs["dust-clog"]
    # sparks count from 36 s on; the collector's alarms clear from 45 s: kill in between.
    wait_for(lambda: pump() is not None and dust.elapsed() > SPARKS_COUNTED_S, 60, "sparks")
    dust_edge = dust.edge
    assert dust_edge is not None
    dust_edge.stop(signal.SIGKILL)  # the broker publishes its last will; its alarms stand
    wait_for(lambda: seen("gas-leak", "gas", "H", "cleared"), 60, "gas H cleared")
    wait_for(lambda: seen("tank-overfill", "level", "H", "cleared"), 60, "tank H cleared")
    time.sleep(1.5)  # the last telemetry windows and statuses
    pump()


@pytest.fixture(scope="module")
def filled(influxdb1: InfluxDB1, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    """Run the pipeline once for the module; the filled database and the query range."""
    workdir = tmp_path_factory.mktemp("dashboards")
    database = f"dash_{uuid.uuid4().hex[:8]}"
    influxdb1.create_database(database)
    start_ms = int(time.time() * 1000) - 120_000
    with running(lambda: Mosquitto(workdir / "broker")) as broker:
        watcher = MqttProbe(broker.host, broker.port).connect()
        watcher.subscribe("hazard/v1/#", qos=1)
        bridge = MqttToInflux(watcher, influxdb1, database, write=WRITER != "ingest")
        ingest = None
        if WRITER == "ingest":
            config = _ingest_config(workdir / "ingest.yaml", broker, influxdb1, database)
            ingest = CliProcess("ingest", "--config", str(config))
        pipeline = Pipeline(workdir, broker.url, lambda: bridge.alarms)
        try:
            pipeline.start()
            _drive(pipeline, watcher, bridge.pump)
            if ingest is not None:
                time.sleep(1.0)  # ingest's last flush
        except Exception as exc:
            logs = pipeline.logs() + (f"\n--- ingest\n{ingest.tail()}" if ingest else "")
            raise AssertionError(f"pipeline failed: {exc}\n{logs}") from exc
        finally:
            pipeline.stop()
            if ingest is not None:
                ingest.stop()
            watcher.close()
    end_ms = int(time.time() * 1000)
    filled = Filled(influxdb1, database, start_ms, end_ms, {})
    yield Filled(influxdb1, database, start_ms, end_ms, _variables(filled))
    influxdb1.drop_database(database)


def _variables(filled: Filled) -> dict[str, list[str]]:
    """Each template variable's values from its own query, parents first."""
    values: dict[str, list[str]] = {}
    dash = next(iter(DASHBOARDS.values()))
    for var in dash["templating"]["list"]:
        answer = filled.influxdb.query(
            substitute(var["query"], values, filled.start_ms, filled.end_ms), filled.database
        )
        series = answer["results"][0].get("series") or []
        values[var["name"]] = sorted({row[1] for s in series for row in s["values"]})
        assert values[var["name"]], f"variable {var['name']} has no values"
    return values


@pytest.mark.parametrize("query", QUERIES, ids=[q.id for q in QUERIES])
def test_query_returns_series_of_the_right_shape(filled: Filled, query: Query) -> None:
    check_series(query, filled.run(query))


def test_variables_cover_the_three_sites(filled: Filled) -> None:
    assert filled.variables["enterprise"] == ["demo-chem", "dust-works"]
    assert filled.variables["site"] == ["loading-bay", "polishing", "tank-farm"]
    assert {"gas-01", "tank-01-level", "dust-col-01"} <= set(filled.variables["device"])


def test_limit_lines_come_from_alarm_rows(filled: Filled) -> None:
    """The gas panel's H/HH lines carry the profile's limits, as published by the edge."""
    dash = DASHBOARDS["hazardous-chemicals.json"]
    panel = next(p for p in dash["panels"] if p["title"].startswith("Combustible"))
    target = next(t for t in panel["targets"] if "limit" in t.get("alias", ""))
    query = Query(dash["uid"], "panel", panel["title"], target["refId"], target["query"])
    series = check_series(query, filled.run(query))
    found = {
        s["tags"]["kind"]: {row[1] for row in s["values"] if row[1] is not None} for s in series
    }
    assert found == {"H": {20.0}, "HH": {40.0}}


def test_each_dashboard_renders_to_png(
    filled: Filled, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = Path(os.environ.get("HAZARD_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    for dash in DASHBOARDS.values():
        panels: list[PanelResult] = []
        for panel in dash["panels"]:
            targets = []
            for target in panel["targets"]:
                table = target.get("resultFormat") == "table"
                query = Query(
                    dash["uid"], "panel", panel["title"], target["refId"], target["query"]
                )
                series = filled.run(query)["results"][0].get("series") or []
                targets.append((target.get("alias", ""), series, table))
            panels.append((panel["title"], panel["type"], targets))
        path = render_dashboard(dash["title"], panels, out / "dashboards" / f"{dash['uid']}.png")
        assert path.stat().st_size > 20_000, path
