"""Per-channel alarm settings, alarm kinds, and the packing shared by kernels and reference.

`ChannelConfig` is a frozen, self-validating value object; NaN means "absent/disabled" for
every float field.  `pack_settings` turns a sequence of them into the float64 settings
matrix the kernels read (one row per channel, columns named by the ``S_*`` constants), with
delays already converted to whole samples by the helpers below -- the reference detector
uses the same helpers so both agree on the sample at which a delay expires.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np

__all__ = [
    "QUALITY_MAINTENANCE",
    "AlarmKind",
    "ChannelConfig",
    "FaultCode",
    "delay_samples",
    "pack_settings",
    "roc_window_samples",
    "stuck_samples",
]

nan = math.nan


class AlarmKind(IntEnum):
    """Alarm kind codes; also the order of events of one channel at one timestamp."""

    LL = 0
    L = 1
    H = 2
    HH = 3
    ROC = 4
    FAULT = 5
    COMM = 6


class FaultCode(IntEnum):
    """Value of the ``limit`` field of FAULT events."""

    NAN = 1
    OUT_OF_RANGE = 2
    STUCK = 3
    DEVICE = 4  # a detector's own fault bit is set (``ChannelConfig.device_fault``)


# Quality byte of a sample the device itself declared invalid (a detector calibrating):
# the sample is bad -- no process alarm, rate or stuck check sees it -- but it is not a
# communication fault, so it raises no COMM alarm and leaves COMM and FAULT as they are.
QUALITY_MAINTENANCE = 255


@dataclass(frozen=True)
class ChannelConfig:
    """Alarm settings of one channel (one point).  NaN = absent/disabled for floats.

    roc_rise / roc_fall: directional rate limits (unit per second; a tank that drains is
    not a temperature rising); ``roc`` is the older two-way limit, used for a direction
    whose own limit is NaN.  over_range_alarm: a reading above valid_hi (or +inf) also
    holds H and HH active, raised at once -- on a gas detector, above full scale is the
    worst case, not a broken sensor (fail-safe).  device_fault: the channel is a device's
    own fault bit; a set bit is FAULT code 4 (DEVICE), never a process alarm.
    """

    ll: float = nan
    l: float = nan  # noqa: E741 - the site settings call this limit "L"
    h: float = nan
    hh: float = nan
    deadband: float = 0.0
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    roc: float = nan  # either direction; roc_rise / roc_fall, when set, take precedence
    roc_window_s: float = 1.0
    roc_deadband: float = 0.0
    latch: bool = False
    valid_lo: float = nan
    valid_hi: float = nan
    roc_rise: float = nan
    roc_fall: float = nan
    over_range_alarm: bool = False
    device_fault: bool = False
    stuck_s: float = nan
    stuck_epsilon: float = 0.0
    window_s: float = 1.0
    report_deadband: float = 0.0
    heartbeat_s: float = 60.0

    def __post_init__(self) -> None:
        problems = [
            f"{f.name}={getattr(self, f.name)!r} must be a number"
            for f in fields(self)
            if f.name not in _FLAGS and not _is_number(getattr(self, f.name))
        ]
        if problems:
            raise ValueError("ChannelConfig: " + "; ".join(problems))
        problems = self._range_problems()
        if problems:
            raise ValueError("ChannelConfig: " + "; ".join(problems))

    def _range_problems(self) -> list[str]:
        problems = []
        for name in (
            "deadband",
            "on_delay_s",
            "off_delay_s",
            "roc_deadband",
            "stuck_epsilon",
            "report_deadband",
        ):
            value = getattr(self, name)
            if not value >= 0.0 or math.isinf(value):
                problems.append(f"{name}={value!r} must be finite and >= 0")
        for name in ("roc_window_s", "window_s"):
            value = getattr(self, name)
            if not value > 0.0 or math.isinf(value):
                problems.append(f"{name}={value!r} must be finite and > 0")
        for name in ("roc", "roc_rise", "roc_fall", "stuck_s", "heartbeat_s"):
            value = getattr(self, name)
            if value < 0.0:
                problems.append(f"{name}={value!r} must be >= 0 or NaN (disabled)")
        present = [
            (n, getattr(self, n))
            for n in ("ll", "l", "h", "hh")
            if not math.isnan(getattr(self, n))
        ]
        for (n1, v1), (n2, v2) in itertools.pairwise(present):
            if not v1 <= v2:
                problems.append(f"limits out of order: {n1}={v1!r} > {n2}={v2!r}")
        if not (math.isnan(self.valid_lo) or math.isnan(self.valid_hi)) and (
            self.valid_lo > self.valid_hi
        ):
            problems.append(f"valid_lo={self.valid_lo!r} > valid_hi={self.valid_hi!r}")
        return problems


_FLAGS = ("latch", "over_range_alarm", "device_fault")


def _is_number(value: object) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


_EPS = 1e-9


def delay_samples(seconds: float, dt: float) -> int:
    """Whole samples a condition must persist beyond its first sample (0 = at once)."""
    if math.isnan(seconds) or seconds <= 0.0:
        return 0
    return max(0, math.ceil(seconds / dt - _EPS))


def roc_window_samples(window_s: float, dt: float) -> int:
    """ROC look-back in samples: round(window_s / dt), at least 1."""
    return max(1, round(window_s / dt))


def stuck_samples(stuck_s: float, dt: float) -> int:
    """Samples without change after which a channel is stuck (0 = stuck check disabled)."""
    if math.isnan(stuck_s) or stuck_s <= 0.0:
        return 0
    return max(1, math.ceil(stuck_s / dt - _EPS))


# Columns of the settings matrix.
S_LL, S_L, S_H, S_HH = 0, 1, 2, 3
S_DEADBAND = 4
S_N_ON = 5
S_N_OFF = 6
S_ROC_RISE = 7
S_ROC_W = 8
S_ROC_WINDOW_S = 9
S_ROC_DEADBAND = 10
S_LATCH = 11
S_VALID_LO = 12
S_VALID_HI = 13
S_N_STUCK = 14
S_STUCK_EPS = 15
S_WINDOW_S = 16
S_REPORT_DB = 17
S_HEARTBEAT = 18
S_ROC_FALL = 19
S_OVER_ALARM = 20
S_RANGE_CODE = 21
N_SETTINGS = 22


def _rate_limit(directional: float, both: float) -> float:
    """A directional ROC limit, else the two-way ``roc``; NaN (off) unless > 0."""
    value = directional if not math.isnan(directional) else both
    return value if value > 0.0 else nan


def pack_settings(configs: Sequence[ChannelConfig], dt: float) -> np.ndarray:
    """Settings matrix [channels x N_SETTINGS] (float64) for sample interval `dt`."""
    out = np.full((len(configs), N_SETTINGS), np.nan)
    for row, cfg in zip(out, configs, strict=True):
        row[S_LL], row[S_L], row[S_H], row[S_HH] = cfg.ll, cfg.l, cfg.h, cfg.hh
        row[S_DEADBAND] = cfg.deadband
        row[S_N_ON] = delay_samples(cfg.on_delay_s, dt)
        row[S_N_OFF] = delay_samples(cfg.off_delay_s, dt)
        row[S_ROC_RISE] = _rate_limit(cfg.roc_rise, cfg.roc)
        row[S_ROC_FALL] = _rate_limit(cfg.roc_fall, cfg.roc)
        row[S_ROC_W] = roc_window_samples(cfg.roc_window_s, dt)
        row[S_ROC_WINDOW_S] = cfg.roc_window_s
        row[S_ROC_DEADBAND] = cfg.roc_deadband
        row[S_LATCH] = 1.0 if cfg.latch else 0.0
        row[S_VALID_LO], row[S_VALID_HI] = cfg.valid_lo, cfg.valid_hi
        row[S_RANGE_CODE] = FaultCode.OUT_OF_RANGE
        if cfg.device_fault:  # the bit reads 0 or 1: 1 is outside [-0.5, 0.5]
            row[S_VALID_LO], row[S_VALID_HI] = -0.5, 0.5
            row[S_RANGE_CODE] = FaultCode.DEVICE
        row[S_OVER_ALARM] = 1.0 if cfg.over_range_alarm else 0.0
        row[S_N_STUCK] = stuck_samples(cfg.stuck_s, dt)
        row[S_STUCK_EPS] = cfg.stuck_epsilon
        row[S_WINDOW_S] = cfg.window_s
        row[S_REPORT_DB] = cfg.report_deadband
        row[S_HEARTBEAT] = cfg.heartbeat_s
    return out
