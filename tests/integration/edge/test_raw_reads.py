"""read_raw over pymodbus' real server: the bytes are the registers as on the wire."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from gateway.config import Device, DeviceConfig, TcpEndpoint
from gateway.datatypes import Table
from gateway.edge.link import open_link
from gateway.netutil import free_port
from gateway.profiles import load_profile
from gateway.simulator.server import Simulator
from tests.integration.edge.wiretypes import WIRE_CASES, FixedValues, write_profile
from tests.integration.sites import make_site

pytestmark = pytest.mark.integration


async def test_read_raw_matches_read_for_every_table(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    config = DeviceConfig(
        name="dev1", profile="all-types", tcp=TcpEndpoint(host="127.0.0.1", port=free_port())
    )
    device = Device(config, profile, profile.points)
    async with Simulator(make_site([device]), source=FixedValues()):
        link = open_link(device)
        await link.connect()
        try:
            for table, first, count in ((Table.HOLDING, 0, 31), (Table.INPUT, 2, 22)):
                raw = await link.read_raw(table, first, count, 1)
                words = await link.read(table, first, count, 1)
                assert raw == struct.pack(f">{count}H", *words)
            holding = await link.read_raw(Table.HOLDING, 12, 2, 1)
            assert holding == struct.pack(">2H", *WIRE_CASES["f32"][6])
            bits = await link.read_raw(Table.COIL, 3, 2, 1)
            assert bits == b"\x01\x00"
        finally:
            link.close()
