"""A Modbus link: one TCP connection or one serial bus, owned by one task at a time.

Peers' users keep hitting corrupted frames when several threads drive one RS-485
bus (ThingsBoard gateway #905). Here every device on a serial port (or behind one
TCP gateway endpoint) shares one link, and the link runs one transaction at a time
under a lock, with an optional pause after each request for slow devices.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from functools import lru_cache
from typing import Any

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
)

from gateway.config import Device
from gateway.datatypes import Table
from gateway.edge.mbap import MbapClient
from gateway.errors import (
    DeviceConnectError,
    DeviceError,
    DeviceExceptionResponse,
    DeviceTimeout,
)

__all__ = [
    "ModbusLink",
    "RawHoldingRegistersResponse",
    "RawInputRegistersResponse",
    "open_link",
]

log = logging.getLogger(__name__)


@lru_cache(maxsize=128)
def _words(count: int) -> struct.Struct:
    return struct.Struct(f">{count}H")


class _RawRegisters:
    """Register-read response that keeps its payload bytes and parses them in one call.

    pymodbus' own response unpacks each register with its own ``struct.unpack`` call,
    and its decoder builds ``str(pdu)`` (every register) for a debug line whatever the
    log level. Registered on our clients for function codes 3 and 4 (the client's
    documented ``register()`` hook), this class keeps ``raw``, the registers' bytes as
    on the wire (what the block decoder reads), fills ``registers`` with one
    ``unpack_from``, and has a constant-cost ``__str__``.
    """

    function_code: int
    raw: bytes = b""
    registers: Any
    dev_id: int
    transaction_id: int

    def decode(self, data: bytes) -> None:
        """Decode a register response: byte count, then the registers' bytes."""
        size = data[0]
        if size >= len(data) or size % 2:
            msg = f"byte_count {size} does not fit a packet of {len(data)} bytes"
            raise ModbusIOException(msg, function_code=self.function_code)
        self.raw = data[1 : 1 + size]
        self.registers = _words(size // 2).unpack_from(data, 1)

    def __str__(self) -> str:
        return (
            f"{type(self).__name__}(dev_id={self.dev_id}, "
            f"transaction_id={self.transaction_id}, bytes={len(self.raw)})"
        )


class RawHoldingRegistersResponse(_RawRegisters, ReadHoldingRegistersResponse):
    """Function code 3 response with its payload kept as bytes (see ``_RawRegisters``)."""


class RawInputRegistersResponse(_RawRegisters, ReadInputRegistersResponse):
    """Function code 4 response with its payload kept as bytes (see ``_RawRegisters``)."""


_REQUESTS: dict[Table, type[ModbusPDU]] = {
    Table.HOLDING: ReadHoldingRegistersRequest,
    Table.INPUT: ReadInputRegistersRequest,
    Table.COIL: ReadCoilsRequest,
    Table.DISCRETE: ReadDiscreteInputsRequest,
}


class ModbusLink:
    """One Modbus client, serialised by a lock; reconnecting is the poller's choice.

    The client is `MbapClient` for TCP (pymodbus' PDUs, our MBAP framing: ``mbap``)
    and pymodbus' ``AsyncModbusSerialClient`` for RTU; both have ``execute(False, pdu)``
    and raise pymodbus' exceptions, which this class turns into DeviceErrors.

    A poller asks for the same few blocks every poll, so each block's request PDU is
    built once and handed to the client's ``execute`` (the call its ``read_*`` methods
    end in; the client numbers each transaction itself): 17 µs less CPU per read here
    (bench/README.md, "Fourth pass"). One transaction at a time per link (the lock), so
    no request object is ever in flight twice.
    """

    def __init__(self, key: str, client: Any) -> None:
        self.key = key
        self._client = client
        self._lock = asyncio.Lock()
        self._requests: dict[tuple[Table, int, int, int], ModbusPDU] = {}

    @property
    def connected(self) -> bool:
        """Whether the underlying transport is up."""
        return bool(self._client.connected)

    async def connect(self) -> None:
        """Open the transport; DeviceConnectError when that fails."""
        async with self._lock:
            if self._client.connected:
                return
            try:
                ok = await self._client.connect()
            except (OSError, ModbusException) as exc:
                msg = f"{self.key}: cannot connect: {exc}"
                raise DeviceConnectError(msg) from exc
            if not ok:
                msg = f"{self.key}: cannot connect"
                raise DeviceConnectError(msg)

    def close(self) -> None:
        """Close the transport (the next poll reconnects)."""
        self._client.close()

    async def read(
        self, table: Table, address: int, count: int, unit: int, pause_s: float = 0.0
    ) -> list[int]:
        """Read ``count`` registers (or bits) from ``table``; one transaction on the link."""
        raw = await self.read_raw(table, address, count, unit, pause_s)
        if table.is_bit_table:
            return list(raw)
        return list(_words(len(raw) // 2).unpack(raw))

    async def read_raw(
        self, table: Table, address: int, count: int, unit: int, pause_s: float = 0.0
    ) -> bytes:
        """Like :meth:`read`, but the payload as bytes, for the block decoder.

        Registers: their bytes as on the wire (big-endian, 2 per register). Bits: one
        byte (0 or 1) per bit. A device may answer with fewer than ``count``; the
        caller checks the length.
        """
        # One coroutine from the lock to the client (no helper awaited in between):
        # each extra level costs every read a frame resumed twice.
        async with self._lock:
            try:
                if not self._client.connected:
                    msg = f"{self.key}: not connected"
                    raise DeviceConnectError(msg)
                request = self._requests.get((table, address, count, unit))
                if request is None:
                    request = self._request(table, address, count, unit)
                response = await self._client.execute(False, request)
            except ModbusIOException as exc:
                msg = f"{self.key} unit {unit}: no answer ({exc})"
                raise DeviceTimeout(msg) from exc
            except ConnectionException as exc:
                msg = f"{self.key}: connection lost ({exc})"
                raise DeviceConnectError(msg) from exc
            except (ModbusException, OSError) as exc:
                msg = f"{self.key} unit {unit}: {exc}"
                raise DeviceError(msg) from exc
            finally:
                if pause_s > 0:
                    await asyncio.sleep(pause_s)
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            raise DeviceExceptionResponse(code, f"{self.key} unit {unit} {table} {address}+{count}")
        if table.is_bit_table:
            return bytes(response.bits[:count])
        raw: bytes | None = getattr(response, "raw", None)
        if raw is None:  # a response class other than ours
            registers = response.registers
            return _words(len(registers)).pack(*registers)
        return raw

    def _request(self, table: Table, address: int, count: int, unit: int) -> ModbusPDU:
        request = self._requests[(table, address, count, unit)] = _REQUESTS[table](
            address=address, count=count, dev_id=unit
        )
        return request


def open_link(device: Device) -> ModbusLink:
    """A new (not yet connected) link for ``device``'s endpoint."""
    timeout = device.config.timeout_s
    if device.config.serial is not None:
        serial = device.config.serial
        client: Any = AsyncModbusSerialClient(
            serial.port,
            baudrate=serial.baudrate,
            parity=serial.parity,
            stopbits=serial.stopbits,
            bytesize=serial.bytesize,
            timeout=timeout,
            retries=0,
            reconnect_delay=0,
        )
    else:
        assert device.config.tcp is not None
        tcp = device.config.tcp
        client = MbapClient(tcp.host, tcp.port, timeout)
    client.register(RawHoldingRegistersResponse)
    client.register(RawInputRegistersResponse)
    return ModbusLink(device.config.link_key, client)
