"""Samples missing from the telemetry windows, by whether the hypervisor held the CPU then.

On a VM the hypervisor now and then runs other work on our virtual CPUs ("steal" in
/proc/stat). At 100 Hz a poll that ends more than half a period after its next slot skips
slots; a virtual CPU held for 15 ms costs a sample of every device in the tick, whatever
the edge does. A no-op uvloop ticker on this VM, 20 tasks on a 10 ms grid and nothing
else, woke over 15 ms late about 20 times a minute (bench/README.md, "Seventh pass").

So the subscriber counts, from the windows that arrive (each point's ``count`` of good
samples; a window of ``window_s`` should hold ``window_s / poll_s``), the samples each
window lacks, and :class:`StealSeconds` samples the machine's stolen CPU time at every
whole wall-clock second. A sample missed in a second without stolen time is the edge's own
(or the simulator's); one missed while the hypervisor held a CPU may be the machine's. The
breakdown by how much was stolen shows whether the misses follow the stolen time.
/proc/stat counts in ticks of 10 ms, so "no stolen time" means under half a tick on the
whole machine, in the window's seconds and the one after (stolen time is accounted when the
virtual CPU runs again).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import psutil

__all__ = [
    "MissedSamples",
    "StealBucket",
    "StealSeconds",
    "StealShares",
    "WindowCount",
    "missed_samples",
]

TICK_S = 0.01  # /proc/stat's unit (USER_HZ 100)
LATE_SAMPLE_S = 0.25  # a sample taken later than this after its second bounds nothing


@dataclass(frozen=True)
class WindowCount:
    """One received telemetry window: its device, start (epoch s), length and most samples."""

    device: str
    start: float
    window_s: float
    count: int  # the largest ``count`` of its points: samples the edge had for the window


# Upper bounds of the share of the machine stolen in a second, for the breakdown; the
# first bucket is "no stolen time" (under half a tick on the whole machine).
STEAL_BUCKETS = (0.0, 0.01, 0.05, 0.2, math.inf)


@dataclass
class StealBucket:
    """The seconds and windows whose (most-)stolen share fell in ``(lower, upper]``."""

    lower: float
    upper: float
    seconds: int = 0
    windows: int = 0
    missed: int = 0

    @property
    def label(self) -> str:
        """e.g. ``none``, ``<= 1 %``, ``5-20 %``, ``> 20 %``."""
        lower, upper = 100 * self.lower, 100 * self.upper
        if upper == 0.0:
            return "none"
        if math.isinf(upper):
            return f"> {lower:g} %"
        return f"<= {upper:g} %" if lower == 0 else f"{lower:g}-{upper:g} %"


@dataclass
class MissedSamples:
    """Windows and their missing samples, by the stolen time in the window's seconds."""

    buckets: list[StealBucket] = field(
        default_factory=lambda: [
            StealBucket(lower, upper)
            for lower, upper in zip((-1.0, *STEAL_BUCKETS[:-1]), STEAL_BUCKETS, strict=True)
        ]
    )
    windows_unknown: int = 0  # windows of seconds the sampler did not cover
    windows_overfull: int = 0  # windows with more samples than window / poll
    # (device, window start, samples missed) of the windows missing samples without any
    # stolen time: the edge's own misses (or the simulator's), to look into
    clean_misses: list[tuple[str, float, int]] = field(default_factory=list)

    @property
    def clean(self) -> StealBucket:
        """Seconds, windows and missing samples without any stolen time."""
        return self.buckets[0]

    @property
    def stolen(self) -> list[StealBucket]:
        """The buckets with stolen time, least first."""
        return self.buckets[1:]

    def bucket(self, share: float) -> StealBucket:
        """The bucket of a second (or window) with ``share`` of the machine stolen."""
        return next(b for b in self.buckets if share <= b.upper)


class StealSeconds:
    """A thread that records the machine's stolen CPU time in each whole wall-clock second."""

    def __init__(self) -> None:
        self._stolen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.cores = psutil.cpu_count() or 1
        self._thread = threading.Thread(target=self._run, name="steal-seconds", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._sample_seconds()
        except (OSError, psutil.Error) as exc:  # every later second stays unjudged: say why
            print(f"steal sampler stopped: {exc}", file=sys.stderr, flush=True)

    def _sample_seconds(self) -> None:
        last: tuple[int, float] | None = None
        while not self._stop.is_set():
            self._stop.wait(math.floor(time.time()) + 1 - time.time())
            now = time.time()
            second, stolen = math.floor(now), _steal_s()
            if last is not None and second == last[0]:
                continue  # woke just before the second (the wait rounds): wait again
            # A sample taken late (this thread held up) cannot bound its second: skip it.
            if now - second > LATE_SAMPLE_S:
                last = None
                continue
            if last is not None and second == last[0] + 1:
                with self._lock:
                    self._stolen[last[0]] = stolen - last[1]
            last = (second, stolen)

    def share(self, second: int) -> float | None:
        """The machine's share stolen in ``[second, second + 1)``; None if not sampled.

        0.0 when under half a tick was stolen on the whole machine.
        """
        with self._lock:
            stolen = self._stolen.get(second)
        if stolen is None:
            return None
        return 0.0 if stolen < TICK_S / 2 else stolen / self.cores

    def stop(self) -> None:
        """End the sampling thread."""
        self._stop.set()
        self._thread.join(timeout=2.0)


def _steal_s() -> float:
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


class StealShares(Protocol):
    """What :func:`missed_samples` asks of :class:`StealSeconds`."""

    def share(self, second: int) -> float | None:
        """The machine's share stolen in ``[second, second + 1)``; None if not sampled."""


def missed_samples(
    windows: list[WindowCount], poll_s: float, steal: StealShares, start: float, end: float
) -> MissedSamples:
    """Judge every window lying inside ``[start, end]`` by the most stolen of its seconds.

    A second counts with the stolen time of the next one too: the guest accounts stolen
    time when its virtual CPU runs again, so a stall across a whole second's end shows in
    the next second while the slots it cost lie in both.
    """
    out = MissedSamples()
    for second in range(math.ceil(start), math.floor(end)):
        share = _stolen_around(steal, range(second, second + 1))
        if share is not None:
            out.bucket(share).seconds += 1
    for window in windows:
        if window.start < start or window.start + window.window_s > end:
            continue
        seconds = range(math.floor(window.start), math.ceil(window.start + window.window_s))
        share = _stolen_around(steal, seconds)
        if share is None:
            out.windows_unknown += 1
            continue
        bucket = out.bucket(share)
        expected = round(window.window_s / poll_s)
        out.windows_overfull += window.count > expected  # a grid bug if ever seen
        missed = max(0, expected - window.count)
        bucket.windows += 1
        bucket.missed += missed
        if missed and bucket is out.clean:
            out.clean_misses.append((window.device, window.start, missed))
    return out


def _stolen_around(steal: StealShares, seconds: range) -> float | None:
    """The largest share stolen in ``seconds`` and the second after; None if one is unknown."""
    shares = [steal.share(s) for s in range(seconds.start, seconds.stop + 1)]
    known = [s for s in shares if s is not None]
    return max(known) if known and len(known) == len(shares) else None
