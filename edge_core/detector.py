"""Alarm detection and telemetry aggregation over blocks of samples (numba kernels).

Semantics (identical in `edge_core.reference.ReferenceDetector`, the test oracle)
------------------------------------------------------------------------------
Time.  Sample i of a block has ts = t0 + i*dt; the clock is kept by sample index (see
`edge_core._clock`): jitter under dt/2 is ignored, a later t0 (gap) re-anchors the
timestamps while the state machines carry on as if the stream were continuous, an earlier
t0 or a changed dt raises ValueError.  Every delay is counted in samples:
``n = ceil(seconds/dt - 1e-9)`` (0 s -> 0).

Faults, checked first at every sample.  quality != 0 -> COMM active (limit field = the
quality byte), the value is not looked at and the FAULT state is left as it is; quality
QUALITY_MAINTENANCE (255: the device declared its readings invalid, e.g. calibrating) is a
bad sample like that but leaves COMM as it is too, so maintenance raises no alarm.  With
good quality, COMM clears and the FAULT code is: 1 NaN; 2 +-inf or outside [valid_lo,
valid_hi] (NaN bound = unbounded; 4 instead of 2 on a ``device_fault`` channel, whose valid
range is [-0.5, 0.5]: a set fault bit); 3 stuck; else 0.  Stuck: a reference value r is
replaced by v whenever |v - r| > stuck_epsilon (or after any bad sample, which restarts
tracking); the channel is stuck at the sample k when k - (index where r was set) >= n_stuck
(n_stuck = ceil(stuck_s/dt - 1e-9), at least 1; NaN/0 disables).  A FAULT code change
emits "clear old code" and/or "raise new code" (limit field = the code).  A sample is
*good* when quality is 0 and its FAULT code is 0.

Process alarms LL, L, H, HH and ROC are each an on/off-delay machine fed only by good
samples (a bad sample freezes `active` and resets the pending counter), with one fail-safe
exception: on an ``over_range_alarm`` channel a good-quality sample above valid_hi (or
+inf) is a FAULT *and* holds H and HH active, raised at that sample without on-delay (a
gas reading above full scale is the worst case, not a broken sensor; GB/T 50493-2019
§5.4.1 wants concentration alarms and faults distinct, not one hiding the other):
* inactive: count consecutive samples *beyond* (v < LL/L, v > H/HH, |rate| > roc); it
  becomes active at the sample where the count exceeds n_on (n_on = 0: at once);
* active: count consecutive samples *back inside by the deadband* (v >= L + deadband,
  v <= H - deadband, rate back inside both rate limits less roc_deadband); a sample in
  between (inside the limit, within the deadband) or beyond resets the count; it clears
  where the count exceeds n_off;
* latch (ISA-18.2 latched alarm: it stays until back to normal *and* reset): a latched
  alarm back inside for longer than its off-delay holds its count at n_off + 1 ("pinned")
  and stays active; `reset(channel)` accepts a reset only for pinned alarms, which then
  clear at the next back-inside sample.  A reset given while the condition is on is
  refused, and an accepted one is void if the next sample is not back inside.
ROC: rate = (v[k] - v[k - w]) / roc_window_s with w = max(1, round(roc_window_s/dt)),
signed: beyond when rate > roc_rise or -rate > roc_fall (``roc`` stands for a direction
whose own limit is NaN; NaN or 0 = that direction off).  It is evaluated only when samples
k-w..k are all good (otherwise the ROC machine is frozen like on a fault).  NaN limits are
absent.
Events of one sample are emitted in kind order LL, L, H, HH, ROC, FAULT, COMM; `value` is
the sample (ROC: the rate, unit per second), `limit` the limit / signed ROC limit (+rise,
or -fall on the side of the rate) / fault code / quality.

Telemetry windows: window id floor(ts / window_s); a window is emitted when a sample of a
later window arrives (a partial window is carried to the next block).  min, max, mean and
last over the good samples, count = number of good samples (0 -> NaN statistics).  `report`
is True for the first window, when last differs from the last reported last by more than
report_deadband (or NaN-ness changed), or when window_start - last reported window_start
>= heartbeat_s (NaN disables the heartbeat, 0 reports every window).

Results never depend on how a stream is cut into blocks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from edge_core import _kernels as kern
from edge_core._clock import SampleClock
from edge_core.config import (
    S_LATCH,
    S_N_OFF,
    S_ROC_W,
    S_WINDOW_S,
    AlarmKind,
    ChannelConfig,
    pack_settings,
)
from edge_core.result import AGGREGATE_DTYPE, TRANSITION_DTYPE, BlockResult

__all__ = ["Detector", "check_block", "warm_up"]

_PROCESS = (AlarmKind.LL, AlarmKind.L, AlarmKind.H, AlarmKind.HH, AlarmKind.ROC)
# What most blocks return as transitions; read-only, so one array serves them all.
_NO_TRANSITIONS = np.empty(0, TRANSITION_DTYPE)
_NO_TRANSITIONS.flags.writeable = False


def check_block(block: object, quality: object, n_channels: int) -> None:
    """Raise ValueError naming what is wrong with a block / quality array."""
    if not isinstance(block, np.ndarray):
        msg = f"block must be a numpy array, got {type(block).__name__}"
        raise TypeError(msg)
    if block.dtype != np.float32:
        msg = f"block dtype is {block.dtype}, expected float32"
        raise ValueError(msg)
    if block.ndim != 2 or block.shape[0] != n_channels:
        msg = f"block shape is {block.shape}, expected ({n_channels}, samples) [channels x samples]"
        raise ValueError(msg)
    if not block.flags.c_contiguous:
        msg = "block is not C-contiguous (use np.ascontiguousarray)"
        raise ValueError(msg)
    if quality is None:
        return
    if not isinstance(quality, np.ndarray):
        msg = f"quality must be a numpy array or None, got {type(quality).__name__}"
        raise TypeError(msg)
    if quality.dtype != np.uint8:
        msg = f"quality dtype is {quality.dtype}, expected uint8"
        raise ValueError(msg)
    if quality.shape != block.shape:
        msg = f"quality shape is {quality.shape}, expected {block.shape} like block"
        raise ValueError(msg)
    if not quality.flags.c_contiguous:
        msg = "quality is not C-contiguous (use np.ascontiguousarray)"
        raise ValueError(msg)


class Detector:
    """Stateful detector over a fixed set of channels; see the module docstring."""

    def __init__(self, configs: Sequence[ChannelConfig], *, parallel: bool = False) -> None:
        self.configs = tuple(configs)
        for j, cfg in enumerate(self.configs):
            if not isinstance(cfg, ChannelConfig):
                msg = f"configs[{j}] is {type(cfg).__name__}, expected ChannelConfig"
                raise TypeError(msg)
        self.parallel = parallel
        self._clock = SampleClock()
        self._settings: np.ndarray | None = None
        self._window_groups: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0, np.intp))
        n = self._n = len(self.configs)
        self._istate, self._fstate, self._hist = kern.new_state(n, 1)
        self._dummy_q = np.zeros((1, 1), np.uint8)
        self._ev: tuple[np.ndarray, np.ndarray] | None = None
        # read-only inputs of every block's first kernel pass (the kernel never writes them)
        self._all_chans = np.arange(n, dtype=np.int64)
        self._zero_pos = np.zeros(n, np.int64)
        # scratch of every block (the kernel reads arow, writes counts; neither outlives a call)
        self._arow = np.zeros(n, np.int64)
        self._counts = np.empty((n, 3), np.int64)
        self._segment_scratch = (np.empty(2, np.int64), np.empty(2, np.float64))
        self._run_ends: dict[int, np.ndarray] = {}

    @property
    def n_channels(self) -> int:
        return self._n

    def reset(self, channel: int) -> bool:
        """Reset the latched alarms of `channel` that are back to normal; True if any was.

        Refused (False) while the condition is still on: ISA-18.2 releases a latch only
        after return to normal *and* a reset.  The alarm clears at the next good sample
        that is still back inside.
        """
        if not 0 <= channel < self.n_channels:
            msg = f"channel={channel!r}: out of range 0..{self.n_channels - 1}"
            raise ValueError(msg)
        if self._settings is None or not self._settings[channel, S_LATCH]:
            return False
        pinned = int(self._settings[channel, S_N_OFF]) + 1
        done = False
        for j in range(len(_PROCESS)):
            if self._istate[channel, kern.I_ACT + j] and (
                self._istate[channel, kern.I_CNT + j] == pinned
            ):
                self._istate[channel, kern.I_ACK + j] = 1
                done = True
        return done

    # An operator acknowledgement is a reset request: it releases only what is normal.
    acknowledge = reset

    def state(self) -> np.ndarray:
        """Active flags [channels x 7] (bool) in `AlarmKind` order."""
        out = np.zeros((self.n_channels, len(AlarmKind)), np.bool_)
        out[:, : len(_PROCESS)] = self._istate[:, kern.I_ACT : kern.I_ACT + len(_PROCESS)] != 0
        out[:, AlarmKind.FAULT] = self._istate[:, kern.I_FAULT] != 0
        out[:, AlarmKind.COMM] = self._istate[:, kern.I_COMM] != 0
        return out

    def process(
        self, block: np.ndarray, t0: float, dt: float, quality: np.ndarray | None = None
    ) -> BlockResult:
        """Feed one block [channels x samples] float32 starting at time t0."""
        check_block(block, quality, self._n)
        k0, kt0 = self._clock.begin(t0, dt)
        if self._settings is None:
            self._settings = pack_settings(self.configs, float(dt))
            max_w = int(self._settings[:, S_ROC_W].max()) if self.n_channels else 1
            self._hist = np.zeros((self.n_channels, max(1, max_w)), np.float32)
            # the distinct window sizes never change: group the channels once, not per block
            sizes, groups = np.unique(self._settings[:, S_WINDOW_S], return_inverse=True)
            self._window_groups = (sizes, groups.ravel())
        n = block.shape[1]
        if n == 0 or self._n == 0:
            return BlockResult(np.empty(0, TRANSITION_DTYPE), np.empty(0, AGGREGATE_DTYPE))
        result = self._run(block, quality, k0, kt0)
        self._clock.advance(n)
        return result

    def _run(self, block: np.ndarray, quality: np.ndarray | None, k0: int, kt0: int) -> BlockResult:
        assert self._settings is not None
        n = block.shape[1]
        n_ch = self._n
        kernel = kern.parallel_kernel() if self.parallel else kern._kernel_serial
        q = self._dummy_q if quality is None else quality
        seg_b, seg_w, s_lo, s_hi = self._segments(n, kt0)
        # closed windows per channel: one per window change inside the block, plus the
        # carried window if the block starts a new one -> the result array is sized exactly
        arow = self._arow
        total = kern.window_rows(self._fstate[:, kern.F_WID], seg_w, s_lo, s_hi, arow)
        aggregates = np.empty(total, AGGREGATE_DTYPE)
        chans, pos = self._all_chans, self._zero_pos
        evf, evu = self._event_buffers(n_ch, 256 + n // 128)
        counts = self._counts
        parts: list[tuple[np.ndarray, ...]] = []
        xi = block.view(np.int32)
        while True:
            events = kernel(
                chans,
                block,
                xi,
                q,
                quality is not None,
                pos,
                k0,
                self._settings,
                self._istate,
                self._fstate,
                self._hist,
                seg_b,
                seg_w,
                s_lo,
                s_hi,
                evf,
                evu,
                counts,
                arow,
                aggregates,
            )
            if not events:  # most polls: no event, so no channel stopped early either
                break
            parts.append(_gather(chans, counts, evf, evu))
            todo = counts[:, 0] < n
            if not np.count_nonzero(todo):
                break
            chans, pos = chans[todo], counts[todo, 0]
            s_lo, s_hi = s_lo[todo], s_hi[todo]
            arow = arow[todo] + counts[todo, 2]
            cap = min(evf.shape[1] * 4, kern.MAX_EVENTS_PER_SAMPLE * (n + 1))
            evf = np.empty((chans.size, cap, 3), np.float64)
            evu = np.empty((chans.size, cap, 2), np.uint8)
            counts = np.empty((chans.size, 3), np.int64)
        return BlockResult(self._transitions(parts, n, kt0), aggregates)

    def _segments(self, n: int, kt0: int) -> tuple[np.ndarray, ...]:
        """Telemetry-window runs of the block per distinct window_s (see `_kernels`)."""
        assert self._settings is not None
        clock = self._clock
        sizes, groups = self._window_groups
        if sizes.size == 1:  # the usual device: one window size for all its points
            b, w = self._segment_scratch
            if b.size != n + 1:
                b, w = self._segment_scratch = (np.empty(n + 1, np.int64), np.empty(n + 1))
            m = kern.window_segments(n, kt0, clock.t_origin, clock.dt, sizes[0], b, w)
            return b[: m + 1], w[: m + 1], self._zero_pos, self._all_ending_at(m)
        bounds, wids, first = [], [], np.zeros(sizes.size + 1, np.int64)
        for g, ws in enumerate(sizes):
            # every run holds at least one sample, so n + 1 rows always fit: one call
            b, w = np.empty(n + 1, np.int64), np.empty(n + 1, np.float64)
            m = kern.window_segments(n, kt0, clock.t_origin, clock.dt, ws, b, w)
            bounds.append(b[: m + 1])
            wids.append(w[: m + 1])
            first[g + 1] = first[g] + m + 1
        s_lo = first[groups]
        s_hi = s_lo + np.diff(first)[groups] - 1
        return np.concatenate(bounds), np.concatenate(wids), s_lo, s_hi

    def _all_ending_at(self, runs: int) -> np.ndarray:
        """s_hi of a one-window-size block: every channel's runs end at ``runs``."""
        ends = self._run_ends.get(runs)
        if ends is None:
            ends = np.full(self.n_channels, runs, np.int64)
            if runs <= 4:  # a poll spans one or two windows; long blocks are rare
                self._run_ends[runs] = ends
        return ends

    def _event_buffers(self, m: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel event rows, kept across calls (only the rows used are touched)."""
        if self._ev is None or self._ev[0].shape[:2] != (m, cap):
            self._ev = (np.empty((m, cap, 3), np.float64), np.empty((m, cap, 2), np.uint8))
        return self._ev

    def _transitions(self, parts: list[tuple[np.ndarray, ...]], n: int, kt0: int) -> np.ndarray:
        if not parts:
            return _NO_TRANSITIONS
        ch, idx, value, limit, kind, active = (
            parts[0] if len(parts) == 1 else [np.concatenate(a) for a in zip(*parts, strict=True)]
        )
        if len(parts) > 1:  # resumed channels: restore channel order before the idx sort
            first = kern._counting_order(ch, self.n_channels)
            ch, idx, value, limit, kind, active = (
                a[first] for a in (ch, idx, value, limit, kind, active)
            )
        order = kern._counting_order(idx, n)
        out = np.empty(order.size, TRANSITION_DTYPE)
        out["channel"] = ch[order]
        out["ts"] = self._clock.t_origin + (kt0 + idx[order]).astype(np.float64) * self._clock.dt
        out["kind"] = kind[order]
        out["active"] = active[order]
        out["value"] = value[order]
        out["limit"] = limit[order]
        return out


def _gather(
    chans: np.ndarray, counts: np.ndarray, evf: np.ndarray, evu: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Flat (channel, idx, value, limit, kind, active) of the events of one kernel run."""
    m = int(counts[:, 1].sum())
    out = (
        np.empty(m, np.int64),
        np.empty(m, np.int64),
        np.empty(m, np.float32),
        np.empty(m, np.float64),
        np.empty(m, np.uint8),
        np.empty(m, np.bool_),
    )
    kern.gather_events(chans, counts, evf, evu, 0, *out)
    return out


def warm_up(parallel: bool = False) -> float:
    """Compile the kernels now (or load them from numba's cache); return the seconds spent.

    A service calls this before it starts polling: a cold compile takes several seconds,
    which must not stall the first poll's event loop.
    """
    started = time.perf_counter()
    detector = Detector([ChannelConfig(h=1.0, roc=1.0, stuck_s=1.0)], parallel=parallel)
    detector.process(np.zeros((1, 16), dtype=np.float32), 0.0, 1.0)
    return time.perf_counter() - started
