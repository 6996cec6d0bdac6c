"""Codec: every data type in every byte and word order, against known register vectors.

The vectors are written out by hand from IEEE 754 / two's complement, in wire order
(the 16-bit registers as the device sends them), not produced by the encoder.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.datatypes import TYPE_INFO, ByteOrder, DataType, WordOrder
from gateway.edge.codec import PointCodec, codec_for, swap_bytes
from gateway.errors import DecodeError
from gateway.profiles import DeviceProfile

BB = ("big", "big")  # ABCD: the Modbus convention, high word first
BL = ("big", "little")  # CDAB: word-swapped
LB = ("little", "big")  # BADC: byte-swapped
LL = ("little", "little")  # DCBA: fully little-endian

PI32 = 3.1415927410125732  # float32(pi) = 0x40490FDB
PI64 = math.pi  # 0x400921FB54442D18

VECTORS: list[tuple[str, tuple[str, str], list[int], float]] = [
    ("int16", BB, [0xFFFE], -2),
    ("int16", LB, [0xFEFF], -2),
    ("int16", BB, [0x8000], -32768),
    ("int16", BB, [0x7FFF], 32767),
    ("int16", BL, [0x1234], 0x1234),  # word order means nothing for one register
    ("uint16", BB, [0xBEEF], 0xBEEF),
    ("uint16", LB, [0xEFBE], 0xBEEF),
    ("uint16", LL, [0xEFBE], 0xBEEF),
    ("int32", BB, [0xFFFF, 0xFFFE], -2),
    ("int32", BL, [0xFFFE, 0xFFFF], -2),
    ("int32", LB, [0xFFFF, 0xFEFF], -2),
    ("int32", LL, [0xFEFF, 0xFFFF], -2),
    ("int32", BB, [0x1234, 0x5678], 0x12345678),
    ("int32", BL, [0x5678, 0x1234], 0x12345678),
    ("int32", LB, [0x3412, 0x7856], 0x12345678),
    ("int32", LL, [0x7856, 0x3412], 0x12345678),
    ("int32", BB, [0x8000, 0x0000], -(2**31)),
    ("uint32", BB, [0xDEAD, 0xBEEF], 0xDEADBEEF),
    ("uint32", BL, [0xBEEF, 0xDEAD], 0xDEADBEEF),
    ("uint32", LB, [0xADDE, 0xEFBE], 0xDEADBEEF),
    ("uint32", LL, [0xEFBE, 0xADDE], 0xDEADBEEF),
    ("float32", BB, [0x3F80, 0x0000], 1.0),
    ("float32", BL, [0x0000, 0x3F80], 1.0),
    ("float32", LB, [0x803F, 0x0000], 1.0),
    ("float32", LL, [0x0000, 0x803F], 1.0),
    ("float32", BB, [0xC000, 0x0000], -2.0),
    ("float32", BB, [0x4049, 0x0FDB], PI32),
    ("float32", BL, [0x0FDB, 0x4049], PI32),
    ("float32", LB, [0x4940, 0xDB0F], PI32),
    ("float32", LL, [0xDB0F, 0x4940], PI32),
    ("float32", BB, [0x41BC, 0x0000], 23.5),
    ("float64", BB, [0x3FF0, 0x0000, 0x0000, 0x0000], 1.0),
    ("float64", BB, [0x4009, 0x21FB, 0x5444, 0x2D18], PI64),
    ("float64", BL, [0x2D18, 0x5444, 0x21FB, 0x4009], PI64),
    ("float64", LB, [0x0940, 0xFB21, 0x4454, 0x182D], PI64),
    ("float64", LL, [0x182D, 0x4454, 0xFB21, 0x0940], PI64),
    ("bitfield", BB, [0x8001], 0x8001),
    ("bitfield", LB, [0x0180], 0x8001),
]


def _profile(
    type_: str, orders: tuple[str, str] = BB, *, table: str = "holding", **point: Any
) -> DeviceProfile:
    return DeviceProfile.model_validate(
        {
            "vendor": "test",
            "model": "codec",
            "byte_order": orders[0],
            "word_order": orders[1],
            "points": [
                {"key": "p", "name": "P", "kind": "status", "table": table, "address": 0}
                | {"type": type_}
                | point
            ],
        }
    )


def _codec(type_: str, orders: tuple[str, str] = BB, **point: Any) -> PointCodec:
    profile = _profile(type_, orders, **point)
    return codec_for(profile, profile.points[0])


def _id(vector: tuple[str, tuple[str, str], list[int], float]) -> str:
    type_, (byte, word), words, _ = vector
    return f"{type_}-byte_{byte}-word_{word}-" + "_".join(f"{w:04X}" for w in words)


@pytest.mark.parametrize(("type_", "orders", "words", "value"), VECTORS, ids=map(_id, VECTORS))
def test_decode_known_vector(type_: str, orders: tuple[str, str], words: list[int], value: float):
    assert _codec(type_, orders).decode(words) == value


@pytest.mark.parametrize(("type_", "orders", "words", "value"), VECTORS, ids=map(_id, VECTORS))
def test_encode_known_vector(type_: str, orders: tuple[str, str], words: list[int], value: float):
    assert _codec(type_, orders).encode(value) == words


def test_vectors_cover_every_type_and_order() -> None:
    covered = {(DataType(t), o) for t, o, _, _ in VECTORS}
    for data_type in DataType:
        if data_type is DataType.BOOL:
            continue  # bool has its own tests below
        orders = [BB, LB] if TYPE_INFO[data_type].registers == 1 else [BB, BL, LB, LL]
        for order in orders:
            assert (data_type, order) in covered, (data_type, order)


@pytest.mark.parametrize(
    ("orders", "point_orders", "words"),
    [
        (BB, {"word_order": "little"}, [0x0000, 0x3F80]),
        (BB, {"byte_order": "little"}, [0x803F, 0x0000]),
        (LL, {"byte_order": "big", "word_order": "big"}, [0x3F80, 0x0000]),
    ],
)
def test_point_order_overrides_profile_order(
    orders: tuple[str, str], point_orders: dict[str, str], words: list[int]
) -> None:
    codec = _codec("float32", orders, **point_orders)
    assert codec.decode(words) == 1.0
    assert codec.encode(1.0) == words


@pytest.mark.parametrize(
    ("type_", "scale", "offset", "words", "value"),
    [
        ("int16", 0.1, 0.0, [0x00FD], 25.3),
        ("int16", 0.1, 0.0, [0xFFF1], -1.5),
        ("int16", 0.1, -40.0, [0x028D], 25.3),  # raw 653 x 0.1 - 40
        ("uint16", 0.001, 0.0, [0x0FA0], 4.0),  # 4000 µA = 4 mA
        ("uint16", 0.00625, -25.0, [0x4E20], 100.0),  # 20 mA = 100 %LEL
        ("uint16", 0.00625, -25.0, [0x0FA0], 0.0),  # 4 mA = 0 %LEL
        ("uint32", 0.01, 0.0, [0x0001, 0x1170], 700.0),
        ("int32", 0.01, 0.0, [0xFFFF, 0xFF6A], -1.5),
        ("float32", 1000.0, 0.0, [0x3F80, 0x0000], 1000.0),  # MPa read as kPa
        ("float32", 1.0, -273.15, [0x4392, 0x0000], 18.85),  # 292.0 K in degC
    ],
)
def test_scale_and_offset(
    type_: str, scale: float, offset: float, words: list[int], value: float
) -> None:
    codec = _codec(type_, scale=scale, offset=offset)
    assert codec.decode(words) == pytest.approx(value, rel=1e-9)
    assert codec.encode(value) == words


def test_decode_raw_ignores_scaling() -> None:
    codec = _codec("int16", scale=0.1, offset=5.0)
    assert codec.decode_raw([0xFFF6]) == -10.0
    assert codec.decode([0xFFF6]) == 4.0


@pytest.mark.parametrize(
    ("type_", "value", "words"),
    [
        ("int16", 40000.0, [0x7FFF]),
        ("int16", -40000.0, [0x8000]),
        ("uint16", -5.0, [0x0000]),
        ("uint16", 70000.0, [0xFFFF]),
        ("int32", 1e12, [0x7FFF, 0xFFFF]),
        ("int32", -1e12, [0x8000, 0x0000]),
        ("uint32", -1.0, [0x0000, 0x0000]),
        ("uint32", 1e12, [0xFFFF, 0xFFFF]),
        ("bitfield", 1e6, [0xFFFF]),
        ("int16", 2.4, [0x0002]),
        ("int16", 2.6, [0x0003]),
        ("int16", -2.6, [0xFFFD]),
    ],
)
def test_integer_encode_rounds_and_clamps(type_: str, value: float, words: list[int]) -> None:
    assert _codec(type_).encode(value) == words


def test_integer_encode_rounds_after_scaling() -> None:
    assert _codec("int16", scale=0.1).encode(2.46) == [25]


def test_nan_cannot_be_encoded_as_integer() -> None:
    with pytest.raises(DecodeError, match="'p': NaN cannot be encoded as int16"):
        _codec("int16").encode(math.nan)


def test_float_nan_and_infinity_pass_through() -> None:
    codec = _codec("float32")
    assert codec.encode(math.inf) == [0x7F80, 0x0000]
    assert codec.decode([0xFF80, 0x0000]) == -math.inf
    assert math.isnan(codec.decode([0x7FC0, 0x0000]))
    assert math.isnan(codec.decode(codec.encode(math.nan)))


@pytest.mark.parametrize(
    ("orders", "bit", "word", "value"),
    [
        (BB, 0, 0x0001, 1.0),
        (BB, 0, 0xFFFE, 0.0),
        (BB, 3, 0x0008, 1.0),
        (BB, 3, 0xFFF7, 0.0),
        (BB, 15, 0x8000, 1.0),
        (BB, 8, 0x0100, 1.0),
        (BB, 8, 0x0001, 0.0),
        # Byte-swapped registers: `bit` numbers the bits of the value, as a bitfield sees it.
        (LB, 0, 0x0100, 1.0),
        (LB, 0, 0x0001, 0.0),
        (LB, 15, 0x0080, 1.0),
    ],
)
def test_bool_bit_of_a_register(orders: tuple[str, str], bit: int, word: int, value: float):
    codec = _codec("bool", orders, bit=bit)
    assert codec.width == 1
    assert codec.decode([word]) == value


@pytest.mark.parametrize("orders", [BB, LB])
@pytest.mark.parametrize("bit", [0, 1, 7, 8, 15])
def test_bool_bit_encode_sets_only_its_bit(orders: tuple[str, str], bit: int) -> None:
    codec = _codec("bool", orders, bit=bit)
    bitfield = _codec("bitfield", orders)
    assert codec.encode(0.0) == [0]
    assert bitfield.decode(codec.encode(1.0)) == 1 << bit
    assert codec.decode(codec.encode(1.0)) == 1.0


@pytest.mark.parametrize("table", ["coil", "discrete"])
def test_bool_in_a_bit_table(table: str) -> None:
    profile = _profile("bool", table=table)
    codec = codec_for(profile, profile.points[0])
    assert codec.width == 1
    assert codec.decode([1]) == 1.0
    assert codec.decode([0]) == 0.0
    assert codec.encode(1.0) == [1]
    assert codec.encode(0.7) == [1]
    assert codec.encode(0.2) == [0]


def test_swap_bytes() -> None:
    assert swap_bytes(0x1234) == 0x3412
    assert swap_bytes(0x00FF) == 0xFF00
    assert swap_bytes(swap_bytes(0xBEEF)) == 0xBEEF


@pytest.mark.parametrize("data_type", list(DataType))
def test_width_comes_from_the_type_table(data_type: DataType) -> None:
    point = {"bit": 0} if data_type is DataType.BOOL else {}
    assert _codec(data_type.value, **point).width == TYPE_INFO[data_type].registers


ORDERS = [(b.value, w.value) for b in ByteOrder for w in WordOrder]


@given(
    order=st.sampled_from(ORDERS),
    value=st.floats(width=32, allow_nan=False),
)
def test_float32_roundtrip(order: tuple[str, str], value: float) -> None:
    codec = _codec("float32", order)
    assert codec.decode(codec.encode(value)) == value


@given(order=st.sampled_from(ORDERS), value=st.floats(allow_nan=False))
def test_float64_roundtrip(order: tuple[str, str], value: float) -> None:
    codec = _codec("float64", order)
    assert codec.decode(codec.encode(value)) == value


INT_RANGES = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1)}
INT_RANGES |= {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}
INT_RANGES |= {"bitfield": (0, 2**16 - 1)}


@given(data=st.data(), order=st.sampled_from(ORDERS), type_=st.sampled_from(sorted(INT_RANGES)))
def test_integer_roundtrip(data: st.DataObject, order: tuple[str, str], type_: str) -> None:
    low, high = INT_RANGES[type_]
    value = data.draw(st.integers(low, high))
    codec = _codec(type_, order)
    words = codec.encode(value)
    assert all(0 <= w <= 0xFFFF for w in words)
    assert len(words) == codec.width
    assert codec.decode(words) == value
