"""Fail-safe semantics (issue 8), each case run through the numba detector and the reference.

Over-range high on a gas channel alarms H/HH at once alongside the FAULT; a device's fault
bit is FAULT code 4; maintenance quality is bad without COMM; ROC has a direction and a
rate deadband; a latch is released only by a reset after return to normal.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from edge_support import assert_same

from edge_core import QUALITY_MAINTENANCE, AlarmKind, ChannelConfig, Detector, ReferenceDetector

A = AlarmKind
GAS = ChannelConfig(h=20, hh=40, deadband=2, valid_lo=-5, valid_hi=105, over_range_alarm=True)


def run(cfg: ChannelConfig, values: list[float], quality: list[int] | None = None):  # type: ignore[no-untyped-def]
    x = np.array([values], np.float32)
    q = None if quality is None else np.array([quality], np.uint8)
    results = [cls([cfg]).process(x, 0.0, 1.0, q) for cls in (Detector, ReferenceDetector)]
    assert_same(*results)
    return results[0]


def events(result) -> list[tuple[float, str, bool]]:  # type: ignore[no-untyped-def]
    return [(float(e["ts"]), A(int(e["kind"])).name, bool(e["active"])) for e in result.transitions]


def test_over_range_high_raises_h_and_hh_at_once() -> None:
    """2 -> 110 %LEL: H and HH with the FAULT at the same sample, held until back down."""
    res = run(GAS, [2, 110, 110, 60, 10])
    assert events(res) == [
        (1, "H", True),
        (1, "HH", True),
        (1, "FAULT", True),
        (3, "FAULT", False),  # 60 is in range again: the reading itself keeps HH on
        (4, "H", False),
        (4, "HH", False),
    ]
    assert res.transitions["limit"].tolist()[:3] == [20.0, 40.0, 2.0]


def test_over_range_ignores_on_delay_and_plus_inf() -> None:
    cfg = ChannelConfig(h=20, hh=40, on_delay_s=5, valid_hi=105, over_range_alarm=True)
    assert events(run(cfg, [2, math.inf, 2])) == [
        (1, "H", True),
        (1, "HH", True),
        (1, "FAULT", True),
        (2, "H", False),
        (2, "HH", False),
        (2, "FAULT", False),
    ]


def test_under_range_stays_a_fault() -> None:
    """Below the valid range (< 3.8 mA, NAMUR NE 43) is a broken loop: FAULT only."""
    assert events(run(GAS, [2, -10, 2])) == [(1, "FAULT", True), (2, "FAULT", False)]


def test_without_over_range_alarm_a_fault_only() -> None:
    cfg = ChannelConfig(h=20, hh=40, valid_lo=-5, valid_hi=105)
    assert events(run(cfg, [2, 110, 2])) == [(1, "FAULT", True), (2, "FAULT", False)]


def test_device_fault_bit_is_fault_code_4() -> None:
    res = run(ChannelConfig(device_fault=True), [0, 1, 1, 0])
    assert events(res) == [(1, "FAULT", True), (3, "FAULT", False)]
    assert res.transitions["limit"].tolist() == [4.0, 4.0]


def test_maintenance_quality_no_alarm_no_comm() -> None:
    """Calibrating: readings are bad (no H, no ROC, no stuck) and no COMM is raised."""
    m = QUALITY_MAINTENANCE
    cfg = ChannelConfig(h=20, roc=5, stuck_s=2)
    res = run(cfg, [1, 50, 50, 50, 50, 1, 1.5], [0, m, m, m, m, 0, 0])
    assert events(res) == []


@pytest.mark.parametrize(
    ("cfg", "values", "expected"),
    [
        # a hopper cooling at 2 units/s must not raise a rate-of-rise alarm
        (ChannelConfig(roc_rise=1.0), [10, 8, 6, 4, 4], []),
        (ChannelConfig(roc_rise=1.0), [4, 6, 8, 8], [(1, "ROC", True), (3, "ROC", False)]),
        (ChannelConfig(roc_fall=1.0), [4, 6, 8, 8], []),
        (ChannelConfig(roc_fall=1.0), [8, 6, 6], [(1, "ROC", True), (2, "ROC", False)]),
        # two-way roc still fires both ways; roc_rise overrides it upward only
        (ChannelConfig(roc=1.0), [8, 6, 6], [(1, "ROC", True), (2, "ROC", False)]),
        (ChannelConfig(roc=1.0, roc_rise=5.0), [4, 6, 6, 4], [(3, "ROC", True)]),
    ],
)
def test_roc_direction(
    cfg: ChannelConfig, values: list[float], expected: list[tuple[float, str, bool]]
) -> None:
    assert events(run(cfg, values)) == expected


def test_roc_event_carries_rate_and_signed_limit() -> None:
    res = run(ChannelConfig(roc_rise=1.0, roc_fall=0.5), [4, 6, 6, 5])
    assert events(res) == [(1, "ROC", True), (2, "ROC", False), (3, "ROC", True)]
    assert res.transitions["value"].tolist() == [2.0, 0.0, -1.0]  # unit per second
    assert res.transitions["limit"].tolist() == [1.0, 1.0, -0.5]


def test_roc_rate_deadband_holds() -> None:
    cfg = ChannelConfig(roc_rise=1.0, roc_deadband=0.5)
    # rate 2 raises; 0.8 is inside the limit but within the deadband: holds; 0.2 clears
    assert events(run(cfg, [0, 2, 2.8, 3.0])) == [(1, "ROC", True), (3, "ROC", False)]


@pytest.mark.parametrize("cls", [Detector, ReferenceDetector])
def test_reset_while_condition_on_is_refused(cls: type) -> None:
    """ISA-18.2: an ack/reset given while still beyond does not release the latch."""
    det = cls([ChannelConfig(h=5, latch=True)])
    assert events(det.process(np.array([[6, 6]], np.float32), 0.0, 1.0)) == [(0, "H", True)]
    assert det.reset(0) is False  # still at 6
    assert events(det.process(np.array([[1, 1, 1]], np.float32), 2.0, 1.0)) == []  # latched
    assert det.reset(0) is True  # back to normal: accepted
    assert events(det.process(np.array([[1]], np.float32), 5.0, 1.0)) == [(5, "H", False)]


@pytest.mark.parametrize("cls", [Detector, ReferenceDetector])
def test_reset_void_when_condition_returns(cls: type) -> None:
    det = cls([ChannelConfig(h=5, latch=True)])
    det.process(np.array([[6, 1]], np.float32), 0.0, 1.0)
    assert det.reset(0) is True
    # the condition comes back before the reset took effect: the reset is void
    assert events(det.process(np.array([[6, 1, 1]], np.float32), 2.0, 1.0)) == []
    assert det.state()[0, A.H]
    assert det.reset(0) is True
    assert events(det.process(np.array([[1]], np.float32), 5.0, 1.0)) == [(5, "H", False)]


def test_over_range_voids_a_pending_reset() -> None:
    cfg = ChannelConfig(h=20, hh=40, valid_hi=105, over_range_alarm=True, latch=True)
    for cls in (Detector, ReferenceDetector):
        det = cls([cfg])
        det.process(np.array([[50, 1]], np.float32), 0.0, 1.0)
        assert det.reset(0) is True
        det.process(np.array([[120]], np.float32), 2.0, 1.0)
        assert events(det.process(np.array([[1, 1]], np.float32), 3.0, 1.0)) == [
            (3, "FAULT", False)
        ]
        assert det.state()[0, A.HH]
