"""Deliberately simple pure-Python detector: the test oracle for the numba kernels.

Same API and semantics as `edge_core.detector.Detector` (see its module docstring); one
sample at a time, plain lists and floats, no numba, no vectorisation.  Only the sample
clock and the seconds-to-samples helpers are shared with the fast detector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from edge_core._clock import SampleClock
from edge_core.config import (
    QUALITY_MAINTENANCE,
    AlarmKind,
    ChannelConfig,
    FaultCode,
    _rate_limit,
    delay_samples,
    roc_window_samples,
    stuck_samples,
)
from edge_core.result import AGGREGATE_DTYPE, TRANSITION_DTYPE, BlockResult

__all__ = ["ReferenceDetector"]

_PROCESS_KINDS = (AlarmKind.LL, AlarmKind.L, AlarmKind.H, AlarmKind.HH, AlarmKind.ROC)


class _Machine:
    """On/off-delay state machine of one process alarm (LL, L, H, HH or ROC)."""

    def __init__(self, n_on: int, n_off: int, latch: bool) -> None:
        self.n_on, self.n_off, self.latch = n_on, n_off, latch
        self.active = False
        self.count = 0  # consecutive samples of the pending on- (or off-) condition
        self.reset = False  # a latch reset accepted while back to normal

    def freeze(self) -> None:
        self.count = 0

    @property
    def pinned(self) -> bool:
        """Latched, active and back to normal for its off-delay: waiting for a reset."""
        return self.latch and self.active and self.count == self.n_off + 1

    def force_on(self) -> bool:
        """Hold the alarm active at once (over-range); True when it was not active."""
        self.count, self.reset = 0, False
        if self.active:
            return False
        self.active = True
        return True

    def step(self, beyond: bool, back_inside: bool) -> bool:
        """Feed one good sample; return True when the alarm changes state."""
        if not self.active:
            self.count = self.count + 1 if beyond else 0
            if self.count > self.n_on:
                self.active, self.count, self.reset = True, 0, False
                return True
            return False
        if not back_inside:
            self.count, self.reset = 0, False  # not normal: a reset given before is void
            return False
        self.count += 1
        if self.count > self.n_off:
            if self.latch and not self.reset:
                self.count = self.n_off + 1
                return False
            self.active, self.count, self.reset = False, 0, False
            return True
        return False


class _Channel:
    def __init__(self, cfg: ChannelConfig, dt: float) -> None:
        self.cfg = cfg
        n_on, n_off = delay_samples(cfg.on_delay_s, dt), delay_samples(cfg.off_delay_s, dt)
        self.machines = [_Machine(n_on, n_off, cfg.latch) for _ in _PROCESS_KINDS]
        self.roc_w = roc_window_samples(cfg.roc_window_s, dt)
        self.rise = _rate_limit(cfg.roc_rise, cfg.roc)
        self.fall = _rate_limit(cfg.roc_fall, cfg.roc)
        self.range_code = FaultCode.DEVICE if cfg.device_fault else FaultCode.OUT_OF_RANGE
        self.valid_lo, self.valid_hi = cfg.valid_lo, cfg.valid_hi
        if cfg.device_fault:  # the bit reads 0 or 1: 1 is outside [-0.5, 0.5]
            self.valid_lo, self.valid_hi = -0.5, 0.5
        self.n_stuck = stuck_samples(cfg.stuck_s, dt)
        self.history: list[float] = []  # raw values of all samples so far
        self.last_fault_k = -1
        self.stuck_ref = math.nan
        self.stuck_start = 0
        self.fault_code = 0
        self.comm = False
        self.window: float | None = None
        self.values: list[float] = []
        self.reported = False
        self.last_reported = math.nan
        self.last_report_start = math.nan

    def roc_limit(self, rate: float) -> float:
        """The signed ROC limit on the side of ``rate``: +rise, or -fall for a fall."""
        if (rate >= 0.0 and not math.isnan(self.rise)) or math.isnan(self.fall):
            return self.rise
        return -self.fall


class ReferenceDetector:
    """Pure-Python oracle with the `Detector` API."""

    def __init__(self, configs: Sequence[ChannelConfig], *, parallel: bool = False) -> None:
        self.configs = list(configs)
        self.clock = SampleClock()
        self.channels: list[_Channel] | None = None

    def reset(self, channel: int) -> bool:
        """Reset the latched alarms of `channel` that are back to normal; True if any."""
        if self.channels is None:
            return False
        done = False
        for m in self.channels[channel].machines:
            if m.pinned:
                m.reset = done = True
        return done

    acknowledge = reset

    def state(self) -> np.ndarray:
        """Active flags [channels x 7] (bool) in `AlarmKind` order, like `Detector.state`."""
        out = np.zeros((len(self.configs), len(AlarmKind)), np.bool_)
        for c, ch in enumerate(self.channels or []):
            out[c, : len(_PROCESS_KINDS)] = [m.active for m in ch.machines]
            out[c, AlarmKind.FAULT], out[c, AlarmKind.COMM] = ch.fault_code != 0, ch.comm
        return out

    def process(
        self, block: np.ndarray, t0: float, dt: float, quality: np.ndarray | None = None
    ) -> BlockResult:
        values = np.asarray(block, dtype=np.float32)
        k0, kt0 = self.clock.begin(t0, dt)
        if self.channels is None:
            self.channels = [_Channel(cfg, float(dt)) for cfg in self.configs]
        events: list[tuple[int, float, int, bool, float, float]] = []
        rows: list[tuple[int, float, float, float, float, float, int, bool]] = []
        for c, ch in enumerate(self.channels):
            for i in range(values.shape[1]):
                v = float(values[c, i])
                q = 0 if quality is None else int(quality[c, i])
                ts = self.clock.t_origin + (kt0 + i) * self.clock.dt
                wid = float(math.floor(ts / ch.cfg.window_s))
                if ch.window is not None and wid != ch.window:
                    rows.append(self._close_window(ch, c))
                ch.window = wid
                good, out = self._sample(ch, v, q, k0 + i)
                events.extend(
                    (c, ts, kind, active, value, limit) for kind, active, limit, value in out
                )
                if good:
                    ch.values.append(v)
        self.clock.advance(values.shape[1])
        events.sort(key=lambda e: (e[1], e[0]))  # stable: kinds stay in emission order
        rows.sort(key=lambda r: (r[0], r[1]))
        return BlockResult(
            np.array(events, dtype=TRANSITION_DTYPE), np.array(rows, dtype=AGGREGATE_DTYPE)
        )

    # ---- one sample -------------------------------------------------------------------
    def _sample(
        self, ch: _Channel, v: float, q: int, k: int
    ) -> tuple[bool, list[tuple[int, bool, float, float]]]:
        """(good, events as (kind, active, limit, value)); ROC events carry the rate."""
        cfg = ch.cfg
        ev: list[tuple[int, bool, float, float]] = []
        ch.history.append(v)
        old_code, old_comm = ch.fault_code, ch.comm
        if q == QUALITY_MAINTENANCE:  # declared invalid by the device: bad, not COMM
            ch.stuck_ref = math.nan
            faulted = True
        elif q != 0:
            ch.comm = True
            ch.stuck_ref = math.nan
            faulted = True
        else:
            ch.comm = False
            code = 0
            if math.isnan(v):
                code = 1
            elif math.isinf(v) or v < ch.valid_lo or v > ch.valid_hi:
                code = ch.range_code
            if code != 0:
                ch.stuck_ref = math.nan
            elif math.isnan(ch.stuck_ref) or abs(v - ch.stuck_ref) > cfg.stuck_epsilon:
                ch.stuck_ref, ch.stuck_start = v, k
            elif ch.n_stuck > 0 and k - ch.stuck_start >= ch.n_stuck:
                code = 3
            ch.fault_code = code
            faulted = code != 0
        if faulted:
            ch.last_fault_k = k
            for m in ch.machines:
                m.freeze()
            if q == 0 and cfg.over_range_alarm and (v == math.inf or v > ch.valid_hi):
                for kind, lim in ((AlarmKind.H, cfg.h), (AlarmKind.HH, cfg.hh)):
                    if not math.isnan(lim) and ch.machines[kind].force_on():
                        ev.append((kind, True, lim, v))
        else:
            limits = (cfg.ll, cfg.l, cfg.h, cfg.hh)
            for kind, lim in zip(_PROCESS_KINDS[:4], limits, strict=True):
                if math.isnan(lim):
                    continue
                if kind in (AlarmKind.LL, AlarmKind.L):
                    beyond, inside = v < lim, v >= lim + cfg.deadband
                else:
                    beyond, inside = v > lim, v <= lim - cfg.deadband
                if ch.machines[kind].step(beyond, inside):
                    ev.append((kind, ch.machines[kind].active, lim, v))
            m = ch.machines[AlarmKind.ROC]
            if ch.rise > 0.0 or ch.fall > 0.0:
                past_k = k - ch.roc_w
                if past_k > ch.last_fault_k:  # the whole ROC window is fault-free
                    rate = (v - ch.history[past_k]) / cfg.roc_window_s
                    beyond = rate > ch.rise or -rate > ch.fall
                    inside = not (rate > ch.rise - cfg.roc_deadband) and not (
                        -rate > ch.fall - cfg.roc_deadband
                    )
                    if m.step(beyond, inside):
                        ev.append((AlarmKind.ROC, m.active, ch.roc_limit(rate), rate))
                else:
                    m.freeze()
        if ch.fault_code != old_code and q == 0:
            if old_code != 0:
                ev.append((AlarmKind.FAULT, False, float(old_code), v))
            if ch.fault_code != 0:
                ev.append((AlarmKind.FAULT, True, float(ch.fault_code), v))
        if ch.comm != old_comm:
            ev.append((AlarmKind.COMM, ch.comm, float(q), v))
        return not faulted, ev

    # ---- telemetry windows --------------------------------------------------------------
    @staticmethod
    def _close_window(
        ch: _Channel, c: int
    ) -> tuple[int, float, float, float, float, float, int, bool]:
        assert ch.window is not None
        start = ch.window * ch.cfg.window_s
        vals, ch.values = ch.values, []
        if vals:
            lo, hi, mean, last = min(vals), max(vals), math.fsum(vals) / len(vals), vals[-1]
        else:
            lo = hi = mean = last = math.nan
        if not ch.reported:
            report = True
        else:
            changed = math.isnan(last) != math.isnan(ch.last_reported) or (
                abs(last - ch.last_reported) > ch.cfg.report_deadband
            )
            report = changed or start - ch.last_report_start >= ch.cfg.heartbeat_s
        if report:
            ch.reported, ch.last_reported, ch.last_report_start = True, last, start
        return (c, start, lo, hi, mean, last, len(vals), report)
