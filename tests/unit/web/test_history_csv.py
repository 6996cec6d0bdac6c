"""History query parameters and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.web.context import dictionary
from gateway.web.history import BadParameter, csv_text, parse_history_query


def test_filters_parse_from_the_query_string() -> None:
    query = parse_history_query(
        {
            "site": "tank-farm",
            "kind": "HH",
            "level": "2",
            "since": "2026-12-01T00:00:00.000Z",
            "page": "3",
            "size": "20",
            "overdue": "1",
        },
        due_s=3600,
        clock=lambda: 10_000.0,
    )
    assert (query.site, query.kind, query.level, query.offset, query.limit) == (
        "tank-farm",
        "HH",
        2,
        40,
        20,
    )
    assert query.overdue_before == 10_000.0 - 3600
    assert query.since == pytest.approx(1_796_083_200.0)


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "DROP TABLE"},
        {"level": "7"},
        {"size": "100000"},
        {"page": "-1"},
        {"since": "yesterday"},
        {"site": "a/b"},
        {"device": "x" * 100},
    ],
)
def test_bad_parameters_name_themselves(params: dict[str, str]) -> None:
    with pytest.raises(BadParameter, match=next(iter(params))):
        parse_history_query(params, due_s=3600)


def test_csv_has_a_bom_and_chinese_titles() -> None:
    rows = [
        {
            "enterprise": "acme",
            "site": "s",
            "device": "d",
            "point": "p",
            "kind": "H",
            "level": 1,
            "raised": 1_796_083_200.0,
            "cause": "法兰泄漏",
            "first_out": 1,
        }
    ]
    text = csv_text(rows, dictionary("zh-CN"))
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][0] == "企业" and "原因" in table[0]
    assert table[1][table[0].index("报警时间")] == "2026-12-01T00:00:00.000Z"
    assert table[1][table[0].index("原因")] == "法兰泄漏"
