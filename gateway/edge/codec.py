"""Turn Modbus registers into engineering values and back.

The edge agent decodes every poll, so the decoder is prepared once per point
(struct format, byte and word swaps, scaling) and then does as little as possible.
The simulator uses the encoder, so both directions share this one table of rules.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from gateway.datatypes import TYPE_INFO, ByteOrder, DataType, WordOrder
from gateway.errors import DecodeError
from gateway.profiles import DeviceProfile, Point

__all__ = ["PointCodec", "codec_for", "swap_bytes"]


def swap_bytes(word: int) -> int:
    """Swap the two bytes of a 16-bit register."""
    return ((word & 0xFF) << 8) | (word >> 8)


@dataclass(frozen=True)
class PointCodec:
    """Decoder and encoder of one point; registers are handled as unsigned 16-bit ints."""

    point: Point
    width: int
    unpacker: struct.Struct
    byte_swap: bool
    word_swap: bool
    raw_min: float
    raw_max: float

    def decode_raw(self, words: list[int] | tuple[int, ...]) -> float:
        """The raw (unscaled) value of the point's registers, in wire order."""
        point = self.point
        if point.type is DataType.BOOL:
            if point.bit is None:  # a coil or discrete input: the word is the bit
                return float(bool(words[0]))
            # `bit` numbers the bits of the register's value, as a bitfield point sees it.
            word = swap_bytes(words[0]) if self.byte_swap else words[0]
            return float((word >> point.bit) & 1)
        ordered = list(words)
        if self.byte_swap:
            ordered = [swap_bytes(w) for w in ordered]
        if self.word_swap:
            ordered.reverse()
        if self.width == 1:
            word = ordered[0]
            if point.type is DataType.INT16 and word >= 0x8000:
                return float(word - 0x10000)
            return float(word)
        packed = struct.pack(f">{self.width}H", *ordered)
        return float(self.unpacker.unpack(packed)[0])

    def decode(self, words: list[int] | tuple[int, ...]) -> float:
        """The engineering value: raw * scale + offset."""
        return self.decode_raw(words) * self.point.scale + self.point.offset

    def encode(self, value: float) -> list[int]:
        """Registers (wire order) that decode to ``value``; integers are rounded and clamped."""
        point = self.point
        raw = (value - point.offset) / point.scale
        if point.type is DataType.BOOL:
            on = 1 if raw >= 0.5 else 0
            if point.bit is None:
                return [on]
            # Only this point's bit is set; the caller ORs the bits of a shared register.
            word = on << point.bit
            return [swap_bytes(word) if self.byte_swap else word]
        if TYPE_INFO[point.type].is_integer:
            raw = self._clamp_integer(raw)
        packed = self.unpacker.pack(int(raw) if TYPE_INFO[point.type].is_integer else raw)
        words = list(struct.unpack(f">{self.width}H", packed))
        if self.word_swap:
            words.reverse()
        if self.byte_swap:
            words = [swap_bytes(w) for w in words]
        return words

    def _clamp_integer(self, raw: float) -> float:
        if math.isnan(raw):
            msg = f"point {self.point.key!r}: NaN cannot be encoded as {self.point.type}"
            raise DecodeError(msg)
        return min(max(round(raw), self.raw_min), self.raw_max)


_INTEGER_RANGE = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.BITFIELD: (0, 2**16 - 1),
    DataType.BOOL: (0, 1),
}


def codec_for(profile: DeviceProfile, point: Point) -> PointCodec:
    """Prepare the codec of ``point`` under ``profile``'s byte and word order."""
    info = TYPE_INFO[point.type]
    low, high = _INTEGER_RANGE.get(point.type, (-math.inf, math.inf))
    return PointCodec(
        point=point,
        width=point.width,
        unpacker=struct.Struct(">" + info.struct_code),
        byte_swap=profile.byte_order_of(point) is ByteOrder.LITTLE,
        word_swap=profile.word_order_of(point) is WordOrder.LITTLE,
        raw_min=low,
        raw_max=high,
    )
