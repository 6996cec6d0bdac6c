"""What a poll produces: values with their acquisition time and quality.

Every sample keeps the time it was read and its quality all the way to the
database; nothing downstream re-stamps it (stale data must never look fresh).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

__all__ = ["DeviceStats", "PollSample", "Quality"]

POLL_STARTS_KEPT = 2000


class Quality(IntEnum):
    """Per-sample quality code (0 is good; anything else is a communication fault)."""

    GOOD = 0
    COMM = 1  # the device did not answer or the link is down
    DEVICE_ERROR = 2  # the device answered with a Modbus exception
    DECODE = 3  # the registers could not be decoded


@dataclass(frozen=True)
class PollSample:
    """One poll of one device: a value and a quality per point, read at ``ts``."""

    device: str
    ts: float  # acquisition time, seconds since the epoch (UTC)
    values: npt.NDArray[np.float32]
    quality: npt.NDArray[np.uint8]
    # When the poll was due: the wall-clock time of its slot on the poller's grid (NaN: not
    # polled on a grid). The detector places the poll by it (gateway.edge.detection), so a
    # poll started late, or woken late by a busy VM, keeps its slot; ``ts`` stays the time
    # it was read.
    due: float = math.nan

    @property
    def good(self) -> bool:
        """True when every point of the poll is good."""
        return not self.quality.any()


@dataclass
class DeviceStats:
    """Counters of one device's polling, for the console, status topic and tests."""

    polls: int = 0
    ok: int = 0
    failures: int = 0
    overruns: int = 0
    late: int = 0  # polls started after their slot by at most LATE_START of a period
    reconnects: int = 0
    reads: int = 0
    consecutive_failures: int = 0
    last_ok_ts: float | None = None
    last_error: str = ""
    # When the last polls started (loop time), to measure the real poll period: a
    # bounded deque, as a list trimmed from the front moved 2,000 floats at every poll.
    poll_starts: deque[float] = field(default_factory=lambda: deque(maxlen=POLL_STARTS_KEPT))

    def record_start(self, when: float) -> None:
        """Remember when a poll started (the last ``POLL_STARTS_KEPT``)."""
        self.poll_starts.append(when)
