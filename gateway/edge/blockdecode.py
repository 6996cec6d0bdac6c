"""Decode a whole block read at once: numpy gathers instead of one codec call per point.

A :class:`BlockDecoder` is compiled once per planned read. Every register point gets
the indices of its bytes in the response payload, in the order that makes the value
big-endian: word and byte swaps are folded into that index, so all points of one
numpy dtype (``>i2 >u2 >i4 >u4 >f4 >f8``) form one group whatever their byte and
word order. Decoding a response is then, per group, one byte gather, one ``view``,
``raw * scale + offset`` in float64 and one scatter into the poll's float32 values;
bool points that are a bit of a register are ``(word >> bit) & 1`` on one gather.

A small read (up to ``STRUCT_POINTS`` points, no swapped byte or word order) is decoded
with one ``struct.unpack_from`` and one list instead: numpy's cost per call, paid per group
and operation, is more than the whole of that for a 20-point transmitter (the same bits).

The result is bit-identical to :meth:`PointCodec.decode` stored into a float32 array
(the same float64 operations in the same order, then one rounding to float32): the
per-point codec stays the reference (the simulator encodes with it, and
``tests/unit/edge/test_blockdecode.py`` compares both on random registers, types
and orders). Two deliberate differences, both on values PointCodec cannot store
cleanly either: a value beyond float32's range becomes +/-inf without numpy's
overflow RuntimeWarning, and a signalling-NaN float is quieted silently (as
``struct.unpack`` does) instead of numpy's invalid-value warning.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gateway.datatypes import DataType

if TYPE_CHECKING:
    from gateway.edge.planner import PlannedPoint
    from gateway.profiles import Point

__all__ = ["BlockDecoder"]

_DTYPES: dict[DataType, str] = {
    DataType.INT16: ">i2",
    DataType.UINT16: ">u2",
    DataType.BITFIELD: ">u2",
    DataType.INT32: ">i4",
    DataType.UINT32: ">u4",
    DataType.FLOAT32: ">f4",
    DataType.FLOAT64: ">f8",
}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_RAW_BOUND = {DataType.INT16: 2.0**15, DataType.UINT16: 2.0**16, DataType.BITFIELD: 2.0**16}
_RAW_BOUND |= {DataType.INT32: 2.0**31, DataType.UINT32: 2.0**32, DataType.BOOL: 1.0}

_STRUCT_CODE: dict[DataType, str] = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.BITFIELD: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
    DataType.BOOL: "H",
}
#: Reads of up to this many points take the struct path (per point it costs more than
#: numpy's per element; per read much less, bench/poll.py's wide reads keep numpy).
STRUCT_POINTS = 32
_VALUE = -1  # a _StructPlan point that is its field's number; >= 0: that bit of the word
_NONZERO = -2  # a _StructPlan point that is 1.0 when its field is not 0

_KIND_VALUE = 0  # a numeric point: view the gathered bytes as the group's dtype
_KIND_BIT = 1  # a bool that is one bit of a register
_KIND_NONZERO = 2  # a bool read from a bit table (or a whole register): value != 0


@dataclass(frozen=True, eq=False)
class _Group:
    kind: int
    dtype: np.dtype
    gather: npt.NDArray[np.intp]  # byte indices into the payload (or bit indices)
    index: npt.NDArray[np.intp]  # the points' indices in the poll's value array
    scale: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    bits: npt.NDArray[np.uint16] | None  # shift per point, for _KIND_BIT
    # Set when the group's bytes and its points are each one unbroken run and every
    # point has scale 1 and offset 0 (float32 transmitters in engineering units, the
    # common wide device): then (bytes start, bytes end, first point, end point).
    run: tuple[int, int, int, int] | None = None


@dataclass(frozen=True, eq=False)
class _StructPlan:
    """A small read as one struct: its fields, then per point (field, bit, scale, offset)."""

    unpack: Callable[[bytes | bytearray | memoryview], tuple[Any, ...]]
    target: slice | npt.NDArray[np.intp]  # where the points go in the poll's values
    spec: tuple[tuple[int, int, float, float], ...]
    plain: bool  # every point is its own field, in order: no bits, no shared fields
    guarded: bool  # a value may leave float32's range: store under np.errstate

    @classmethod
    def build(cls, points: Sequence[PlannedPoint], *, bit_table: bool) -> _StructPlan | None:
        """The plan, or None when a point needs the numpy path (a swap, an overlap)."""
        if not points:
            return None
        fields: dict[int, tuple[str, int]] = {}  # byte offset -> (code, size)
        for pp in points:
            codec = pp.codec
            if codec.byte_swap or (codec.word_swap and codec.width > 1):
                return None
            code = "B" if bit_table else _STRUCT_CODE[codec.point.type]
            start = pp.offset if bit_table else 2 * pp.offset
            if fields.setdefault(start, (code, struct.calcsize(">" + code)))[0] != code:
                return None  # one register read as two types
        layout, at = ">", 0
        position: dict[int, int] = {}
        for start, (code, size) in sorted(fields.items()):
            if start < at:
                return None  # fields overlap
            layout += "x" * (start - at) + code
            position[start] = len(position)
            at = start + size
        spec = tuple(cls._point(pp, position, bit_table) for pp in points)
        index = [pp.index for pp in points]
        return cls(
            unpack=struct.Struct(layout).unpack_from,
            target=slice(index[0], index[-1] + 1) if _unbroken(index) else np.array(index),
            spec=spec,
            plain=all(b == _VALUE for _, b, _, _ in spec)
            and [f for f, *_ in spec] == list(range(len(spec))),
            guarded=any(_may_overflow(pp, bit_table) for pp in points),
        )

    @staticmethod
    def _point(
        pp: PlannedPoint, position: dict[int, int], bit_table: bool
    ) -> tuple[int, int, float, float]:
        point = pp.codec.point
        field = position[pp.offset if bit_table else 2 * pp.offset]
        if bit_table or (point.type is DataType.BOOL and point.bit is None):
            how = _NONZERO
        elif point.bit is not None:  # a bool that is one bit of its register
            how = point.bit
        else:
            how = _VALUE
        return field, how, float(point.scale), float(point.offset)

    def decode(self, payload: bytes | bytearray | memoryview, values: npt.NDArray[Any]) -> None:
        """Store the read's engineering values (PointCodec's float64 arithmetic)."""
        raw = self.unpack(payload)
        if self.plain:
            result = [r * k + o for r, (_, _, k, o) in zip(raw, self.spec, strict=True)]
        else:
            result = [_pick(raw[f], how) * k + o for f, how, k, o in self.spec]
        if self.guarded:
            with np.errstate(over="ignore"):
                values[self.target] = result
        else:
            values[self.target] = result


def _pick(word: Any, how: int) -> Any:
    """A _StructPlan point's raw value from its field."""
    if how == _VALUE:
        return word
    if how == _NONZERO:
        return 1.0 if word else 0.0
    return (word >> how) & 1


def _may_overflow(pp: PlannedPoint, bit_table: bool) -> bool:
    """Whether raw * scale + offset of the point can leave float32's range."""
    point = pp.codec.point
    if not bit_table and point.type in (DataType.FLOAT32, DataType.FLOAT64):
        unscaled = point.scale == 1.0 and point.offset == 0.0
        return point.type is DataType.FLOAT64 or not unscaled
    bound = 1.0 if bit_table or point.type is DataType.BOOL else _RAW_BOUND[point.type]
    return _scaling_may_overflow(point, bound)


def _scaling_may_overflow(point: Point, bound: float) -> bool:
    """Whether raw * scale + offset, for |raw| up to ``bound``, can leave float32's range."""
    if not (math.isfinite(point.scale) and math.isfinite(point.offset)):
        return True
    return bound * abs(point.scale) + abs(point.offset) >= _FLOAT32_MAX / 2


class BlockDecoder:
    """Decodes the payload of one planned read into the poll's value array."""

    def __init__(
        self, points: Sequence[PlannedPoint], *, bit_table: bool, struct_points: int = STRUCT_POINTS
    ) -> None:
        self.bit_table = bit_table
        #: Indices (into the poll's arrays) of every point of this read.
        self.index = np.array([pp.index for pp in points], dtype=np.intp)
        #: Payload bytes the read must return (2 per register, 1 per bit) to decode all.
        self.needed = max((self._end(pp) for pp in points), default=0)
        members: dict[tuple[int, str], list[tuple[PlannedPoint, list[int]]]] = {}
        for pp in points:
            kind, dtype, gather = self._layout(pp)
            members.setdefault((kind, dtype), []).append((pp, gather))
        self.groups = tuple(self._group(kind, dtype, m) for (kind, dtype), m in members.items())
        # float inputs can be NaN/sNaN and scaled values can leave float32's range:
        # those groups decode under np.errstate, the others need not pay for it.
        self.guarded = any(
            self._needs_guard(kind, dtype, m) for (kind, dtype), m in members.items()
        )
        small = len(points) <= struct_points
        self.plan = _StructPlan.build(points, bit_table=bit_table) if small else None

    def _end(self, pp: PlannedPoint) -> int:
        width = 1 if self.bit_table else 2 * pp.codec.width
        return (pp.offset if self.bit_table else 2 * pp.offset) + width

    def _layout(self, pp: PlannedPoint) -> tuple[int, str, list[int]]:
        codec = pp.codec
        point = codec.point
        if self.bit_table:
            return _KIND_NONZERO, "u1", [pp.offset]
        first = 2 * pp.offset
        if point.type is DataType.BOOL:
            if point.bit is None:  # PointCodec: the wire word, unswapped, is the bit
                return _KIND_NONZERO, ">u2", [first, first + 1]
            order = [first + 1, first] if codec.byte_swap else [first, first + 1]
            return _KIND_BIT, ">u2", order
        words = list(range(codec.width))
        if codec.word_swap:
            words.reverse()
        gather: list[int] = []
        for w in words:
            hi, lo = first + 2 * w, first + 2 * w + 1
            gather += [lo, hi] if codec.byte_swap else [hi, lo]
        return _KIND_VALUE, _DTYPES[point.type], gather

    @staticmethod
    def _group(kind: int, dtype: str, members: list[tuple[PlannedPoint, list[int]]]) -> _Group:
        gather = [i for _, g in members for i in g]
        bits = None
        if kind == _KIND_BIT:
            bits = np.array([pp.codec.point.bit for pp, _ in members], dtype=np.uint16)
        index = [pp.index for pp, _ in members]
        scale = [pp.codec.point.scale for pp, _ in members]
        offset = [pp.codec.point.offset for pp, _ in members]
        run = None
        if (
            kind == _KIND_VALUE
            and _unbroken(gather)
            and _unbroken(index)
            and all(k == 1.0 for k in scale)
            and all(o == 0.0 for o in offset)
        ):
            run = (gather[0], gather[-1] + 1, index[0], index[-1] + 1)
        return _Group(
            kind=kind,
            dtype=np.dtype(dtype),
            gather=np.array(gather, dtype=np.intp),
            index=np.array(index, dtype=np.intp),
            scale=np.array(scale, dtype=np.float64),
            offset=np.array(offset, dtype=np.float64),
            bits=bits,
            run=run,
        )

    @staticmethod
    def _needs_guard(kind: int, dtype: str, members: list[tuple[PlannedPoint, list[int]]]) -> bool:
        if kind == _KIND_VALUE and dtype[1] == "f":
            return True
        for pp, _ in members:
            point = pp.codec.point
            bound = 1.0 if kind != _KIND_VALUE else _RAW_BOUND[point.type]
            if _scaling_may_overflow(point, bound):
                return True
        return False

    def decode(
        self, payload: bytes | bytearray | memoryview, values: npt.NDArray[np.float32]
    ) -> None:
        """Store every point's engineering value into ``values`` (float32).

        ``payload`` is the read's data: big-endian register bytes as on the wire, or
        one byte (0/1) per bit for a bit table; it must hold at least ``needed`` bytes.
        """
        if self.plan is not None:
            self.plan.decode(payload, values)
            return
        data = np.frombuffer(payload, dtype=np.uint8)
        if self.guarded:
            with np.errstate(over="ignore", invalid="ignore"):
                self._decode(data, values)
        else:
            self._decode(data, values)

    def _decode(self, data: npt.NDArray[np.uint8], values: npt.NDArray[np.float32]) -> None:
        for group in self.groups:
            if group.run is not None:
                # One operation instead of five: x * 1.0 + 0.0 in float64 rounded to
                # float32 is x + 0.0 in float32, bit for bit (-0.0 becomes +0.0 and a
                # signalling NaN is quieted in both).
                start, end, first, last = group.run
                np.add(data[start:end].view(group.dtype), 0.0, out=values[first:last])
                continue
            raw = data[group.gather]
            kind = group.kind
            if kind == _KIND_VALUE:
                number = raw.view(group.dtype)
            elif kind == _KIND_BIT:
                number = (raw.view(group.dtype) >> group.bits) & 1
            else:
                number = raw.view(group.dtype) != 0
            scaled = np.multiply(number, group.scale, dtype=np.float64)
            scaled += group.offset
            values[group.index] = scaled


def _unbroken(indices: list[int]) -> bool:
    """True when ``indices`` count up by one (a slice can stand for them)."""
    return all(b == a + 1 for a, b in itertools.pairwise(indices))
