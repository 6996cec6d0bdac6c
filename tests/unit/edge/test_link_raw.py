"""The raw register responses registered on our pymodbus clients.

They must parse exactly what pymodbus' own responses parse, keep the payload bytes
for the block decoder, fail on the same malformed frames, and print cheaply.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
)

from gateway.config import Device, DeviceConfig, TcpEndpoint
from gateway.datatypes import Table
from gateway.edge.link import (
    ModbusLink,
    RawHoldingRegistersResponse,
    RawInputRegistersResponse,
    open_link,
)
from gateway.errors import DeviceExceptionResponse
from gateway.profiles import DeviceProfile

PAIRS = [
    (RawHoldingRegistersResponse, ReadHoldingRegistersResponse),
    (RawInputRegistersResponse, ReadInputRegistersResponse),
]


@pytest.mark.parametrize(("raw_class", "stock_class"), PAIRS)
@given(registers=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125))
def test_raw_response_parses_like_pymodbus(
    raw_class: type, stock_class: type, registers: list[int]
) -> None:
    body = bytes([2 * len(registers)]) + struct.pack(f">{len(registers)}H", *registers)
    ours, stock = raw_class(), stock_class()
    ours.decode(body)
    stock.decode(body)
    assert list(ours.registers) == stock.registers == registers
    assert ours.raw == body[1:]
    assert ours.function_code == stock.function_code


@pytest.mark.parametrize("body", [b"\x04\x00\x01\x00", b"\x03\x00\x01\x00\x02", b"\x02"])
def test_raw_response_rejects_a_bad_byte_count(body: bytes) -> None:
    with pytest.raises(ModbusIOException):
        RawHoldingRegistersResponse().decode(body)


def test_registered_decoder_builds_raw_responses_and_a_cheap_str() -> None:
    decoder = DecodePDU(False)
    decoder.register(RawHoldingRegistersResponse)
    decoder.register(RawInputRegistersResponse)
    frame = b"\x03\xfa" + bytes(range(250))
    pdu = decoder.decode(frame)
    assert isinstance(pdu, RawHoldingRegistersResponse)
    assert pdu.raw == bytes(range(250)) and len(pdu.registers) == 125
    assert str(pdu) == "RawHoldingRegistersResponse(dev_id=0, transaction_id=0, bytes=250)"
    assert isinstance(decoder.decode(b"\x04\x02\x12\x34"), RawInputRegistersResponse)
    # Only this decoder changed: pymodbus' class table (the server's) is untouched.
    assert DecodePDU(False).pdu_table[3][1] is ReadHoldingRegistersResponse


class _Response:
    def __init__(self, *, registers: list[int] | None = None, error: int = 0) -> None:
        self.registers = registers or []
        self.bits = [True, False, True]
        self.exception_code = error

    def isError(self) -> bool:  # noqa: N802 - pymodbus' name
        return bool(self.exception_code)


class _Client:
    """pymodbus' client as the link uses it: ``execute(no_response_expected, request)``."""

    connected = True

    def __init__(self, response: _Response) -> None:
        self.response = response
        self.requests: list[ModbusPDU] = []

    async def execute(self, no_response_expected: bool, request: ModbusPDU) -> _Response:
        assert no_response_expected is False
        self.requests.append(request)
        return self.response


async def test_read_raw_packs_a_foreign_response_and_bits() -> None:
    client = _Client(_Response(registers=[0x1234, 0xBEEF]))
    link = ModbusLink("tcp:test", client)
    assert await link.read_raw(Table.HOLDING, 0, 2, 1) == b"\x12\x34\xbe\xef"
    assert await link.read(Table.INPUT, 0, 2, 1) == [0x1234, 0xBEEF]
    assert await link.read_raw(Table.COIL, 0, 2, 1) == b"\x01\x00"
    assert await link.read(Table.DISCRETE, 0, 3, 1) == [1, 0, 1]
    assert [r.function_code for r in client.requests] == [3, 4, 1, 2]


async def test_each_block_builds_its_request_once() -> None:
    client = _Client(_Response(registers=[0] * 10))
    link = ModbusLink("tcp:test", client)
    for _ in range(3):
        await link.read_raw(Table.HOLDING, 100, 10, 7)
        await link.read_raw(Table.HOLDING, 200, 10, 7)
    first, second = client.requests[0], client.requests[1]
    assert client.requests == [first, second] * 3  # the same two objects, every poll
    assert isinstance(first, ReadHoldingRegistersRequest)
    assert (first.address, first.count, first.dev_id) == (100, 10, 7)
    assert (second.address, second.count, second.dev_id) == (200, 10, 7)
    await link.read_raw(Table.HOLDING, 100, 10, 8)  # another unit: another request
    assert client.requests[-1].dev_id == 8 and client.requests[-1] is not first


async def test_read_raw_maps_an_exception_response() -> None:
    link = ModbusLink("tcp:test", _Client(_Response(error=2)))
    with pytest.raises(DeviceExceptionResponse) as caught:
        await link.read_raw(Table.HOLDING, 10, 5, 3)
    assert caught.value.code == 2


async def test_open_link_registers_the_raw_responses() -> None:
    profile = DeviceProfile.model_validate(
        {
            "vendor": "t",
            "model": "m",
            "points": [
                {"key": "p", "name": "P", "kind": "status", "table": "holding"}
                | {"address": 0, "type": "uint16"}
            ],
        }
    )
    config = DeviceConfig(name="d", profile="m", tcp=TcpEndpoint(host="127.0.0.1", port=1502))
    link = open_link(Device(config, profile, profile.points))  # register() did not raise
    assert link.key == "tcp:127.0.0.1:1502"
    assert not link.connected
