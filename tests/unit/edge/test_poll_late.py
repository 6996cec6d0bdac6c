"""A poll that ends a little after the next slot starts the next one late, not skipped.

Less than half a period late, the next poll starts at once and is counted as ``late``:
the sample is kept and its time still continues the detector's grid (edge_core's
jitter rule, half a period). Half a period or more, the missed slots are skipped and
counted as overruns, so the lag never grows past half a period and nothing queues. A
real event loop, a link that takes scripted times to answer (no network).
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.config import Device, DeviceConfig, TcpEndpoint
from gateway.edge.poller import LATE_START, DevicePoller
from gateway.edge.samples import PollSample
from gateway.profiles import DeviceProfile

PERIOD_S = 0.4


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
    profile = DeviceProfile.model_validate(
        {
            "vendor": "test",
            "model": "slow",
            "points": [
                {
                    "key": "u",
                    "name": "U",
                    "kind": "status",
                    "table": "holding",
                    "address": 0,
                    "type": "uint16",
                }
            ],
        }
    )
    config = DeviceConfig(
        name="slow",
        profile="slow",
        tcp=TcpEndpoint(host="127.0.0.1", port=1),
        poll_interval_s=PERIOD_S,
    )
    return Device(config, profile, profile.points)


async def test_a_little_late_polls_at_once_much_later_skips_the_slot() -> None:
    # poll 0 ends 0.08 s (a fifth of a period) after slot 1: poll 1 starts at once;
    # poll 1 is quick: poll 2 waits for slot 2; poll 2 ends 0.3 s (3/4 of a period) after
    # slot 3: slot 3 is skipped, poll 3 waits for slot 4.
    link = SlowLink([0.48, 0.04, 0.7])
    samples: list[PollSample] = []
    poller = DevicePoller(_device(), link, samples.append)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    while len(poller.stats.poll_starts) < 4:
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    starts = list(poller.stats.poll_starts)[:4]
    offsets = [s - starts[0] for s in starts]
    assert poller.stats.late_starts == 1
    assert poller.stats.overruns == 1
    assert 0.48 <= offsets[1] < 0.48 + LATE_START * PERIOD_S / 2  # at once, not at slot 2
    assert abs(offsets[2] - 2 * PERIOD_S) < 0.1  # back on the grid
    assert abs(offsets[3] - 4 * PERIOD_S) < 0.1  # slot 3 skipped
    assert all(s.good for s in samples)
