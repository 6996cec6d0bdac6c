"""A poll that ends a little after the next slot starts the next one late, not skipped.

If it started on time and ends at most half a period after the next slot, the next poll
starts at once and is counted as ``late``: the sample is kept and, like every sample,
says when its poll was due (``PollSample.due``), which the detector places it by
(tests/unit/edge/test_detection.py). A late poll that
ends late again, or any poll that ends more than half a period late, skips the missed
slots and counts them as overruns: the lag never grows past half a period, nothing
queues, and a device too slow for its period still shows its overruns. A real event
loop, a link that takes scripted times to answer (no network).
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.config import Device, DeviceConfig, TcpEndpoint
from gateway.edge.poller import DevicePoller
from gateway.edge.samples import PollSample
from gateway.profiles import DeviceProfile

PERIOD_S = 0.5
TOLERANCE_S = 0.15  # for the loop's own lateness on a loaded machine


class SlowLink:
    """Answers each read after the next of ``durations`` seconds."""

    def __init__(self, durations: list[float]) -> None:
        self.durations = durations
        self.connected = True

    async def connect(self) -> None:
        self.connected = True

    def close(self) -> None:
        self.connected = False

    async def read_raw(self, *_: Any) -> bytes:
        await asyncio.sleep(self.durations.pop(0) if self.durations else 0.0)
        return b"\x00\x01"


def _device() -> Device:
    point = {"key": "u", "name": "U", "kind": "status", "table": "holding", "address": 0}
    profile = DeviceProfile.model_validate(
        {"vendor": "test", "model": "slow", "points": [point | {"type": "uint16"}]}
    )
    config = DeviceConfig(
        name="slow",
        profile="slow",
        tcp=TcpEndpoint(host="127.0.0.1", port=1),
        poll_interval_s=PERIOD_S,
    )
    return Device(config, profile, profile.points)


async def _starts(
    durations: list[float], count: int, samples: list[PollSample] | None = None
) -> tuple[DevicePoller, list[float]]:
    samples = [] if samples is None else samples
    poller = DevicePoller(_device(), SlowLink(durations), samples.append)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))

    async def started() -> None:
        while len(poller.stats.poll_starts) < count:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(started(), timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert all(s.good for s in samples)
    starts = list(poller.stats.poll_starts)[:count]
    return poller, [s - starts[0] for s in starts]


async def test_a_stall_keeps_its_sample_a_slow_device_still_overruns() -> None:
    # poll 0 ends 0.1 s after slot 1: poll 1 starts at once (late);
    # poll 1 (late) ends 0.05 s after slot 2: a late poll late again skips slot 2;
    # poll 2 is quick; poll 3 ends 0.4 s (4/5 of a period) after slot 5: slot 5 skipped.
    samples: list[PollSample] = []
    poller, offsets = await _starts([0.6, 0.45, 0.05, 0.9], 5, samples)
    # every sample says when its poll was due: slots 0, 1 (started late), 3, 4, 6
    dues = [s.due - samples[0].due for s in samples[:5]]
    slots = (0, 1, 3, 4, 6)
    assert all(abs(d - k * PERIOD_S) < 0.005 for d, k in zip(dues, slots, strict=True)), dues
    assert poller.stats.late == 1
    assert poller.stats.overruns == 2
    assert 0.6 <= offsets[1] < 0.6 + TOLERANCE_S  # at once, not at slot 2
    for got, slot in zip(offsets[2:], (3, 4, 6), strict=True):
        assert abs(got - slot * PERIOD_S) < TOLERANCE_S, offsets  # back on the grid


async def test_the_lag_never_grows_past_half_a_period() -> None:
    # Every poll takes 1.05 periods: one late start, then the next one skips, and so on.
    poller, offsets = await _starts([1.05 * PERIOD_S] * 6, 6)
    slots = [round(t / PERIOD_S) for t in offsets]
    for got, slot in zip(offsets, slots, strict=True):
        assert got - slot * PERIOD_S <= PERIOD_S / 2 + TOLERANCE_S, offsets
    assert poller.stats.late == 3 and poller.stats.overruns >= 2, poller.stats
