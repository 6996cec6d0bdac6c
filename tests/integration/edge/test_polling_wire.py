"""The edge poller against pymodbus' real server over TCP and over an RTU pty pair.

Every data type in every byte/word order is served by the simulator (through the
profile) and read back by our poller; mbpoll, an independent C client, checks the
wire words against values worked out by hand.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gateway.config import Device, DeviceConfig, SerialEndpoint, TcpEndpoint
from gateway.edge.link import open_link
from gateway.edge.poller import DevicePoller
from gateway.netutil import free_port
from gateway.profiles import DeviceProfile, load_profile
from gateway.simulator.server import Simulator
from tests.harness.socat import SocatPtyPair
from tests.integration.edge.wiretypes import WIRE_CASES, FixedValues, write_profile
from tests.integration.sites import make_site

pytestmark = pytest.mark.integration

MBPOLL_TABLE = {"coil": "0", "discrete": "1", "input": "3:hex", "holding": "4:hex"}


@pytest.fixture(name="profile")
def fixture_profile(tmp_path: Path) -> DeviceProfile:
    return load_profile(write_profile(tmp_path))


def _line(port: Path) -> SerialEndpoint:
    return SerialEndpoint(port=str(port), baudrate=115200)


def _device(profile: DeviceProfile, unit: int = 1, **endpoint: object) -> Device:
    config = DeviceConfig(
        name=f"dev{unit}", profile="all-types", unit=unit, timeout_s=2.0, **endpoint
    )
    return Device(config, profile, profile.points)


def _assert_all_values(device: Device, values: np.ndarray, quality: np.ndarray) -> None:
    assert not quality.any(), quality
    for point, value in zip(device.points, values, strict=True):
        expected = WIRE_CASES[point.key][5] if point.key in WIRE_CASES else 1.0  # bit5 of 0xA5A5
        assert value == pytest.approx(expected, rel=1e-7), point.key


async def test_every_type_and_order_over_tcp(profile: DeviceProfile) -> None:
    device = _device(profile, tcp=TcpEndpoint(host="127.0.0.1", port=free_port()))
    site = make_site([device])
    async with Simulator(site, source=FixedValues()):
        poller = DevicePoller(device, open_link(device), lambda _s: None)
        sample = await poller.poll_once()
        poller.link.close()
    _assert_all_values(device, sample.values, sample.quality)
    assert poller.stats.reads == len(poller.requests) < len(device.points)


async def test_mbpoll_reads_the_words_worked_out_by_hand(profile: DeviceProfile) -> None:
    mbpoll = shutil.which("mbpoll")
    assert mbpoll, "mbpoll missing: apt-get install mbpoll (scripts/install-deps does it)"
    port = free_port()
    device = _device(profile, tcp=TcpEndpoint(host="127.0.0.1", port=port))
    async with Simulator(make_site([device]), source=FixedValues()):
        for key, (_t, _b, _w, table, address, _v, words) in WIRE_CASES.items():
            got = await _mbpoll(mbpoll, port, table, address, len(words))
            assert got == words, f"{key}: mbpoll read {got}, expected {words}"


async def _mbpoll(mbpoll: str, port: int, table: str, address: int, count: int) -> list[int]:
    args = [mbpoll, "-m", "tcp", "-0", "-1", "-a", "1", "-t", MBPOLL_TABLE[table]]
    args += ["-r", str(address), "-c", str(count), "-p", str(port), "127.0.0.1"]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    text = out.decode()
    assert proc.returncode == 0, text
    values = re.findall(r"^\[\d+\]:\s+(\S+)", text, flags=re.MULTILINE)
    assert len(values) == count, text
    return [int(v, 16) if v.startswith("0x") else int(v) for v in values]


async def test_every_type_over_rtu_with_two_units_on_one_bus(
    profile: DeviceProfile, pty_pair: SocatPtyPair
) -> None:
    server_side = [_device(profile, unit, serial=_line(pty_pair.a)) for unit in (1, 2)]
    client_side = [_device(profile, unit, serial=_line(pty_pair.b)) for unit in (1, 2)]
    async with Simulator(make_site(server_side), source=FixedValues()):
        link = open_link(client_side[0])  # one link: both devices share the bus
        pollers = [DevicePoller(d, link, lambda _s: None) for d in client_side]
        for _ in range(3):
            samples = await asyncio.gather(*(p.poll_once() for p in pollers))
            for device, sample in zip(client_side, samples, strict=True):
                _assert_all_values(device, sample.values, sample.quality)
        link.close()
    assert all(p.stats.failures == 0 for p in pollers)


async def test_shared_bus_runs_one_transaction_at_a_time_with_a_pause(
    profile: DeviceProfile, pty_pair: SocatPtyPair
) -> None:
    pause = 0.03
    server_side = [_device(profile, unit, serial=_line(pty_pair.a)) for unit in (1, 2)]
    client_side = [
        Device(d.config.model_copy(update={"request_pause_s": pause}), d.profile, d.points)
        for d in (_device(profile, unit, serial=_line(pty_pair.b)) for unit in (1, 2))
    ]
    async with Simulator(make_site(server_side), source=FixedValues()):
        link = open_link(client_side[0])
        pollers = [DevicePoller(d, link, lambda _s: None) for d in client_side]
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(2):
            samples = await asyncio.gather(*(p.poll_once() for p in pollers))
            assert all(s.good for s in samples)
        elapsed = loop.time() - started
        link.close()
    reads = sum(p.stats.reads for p in pollers)
    assert reads >= 8
    assert elapsed >= reads * pause  # every transaction, of either device, waited its pause
