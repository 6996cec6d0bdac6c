"""Shipped profiles as the detector sees them: over-range gas, fault bits, calibration.

Each poll goes through the gateway's detection bridge (profile -> edge_core settings,
maintenance quality), as the edge agent feeds it.
"""

from __future__ import annotations

import numpy as np

from gateway.config import Device, DeviceConfig, TcpEndpoint, resolve_profile
from gateway.edge.detection import DeviceDetector, channel_config
from gateway.edge.samples import PollSample

T0 = 1_800_000_000.0


def _device(profile_name: str) -> Device:
    profile = resolve_profile(profile_name)
    config = DeviceConfig(
        name="d", profile=profile_name, tcp=TcpEndpoint(host="127.0.0.1", port=502)
    )
    return Device(config, profile, profile.points)


def _feed(device: Device, rows: list[list[float]]) -> list[tuple[int, str, str, bool]]:
    detector = DeviceDetector(device)
    dt = device.config.poll_interval_s
    out: list[tuple[int, str, str, bool]] = []
    for k, row in enumerate(rows):
        values = np.array(row, np.float32)
        quality = np.zeros(len(row), np.uint8)
        transitions, _ = detector.feed(PollSample("d", T0 + k * dt, values, quality))
        out.extend((k, t.point, t.kind.value, t.active) for t in transitions)
    return out


def test_over_range_gas_raises_hh_in_the_same_poll() -> None:
    """2 -> 110 %LEL (above the 105 %LEL top of the valid range): HH at once."""
    got = _feed(_device("generic-combustible-gas"), [[2, 0, 0], [110, 0, 0], [110, 0, 0]])
    assert got == [
        (1, "gas", "H", True),
        (1, "gas", "HH", True),
        (1, "gas", "FAULT", True),
    ]


def test_under_range_gas_is_a_fault_only() -> None:
    got = _feed(_device("generic-combustible-gas"), [[2, 0, 0], [-20, 0, 0]])
    assert got == [(1, "gas", "FAULT", True)]


def test_detector_fault_bit_is_a_fault_not_an_h() -> None:
    got = _feed(_device("generic-combustible-gas"), [[2, 0, 0], [2, 1, 1], [2, 0, 0]])
    assert got == [(1, "fault", "FAULT", True), (2, "fault", "FAULT", False)]


def test_fault_bit_channel_carries_no_limits() -> None:
    fault = resolve_profile("generic-oxygen").point("fault")
    config = channel_config(fault, 1.0)
    assert config.device_fault and np.isnan(config.h)


def test_calibrating_oxygen_detector_is_not_alarmed_on() -> None:
    """Calibration gas (15 %VOL) while the calibrating bit is set: no LL, no COMM."""
    o2 = _device("generic-oxygen")  # points: o2, status, fault, calibrating
    rows = [[20.9, 0, 0, 0], [15.0, 2, 0, 1], [15.0, 2, 0, 1], [20.9, 0, 0, 0], [15.0, 0, 0, 0]]
    assert _feed(o2, rows) == [(4, "o2", "LL", True)]  # only once calibration is over


def test_spark_counter_alarms_on_any_increase() -> None:
    collector = _device("generic-dust-collector")
    n = len(collector.points)
    spark = [p.key for p in collector.points].index("spark_count")
    rows = []
    for count in (0, 0, 1, 1, 1):
        row = [1000.0, 25.0, 25.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0][:n]
        row[spark] = count
        rows.append(row)
    got = [g for g in _feed(collector, rows) if g[1] == "spark_count"]
    assert got == [(2, "spark_count", "ROC", True), (3, "spark_count", "ROC", False)]
