"""The Grafana dashboard JSON and provisioning: the checks that need no server.

Every query runs for real in tests/integration/dashboards/; here: the committed JSON is
what dashboards/build.py makes, uids are unique, every target names the datasource,
every template variable is defined from SHOW TAG VALUES and used, and process limits
come from the alarm rows, never from numbers in the JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import build

REPO = Path(__file__).parents[2]
JSON_DIR = REPO / "dashboards" / "json"
PROVISIONING = REPO / "dashboards" / "grafana" / "provisioning"
DASHBOARDS: dict[str, dict[str, Any]] = {
    p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(JSON_DIR.glob("*.json"))
}
VARIABLES = ("enterprise", "site", "device")


def _targets(dash: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for p in dash["panels"] for t in p["targets"]]


def _queries(dash: dict[str, Any]) -> list[str]:
    annotations = [a["query"] for a in dash["annotations"]["list"] if "query" in a]
    return [t["query"] for t in _targets(dash)] + annotations


def test_committed_json_is_what_build_makes() -> None:
    built = build.build_all()
    assert set(built) == set(DASHBOARDS)
    for name, text in built.items():
        assert (JSON_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run python -m dashboards.build"
        )


def test_three_dashboards_with_unique_fixed_uids() -> None:
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert sorted(uids) == ["hazard-alarms", "hazard-chemicals", "hazard-dust"]
    assert len(set(uids)) == len(uids)
    titles = {d["title"] for d in DASHBOARDS.values()}
    assert titles == {
        "Hazardous chemicals — major hazard sources",
        "Dust explosion risk",
        "Alarms and site status",
    }


@pytest.mark.parametrize("name", DASHBOARDS)
def test_classic_dashboard_shape(name: str) -> None:
    dash = DASHBOARDS[name]
    assert dash["schemaVersion"] == build.SCHEMA_VERSION
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dash["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
        assert panel["targets"], panel["title"]
        assert panel["description"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_target_names_the_datasource(name: str) -> None:
    dash = DASHBOARDS[name]
    things = [
        *_targets(dash),
        *dash["panels"],
        *dash["templating"]["list"],
        *(a for a in dash["annotations"]["list"] if "query" in a),
    ]
    for thing in things:
        assert thing["datasource"] == build.DATASOURCE, thing
    for target in _targets(dash):
        assert target["rawQuery"] is True and target["resultFormat"] in ("time_series", "table")


@pytest.mark.parametrize("name", DASHBOARDS)
def test_template_variables_are_defined_and_used(name: str) -> None:
    dash = DASHBOARDS[name]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert tuple(variables) == VARIABLES
    for var_name, var in variables.items():
        assert var["type"] == "query" and var["multi"] and var["includeAll"]
        assert var["query"].startswith("SHOW TAG VALUES FROM ")
        assert f'WITH KEY = "{var_name}"' in var["query"]
    queries = _queries(dash)
    for var_name in VARIABLES:
        assert any(f"${var_name}" in q for q in queries), f"${var_name} unused in {name}"
    used = {m for q in queries for m in re.findall(r"\$(\w+)", q)}
    assert used <= {*VARIABLES, "timeFilter", "__interval"}, used
    for query in queries:
        for var_name in re.findall(r"\$(enterprise|site|device)\b", query):
            assert f'"{var_name}" =~ /^${var_name}$/' in query, query


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_query_is_bounded_in_time(name: str) -> None:
    for query in _queries(DASHBOARDS[name]):
        assert "$timeFilter" in query or "time > now() - " in query, query
        assert query.count("(") == query.count(")"), query


@pytest.mark.parametrize("name", DASHBOARDS)
def test_limits_come_from_the_alarm_rows(name: str) -> None:
    """Panels of process values have no numeric thresholds; their limit lines are queries."""
    for panel in DASHBOARDS[name]["panels"]:
        queries = [t["query"] for t in panel["targets"]]
        if not any('FROM "telemetry"' in q for q in queries):
            continue
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        if panel["type"] == "timeseries":
            assert [s["value"] for s in steps] == [None], panel["title"]
        for query in queries:
            assert not re.search(r"[<>]=?\s*\d", query), f"a literal limit in {query}"
        limits = [q for q in queries if 'SELECT last("limit") FROM "alarm"' in q]
        if "limit" in json.dumps(panel["fieldConfig"]["overrides"]):
            assert limits, panel["title"]


def test_chemicals_dashboard_draws_h_and_hh_for_tanks_and_gas() -> None:
    dash = DASHBOARDS["hazardous-chemicals.json"]
    titles = {p["title"]: p for p in dash["panels"]}
    for title in ("Tank level", "Tank temperature", "Tank pressure", "Combustible gas (%LEL)"):
        queries = [t["query"] for t in titles[title]["targets"]]
        assert any('"kind" =~ /^(H|HH)$/' in q and '"limit"' in q for q in queries), title
    assert any(a.get("name") == "Alarm activations" for a in dash["annotations"]["list"])


def test_datasource_provisioning_has_the_fixed_uid() -> None:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text())
    [source] = doc["datasources"]
    assert (source["uid"], source["type"]) == (build.DATASOURCE["uid"], "influxdb")
    assert "${" in source["secureJsonData"]["httpHeaderValue1"], "the token comes from env"
    assert source["jsonData"]["dbName"].startswith("${")


def test_dashboard_provider_points_at_the_mounted_json() -> None:
    doc = yaml.safe_load((PROVISIONING / "dashboards" / "hazard-gateway.yaml").read_text())
    [provider] = doc["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./dashboards/json:{provider['options']['path']}:ro" in mounts
    assert "./dashboards/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


def test_docs_list_every_panel_and_query() -> None:
    docs = (REPO / "docs" / "dashboards.md").read_text(encoding="utf-8")
    assert build.docs_text(docs) == docs, "docs/dashboards.md is stale: python -m dashboards.build"
    for dash in DASHBOARDS.values():
        for query in _queries(dash):
            assert query in docs, query
