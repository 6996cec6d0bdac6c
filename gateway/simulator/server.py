"""Serve simulated devices over Modbus TCP or RTU with pymodbus' own server.

Each device's registers are built from its profile by the simulator's own encoder
(gateway.simulator.encoder), never by the poller's codec, so a byte- or word-order
mistake shows up as a wrong reading instead of two directions of one bug agreeing with
each other. Values are refreshed lazily: when a
request arrives, the register image is recomputed for the current time (at most
every ``refresh_s``). The simulator uses pymodbus' v4 SimData/SimDevice API.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from gateway.config import Device, Site
from gateway.datatypes import Table
from gateway.simulator.encoder import RegisterEncoder, encoder_for
from gateway.simulator.scenarios import ScenarioEngine, ValueSource

__all__ = ["DeviceImage", "Simulator"]

log = logging.getLogger(__name__)

FUNCTION_TABLE = {1: Table.COIL, 2: Table.DISCRETE, 3: Table.HOLDING, 4: Table.INPUT}
SPAN_PADDING = 8  # registers past the last point, so gap-bridging reads stay legal


@dataclass
class DeviceImage:
    """The registers of one simulated device, refreshed from the scenario on demand."""

    device: Device
    engine: ValueSource
    started: float
    refresh_s: float = 0.02
    encoders: dict[Table, list[tuple[int, RegisterEncoder]]] = field(default_factory=dict)
    spans: dict[Table, tuple[int, int]] = field(default_factory=dict)
    _stamp: dict[Table, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: dict[Table, list[tuple[int, RegisterEncoder]]] = defaultdict(list)
        for point in self.device.points:
            grouped[point.table].append((point.address, encoder_for(self.device.profile, point)))
        for members in grouped.values():
            members.sort(key=lambda item: item[1].point.bit is not None)
        self.encoders = dict(grouped)
        for table, members in self.encoders.items():
            first = min(a for a, _ in members)
            last = max(a + c.width - 1 for a, c in members)
            if table.is_bit_table:
                first, last = first - first % 16, last + 16 - last % 16 - 1
            self.spans[table] = (first, last + SPAN_PADDING)

    def sim_device(self) -> SimDevice:
        """The pymodbus SimDevice with one block per table this device uses."""
        blocks: list[list[SimData]] = [[], [], [], []]
        order = [Table.COIL, Table.DISCRETE, Table.HOLDING, Table.INPUT]
        for i, table in enumerate(order):
            span = self.spans.get(table)
            if span is None:  # pymodbus wants every block; give unused tables one cell
                blocks[i].append(_cell(table))
                continue
            first, last = span
            datatype = DataType.BITS if table.is_bit_table else DataType.REGISTERS
            values: list[bool] | list[int] = (
                [False] * (last - first + 1) if table.is_bit_table else [0] * (last - first + 1)
            )
            blocks[i].append(SimData(first, values=values, datatype=datatype))
        return SimDevice(
            id=self.device.config.unit,
            simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
            action=self.on_request,
        )

    async def on_request(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this before answering: refresh, or stay silent when down."""
        table = FUNCTION_TABLE.get(function_code)
        elapsed = time.monotonic() - self.started
        if self.engine.device_down(self.device, elapsed):
            await asyncio.sleep(30)  # like a dead device: the request just times out
            return ExcCodes.DEVICE_BUSY
        if table is not None and table in self.encoders:
            self._refresh(table, start_address, registers, elapsed)
        return None

    def _refresh(self, table: Table, start: int, registers: list[int], elapsed: float) -> None:
        if elapsed - self._stamp.get(table, -1.0) < self.refresh_s:
            return
        self._stamp[table] = elapsed
        for address, encoder in self.encoders[table]:
            value = self.engine.value(self.device, encoder.point, elapsed)
            words = encoder.registers(value)
            if table.is_bit_table:
                _set_bit(registers, address - start * 16, bool(words[0]))
            elif encoder.point.bit is not None:  # a flag inside a shared status register
                mask = encoder.flag_mask()  # the flag's bit as it sits on the wire
                offset = address - start
                registers[offset] = (registers[offset] & ~mask) | words[0]
            else:
                offset = address - start
                registers[offset : offset + len(words)] = words


def _set_bit(registers: list[int], bit_index: int, value: bool) -> None:
    word, bit = divmod(bit_index, 16)
    if value:
        registers[word] |= 1 << bit
    else:
        registers[word] &= ~(1 << bit)


def _cell(table: Table) -> SimData:
    if table.is_bit_table:
        return SimData(65520, values=[False] * 16, datatype=DataType.BITS)
    return SimData(65535, values=[0], datatype=DataType.REGISTERS)


class Simulator:
    """Every device of a site served on its own endpoint (TCP host:port or serial port)."""

    def __init__(
        self,
        site: Site,
        scenario: str = "normal",
        seed: int = 0,
        devices: Sequence[Device] | None = None,
        *,
        source: ValueSource | None = None,
    ) -> None:
        self.site = site
        self.engine = source or ScenarioEngine(site, scenario, seed)
        self.started = time.monotonic()
        chosen = devices if devices is not None else site.devices
        self.images = [DeviceImage(d, self.engine, self.started) for d in chosen]
        self._servers: list[ModbusTcpServer | ModbusSerialServer] = []
        self._tasks: list[asyncio.Task[None]] = []

    def endpoints(self) -> dict[str, list[DeviceImage]]:
        """Images grouped by endpoint: one server per TCP port or serial line."""
        grouped: dict[str, list[DeviceImage]] = defaultdict(list)
        for image in self.images:
            grouped[image.device.config.link_key].append(image)
        return dict(grouped)

    async def start(self) -> None:
        """Bind every endpoint, then wait until TCP ones accept connections.

        Each server binds before the next starts (pymodbus' ``serve_forever`` in the
        background returns once it listens), so a port held by another process is an
        OSError naming the endpoint, and the servers already started are stopped. Before,
        the failed bind died in an unawaited task and the wait below connected to the
        other process, so a caller said READY while serving nothing.
        """
        for key, images in self.endpoints().items():
            server = self._server_for(images)
            self._servers.append(server)
            try:
                await server.serve_forever(background=True)
            except RuntimeError as exc:  # pymodbus: "Could not start listen" (logs the cause)
                await self.stop()
                raise OSError(_listen_failure(key, images)) from exc
        for key, images in self.endpoints().items():
            tcp = images[0].device.config.tcp
            if tcp is not None:
                await _wait_listening(tcp.host, tcp.port, key)

    async def stop(self) -> None:
        """Stop every server."""
        for server in self._servers:
            await server.shutdown()  # type: ignore[no-untyped-call]
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._servers.clear()
        self._tasks.clear()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _server_for(self, images: list[DeviceImage]) -> ModbusTcpServer | ModbusSerialServer:
        devices = [image.sim_device() for image in images]
        config = images[0].device.config
        if config.serial is not None:
            serial = config.serial
            return ModbusSerialServer(
                devices,
                port=serial.port,
                baudrate=serial.baudrate,
                parity=serial.parity,
                stopbits=serial.stopbits,
                bytesize=serial.bytesize,
            )
        assert config.tcp is not None
        return ModbusTcpServer(devices, address=(config.tcp.host, config.tcp.port))


def _listen_failure(key: str, images: list[DeviceImage]) -> str:
    """Why ``key`` could not be served, with the OS reason pymodbus only logs."""
    names = ", ".join(image.device.name for image in images)
    tcp = images[0].device.config.tcp
    if tcp is None:
        return f"simulator endpoint {key} ({names}): cannot open the serial port"
    try:
        with socket.create_server((tcp.host, tcp.port)):
            reason = "the port was busy"
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return (
        f"simulator endpoint {key} ({names}): cannot listen on port {tcp.port}: {reason} "
        "(another simulator or program holds it?)"
    )


async def _wait_listening(host: str, port: int, key: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if time.monotonic() > deadline:
                msg = f"simulator endpoint {key} did not start listening within {timeout} s"
                raise RuntimeError(msg) from None
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
