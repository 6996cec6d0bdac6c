"""Issue 8 rules checked at profile load: GB/T 50493 setpoints, status signals, over-range."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.errors import ProfileError
from gateway.profiles import Kind, OverRange, Point, Signal, builtin_profiles_dir, load_profile

HEADER = "vendor: generic\nmodel: test\npoints:\n"


def _point(kind: str, extra: str = "", type_: str = "float32") -> str:
    return (
        f"  - key: p\n    name: P\n    kind: {kind}\n    table: holding\n"
        f"    address: 0\n    type: {type_}\n{extra}"
    )


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "p.yaml"
    path.write_text(HEADER + text, encoding="utf-8")
    try:
        load_profile(path)
    except ProfileError as caught:
        return [f"{p.field}: {p.message}" for p in caught.problems]
    return []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (_point("gas_lel"), "points[0].alarms: a gas_lel point needs first- and second-level"),
        (_point("gas_lel", "    alarms: {H: 20}\n"), "alarms.HH: a gas_lel point needs a second"),
        (
            _point("gas_ppm", "    alarms: {H: 7, HH: 14}\n"),
            "oel_ppm: a toxic gas point needs oel_ppm (or idlh_ppm)",
        ),
        (
            _point("gas_ppm", "    oel_ppm: 7.17\n    alarms: {H: 8, HH: 14}\n"),
            "H=8.0 ppm exceeds the GB/T 50493-2019 first-level alarm ceiling of 7.17 ppm",
        ),
        (
            _point("gas_ppm", "    oel_ppm: 7.17\n    alarms: {H: 7, HH: 15}\n"),
            "HH=15.0 ppm exceeds the GB/T 50493-2019 second-level alarm ceiling of 14.34 ppm",
        ),
        (
            _point("gas_ppm", "    idlh_ppm: 100\n    alarms: {H: 6, HH: 10}\n"),
            "ceiling of 5.0 ppm (5 % / 10 % of idlh_ppm)",
        ),
        (
            _point("oxygen_pct", "    alarms: {LL: 18.0, H: 23.5}\n"),
            "alarms.LL: oxygen deficiency alarm (LL or L) must be set at >= 19.5 %VOL",
        ),
        (
            _point("oxygen_pct", "    alarms: {LL: 19.5, H: 25.0}\n"),
            "alarms.H: over-oxygen alarm (H or HH) must be set at <= 23.5 %VOL",
        ),
        (
            _point("status", "    bit: 0\n    alarms: {H: 0.5}\n", "bool"),
            "signal: a status point with alarms must declare `signal: alarm`",
        ),
        (
            _point("status", "    bit: 0\n    signal: fault\n    alarms: {H: 0.5}\n", "bool"),
            "alarms: a fault bit raises no concentration alarm",
        ),
        (
            _point("status", "    signal: fault\n", "uint16"),
            "signal: signal is for bool status points (type is uint16)",
        ),
    ],
)
def test_rule_violations_are_reported(tmp_path: Path, text: str, needle: str) -> None:
    problems = _problems(tmp_path, text)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize(
    "text",
    [
        _point("gas_lel", "    alarms: {H: 25, HH: 50}\n"),
        _point("gas_ppm", "    oel_ppm: 7.17\n    alarms: {H: 7, HH: 14}\n"),
        _point("oxygen_pct", "    alarms: {LL: 19.5, H: 23.5}\n"),
        _point("oxygen_pct", "    alarms: {L: 20.0, LL: 19.5, H: 23.0}\n"),
        _point("status", "    bit: 0\n    signal: alarm\n    alarms: {H: 0.5}\n", "bool"),
        _point("status", "    bit: 0\n    signal: maintenance\n", "bool"),
    ],
)
def test_rule_conforming_points_load(tmp_path: Path, text: str) -> None:
    assert _problems(tmp_path, text) == []


def test_long_gas_on_delay_is_a_warning_naming_the_rule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = _point("gas_lel", "    alarms: {H: 20, HH: 40, on_delay_s: 10}\n")
    with caplog.at_level(logging.WARNING, logger="gateway.profiles"):
        assert _problems(tmp_path, text) == []
    assert "on_delay_s=10 on a gas point delays a leak alarm" in caplog.text
    assert "p.yaml:" in caplog.text


@pytest.mark.parametrize(
    ("kind", "over_range", "expected"),
    [
        (Kind.GAS_LEL, None, True),  # fail-safe default for gas kinds
        (Kind.GAS_PPM, None, True),
        (Kind.OXYGEN_PCT, None, False),
        (Kind.TEMPERATURE_C, None, False),
        (Kind.GAS_LEL, OverRange.FAULT, False),
        (Kind.LEVEL_M, OverRange.ALARM, True),
    ],
)
def test_over_range_default_per_kind(
    kind: Kind, over_range: OverRange | None, expected: bool
) -> None:
    point = Point.model_validate(
        {
            "key": "p",
            "name": "P",
            "kind": kind,
            "table": "holding",
            "address": 0,
            "type": "float32",
            "over_range": over_range,
        }
    )
    assert point.over_range_alarm is expected


def test_shipped_status_bits_declare_their_signal() -> None:
    """The gas and oxygen detectors' fault bits are FAULT signals, not H alarms."""
    gas = load_profile(builtin_profiles_dir() / "generic-combustible-gas.yaml")
    o2 = load_profile(builtin_profiles_dir() / "generic-oxygen.yaml")
    assert gas.point("fault").signal is Signal.FAULT and gas.point("fault").alarms is None
    assert o2.point("fault").signal is Signal.FAULT
    assert o2.point("calibrating").signal is Signal.MAINTENANCE
    gas_alarms = gas.point("gas").alarms
    assert gas_alarms is not None and gas_alarms.stuck_s == 20.0
