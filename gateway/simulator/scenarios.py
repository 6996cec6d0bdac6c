"""Hazard scenarios for simulated devices: what each point reads at time t.

A scenario is a pure function of (device, point, seconds since start): noise comes
from a per-point table drawn once from a seeded generator, so the same seed gives
the same readings whatever the poll timing. Every scenario runs on a 60-second
cycle so that a one-minute demo shows an alarm rise and clear.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gateway.config import Device, Site
from gateway.errors import UsageError
from gateway.profiles import Kind, Point

__all__ = ["SCENARIOS", "ScenarioEngine", "ValueSource"]

CYCLE_S = 60.0
NOISE_TICK_S = 0.1
NOISE_TABLE = 4096

# Normal operating value and noise amplitude per kind (engineering units).
BASELINE: dict[Kind, tuple[float, float]] = {
    Kind.GAS_LEL: (1.5, 0.3),
    Kind.GAS_PPM: (0.5, 0.2),
    Kind.OXYGEN_PCT: (20.9, 0.05),
    Kind.DUST_MG_M3: (2.0, 0.3),
    Kind.LEVEL_M: (4.0, 0.01),
    Kind.LEVEL_PCT: (45.0, 0.2),
    Kind.TEMPERATURE_C: (28.0, 0.2),
    Kind.PRESSURE_KPA: (150.0, 0.5),
    Kind.DIFF_PRESSURE_PA: (900.0, 15.0),
    Kind.SPARK_COUNT: (0.0, 0.0),
    Kind.STATUS: (0.0, 0.0),
    Kind.CURRENT_MA: (12.0, 0.02),
    Kind.FLOW_M3_H: (10.0, 0.2),
}


def _ramp(t: float, start: float, end: float, v0: float, v1: float) -> float:
    """Linear from v0 at ``start`` to v1 at ``end``; v0 before, v1 after."""
    if t <= start:
        return v0
    if t >= end:
        return v1
    return v0 + (v1 - v0) * (t - start) / (end - start)


def _excursion_peak(point: Point, base: float) -> float:
    """A value clearly beyond the point's highest limit (or a doubling without limits)."""
    limits = point.alarms.limits() if point.alarms else {}
    top = limits.get("HH", limits.get("H"))
    if top is None:
        return base * 2 + 10
    below = limits.get("H", top * 0.5) if "HH" in limits else top * 0.5
    return top + max(top - below, abs(top) * 0.1) * 0.5


def _rise_and_fall(t: float, base: float, peak: float) -> float:
    """5 s quiet, 15 s rise, 8 s hold, 15 s fall: crosses H and HH on the way up and down."""
    if t < 28:
        return _ramp(t, 5, 20, base, peak)
    return _ramp(t, 28, 43, peak, base)


class ValueSource(Protocol):
    """What the simulator asks: a point's value, and whether a device answers at all."""

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        """Engineering value of ``point`` at ``elapsed`` seconds after start."""
        ...

    def device_down(self, device: Device, elapsed: float) -> bool:
        """True while ``device`` must stay silent."""
        ...


@dataclass(frozen=True)
class Target:
    """A point a scenario drives, found by kind."""

    device: str
    key: str


Shape = Callable[["ScenarioEngine", Device, Point, float, float], float | None]


def _first(site: Site, kinds: tuple[Kind, ...]) -> Target | None:
    for kind in kinds:
        for device in site.devices:
            for point in device.points:
                if point.kind is kind:
                    return Target(device.name, point.key)
    return None


def _gas_leak(
    engine: ScenarioEngine, device: Device, point: Point, t: float, base: float
) -> float | None:
    if engine.is_target(device, point, (Kind.GAS_LEL, Kind.GAS_PPM)):
        return _rise_and_fall(t, base, _excursion_peak(point, base))
    return None


def _tank_overfill(
    engine: ScenarioEngine, device: Device, point: Point, t: float, base: float
) -> float | None:
    if engine.is_target(device, point, (Kind.LEVEL_M, Kind.LEVEL_PCT)):
        peak = _excursion_peak(point, base)
        return _ramp(t, 5, 25, base, peak) if t < 40 else _ramp(t, 40, 55, peak, base)
    return None


def _dust_clog(
    engine: ScenarioEngine, device: Device, point: Point, t: float, base: float
) -> float | None:
    target = engine.target_of((Kind.DIFF_PRESSURE_PA,))
    if target is None or device.name != target.device:
        return None
    if point.kind in (Kind.DIFF_PRESSURE_PA, Kind.TEMPERATURE_C):
        peak = _excursion_peak(point, base)
        return _ramp(t, 5, 35, base, peak) if t < 45 else _ramp(t, 45, 55, peak, base)
    if point.kind is Kind.SPARK_COUNT:
        cycles = math.floor(engine.elapsed / CYCLE_S)
        burst = min(max(0.0, (t - 36) * 2), 6.0)
        return float(cycles * 6) + math.floor(burst)
    return None


def _sensor_fault(
    engine: ScenarioEngine, device: Device, point: Point, t: float, base: float
) -> float | None:
    if engine.is_target(device, point, (Kind.CURRENT_MA, Kind.GAS_LEL, Kind.GAS_PPM)):
        if 10 <= t < 25 and point.valid_range is not None:
            low, high = point.valid_range
            return low - (high - low) * 0.05  # e.g. a 4-20 mA loop reading under-range
        if 30 <= t < 60:
            return round(base, 1)  # stuck: exactly the same value, no noise
    return None


def _device_dropout(*_: object) -> float | None:
    return None


SCENARIOS: dict[str, Shape] = {
    "normal": lambda *_: None,
    "gas-leak": _gas_leak,
    "dust-clog": _dust_clog,
    "tank-overfill": _tank_overfill,
    "sensor-fault": _sensor_fault,
    "device-dropout": _device_dropout,
}

TARGET_KINDS: dict[str, tuple[Kind, ...]] = {
    "gas-leak": (Kind.GAS_LEL, Kind.GAS_PPM),
    "tank-overfill": (Kind.LEVEL_M, Kind.LEVEL_PCT),
    "dust-clog": (Kind.DIFF_PRESSURE_PA,),
    "sensor-fault": (Kind.CURRENT_MA, Kind.GAS_LEL, Kind.GAS_PPM),
}

DROPOUT_START_S, DROPOUT_END_S = 10.0, 30.0


class ScenarioEngine:
    """Values of every simulated point under one named scenario and seed."""

    def __init__(self, site: Site, scenario: str = "normal", seed: int = 0) -> None:
        if scenario not in SCENARIOS:
            msg = f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}"
            raise UsageError(msg)
        self.site = site
        self.scenario = scenario
        self.seed = seed
        self.elapsed = 0.0
        self._shape = SCENARIOS[scenario]
        self._noise: dict[tuple[str, str], np.ndarray] = {}
        self._targets: dict[tuple[Kind, ...], Target | None] = {}
        kinds = TARGET_KINDS.get(scenario)
        self.target = _first(site, kinds) if kinds else None
        self.dropout_device = site.devices[-1].name if scenario == "device-dropout" else None

    def target_of(self, kinds: tuple[Kind, ...]) -> Target | None:
        """The first point of the site with one of ``kinds`` (cached)."""
        if kinds not in self._targets:
            self._targets[kinds] = _first(self.site, kinds)
        return self._targets[kinds]

    def is_target(self, device: Device, point: Point, kinds: tuple[Kind, ...]) -> bool:
        """Whether ``point`` of ``device`` is the one this scenario drives."""
        target = self.target_of(kinds)
        return target is not None and target == Target(device.name, point.key)

    def device_down(self, device: Device, elapsed: float) -> bool:
        """True while ``device`` must not answer (device-dropout scenario)."""
        t = elapsed % CYCLE_S
        return device.name == self.dropout_device and DROPOUT_START_S <= t < DROPOUT_END_S

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        """The engineering value ``point`` of ``device`` reads ``elapsed`` s after start."""
        self.elapsed = elapsed
        base = self.baseline(point)
        shaped = self._shape(self, device, point, elapsed % CYCLE_S, base)
        if shaped is not None:
            return shaped
        _, amplitude = BASELINE.get(point.kind, (0.0, 0.0))
        if amplitude == 0.0:
            return base
        noise = self._noise_table(device, point)
        return base + amplitude * float(noise[int(elapsed / NOISE_TICK_S) % NOISE_TABLE])

    def baseline(self, point: Point) -> float:
        """Normal value for ``point``: its kind's baseline, kept inside its alarm limits."""
        base, _ = BASELINE.get(point.kind, (0.0, 0.0))
        limits = point.alarms.limits() if point.alarms else {}
        low = max((limits[k] for k in ("LL", "L") if k in limits), default=None)
        high = min((limits[k] for k in ("H", "HH") if k in limits), default=None)
        if high is not None and base >= high:
            base = (high + low) / 2 if low is not None else high * 0.5
        if low is not None and base <= low:
            base = (low + high) / 2 if high is not None else low + abs(low) * 0.5 + 1
        return base

    def _noise_table(self, device: Device, point: Point) -> np.ndarray:
        key = (device.name, point.key)
        table = self._noise.get(key)
        if table is None:
            salt = [self.seed, *device.name.encode(), 0, *point.key.encode()]
            table = np.random.default_rng(salt).standard_normal(NOISE_TABLE).clip(-3, 3) / 3
            self._noise[key] = table
        return table
