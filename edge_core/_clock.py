"""Sample clock shared by `Detector` and `ReferenceDetector`.

Sample k (counted from the first sample ever processed) has the timestamp
``t_origin + (k - k_origin) * dt``.  A block whose ``t0`` is within half a sample of the
expected time continues the clock (poller jitter is ignored, so timestamps never drift with
block splits).  A later ``t0`` (a gap) re-anchors the timestamps at ``t0``; the alarm state
machines carry on as if the stream were continuous (delays, ROC and stuck counts are
counted in samples).  An earlier ``t0`` or a different ``dt`` raises ValueError.
"""

from __future__ import annotations

import math

__all__ = ["SampleClock"]


class SampleClock:
    """Maps block (t0, dt) to the global sample index and the timestamp origin."""

    def __init__(self) -> None:
        self.dt = math.nan
        self.t_origin = math.nan
        self.k = 0  # global index of the next sample
        self.k_origin = 0

    def begin(self, t0: float, dt: float) -> tuple[int, int]:
        """Check a block's timing; return (global index, time index) of its first sample."""
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
            expected = self.t_origin + (self.k - self.k_origin) * self.dt
            if t0 < expected - 0.5 * self.dt:
                msg = f"t0={t0!r}: earlier than the expected {expected!r} (time went backwards)"
                raise ValueError(msg)
            if t0 > expected + 0.5 * self.dt:
                self.t_origin, self.k_origin = float(t0), self.k
        return self.k, self.k - self.k_origin

    def advance(self, n: int) -> None:
        self.k += n
