"""A device that answers fast is polled at 100 Hz with no lost or re-stamped samples."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from gateway.edge.link import open_link
from gateway.edge.poller import DevicePoller
from gateway.edge.samples import PollSample
from gateway.simulator.server import Simulator
from tests.integration.sites import make_site, tcp_device

pytestmark = pytest.mark.integration

PERIOD_S = 0.01
RUN_S = 2.0


async def test_100_hz_polling_keeps_its_grid() -> None:
    device = tcp_device("fast", poll_interval_s=PERIOD_S)
    samples: list[PollSample] = []
    async with Simulator(make_site([device])):
        poller = DevicePoller(device, open_link(device), samples.append)
        stop = asyncio.Event()
        task = asyncio.create_task(poller.run(stop))
        await asyncio.sleep(RUN_S)
        stop.set()
        await asyncio.wait_for(task, timeout=2)
        poller.link.close()
    slots = poller.stats.polls + poller.stats.overruns
    assert slots >= 0.95 * RUN_S / PERIOD_S  # the grid kept pace: every slot polled or counted
    assert poller.stats.polls >= 0.8 * RUN_S / PERIOD_S, (
        poller.stats
    )  # >= 80 Hz even on a busy CI box
    assert all(s.good for s in samples)
    assert all(b.ts > a.ts for a, b in itertools.pairwise(samples))
