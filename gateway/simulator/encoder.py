"""The simulator's own register encoder, written apart from the poller's decoder.

If the simulator encoded with the poller's codec, a symmetric mistake (a word order
handled backwards in both directions) would pass every test. This encoder shares only
the data-type table (widths and struct codes) with the edge: it builds the value's
big-endian bytes, cuts them into 16-bit words, then applies the profile's word order
(reverse the words) and byte order (swap the two bytes of each word).
"""

from __future__ import annotations

import math
import struct

from gateway.datatypes import TYPE_INFO, ByteOrder, DataType, WordOrder
from gateway.profiles import DeviceProfile, Point

__all__ = ["RegisterEncoder", "encoder_for"]

_BITS = {DataType.INT16: 16, DataType.UINT16: 16, DataType.INT32: 32, DataType.UINT32: 32}


class RegisterEncoder:
    """Registers (as the device would send them) for values of one point."""

    def __init__(self, point: Point, byte_order: ByteOrder, word_order: WordOrder) -> None:
        self.point = point
        self.width = point.width
        self.little_bytes = byte_order is ByteOrder.LITTLE
        self.little_words = word_order is WordOrder.LITTLE

    def registers(self, value: float) -> list[int]:
        """The point's registers for engineering value ``value`` (raw = (v - offset) / scale)."""
        raw = (value - self.point.offset) / self.point.scale
        kind = self.point.type
        if kind is DataType.BOOL:
            return self._flag(raw >= 0.5)
        if kind in (DataType.FLOAT32, DataType.FLOAT64):
            data = struct.pack(">" + TYPE_INFO[kind].struct_code, raw)
        else:
            data = _integer_bytes(kind, raw)
        return self._order([data[i : i + 2] for i in range(0, len(data), 2)])

    def flag_mask(self) -> int:
        """The register bits this point's flag occupies, as on the wire."""
        return self._flag(True)[0]

    def _flag(self, on: bool) -> list[int]:
        if self.point.bit is None:  # a coil or discrete input: one bit, no register
            return [int(on)]
        word = (int(on) << self.point.bit).to_bytes(2, "big")
        return self._order([word])

    def _order(self, words: list[bytes]) -> list[int]:
        if self.little_words:
            words = words[::-1]
        if self.little_bytes:
            words = [w[::-1] for w in words]
        return [int.from_bytes(w, "big") for w in words]


def _integer_bytes(kind: DataType, raw: float) -> bytes:
    if math.isnan(raw):
        return bytes(2 * TYPE_INFO[kind].registers)  # a device sends something: zeros
    bits = _BITS.get(kind, 16)
    signed = kind in (DataType.INT16, DataType.INT32)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    number = int(min(max(round(raw), low), high))
    return number.to_bytes(bits // 8, "big", signed=signed)


def encoder_for(profile: DeviceProfile, point: Point) -> RegisterEncoder:
    """The encoder of ``point`` under ``profile``'s (or the point's own) orders."""
    byte_order = point.byte_order or profile.byte_order
    word_order = point.word_order or profile.word_order
    return RegisterEncoder(point, byte_order, word_order)
