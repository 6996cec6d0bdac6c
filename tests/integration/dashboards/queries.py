"""Every query of the dashboard JSON, as Grafana would send it, and checks of the answers.

Grafana replaces ``$timeFilter`` with ``time >= <from>ms and time <= <to>ms``,
``$__interval`` with the panel's interval, and a multi-value template variable inside a
regex with ``(a|b)`` of regex-escaped values; :func:`substitute` does the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DASHBOARD_DIR",
    "Query",
    "all_queries",
    "check_series",
    "group_by_tags",
    "load_dashboards",
    "regex_value",
    "substitute",
    "variable_names",
]

DASHBOARD_DIR = Path(__file__).parents[3] / "dashboards" / "json"
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|[\]{}/]")


@dataclass(frozen=True)
class Query:
    """One query of one dashboard: a panel target, a template variable or an annotation."""

    dashboard: str
    source: str  # "panel", "variable" or "annotation"
    title: str
    ref: str
    text: str
    table: bool = False

    @property
    def id(self) -> str:
        """A readable pytest id."""
        return f"{self.dashboard}:{self.source}:{self.title}:{self.ref}"


def load_dashboards(directory: Path = DASHBOARD_DIR) -> dict[str, dict[str, Any]]:
    """File name -> parsed dashboard JSON."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def all_queries(dashboards: Mapping[str, Mapping[str, Any]]) -> list[Query]:
    """Every panel target, variable and annotation query of every dashboard."""
    out: list[Query] = []
    for dash in dashboards.values():
        uid = str(dash["uid"])
        for var in dash["templating"]["list"]:
            out.append(Query(uid, "variable", var["name"], "var", var["query"]))
        for ann in dash["annotations"]["list"]:
            if "query" in ann:
                out.append(Query(uid, "annotation", ann["name"], "ann", ann["query"]))
        for panel in dash["panels"]:
            for target in panel["targets"]:
                table = target.get("resultFormat") == "table"
                out.append(
                    Query(uid, "panel", panel["title"], target["refId"], target["query"], table)
                )
    return out


def variable_names(text: str) -> set[str]:
    """The template variables ``$name`` used in ``text`` (Grafana's own ``$__*`` excluded)."""
    return {m for m in re.findall(r"\$(\w+)", text) if not m.startswith("__") and m != "timeFilter"}


def regex_value(values: Sequence[str]) -> str:
    """A multi-value variable inside a regex, the way Grafana formats it."""
    escaped = [_REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def substitute(
    text: str,
    variables: Mapping[str, Sequence[str]],
    start_ms: int,
    end_ms: int,
    interval: str = "5s",
) -> str:
    """``text`` with the time range, the interval and the template variables filled in."""
    out = text.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    out = out.replace("$__interval", interval)
    for name in sorted(variables, key=len, reverse=True):
        out = out.replace(f"${name}", regex_value(variables[name]))
    leftover = variable_names(out) | ({"__interval"} if "$__" in out else set())
    assert not leftover, f"unsubstituted variables {leftover} in {out}"
    return out


def group_by_tags(query: str) -> set[str]:
    """The tags of the outermost ``GROUP BY`` (``time(...)`` left out)."""
    depth, outer = 0, []
    for char in query:
        depth += char == "("
        outer.append(char if depth == 0 else " ")
        depth -= char == ")"
    flat = "".join(outer)
    match = re.search(r"GROUP BY (.*?)(?: fill| ORDER| LIMIT|$)", flat)
    if match is None:
        return set()
    return {part.strip().strip('"') for part in match.group(1).split(",") if '"' in part}


def check_series(query: Query, answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The series of ``answer``; AssertionError unless they have the shape ``query`` asks."""
    results = answer.get("results") or [{}]
    series: list[dict[str, Any]] = results[0].get("series") or []
    assert series, f"{query.id}: no series for {query.text}"
    if query.source == "variable":
        values = [row[1] for s in series for row in s["values"]]
        assert values and series[0]["columns"] == ["key", "value"], query.id
        return series
    tags = group_by_tags(query.text)
    for one in series:
        assert one["columns"][0] == "time", f"{query.id}: columns {one['columns']}"
        assert len(one["columns"]) >= 2, f"{query.id}: no value column"
        assert one["values"], f"{query.id}: empty series {one}"
        assert tags <= set(one.get("tags", {})), f"{query.id}: tags {one.get('tags')} ⊉ {tags}"
    filled = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
    assert filled, f"{query.id}: every value is null in {series}"
    return series
