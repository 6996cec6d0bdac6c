"""Sample clock shared by `Detector` and `ReferenceDetector`.

Sample k (counted from the first sample ever processed) has the timestamp
``t_origin + (k - k_origin) * dt``.  A block whose ``t0`` is within half a sample of the
expected time continues the clock (poller jitter is ignored, so timestamps never drift with
block splits).  A later ``t0`` (a gap) re-anchors the timestamps at ``t0``; the alarm state
machines carry on as if the stream were continuous (delays, ROC and stuck counts are
counted in samples).  An earlier ``t0`` or a different ``dt`` raises ValueError.

That rule lives in :func:`grid_start`, the one place that decides where a block goes.
A live caller (the gateway's poll feed) places each poll with it before handing it over:
an early or jittered poll continues the grid, a late one re-anchors it, and no poll is
ever refused for its timing.  Callers that pass recorded data straight in keep the
ValueError for time that really goes backwards.
"""

from __future__ import annotations

import math

__all__ = ["JITTER", "SampleClock", "grid_start"]

#: How far, in sample periods, a block may start after the expected time and still
#: continue the grid (later than that is a gap).
JITTER = 0.5


def grid_start(t0: float, expected: float, dt: float) -> float:
    """Where a block acquired at ``t0`` starts, given the clock's ``expected`` next time.

    ``expected`` is NaN before the first block (the block anchors the clock at ``t0``).
    Up to :data:`JITTER` periods late, or any amount early (poll jitter, a catch-up poll
    after a late one, the wall clock stepping back), it continues the grid: ``expected``.
    Later than that it is a gap and re-anchors at ``t0``.
    """
    if math.isnan(expected) or t0 > expected + JITTER * dt:
        return float(t0)
    return expected


class SampleClock:
    """Maps block (t0, dt) to the global sample index and the timestamp origin."""

    def __init__(self) -> None:
        self.dt = math.nan
        self.t_origin = math.nan
        self.k = 0  # global index of the next sample
        self.k_origin = 0

    def begin(self, t0: float, dt: float) -> tuple[int, int]:
        """Check a block's timing; return (global index, time index) of its first sample."""
        if dt == self.dt and type(t0) is float and math.isfinite(t0):
            # the usual block (a poll): dt was checked when it was first set (NaN never
            # compares equal), so only the start is left to place
            self._place(t0)
            return self.k, self.k - self.k_origin
        if not (isinstance(dt, float | int) and math.isfinite(dt) and dt > 0.0):
            msg = f"dt={dt!r}: must be a finite number > 0"
            raise ValueError(msg)
        if not (isinstance(t0, float | int) and math.isfinite(t0)):
            msg = f"t0={t0!r}: must be a finite number"
            raise ValueError(msg)
        if math.isnan(self.dt):
            self.dt, self.t_origin = float(dt), float(t0)
        elif float(dt) != self.dt:
            msg = f"dt={dt!r}: differs from dt={self.dt!r} of earlier blocks"
            raise ValueError(msg)
        else:
            self._place(float(t0))
        return self.k, self.k - self.k_origin

    def _place(self, t0: float) -> None:
        """Continue the grid with a block at ``t0``, or re-anchor it (`grid_start`)."""
        expected = self.t_origin + (self.k - self.k_origin) * self.dt
        if t0 < expected - JITTER * self.dt:
            msg = f"t0={t0!r}: earlier than the expected {expected!r} (time went backwards)"
            raise ValueError(msg)
        if grid_start(t0, expected, self.dt) != expected:
            self.t_origin, self.k_origin = t0, self.k

    def expected(self) -> float:
        """When the next block is expected to start (NaN before the first block)."""
        if math.isnan(self.dt):
            return math.nan
        return self.t_origin + (self.k - self.k_origin) * self.dt

    def advance(self, n: int) -> None:
        self.k += n
