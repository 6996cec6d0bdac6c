"""Build the Grafana dashboards (``dashboards/json/*.json``) from one table of panels.

The JSON files are what Grafana loads and what is committed; this module is how they are
written, so that every panel follows the same rules: InfluxQL on the datasource of fixed
uid ``hazard-influxql``, the template variables ``$enterprise``, ``$site`` and ``$device``
in regex form (``=~ /^$site$/``), ``$timeFilter`` and ``$__interval`` where Grafana fills
them, and limit lines drawn from the ``limit`` field of the ``alarm`` rows, never from
numbers typed in here. Run ``python -m dashboards.build`` after changing a panel; the unit
tests fail while the committed JSON differs from what this module builds.

Points are chosen by the ``point`` tag (the point keys of the bundled device profiles); a
site whose profiles name their points differently edits the regexes in :data:`POINTS`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DASHBOARDS",
    "DATASOURCE",
    "POINTS",
    "SCHEMA_VERSION",
    "build_all",
    "docs_text",
    "main",
    "panels_markdown",
]

OUT = Path(__file__).parent / "json"
DOCS = Path(__file__).parents[1] / "docs" / "dashboards.md"
DOC_BEGIN, DOC_END = "<!-- panels: begin (python -m dashboards.build) -->", "<!-- panels: end -->"
DATASOURCE: dict[str, str] = {"type": "influxdb", "uid": "hazard-influxql"}
SCHEMA_VERSION = 39
ACTIVE_WINDOW = "time > now() - 30d"  # active alarms and site states ignore the picked range
REPORTING_WINDOW = "time > now() - 2m"  # a site that sent no online status since is offline

#: Which point keys each family of panels shows (regex alternatives on the ``point`` tag).
POINTS: dict[str, str] = {
    "level": "level",
    "tank_temperature": "temperature",
    "pressure": "pressure",
    "combustible": "gas",
    "toxic": "h2s|co|nh3|cl2",
    "oxygen": "o2",
    "dust": "dust",
    "diff_pressure": "diff_pressure",
    "dust_temperature": "hopper_temperature|inlet_temperature|bearing_temperature",
    "sparks": "spark_count",
    "dust_states": "airlock_fault|rotary_valve_fault|pulse_cleaning_fault|"
    "extinguisher_discharged|fan_running",
}

_SCOPE = '"enterprise" =~ /^$enterprise$/ AND "site" =~ /^$site$/'
_DEVICE = '"device" =~ /^$device$/'


@dataclass(frozen=True)
class Target:
    """One InfluxQL query of a panel (``alias`` uses Grafana's ``$tag_<key>`` names)."""

    query: str
    alias: str = ""
    table: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel: its type, queries and display options."""

    title: str
    type: str
    targets: tuple[Target, ...]
    description: str
    unit: str = "short"
    width: int = 12
    height: int = 8
    options: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    thresholds: tuple[tuple[str, float | None], ...] = (("green", None),)


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: uid, title, panels and whether alarm annotations are shown."""

    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    annotations: bool = True
    time_from: str = "now-6h"


def where(*conditions: str, device: bool = True, time: str = "$timeFilter") -> str:
    """The WHERE clause: template-variable scope, ``conditions``, then the time range."""
    parts = [_SCOPE, *([_DEVICE] if device else []), *conditions, time]
    return "WHERE " + " AND ".join(parts)


def points(family: str) -> str:
    """The ``point`` condition of one family of panels (see :data:`POINTS`)."""
    return f'"point" =~ /^({POINTS[family]})$/'


def state_is(state: str) -> str:
    """The condition on the alarm row's ``state`` field."""
    return f"\"state\" = '{state}'"


def kind_is(kinds: str) -> str:
    """The condition on the ``kind`` tag (regex alternatives, e.g. ``H|HH``)."""
    return f'"kind" =~ /^({kinds})$/'


def telemetry(family: str, *, aggregate: str = 'mean("mean")', fill: str = "null") -> Target:
    """Window aggregates of one point family, one series per device and point.

    The edge reports a point whose value did not change less often, so state panels fill
    empty intervals with the previous value; analog trends leave gaps (``fill(null)``).
    """
    query = (
        f'SELECT {aggregate} FROM "telemetry" {where(points(family))} '
        f'GROUP BY time($__interval), "device", "point" fill({fill})'
    )
    return Target(query, "$tag_device $tag_point")


def limits(family: str, kinds: str = "H|HH") -> Target:
    """The alarm limits of one point family as lines, from the ``limit`` field of alarm rows."""
    query = (
        f'SELECT last("limit") FROM "alarm" {where(points(family), kind_is(kinds))} '
        'GROUP BY time($__interval), "device", "point", "kind" fill(previous)'
    )
    return Target(query, "$tag_device $tag_point $tag_kind limit")


_LIMIT_STYLE = {"lineStyle": {"fill": "dash", "dash": [10, 10]}, "lineWidth": 2, "fillOpacity": 0}
_LIMIT_COLOURS = {"HH": "red", "H": "orange", "L": "yellow", "LL": "purple"}


def trend(title: str, family: str, unit: str, description: str, kinds: str = "H|HH") -> Panel:
    """A time series of one point family with its alarm limits drawn as dashed lines."""
    return Panel(
        title,
        "timeseries",
        (telemetry(family), limits(family, kinds)),
        description,
        unit=unit,
        custom={"limit_kinds": kinds.split("|")},
    )


def alarm_table(title: str, family_regex: str | None = None) -> Panel:
    """Every alarm event of the range, newest first."""
    conditions = (f'"point" =~ /^({family_regex})$/',) if family_regex else ()
    query = (
        'SELECT "device", "point", "kind", "level", "state", "isa_state", "value", "limit" '
        f'FROM "alarm" {where(*conditions)} ORDER BY time DESC LIMIT 500'
    )
    return Panel(
        title,
        "table",
        (Target(query, table=True),),
        "Alarm events of the period (activations, acknowledgements, clearing, dispositions).",
        width=24,
        height=9,
    )


def active_by_level(device: bool = True) -> Panel:
    """Active alarms (condition still present) per site, first and second level."""

    def level(n: int) -> Target:
        inner = (
            'SELECT last("isa_state") AS "st", last("level") AS "lvl" FROM "alarm" '
            f"{where(device=device, time=ACTIVE_WINDOW)} "
            'GROUP BY "enterprise", "site", "device", "point", "kind"'
        )
        query = (
            f'SELECT count("st") AS "level {n}" FROM ({inner}) '
            f'WHERE ("st" = \'unack\' OR "st" = \'acked\') AND "lvl" = {n} GROUP BY "site"'
        )
        return Target(query, f"$tag_site level {n}", table=False)

    return Panel(
        "Active alarms by level and site",
        "bargauge",
        (level(1), level(2)),
        "Points whose alarm condition is present now (ISA-18.2 unack or acked), by GB/T "
        "50493 level: 1 first level (H/L, ROC, faults), 2 second level (HH/LL). Looks back "
        "30 days whatever the picked range.",
        width=8,
        options={"orientation": "horizontal", "displayMode": "basic"},
        thresholds=(("green", None), ("orange", 1)),
    )


def _activations(bucket: str, by_site: bool = True) -> str:
    site = ', "site"' if by_site else ""
    return (
        f'SELECT count("event_id") AS "n" FROM "alarm" {where(state_is("active"))} '
        f"GROUP BY time({bucket}){site} fill(0)"
    )


def _flood_indicator() -> str:
    """1 for a 10-minute bucket with more than 10 activations (EEMUA 191 flood), else 0.

    InfluxQL has no CASE: ``p = |n - 10.5| + n - 10.5`` is 0 up to 10 and positive above,
    and ``ceil(p / (p + 2))`` turns that into 0 or 1.
    """
    p = '(abs("n" - 10.5) + "n" - 10.5)'
    return f'SELECT ceil({p} / ({p} + 2)) AS "flood" FROM ({_activations("10m", False)})'


def _standing(field_: str, condition: str) -> str:
    """Minutes per alarm series spent in a state, from the series' state at each minute.

    The time range sits in the inner query only: InfluxDB 1.6 answers nothing when the
    outer aggregate of a filled subquery has a time condition but no GROUP BY time.
    """
    inner = (
        f'SELECT last("{field_}") AS "st" FROM "alarm" {where()} '
        'GROUP BY time(1m), "site", "device", "point", "kind" fill(previous)'
    )
    return (
        f'SELECT count("st") AS "minutes" FROM ({inner}) WHERE {condition} '
        'GROUP BY "site", "device", "point", "kind"'
    )


def _site_scope(time: str = "$timeFilter") -> str:
    return where(device=False, time=time)


def _sites(window: str) -> str:
    """How many sites sent an online status within ``window``."""
    return (
        'SELECT count("online") AS "sites" FROM (SELECT last("online") AS "online" '
        f'FROM "site_status" {_site_scope(window)} AND "online" = 1 '
        'GROUP BY "enterprise", "site")'
    )


CHEMICALS = Dashboard(
    "hazard-chemicals",
    "Hazardous chemicals — major hazard sources",
    "Tank gauging (level, temperature, pressure) and gas detection of a hazardous-chemicals "
    "site, with the H/HH limits and the alarms of the period.",
    (
        trend(
            "Tank level",
            "level",
            "lengthm",
            "Mean level per tank per interval; dashed lines: the H (first-level) and HH "
            "(second-level) limits as carried by the alarm rows.",
        ),
        trend(
            "Tank temperature",
            "tank_temperature",
            "celsius",
            "Mean temperature per tank; dashed: H/HH limits from the alarm rows.",
        ),
        trend(
            "Tank pressure",
            "pressure",
            "pressurekpa",
            "Mean pressure per tank; dashed: H/HH limits from the alarm rows.",
        ),
        trend(
            "Combustible gas (%LEL)",
            "combustible",
            "percent",
            "Mean %LEL per detector; dashed: first-level (H) and second-level (HH) limits "
            "(GB/T 50493-2019: first ≤ 25 %LEL, second ≤ 50 %LEL) from the alarm rows.",
        ),
        trend(
            "Toxic gas (ppm)",
            "toxic",
            "ppm",
            "Mean concentration per toxic-gas detector; dashed: H/HH limits from the alarm rows.",
        ),
        trend(
            "Oxygen (%VOL)",
            "oxygen",
            "percent",
            "Oxygen per detector; dashed: low and high limits from the alarm rows.",
            kinds="LL|L|H|HH",
        ),
        active_by_level(),
        alarm_table("Alarms of the period"),
    ),
)

DUST = Dashboard(
    "hazard-dust",
    "Dust explosion risk",
    "Combustible-dust workshop: dust concentration, dust-collector differential pressure, "
    "hopper and bearing temperatures, sparks, airlock/rotary-valve and fault states.",
    (
        trend(
            "Dust concentration",
            "dust",
            "conmgm3",
            "Mean dust concentration per sensor; dashed: limits from the alarm rows.",
        ),
        trend(
            "Collector differential pressure",
            "diff_pressure",
            "pressurepa",
            "Filter differential pressure per collector: rising means blocked bags, falling "
            "means a broken bag or a stopped fan; dashed: L/H limits from the alarm rows.",
            kinds="L|H",
        ),
        trend(
            "Hopper and bearing temperatures",
            "dust_temperature",
            "celsius",
            "Ash-hopper, inlet and bearing temperatures (smouldering dust); dashed: H/HH "
            "limits from the alarm rows.",
        ),
        Panel(
            "Sparks per interval",
            "timeseries",
            (telemetry("sparks", aggregate='non_negative_difference(max("max"))'),),
            "New sparks counted by the spark detectors in each interval (the difference of "
            "the detector's counter; a counter reset counts as zero).",
            custom={"drawStyle": "bars", "fillOpacity": 80},
        ),
        Panel(
            "Airlock, rotary valve and fault states",
            "state-timeline",
            (telemetry("dust_states", aggregate='last("last")', fill="previous"),),
            "Status bits per device: 1 is a fault (airlock, rotary valve, pulse cleaning, "
            "extinguisher discharged) or, for fan_running, the fan on.",
            width=24,
            thresholds=(("green", None), ("red", 1)),
        ),
        active_by_level(),
        alarm_table("Alarms of the period"),
    ),
)

REGULATOR = Dashboard(
    "hazard-alarms",
    "Alarms and site status",
    "The regulator's view over all sites: active alarms, alarm rates and the EEMUA 191 "
    "measures, time to acknowledge and to dispose, offline sites and offline hours.",
    (
        active_by_level(),
        Panel(
            "Sites reporting",
            "stat",
            (
                Target(_sites(ACTIVE_WINDOW), "known sites (30 d)"),
                Target(_sites(REPORTING_WINDOW), "reporting (last 2 min)"),
            ),
            "Sites that sent a status in the last 30 days, and those whose edge sent an online "
            "status in the last 2 minutes (it sends one every 10 s): the difference is offline. "
            "Counted from online statuses, so it does not depend on when a last will arrives.",
            width=4,
        ),
        Panel(
            "Site status",
            "table",
            (
                Target(
                    'SELECT last("online") AS "online" FROM "site_status" '
                    f'{_site_scope(ACTIVE_WINDOW)} GROUP BY "enterprise", "site"',
                    table=True,
                ),
            ),
            "The last status of every site: its time and online (1) or offline (0, the edge's "
            "last will).",
            width=12,
        ),
        Panel(
            "Alarm rate per hour",
            "timeseries",
            (Target(_activations("1h"), "$tag_site"),),
            "Alarm activations per hour and site.",
            custom={"drawStyle": "bars", "fillOpacity": 80},
        ),
        Panel(
            "Alarms per 10 minutes (EEMUA 191)",
            "timeseries",
            (Target(_activations("10m"), "$tag_site"),),
            "Activations per 10 minutes per site. EEMUA 191: about 1 is manageable, more than "
            "10 is an alarm flood (the red line is that benchmark, not a process limit).",
            custom={"drawStyle": "bars", "fillOpacity": 80, "thresholdsStyle": {"mode": "line"}},
            thresholds=(("green", None), ("red", 10)),
        ),
        Panel(
            "Peak alarms in 10 minutes",
            "stat",
            (
                Target(
                    f'SELECT max("n") AS "peak" FROM ({_activations("10m", False)})',
                    "peak per 10 min",
                ),
            ),
            "The most activations in any 10-minute bucket of the range (EEMUA 191 peak rate).",
            width=6,
            thresholds=(("green", None), ("orange", 5), ("red", 10)),
        ),
        Panel(
            "Share of time in flood",
            "stat",
            (Target(f'SELECT mean("flood") * 100 AS "flood" FROM ({_flood_indicator()})'),),
            "Percentage of 10-minute buckets with more than 10 activations (EEMUA 191 target: "
            "under 1 %).",
            unit="percent",
            width=6,
            thresholds=(("green", None), ("orange", 1), ("red", 5)),
        ),
        Panel(
            "Time unacknowledged per alarm",
            "table",
            (
                Target(
                    _standing("isa_state", "(\"st\" = 'unack' OR \"st\" = 'rtn_unack')"),
                    table=True,
                ),
            ),
            "Minutes each alarm (site, device, point, kind) waited for an acknowledgement in "
            "the range: its ISA-18.2 state at each minute was unack or rtn_unack.",
            unit="m",
        ),
        Panel(
            "Time awaiting disposition per alarm",
            "table",
            (Target(_standing("state", "\"st\" != 'disposition'"), table=True),),
            "Minutes from each alarm's activation until its disposition (闭环) was recorded; "
            "a row that keeps growing has none.",
            unit="m",
        ),
        Panel(
            "Acknowledgements and dispositions per hour",
            "timeseries",
            (
                Target(
                    f'SELECT count("event_id") FROM "alarm" {where(state_is("acknowledged"))} '
                    'GROUP BY time(1h), "site" fill(0)',
                    "$tag_site acknowledged",
                ),
                Target(
                    f'SELECT count("event_id") FROM "alarm" {where(state_is("disposition"))} '
                    'GROUP BY time(1h), "site" fill(0)',
                    "$tag_site disposition",
                ),
            ),
            "Operator acknowledgements and recorded dispositions per hour and site.",
            custom={"drawStyle": "bars", "fillOpacity": 60},
        ),
        Panel(
            "Offline time per site",
            "table",
            (
                Target(
                    'SELECT count("n") AS "offline minutes" FROM (SELECT count("online") AS "n" '
                    f'FROM "site_status" {_site_scope()} AND "online" = 1 '
                    'GROUP BY time(1m), "site" fill(0)) WHERE "n" = 0 '
                    'GROUP BY "site"',
                    table=True,
                ),
            ),
            "Minutes of the range without an online status from the site (the edge sends one "
            "every 10 s). A range that starts before a site was installed counts that time.",
            unit="m",
        ),
    ),
    time_from="now-24h",
)

DASHBOARDS: dict[str, Dashboard] = {
    "hazardous-chemicals.json": CHEMICALS,
    "dust-explosion.json": DUST,
    "alarms-and-sites.json": REGULATOR,
}


def _variable(name: str, label: str, parents: Sequence[str]) -> dict[str, Any]:
    conditions = " AND ".join(f'"{p}" =~ /^${p}$/' for p in parents)
    query = f'SHOW TAG VALUES FROM "telemetry" WITH KEY = "{name}"'
    if conditions:
        query += f" WHERE {conditions}"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 1,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
        "options": [],
        "regex": "",
        "skipUrlSync": False,
    }


def _target(target: Target, ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "refId": ref,
        "datasource": DATASOURCE,
        "query": target.query,
        "rawQuery": True,
        "resultFormat": "table" if target.table else "time_series",
    }
    if target.alias:
        out["alias"] = target.alias
    return out


def _overrides(panel: Panel) -> list[dict[str, Any]]:
    kinds: list[str] = panel.custom.get("limit_kinds", [])
    return [
        {
            "matcher": {"id": "byRegexp", "options": f".* {kind} limit$"},
            "properties": [
                {"id": "custom.lineStyle", "value": _LIMIT_STYLE["lineStyle"]},
                {"id": "custom.lineWidth", "value": 2},
                {"id": "custom.fillOpacity", "value": 0},
                {"id": "custom.showPoints", "value": "never"},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": _LIMIT_COLOURS[kind]}},
            ],
        }
        for kind in kinds
    ]


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    custom = {k: v for k, v in panel.custom.items() if k != "limit_kinds"}
    steps = [{"color": colour, "value": value} for colour, value in panel.thresholds]
    return {
        "id": panel_id,
        "type": panel.type,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": [_target(t, chr(ord("A") + i)) for i, t in enumerate(panel.targets)],
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "custom": custom,
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": _overrides(panel),
        },
        "options": panel.options,
    }


def _annotations(dashboard: Dashboard) -> list[dict[str, Any]]:
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    if not dashboard.annotations:
        return [builtin]
    query = 'SELECT "value", "limit", "state", "device", "point", "kind" FROM "alarm" ' + where(
        state_is("active")
    )
    alarms = {
        "name": "Alarm activations",
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": "red",
        "query": query,
        "textColumn": "state",
        "tagsColumn": "device,point,kind",
    }
    return [builtin, alarms]


def _layout(panels: Sequence[Panel]) -> list[dict[str, Any]]:
    out, x, y, row_height = [], 0, 0, 0
    for i, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        out.append(_panel(panel, i, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return out


def build(dashboard: Dashboard) -> dict[str, Any]:
    """The classic dashboard JSON of ``dashboard``."""
    variables = [
        _variable("enterprise", "Enterprise", []),
        _variable("site", "Site", ["enterprise"]),
        _variable("device", "Device", ["enterprise", "site"]),
    ]
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["hazard-gateway"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "",
        "refresh": "30s",
        "time": {"from": dashboard.time_from, "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": _annotations(dashboard)},
        "panels": _layout(dashboard.panels),
        "links": [],
    }


def build_all() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        name: json.dumps(build(d), indent=2, ensure_ascii=False) + "\n"
        for name, d in DASHBOARDS.items()
    }


def panels_markdown() -> str:
    """The "Dashboards, panels and queries" part of docs/dashboards.md."""
    out: list[str] = []
    for name, dashboard in DASHBOARDS.items():
        dash = build(dashboard)
        out += [f"### {dash['title']}", ""]
        out += [
            f"uid `{dash['uid']}`, file `dashboards/json/{name}`, default range "
            f"`{dash['time']['from']}`. {dash['description']}",
            "",
        ]
        for annotation in dash["annotations"]["list"]:
            if "query" in annotation:
                out += [f"**Annotations: {annotation['name']}**", "", "```sql"]
                out += [annotation["query"], "```", ""]
        for panel in dash["panels"]:
            out += [f"**{panel['title']}** ({panel['type']}). {panel['description']}", ""]
            out.append("```sql")
            for target in panel["targets"]:
                alias = f"  -- alias: {target['alias']}" if target.get("alias") else ""
                out += [f"-- {target['refId']} ({target['resultFormat']}){alias}", target["query"]]
            out += ["```", ""]
    return "\n".join(out)


def docs_text(current: str) -> str:
    """``current`` (docs/dashboards.md) with the part between the markers rebuilt."""
    head, _, rest = current.partition(DOC_BEGIN)
    _, _, tail = rest.partition(DOC_END)
    return f"{head}{DOC_BEGIN}\n{panels_markdown()}{DOC_END}{tail}"


def main(argv: Sequence[str] = ()) -> int:
    """Write the JSON files and the docs' panel list (``--check``: only report staleness)."""
    check = "--check" in argv
    stale = []
    files = {OUT / name: text for name, text in build_all().items()}
    if DOCS.exists():
        files[DOCS] = docs_text(DOCS.read_text(encoding="utf-8"))
    for path, text in files.items():
        name = path.name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "out of date" if check else "written"
    print(f"{verb}: {', '.join(stale)}" if stale else "dashboards up to date")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
