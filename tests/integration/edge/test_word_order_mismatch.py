"""A simulator and a poller that disagree on a float32's word order: the value is wrong.

The simulator encodes with its own encoder, so this disagreement (or a codec bug that a
shared encoder would mirror) shows up on the wire as a reading that differs from the
scenario value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Device, DeviceConfig, TcpEndpoint
from gateway.datatypes import WordOrder
from gateway.edge.link import open_link
from gateway.edge.poller import DevicePoller
from gateway.netutil import free_port
from gateway.profiles import load_profile
from gateway.simulator.server import Simulator
from tests.integration.edge.wiretypes import WIRE_CASES, FixedValues, write_profile
from tests.integration.sites import make_site

pytestmark = pytest.mark.integration


async def test_poller_with_the_other_word_order_reads_a_different_value(tmp_path: Path) -> None:
    served = load_profile(write_profile(tmp_path))
    flipped = served.model_copy(
        update={
            "points": tuple(
                p.model_copy(update={"word_order": WordOrder.LITTLE}) if p.key == "f32" else p
                for p in served.points
            )
        }
    )
    config = DeviceConfig(
        name="dev1", profile="all-types", tcp=TcpEndpoint(host="127.0.0.1", port=free_port())
    )
    simulated = Device(config, served, served.points)
    polled = Device(config, flipped, flipped.points)
    async with Simulator(make_site([simulated]), source=FixedValues()):
        right = DevicePoller(simulated, open_link(simulated), lambda _s: None)
        wrong = DevicePoller(polled, open_link(polled), lambda _s: None)
        good, bad = await right.poll_once(), await wrong.poll_once()
        right.link.close()
        wrong.link.close()
    index = [p.key for p in served.points].index("f32")
    expected = WIRE_CASES["f32"][5]
    assert good.values[index] == pytest.approx(expected)
    assert bad.values[index] != pytest.approx(expected)
