"""Each scenario raises its headline alarm within its first cycle, through real detection.

The readings of the demo site under a scenario are fed, one poll per device's poll
interval, through the gateway's detection (profile settings -> edge_core), as the edge
agent does; the wire is left out (tests/integration cover it).
"""

from __future__ import annotations

import numpy as np
import pytest

from gateway.alarms.model import DEVICE_POINT, Transition
from gateway.commands.common import load_site_arg
from gateway.config import Site
from gateway.contracts.alarm import AlarmKind
from gateway.edge.detection import DeviceDetector
from gateway.edge.samples import PollSample, Quality
from gateway.simulator.scenarios import CYCLE_S, ScenarioEngine

T0 = 1_800_000_000.0


def _run(site: Site, scenario: str, seconds: float = CYCLE_S) -> list[Transition]:
    engine = ScenarioEngine(site, scenario)
    out: list[Transition] = []
    for device in site.devices:
        detector = DeviceDetector(device)
        dt = device.config.poll_interval_s
        for k in range(int(seconds / dt)):
            t = k * dt
            values = np.array([engine.value(device, p, t) for p in device.points], np.float32)
            bad = Quality.COMM if engine.device_down(device, t) else Quality.GOOD
            quality = np.full(len(device.points), bad, np.uint8)
            transitions, _ = detector.feed(PollSample(device.name, T0 + t, values, quality))
            out.extend(transitions)
    return out


def _raised(transitions: list[Transition]) -> set[tuple[str, str, AlarmKind]]:
    return {(t.device, t.point, t.kind) for t in transitions if t.active}


@pytest.fixture(scope="module", name="site")
def fixture_site() -> Site:
    return load_site_arg(None)


HEADLINES = {
    "gas-leak": {("gas-01", "gas", AlarmKind.H), ("gas-01", "gas", AlarmKind.HH)},
    "tank-overfill": {("tank-01-level", "level", AlarmKind.HH)},
    "dust-clog": {
        ("dust-col-01", "diff_pressure", AlarmKind.H),  # filter blocked, past its on-delay
        ("dust-col-01", "hopper_temperature", AlarmKind.ROC),  # rate of rise
        ("dust-col-01", "spark_count", AlarmKind.ROC),  # sparks detected
    },
    "sensor-fault": {("gas-01", "gas", AlarmKind.FAULT)},
    "device-dropout": {("dust-01", DEVICE_POINT, AlarmKind.COMM)},
}


@pytest.mark.parametrize("scenario", sorted(HEADLINES))
def test_scenario_raises_its_headline_alarm_within_one_cycle(site: Site, scenario: str) -> None:
    raised = _raised(_run(site, scenario))
    assert HEADLINES[scenario] <= raised, raised


def test_sensor_fault_shows_under_range_then_stuck(site: Site) -> None:
    faults = [
        (t.ts - T0, t.limit)
        for t in _run(site, "sensor-fault")
        if (t.device, t.point, t.kind, t.active) == ("gas-01", "gas", AlarmKind.FAULT, True)
    ]
    assert [code for _, code in faults] == [2.0, 3.0]  # out of range, then stuck
    assert 10 <= faults[0][0] < 25 and 30 <= faults[1][0] < 60


def test_normal_raises_nothing(site: Site) -> None:
    assert _run(site, "normal", 2 * CYCLE_S) == []


def test_rates_fall_without_alarm_in_tank_overfill(site: Site) -> None:
    """The level falls back at 0.36 m/s: rate of rise only, no ROC on the way down."""
    rocs = [
        t.ts - T0
        for t in _run(site, "tank-overfill")
        if t.kind is AlarmKind.ROC and t.active and t.point == "level"
    ]
    assert rocs and all(t < 40 for t in rocs)
