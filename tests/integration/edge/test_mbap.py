"""Our Modbus TCP client (gateway.edge.mbap) against a scripted server on a real socket.

The simulator (pymodbus' server) answers every read correctly; these tests make the
server answer the way field devices and TCP gateways do on a bad day: in pieces, late,
twice, with an exception, with the wrong unit, with garbage, or not at all.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from gateway.config import Device, DeviceConfig, TcpEndpoint, resolve_profile
from gateway.datatypes import Table
from gateway.edge.link import ModbusLink, open_link
from gateway.edge.mbap import MbapClient
from gateway.errors import DeviceConnectError, DeviceError, DeviceExceptionResponse, DeviceTimeout

pytestmark = pytest.mark.integration

Frame = tuple[int, int, bytes]  # transaction id, unit, PDU of a request
Script = Callable[[Frame, asyncio.StreamWriter], Awaitable[None]]
GAS = "generic-combustible-gas"


def mbap(tid: int, unit: int, pdu: bytes, protocol: int = 0) -> bytes:
    return struct.pack(">HHHB", tid, protocol, len(pdu) + 1, unit) + pdu


def registers(*words: int) -> bytes:
    """A function-code-3 answer PDU."""
    return bytes([3, 2 * len(words)]) + struct.pack(f">{len(words)}H", *words)


@asynccontextmanager
async def server(script: Script) -> AsyncIterator[tuple[int, list[Frame]]]:
    """A loopback server that hands each request frame to ``script``; yields its port."""
    seen: list[Frame] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                frame = (tid, unit, await reader.readexactly(length - 1))
                seen.append(frame)
                await script(frame, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        listener.close()
        await listener.wait_closed()


def link_to(port: int, timeout_s: float = 0.5) -> ModbusLink:
    profile = resolve_profile(GAS)
    config = DeviceConfig(
        name="dev1", profile=GAS, tcp=TcpEndpoint(host="127.0.0.1", port=port), timeout_s=timeout_s
    )
    return open_link(Device(config, profile, profile.points))


async def test_an_answer_in_pieces_and_a_late_one_before_it_give_the_right_registers() -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        tid, unit, _ = frame
        answer = mbap(tid, unit, registers(tid, 0xBEEF))
        if tid == 1:  # first read: three pieces, each sent on its own
            for piece in (answer[:3], answer[3:8], answer[8:]):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.01)
        else:  # then: a stale answer to an older transaction glued before the real one
            writer.write(mbap(tid - 1, unit, registers(0xDEAD, 0xDEAD)) + answer)

    async with server(script) as (port, seen):
        link = link_to(port)
        await link.connect()
        try:
            assert await link.read_raw(Table.HOLDING, 0, 2, 7) == b"\x00\x01\xbe\xef"
            assert await link.read(Table.HOLDING, 0, 2, 7) == [2, 0xBEEF]
        finally:
            link.close()
    assert [(tid, unit) for tid, unit, _ in seen] == [(1, 7), (2, 7)]
    assert seen[0][2] == b"\x03" + struct.pack(">HH", 0, 2)  # function code, address, count


async def test_no_answer_times_out_and_the_late_answer_is_not_taken_for_the_next() -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        # Read 1 (at 0 s) is answered at 0.6 s, long after its 0.25 s timeout, while
        # read 2 (sent at 0.25 s, 1 s timeout) waits for its own answer, due at 0.75 s.
        tid, unit, _ = frame
        answer = mbap(tid, unit, registers(tid))
        asyncio.get_running_loop().call_later(0.6 if tid == 1 else 0.5, writer.write, answer)

    async with server(script) as (port, _):
        link = link_to(port, timeout_s=0.25)
        await link.connect()
        try:
            started = time.monotonic()
            with pytest.raises(DeviceTimeout, match="no answer"):
                await link.read(Table.HOLDING, 0, 1, 1)
            assert 0.2 < time.monotonic() - started < 0.55
            assert link.connected  # a timeout alone keeps the connection (the poller decides)
            link._client.timeout = 1.0
            assert await link.read(Table.HOLDING, 0, 1, 1) == [2]  # not tid 1's late answer
        finally:
            link.close()


async def test_an_exception_response_names_its_code() -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        tid, unit, _ = frame
        writer.write(mbap(tid, unit, b"\x83\x02"))  # ILLEGAL DATA ADDRESS

    async with server(script) as (port, _):
        link = link_to(port)
        await link.connect()
        try:
            with pytest.raises(DeviceExceptionResponse) as caught:
                await link.read_raw(Table.HOLDING, 100, 4, 1)
            assert caught.value.code == 2
            assert link.connected
        finally:
            link.close()


async def test_a_request_to_unit_0_takes_the_answer_of_whichever_unit_sends_it() -> None:
    # Modbus TCP devices often ignore the unit id and answer as their own unit; pymodbus'
    # client accepted any unit for a request to unit 0, and so does ours.
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        tid, _, _ = frame
        writer.write(mbap(tid, 17, registers(5)))

    async with server(script) as (port, _):
        link = link_to(port)
        await link.connect()
        try:
            assert await link.read(Table.HOLDING, 0, 1, 0) == [5]
        finally:
            link.close()


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (lambda tid, unit: mbap(tid, unit + 1, registers(1)), "unit 4 to a request to unit 3"),
        (lambda tid, unit: mbap(tid, unit, b"\x04\x02\x00\x01"), "code 4 to function code 3"),
        (lambda tid, unit: mbap(tid, unit, b"\x84\x02"), "code 132 to function code 3"),
    ],
    ids=["other-unit", "input-registers-for-holding", "exception-of-another-function"],
)
async def test_an_answer_that_is_not_to_the_request_is_refused(
    answer: Callable[[int, int], bytes], text: str
) -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        tid, unit, _ = frame
        writer.write(answer(tid, unit))

    async with server(script) as (port, _):
        link = link_to(port)
        await link.connect()
        try:
            with pytest.raises(DeviceTimeout, match=text):
                await link.read(Table.HOLDING, 0, 1, 3)
        finally:
            link.close()


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (mbap(1, 1, registers(1), protocol=7), DeviceConnectError, "protocol id 7"),
        (b"\x00\x01\x00\x00\x00\x00\x01", DeviceConnectError, "length 0"),
        (b"\x00\x01\x00\x00\x01\x00\x01" + bytes(255), DeviceConnectError, "length 256"),
        (mbap(1, 1, b"\x03\x05\x00"), DeviceError, "cannot decode"),
        (mbap(1, 1, b"\x41\x00"), DeviceTimeout, "function code 65 to function code 3"),
    ],
    ids=["protocol-id", "length-0", "length-256", "bad-byte-count", "unknown-function"],
)
async def test_garbage_fails_the_read_at_once_with_a_reason(
    reply: bytes, error: type[DeviceError], text: str
) -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        writer.write(reply)

    async with server(script) as (port, _):
        link = link_to(port, timeout_s=2.0)
        await link.connect()
        try:
            started = time.monotonic()
            with pytest.raises(error, match=text):
                await link.read(Table.HOLDING, 0, 1, 1)
            assert time.monotonic() - started < 1.0  # not the 2 s timeout
            if error is DeviceConnectError:  # a stream that is not MBAP cannot be resynced
                await asyncio.sleep(0.05)
                assert not link.connected
        finally:
            link.close()


async def test_a_connection_closed_mid_read_fails_at_once_and_can_reconnect() -> None:
    frames = 0

    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        nonlocal frames
        frames += 1
        tid, unit, _ = frame
        if frames == 1:
            writer.close()
        else:
            writer.write(mbap(tid, unit, registers(42)))

    async with server(script) as (port, _):
        link = link_to(port, timeout_s=2.0)
        await link.connect()
        started = time.monotonic()
        with pytest.raises(DeviceConnectError, match="connection"):
            await link.read(Table.HOLDING, 0, 1, 1)
        assert time.monotonic() - started < 1.0
        assert not link.connected
        with pytest.raises(DeviceConnectError, match="not connected"):
            await link.read(Table.HOLDING, 0, 1, 1)
        await link.connect()  # a new connection numbers its transactions from 1 again
        try:
            assert await link.read(Table.HOLDING, 0, 1, 1) == [42]
        finally:
            link.close()


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with server(lambda frame, writer: asyncio.sleep(0)) as (port, _):
        pass  # closed again: nobody listens on the port now
    link = link_to(port)
    with pytest.raises(DeviceConnectError, match="cannot connect"):
        await link.connect()
    assert not link.connected


async def test_transaction_ids_wrap_after_65535() -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        tid, unit, _ = frame
        writer.write(mbap(tid, unit, registers(tid)))

    async with server(script) as (port, seen):
        client = MbapClient("127.0.0.1", port, 1.0)
        await client.connect()
        try:
            client._tid = 0xFFFE
            for _ in range(3):
                await client.execute(False, ReadHoldingRegistersRequest(address=0, count=1))
        finally:
            client.close()
    assert [tid for tid, _, _ in seen] == [0xFFFF, 1, 2]


async def test_one_transaction_at_a_time_is_enforced() -> None:
    async def script(frame: Frame, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.1)
        tid, unit, _ = frame
        writer.write(mbap(tid, unit, registers(1)))

    async with server(script) as (port, _):
        client = MbapClient("127.0.0.1", port, 1.0)
        await client.connect()
        try:
            first = asyncio.create_task(
                client.execute(False, ReadHoldingRegistersRequest(address=0, count=1))
            )
            await asyncio.sleep(0.01)
            with pytest.raises(Exception, match="one transaction at a time"):
                await client.execute(False, ReadHoldingRegistersRequest(address=0, count=1))
            assert (await first).registers == [1]
            with pytest.raises(ValueError, match="have an answer"):
                await client.execute(True, ReadHoldingRegistersRequest(address=0, count=1))
        finally:
            client.close()
