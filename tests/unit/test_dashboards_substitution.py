"""The helpers that turn dashboard queries into what Grafana sends (used by the query test)."""

from __future__ import annotations

import pytest

from tests.integration.dashboards.queries import (
    Query,
    check_series,
    group_by_tags,
    regex_value,
    substitute,
    variable_names,
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["demo-chem"], "demo-chem"),
        (["a", "b"], "(a|b)"),
        (["tank.1", "x/y", "(z)"], r"(tank\.1|x\/y|\(z\))"),
    ],
)
def test_regex_value_escapes_like_grafana(values: list[str], expected: str) -> None:
    assert regex_value(values) == expected


def test_substitute_fills_time_interval_and_variables() -> None:
    text = 'SELECT x FROM t WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval)'
    out = substitute(text, {"site": ["s1", "s2"]}, 1000, 2000, "10s")
    assert out == (
        'SELECT x FROM t WHERE "site" =~ /^(s1|s2)$/ AND time >= 1000ms and time <= 2000ms '
        "GROUP BY time(10s)"
    )
    with pytest.raises(AssertionError, match="unsubstituted"):
        substitute('WHERE "device" =~ /^$device$/', {}, 0, 1)


def test_variable_names_skip_grafana_builtins() -> None:
    assert variable_names("$site $timeFilter $__interval $device") == {"site", "device"}


@pytest.mark.parametrize(
    ("query", "tags"),
    [
        ('SELECT a FROM t GROUP BY time(1m), "device", "point" fill(null)', {"device", "point"}),
        ('SELECT count(x) FROM (SELECT y FROM t GROUP BY "a", "b") GROUP BY "site"', {"site"}),
        ("SELECT max(n) FROM (SELECT count(e) AS n FROM t GROUP BY time(10m))", set()),
        ("SELECT a FROM t WHERE $timeFilter ORDER BY time DESC LIMIT 5", set()),
    ],
)
def test_group_by_tags_reads_the_outer_clause(query: str, tags: set[str]) -> None:
    assert group_by_tags(query) == tags


def test_check_series_refuses_empty_and_all_null_answers() -> None:
    query = Query("d", "panel", "p", "A", 'SELECT a FROM t GROUP BY "device"')
    good = {"series": [{"tags": {"device": "x"}, "columns": ["time", "a"], "values": [[1, 2]]}]}
    assert check_series(query, {"results": [good]})
    with pytest.raises(AssertionError, match="no series"):
        check_series(query, {"results": [{}]})
    null = {"series": [{"tags": {"device": "x"}, "columns": ["time", "a"], "values": [[1, None]]}]}
    with pytest.raises(AssertionError, match="null"):
        check_series(query, {"results": [null]})
    untagged = {"series": [{"columns": ["time", "a"], "values": [[1, 2]]}]}
    with pytest.raises(AssertionError, match="tags"):
        check_series(query, {"results": [untagged]})
