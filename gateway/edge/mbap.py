"""Modbus TCP transactions on one asyncio connection: our MBAP framing, pymodbus' PDUs.

A wide site at 1 Hz spends most of a poll's CPU in the Modbus client. pymodbus'
``AsyncModbusTcpClient`` waits for each answer with ``asyncio.wait_for`` (a task
wrapper, pure Python in 3.11), takes a second lock, hex-dumps every packet into a
ring and hands the bytes through three layers: about 80 µs of CPU per read more than
a bare asyncio protocol on this machine (bench/README.md, "Fifth pass"). This client
keeps what is Modbus in pymodbus: the request PDUs encode themselves, the answers are
decoded by pymodbus' ``DecodePDU`` into its response classes (exception responses
too). What is ours is the 7-byte MBAP header and the wait for the answer: one future
and one timer per transaction.

It speaks the interface ``ModbusLink`` uses of pymodbus' clients (``connected``,
``connect``, ``close``, ``execute``, ``register``) and raises pymodbus' exceptions
(``ModbusIOException`` for no answer, ``ConnectionException`` for a lost or broken
connection), so a serial link keeps pymodbus' own client behind the same code.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import cast

from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import DecodePDU, ModbusPDU

__all__ = ["MbapClient"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">HHHB")  # transaction id, protocol id (0), length, unit id
HEADER_SIZE = _HEADER.size
MAX_LENGTH = 254  # the length field counts the unit id and the PDU (at most 253 bytes)
MAX_TID = 0xFFFF


class _Pending:
    """The one transaction in flight: what answer it waits for, and where it goes."""

    __slots__ = ("function_code", "future", "tid", "unit")

    def __init__(
        self, tid: int, unit: int, function_code: int, future: asyncio.Future[ModbusPDU]
    ) -> None:
        self.tid = tid
        self.unit = unit
        self.function_code = function_code
        self.future = future


class _MbapProtocol(asyncio.Protocol):
    """Cuts the byte stream into MBAP frames and answers the pending transaction.

    A frame for another transaction (a late answer to a read that timed out) is
    dropped. A stream that is not MBAP (protocol id not 0, a length out of range)
    cannot be resynchronised: the connection is closed and the pending read fails.
    """

    def __init__(self, decoder: DecodePDU, classes: dict[int, type[ModbusPDU]], name: str) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: _Pending | None = None
        self.classes = classes
        self._decoder = decoder
        self._name = name
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP connection's transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._buffer = b""
        reason = f"{self._name}: connection closed" + (f" ({exc})" if exc else "")
        self._fail(ConnectionException(reason))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while len(buffer) >= HEADER_SIZE:
            tid, protocol, length, unit = _HEADER.unpack_from(buffer)
            if protocol != 0 or not 2 <= length <= MAX_LENGTH:
                self._broken(f"not a Modbus TCP frame (protocol id {protocol}, length {length})")
                return
            end = 6 + length
            if len(buffer) < end:
                break
            self._frame(tid, unit, buffer[HEADER_SIZE:end])
            buffer = buffer[end:]
        self._buffer = buffer

    def _frame(self, tid: int, unit: int, pdu: bytes) -> None:
        pending = self.pending
        if pending is None or tid != pending.tid or pending.future.done():
            log.debug("%s: dropped an answer to no pending request (tid %d)", self._name, tid)
            return
        if pending.unit and unit != pending.unit:  # unit 0: whoever answers (as pymodbus)
            message = f"answer from unit {unit} to a request to unit {pending.unit}"
            pending.future.set_exception(ModbusIOException(message))
            return
        if pdu[0] & 0x7F != pending.function_code:  # an answer, or an exception, to another
            message = f"answer with function code {pdu[0]} to function code {pending.function_code}"
            pending.future.set_exception(ModbusIOException(message))
            return
        response = self._decode(pdu)
        if response is None:
            pending.future.set_exception(
                ModbusException(f"cannot decode the answer {pdu[:16].hex()}")
            )
            return
        response.transaction_id = tid
        response.dev_id = unit
        pending.future.set_result(response)

    def _decode(self, pdu: bytes) -> ModbusPDU | None:
        # A registered class (the raw register responses) is built straight away:
        # DecodePDU would do the same, after building a debug line of its repr.
        response_class = self.classes.get(pdu[0])
        if response_class is None:
            return self._decoder.decode(pdu)
        response = response_class()
        try:
            response.decode(pdu[1:])
        except (ModbusException, ValueError, IndexError, struct.error) as exc:
            log.warning("%s: cannot decode an answer: %s", self._name, exc)
            return None
        return response

    def _broken(self, why: str) -> None:
        log.warning("%s: %s; closing the connection", self._name, why)
        self._buffer = b""
        self._fail(ConnectionException(f"{self._name}: {why}"))
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        pending = self.pending
        if pending is not None and not pending.future.done():
            pending.future.set_exception(exc)


def _time_out(future: asyncio.Future[ModbusPDU], timeout: float) -> None:
    if not future.done():
        future.set_exception(ModbusIOException(f"no answer within {timeout:g} s"))


class MbapClient:
    """One Modbus TCP connection, one transaction at a time (the caller serialises)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._decoder = DecodePDU(False)
        self._classes: dict[int, type[ModbusPDU]] = {}
        self._protocol: _MbapProtocol | None = None
        self._tid = 0

    @property
    def connected(self) -> bool:
        """Whether the connection is up."""
        protocol = self._protocol
        return protocol is not None and protocol.transport is not None

    def register(self, response_class: type[ModbusPDU]) -> None:
        """Decode answers with this function code into ``response_class``."""
        self._decoder.register(response_class)
        self._classes[response_class.function_code] = response_class

    async def connect(self) -> bool:
        """Open the connection; raises OSError (TimeoutError included) when that fails."""
        if self.connected:
            return True
        loop = asyncio.get_running_loop()
        protocol = _MbapProtocol(self._decoder, self._classes, f"{self.host}:{self.port}")
        await asyncio.wait_for(
            loop.create_connection(lambda: protocol, self.host, self.port), self.timeout
        )
        self._protocol = protocol
        self._tid = 0
        return True

    def close(self) -> None:
        """Close the connection; a read in flight fails with ConnectionException."""
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()

    async def execute(self, no_response_expected: bool, request: ModbusPDU) -> ModbusPDU:
        """Send ``request`` and return its answer (pymodbus' client signature).

        ``no_response_expected`` is refused: every read has an answer.
        """
        protocol = self._protocol
        if no_response_expected:
            msg = "MbapClient sends requests that have an answer"
            raise ValueError(msg)
        if protocol is None or protocol.transport is None:
            msg = f"{self.host}:{self.port}: not connected"
            raise ConnectionException(msg)
        if protocol.pending is not None:
            msg = "one transaction at a time per connection"
            raise ModbusException(msg)
        self._tid = tid = self._tid % MAX_TID + 1
        request.transaction_id = tid
        body = request.function_code.to_bytes(1, "big") + request.encode()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ModbusPDU] = loop.create_future()
        protocol.pending = _Pending(tid, request.dev_id, request.function_code, future)
        protocol.transport.write(_HEADER.pack(tid, 0, len(body) + 1, request.dev_id) + body)
        timer = loop.call_later(self.timeout, _time_out, future, self.timeout)
        try:
            return await future
        finally:
            timer.cancel()
            protocol.pending = None
