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
    AlarmKind,
    ChannelConfig,
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
        self.acked = False

    def freeze(self) -> None:
        self.count = 0

    def step(self, beyond: bool, back_inside: bool) -> bool:
        """Feed one good sample; return True when the alarm changes state."""
        if not self.active:
            self.count = self.count + 1 if beyond else 0
            if self.count > self.n_on:
                self.active, self.count, self.acked = True, 0, False
                return True
            return False
        self.count = self.count + 1 if back_inside else 0
        if self.count > self.n_off:
            if self.latch and not self.acked:
                self.count = self.n_off + 1
                return False
            self.active, self.count = False, 0
            return True
        return False


class _Channel:
    def __init__(self, cfg: ChannelConfig, dt: float) -> None:
        self.cfg = cfg
        n_on, n_off = delay_samples(cfg.on_delay_s, dt), delay_samples(cfg.off_delay_s, dt)
        self.machines = [_Machine(n_on, n_off, cfg.latch) for _ in _PROCESS_KINDS]
        self.roc_w = roc_window_samples(cfg.roc_window_s, dt)
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


class ReferenceDetector:
    """Pure-Python oracle with the `Detector` API."""

    def __init__(self, configs: Sequence[ChannelConfig], *, parallel: bool = False) -> None:
        self.configs = list(configs)
        self.clock = SampleClock()
        self.channels: list[_Channel] | None = None

    def acknowledge(self, channel: int) -> None:
        if self.channels is None:
            return
        for m in self.channels[channel].machines:
            if m.active:
                m.acked = True

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
                events.extend((c, ts, kind, active, v, limit) for kind, active, limit in out)
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
    ) -> tuple[bool, list[tuple[int, bool, float]]]:
        cfg = ch.cfg
        ev: list[tuple[int, bool, float]] = []
        ch.history.append(v)
        old_code, old_comm = ch.fault_code, ch.comm
        if q != 0:
            ch.comm = True
            ch.stuck_ref = math.nan
            faulted = True
        else:
            ch.comm = False
            code = 0
            if math.isnan(v):
                code = 1
            elif math.isinf(v) or v < cfg.valid_lo or v > cfg.valid_hi:
                code = 2
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
                    ev.append((kind, ch.machines[kind].active, lim))
            roc = cfg.roc
            m = ch.machines[AlarmKind.ROC]
            if roc > 0.0:
                past_k = k - ch.roc_w
                if past_k > ch.last_fault_k:  # the whole ROC window is fault-free
                    rate = abs((v - ch.history[past_k]) / cfg.roc_window_s)
                    if m.step(rate > roc, rate <= roc - cfg.roc_deadband):
                        ev.append((AlarmKind.ROC, m.active, roc))
                else:
                    m.freeze()
        if ch.fault_code != old_code and q == 0:
            if old_code != 0:
                ev.append((AlarmKind.FAULT, False, float(old_code)))
            if ch.fault_code != 0:
                ev.append((AlarmKind.FAULT, True, float(ch.fault_code)))
        if ch.comm != old_comm:
            ev.append((AlarmKind.COMM, ch.comm, float(q)))
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
