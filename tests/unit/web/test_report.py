"""The monthly report's figures, each against a hand-counted case."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.contracts import AlarmKind, AlarmState
from gateway.web.context import dictionary
from gateway.web.report import month_range, monthly_report, offline_hours, peak_window, percentile
from gateway.web.report_html import report_html
from gateway.web.store import AlarmStore
from tests.unit.web.factory import ENT, SITE, event

DEC = month_range("2026-12")[0]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([5.0], 90, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.0), ([*range(1, 11)], 90, 9)],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


@pytest.mark.parametrize(
    ("times", "expected"),
    [([], 0), ([0.0], 1), ([0.0, 599.0, 600.0], 2), ([float(i * 30) for i in range(25)], 20)],
)
def test_peak_window_counts_the_busiest_ten_minutes(times: list[float], expected: int) -> None:
    assert peak_window(times) == expected


def test_offline_hours_clip_to_the_month() -> None:
    changes = [(DEC - 3600, "offline"), (DEC + 3600, "online"), (DEC + 7200, "offline")]
    assert offline_hours(changes, DEC, DEC + 4 * 3600) == pytest.approx(1 + 2)


def test_month_range_rolls_over_the_year() -> None:
    start, end = month_range("2026-12")
    assert end - start == 31 * 86400
    with pytest.raises(ValueError):
        month_range("2026-13")


def test_monthly_report_of_a_small_month(tmp_path: Path) -> None:
    store = AlarmStore(tmp_path / "web.sqlite")
    seq = 0
    for i in range(12):  # a flood: 12 H alarms one every 30 s, each acked after 10 s
        seq += 1
        raised = event(seq, ts=DEC + 100 + i * 30)
        store.add(raised)
        seq += 1
        store.add(
            event(
                seq,
                AlarmState.ACKNOWLEDGED,
                ts=raised.epoch + 10,
                by="ops",
                activation=raised.event_id,
            )
        )
    seq += 1
    hh = event(seq, kind=AlarmKind.HH, ts=DEC + 86400 * 2)
    store.add(hh)
    store.add(
        event(
            seq + 1,
            AlarmState.DISPOSITION,
            ts=hh.epoch + 600,
            by="ops",
            activation=hh.event_id,
            cause="c",
            action="a",
        )
    )
    report = monthly_report(store, ENT, SITE, "2026-12", now=DEC + 86400 * 10, due_s=86400)
    assert report["total"] == 13
    assert report["by_kind"] == {"H": {"1": 12, "2": 0}, "HH": {"1": 0, "2": 1}}
    assert report["peak_10min"] == 12 and report["flood"] is True
    assert report["top"][0] == {"device": "gas-01", "point": "gas", "kind": "H", "count": 12}
    assert report["ack_s"]["median"] == pytest.approx(10)
    assert report["dispose_s"]["median"] == pytest.approx(600)
    assert report["overdue"] == 12
    assert report["per_hour"] == pytest.approx(13 / 240)
    assert report["by_day"][0] == 12 and report["by_day"][2] == 1 and len(report["by_day"]) == 31


def test_printable_html_is_escaped_and_needs_no_script(tmp_path: Path) -> None:
    store = AlarmStore(tmp_path / "web.sqlite")
    store.add(event(1, ts=DEC + 100))
    report = monthly_report(store, ENT, SITE, "2026-12", now=DEC + 86400, due_s=86400)
    labels = {**dictionary("en"), "report.title": "<b>Report</b>"}
    html = report_html(report, labels, "en")
    assert "&lt;b&gt;Report&lt;/b&gt;" in html and "<b>" not in html
    assert "<script" not in html and "gas-01/gas" in html
