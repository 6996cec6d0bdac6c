"""Alarm detection and telemetry aggregation over blocks of samples (numba kernels).

Semantics (identical in `edge_core.reference.ReferenceDetector`, the test oracle)
------------------------------------------------------------------------------
Time.  Sample i of a block has ts = t0 + i*dt; the clock is kept by sample index (see
`edge_core._clock`): jitter under dt/2 is ignored, a later t0 (gap) re-anchors the
timestamps while the state machines carry on as if the stream were continuous, an earlier
t0 or a changed dt raises ValueError.  Every delay is counted in samples:
``n = ceil(seconds/dt - 1e-9)`` (0 s -> 0).

Faults, checked first at every sample.  quality != 0 -> COMM active (limit field = the
quality byte), the value is not looked at and the FAULT state is left as it is.  With good
quality, COMM clears and the FAULT code is: 1 NaN; 2 +-inf or outside [valid_lo, valid_hi]
(NaN bound = unbounded); 3 stuck; else 0.  Stuck: a reference value r is replaced by v
whenever |v - r| > stuck_epsilon (or after any bad sample, which restarts tracking); the
channel is stuck at the sample k when k - (index where r was set) >= n_stuck
(n_stuck = ceil(stuck_s/dt - 1e-9), at least 1; NaN/0 disables).  A FAULT code change
emits "clear old code" and/or "raise new code" (limit field = the code).  A sample is
*good* when quality is 0 and its FAULT code is 0.

Process alarms LL, L, H, HH and ROC are each an on/off-delay machine fed only by good
samples (a bad sample freezes `active` and resets the pending counter):
* inactive: count consecutive samples *beyond* (v < LL/L, v > H/HH, |rate| > roc); it
  becomes active at the sample where the count exceeds n_on (n_on = 0: at once);
* active: count consecutive samples *back inside by the deadband* (v >= L + deadband,
  v <= H - deadband, |rate| <= roc - roc_deadband); a sample in between (inside the limit,
  within the deadband) or beyond resets the count; it clears where the count exceeds n_off;
* latch: an active alarm only clears if acknowledged (`acknowledge(channel)` marks the
  channel's active process alarms acknowledged); until then the count stops at n_off + 1,
  so after the ack it clears at the next back-inside sample.  Activation clears the ack.
ROC: rate = (v[k] - v[k - w]) / roc_window_s with w = max(1, round(roc_window_s/dt));
it is evaluated only when samples k-w..k are all good (otherwise the ROC machine is frozen
like on a fault).  roc NaN or 0 disables ROC.  NaN limits are absent.
Events of one sample are emitted in kind order LL, L, H, HH, ROC, FAULT, COMM; `value` is
the sample, `limit` the limit / roc / fault code / quality.

Telemetry windows: window id floor(ts / window_s); a window is emitted when a sample of a
later window arrives (a partial window is carried to the next block).  min, max, mean and
last over the good samples, count = number of good samples (0 -> NaN statistics).  `report`
is True for the first window, when last differs from the last reported last by more than
report_deadband (or NaN-ness changed), or when window_start - last reported window_start
>= heartbeat_s (NaN disables the heartbeat, 0 reports every window).

Results never depend on how a stream is cut into blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge_core import _kernels as kern
from edge_core._clock import SampleClock
from edge_core.config import S_ROC_W, S_WINDOW_S, AlarmKind, ChannelConfig, pack_settings
from edge_core.result import AGGREGATE_DTYPE, TRANSITION_DTYPE, BlockResult

__all__ = ["Detector", "check_block"]

_PROCESS = (AlarmKind.LL, AlarmKind.L, AlarmKind.H, AlarmKind.HH, AlarmKind.ROC)


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
        raise ValueError(
            msg
        )
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
        n = len(self.configs)
        self._istate, self._fstate, self._hist = kern.new_state(n, 1)
        self._dummy_q = np.zeros((1, 1), np.uint8)

    @property
    def n_channels(self) -> int:
        return len(self.configs)

    def acknowledge(self, channel: int) -> None:
        """Acknowledge the active process alarms of `channel` (matters for latched ones)."""
        if not 0 <= channel < self.n_channels:
            msg = f"channel={channel!r}: out of range 0..{self.n_channels - 1}"
            raise ValueError(msg)
        for j in range(len(_PROCESS)):
            if self._istate[channel, kern.I_ACT + j]:
                self._istate[channel, kern.I_ACK + j] = 1

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
        check_block(block, quality, self.n_channels)
        k0, kt0 = self._clock.begin(t0, dt)
        if self._settings is None:
            self._settings = pack_settings(self.configs, float(dt))
            max_w = int(self._settings[:, S_ROC_W].max()) if self.n_channels else 1
            self._hist = np.zeros((self.n_channels, max(1, max_w)), np.float32)
        n = block.shape[1]
        if n == 0 or self.n_channels == 0:
            return BlockResult(np.empty(0, TRANSITION_DTYPE), np.empty(0, AGGREGATE_DTYPE))
        result = self._run(block, quality, k0, kt0)
        self._clock.advance(n)
        return result

    def _run(
        self, block: np.ndarray, quality: np.ndarray | None, k0: int, kt0: int
    ) -> BlockResult:
        assert self._settings is not None
        n = block.shape[1]
        clock = self._clock
        kernel = kern.parallel_kernel() if self.parallel else kern._kernel_serial
        q = self._dummy_q if quality is None else quality
        chans = np.arange(self.n_channels, dtype=np.int64)
        pos = np.zeros(self.n_channels, np.int64)
        cap = 64 + n // 64
        span = n * clock.dt / self._settings[:, S_WINDOW_S].min()
        acap = int(min(n + 2, span + 3))
        ev_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        ag_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        while chans.size:
            m = chans.size
            evf = np.empty((m, cap, 3), np.float64)
            evu = np.empty((m, cap, 2), np.uint8)
            agf = np.empty((m, acap, 5), np.float64)
            agi = np.empty((m, acap, 2), np.int64)
            counts = np.zeros((m, 3), np.int64)
            kernel(chans, block, q, quality is not None, pos, k0, kt0, clock.t_origin,
                   clock.dt, self._settings, self._istate, self._fstate, self._hist,
                   evf, evu, agf, agi, counts)
            sel = np.arange(cap) < counts[:, 1:2]
            ev_parts.append((np.repeat(chans, counts[:, 1]), evf[sel], evu[sel]))
            sel = np.arange(acap) < counts[:, 2:3]
            ag_parts.append((np.repeat(chans, counts[:, 2]), agf[sel], agi[sel]))
            todo = counts[:, 0] < n
            chans, pos = chans[todo], counts[todo, 0]
            cap = min(cap * 4, kern.MAX_EVENTS_PER_SAMPLE * n + kern.MAX_EVENTS_PER_SAMPLE)
            acap = min(acap * 4, n + 2)
        return BlockResult(self._transitions(ev_parts, n, kt0), self._aggregates(ag_parts))

    def _transitions(
        self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int, kt0: int
    ) -> np.ndarray:
        ch = np.concatenate([p[0] for p in parts])
        evf = np.concatenate([p[1] for p in parts])
        evu = np.concatenate([p[2] for p in parts])
        idx = evf[:, 0].astype(np.int64)
        if len(parts) > 1:  # resumed channels: restore channel order before the idx sort
            first = kern._counting_order(ch, self.n_channels)
            ch, evf, evu, idx = ch[first], evf[first], evu[first], idx[first]
        order = kern._counting_order(idx, n)
        out = np.empty(order.size, TRANSITION_DTYPE)
        out["channel"] = ch[order]
        out["ts"] = self._clock.t_origin + (kt0 + idx[order]).astype(np.float64) * self._clock.dt
        out["kind"] = evu[order, 0]
        out["active"] = evu[order, 1] != 0
        out["value"] = evf[order, 1]
        out["limit"] = evf[order, 2]
        return out

    def _aggregates(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        ch = np.concatenate([p[0] for p in parts])
        agf = np.concatenate([p[1] for p in parts])
        agi = np.concatenate([p[2] for p in parts])
        out = np.empty(ch.size, AGGREGATE_DTYPE)
        if len(parts) > 1:  # resumed channels: back to (channel, window) order
            order = kern._counting_order(ch, self.n_channels)
            ch, agf, agi = ch[order], agf[order], agi[order]
        out["channel"] = ch
        out["window_start"] = agf[:, 0]
        out["min"] = agf[:, 1]
        out["max"] = agf[:, 2]
        out["mean"] = agf[:, 3]
        out["last"] = agf[:, 4]
        out["count"] = agi[:, 0]
        out["report"] = agi[:, 1] != 0
        return out
