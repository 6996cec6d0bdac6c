"""A device that stops answering turns COMM-bad and recovers by itself."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from gateway.config import Device
from gateway.edge.link import open_link
from gateway.edge.poller import Backoff, DevicePoller
from gateway.edge.samples import PollSample, Quality
from gateway.profiles import Point
from gateway.simulator.server import Simulator
from tests.integration.sites import make_site, tcp_device

pytestmark = pytest.mark.integration


class SilentBetween:
    """Values 1.0; the device stays silent between ``start`` and ``end`` seconds."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        return 1.0

    def device_down(self, device: Device, elapsed: float) -> bool:
        return self.start <= elapsed < self.end


async def test_silent_device_goes_comm_bad_then_recovers() -> None:
    device = tcp_device("gas-01", poll_interval_s=0.1, timeout_s=0.2)
    samples: list[PollSample] = []
    async with Simulator(make_site([device]), source=SilentBetween(0.6, 1.6)):
        poller = DevicePoller(device, open_link(device), samples.append, backoff=Backoff(0.1, 0.4))
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        for _ in range(200):  # until it went bad and has read well again for a while
            await asyncio.sleep(0.05)
            states = [int(s.quality.max()) for s in samples]
            if Quality.COMM in states and states[-5:] == [Quality.GOOD] * 5:
                break
        stop.set()
        await asyncio.wait_for(task, timeout=3)
        poller.link.close()
    states = [Quality(int(s.quality.max())) for s in samples]
    first_bad = states.index(Quality.COMM)
    recovered = states.index(Quality.GOOD, first_bad)
    assert all(q is Quality.GOOD for q in states[:first_bad])
    assert all(q is Quality.GOOD for q in states[recovered:])
    assert poller.stats.reconnects >= 1
    assert samples[recovered].values[0] == pytest.approx(1.0)
    assert all(b.ts > a.ts for a, b in itertools.pairwise(samples))  # never re-stamped
