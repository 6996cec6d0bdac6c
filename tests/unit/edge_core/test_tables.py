"""Hand-computed cases, each run through both the numba detector and the reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from edge_support import NAN, assert_same

from edge_core import AlarmKind, ChannelConfig, Detector, ReferenceDetector

A = AlarmKind
DT = 1.0


def run(cfg: ChannelConfig, values: list[float], quality: list[int] | None = None):  # type: ignore[no-untyped-def]
    x = np.array([values], np.float32)
    q = None if quality is None else np.array([quality], np.uint8)
    results = [cls([cfg]).process(x, 0.0, DT, q) for cls in (Detector, ReferenceDetector)]
    assert_same(*results)
    return results[0]


def events(result) -> list[tuple[float, str, bool]]:  # type: ignore[no-untyped-def]
    return [(float(e["ts"]), A(int(e["kind"])).name, bool(e["active"])) for e in result.transitions]


CASES = {
    "high at once": (ChannelConfig(h=5), [1, 6, 6, 5, 1], [(1, "H", True), (3, "H", False)]),
    "on delay 2 s": (
        ChannelConfig(h=5, on_delay_s=2),
        [6, 6, 1, 6, 6, 6, 6],
        [(5, "H", True)],
    ),
    "off delay 1 s": (
        ChannelConfig(h=5, off_delay_s=1),
        [6, 1, 6, 1, 1, 1],
        [(0, "H", True), (4, "H", False)],
    ),
    "deadband holds, resets off timer": (
        ChannelConfig(h=5, deadband=1, off_delay_s=1),
        [6, 4.5, 4, 4.5, 4, 4, 4],
        [(0, "H", True), (5, "H", False)],
    ),
    "low limits and deadband": (
        ChannelConfig(ll=-5, l=-2, deadband=0.5),
        [0, -3, -6, -4.6, -1.8, -1.5],
        [(1, "L", True), (2, "LL", True), (4, "LL", False), (5, "L", False)],
    ),
    "HH implies H": (
        ChannelConfig(h=5, hh=8),
        [0, 9, 0],
        [(1, "H", True), (1, "HH", True), (2, "H", False), (2, "HH", False)],
    ),
    "ROC over 2 s window": (
        ChannelConfig(roc=2.0, roc_window_s=2.0),
        [0, 0, 0, 5, 10, 10, 10],
        [(3, "ROC", True), (6, "ROC", False)],
    ),
    "NaN fault": (ChannelConfig(), [1, NAN, NAN, 2], [(1, "FAULT", True), (3, "FAULT", False)]),
    "out of range + inf": (
        ChannelConfig(valid_lo=0, valid_hi=10),
        [1, 11, math.inf, 3],
        [(1, "FAULT", True), (3, "FAULT", False)],
    ),
    "stuck after 3 s": (
        ChannelConfig(stuck_s=3, stuck_epsilon=0.1),
        [1, 1.05, 1, 1.08, 1, 2],
        [(3, "FAULT", True), (5, "FAULT", False)],
    ),
    "fault code change": (
        ChannelConfig(valid_hi=10),
        [1, NAN, 20, 1],
        [(1, "FAULT", True), (2, "FAULT", False), (2, "FAULT", True), (3, "FAULT", False)],
    ),
    "fault freezes limits and timers": (
        ChannelConfig(h=5, on_delay_s=1),
        [6, NAN, 6, 6, NAN, 1],
        [
            (1, "FAULT", True),
            (2, "FAULT", False),
            (3, "H", True),
            (4, "FAULT", True),
            (5, "H", False),
            (5, "FAULT", False),
        ],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_table(name: str) -> None:
    cfg, values, expected = CASES[name]
    assert events(run(cfg, values)) == expected


def test_fault_limit_field_holds_code() -> None:
    res = run(ChannelConfig(valid_hi=10, stuck_s=2), [NAN, 20, 1, 1, 1, 1])
    assert [e["limit"] for e in res.transitions if e["active"]] == [1.0, 2.0, 3.0]


def test_comm_fault_from_quality() -> None:
    res = run(ChannelConfig(h=5), [6, 6, 6, 1], [0, 3, 0, 0])
    assert events(res) == [(0, "H", True), (1, "COMM", True), (2, "COMM", False), (3, "H", False)]
    assert res.transitions["limit"][1] == 3.0


@pytest.mark.parametrize("cls", [Detector, ReferenceDetector])
def test_latch_needs_ack(cls: type) -> None:
    det = cls([ChannelConfig(h=5, latch=True)])
    blk = np.array([[6, 1, 1]], np.float32)
    r1 = det.process(blk, 0.0, 1.0)
    assert events(r1) == [(0, "H", True)]
    det.acknowledge(0)
    r2 = det.process(np.array([[1, 1]], np.float32), 3.0, 1.0)
    assert events(r2) == [(3, "H", False)]
    r3 = det.process(np.array([[7, 1]], np.float32), 5.0, 1.0)
    assert events(r3) == [(5, "H", True)]  # re-activation needs a new ack


def test_window_aggregates_and_partial_carry() -> None:
    cfg = ChannelConfig(window_s=2.0, report_deadband=0.5, heartbeat_s=NAN)
    res = run(cfg, [1, 3, NAN, NAN, 2, 2.2, 5])
    agg = res.aggregates
    assert agg["window_start"].tolist() == [0.0, 2.0, 4.0]
    assert agg["count"].tolist() == [2, 0, 2]
    assert agg["min"][0] == 1 and agg["max"][0] == 3 and agg["mean"][0] == 2 and agg["last"][0] == 3
    assert np.isnan(agg["mean"][1])
    assert agg["report"].tolist() == [True, True, True]  # first, NaN-ness changed, changed


def test_report_by_exception_and_heartbeat() -> None:
    cfg = ChannelConfig(window_s=1.0, report_deadband=0.5, heartbeat_s=3.0)
    res = run(cfg, [1, 1.2, 1.4, 1.6, 1.7, 3, 3, 3])
    assert res.aggregates["report"].tolist() == [True, False, False, True, False, True, False]
