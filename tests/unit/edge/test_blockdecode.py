"""The vectorised block decoder against the per-point codec, bit for bit.

PointCodec is the reference: its decoded float64 stored into a float32 array must be
exactly what BlockDecoder writes, for every type, byte and word order (profile-wide
and per point), scale and offset, on random registers (NaNs, signalling NaNs,
infinities and -0.0 included).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.datatypes import DataType, Table
from gateway.edge.blockdecode import BlockDecoder
from gateway.edge.planner import ReadRequest, plan_reads
from gateway.profiles import DeviceProfile

REGISTER_TYPES = [t.value for t in DataType]
ORDER = st.sampled_from(["big", "little"])
SCALE = st.one_of(
    st.sampled_from([1.0, 0.1, 0.01, 1000.0, -1.0, 0.00625, 1e30, 1e-30]),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0),
)
OFFSET = st.one_of(
    st.sampled_from([0.0, -0.0, -273.15, -25.0, -40.0, 1e38]),
    st.floats(allow_nan=False, allow_infinity=False),
)
# Register words biased towards the interesting bit patterns of each type.
WORD = st.one_of(
    st.integers(0, 0xFFFF),
    st.sampled_from([0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x7FF0, 0xFFFF, 0x0001]),
)


@st.composite
def register_points(draw: st.DrawFn) -> list[dict[str, Any]]:
    points = []
    for i in range(draw(st.integers(1, 24))):
        type_ = draw(st.sampled_from(REGISTER_TYPES))
        point: dict[str, Any] = {
            "key": f"p{i}",
            "name": f"P{i}",
            "kind": "status",
            "table": draw(st.sampled_from(["holding", "input"])),
            "address": draw(st.integers(0, 60)),
            "type": type_,
            "scale": draw(SCALE),
            "offset": draw(OFFSET),
        }
        if type_ == "bool":
            point["bit"] = draw(st.integers(0, 15))
        if draw(st.booleans()):
            point["byte_order"] = draw(ORDER)
        if draw(st.booleans()):
            point["word_order"] = draw(ORDER)
        points.append(point)
    return points


def _profile(points: list[dict[str, Any]], byte: str = "big", word: str = "big", **kw: Any):
    return DeviceProfile.model_validate(
        {
            "vendor": "test",
            "model": "blockdecode",
            "byte_order": byte,
            "word_order": word,
            "points": points,
        }
        | kw
    )


def _reference(request: ReadRequest, words: list[int], n: int) -> np.ndarray:
    out = np.full(n, np.nan, dtype=np.float32)
    for planned in request.points:
        value = planned.codec.decode(words[planned.offset : planned.offset + planned.codec.width])
        with np.errstate(over="ignore"):  # PointCodec's float64 beyond float32: inf
            out[planned.index] = value
    return out


def _payload(request: ReadRequest, words: list[int]) -> bytes:
    if request.table.is_bit_table:
        return bytes(words)
    return struct.pack(f">{len(words)}H", *words)


def _decoders(request: ReadRequest) -> list[BlockDecoder]:
    """The planned decoder, and the same read forced onto numpy's path (no struct plan)."""
    numpy_only = BlockDecoder(request.points, bit_table=request.table.is_bit_table, struct_points=0)
    assert numpy_only.plan is None
    return [request.decoder, numpy_only]


def _assert_same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist(), (got, want)


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    points=register_points(),
    byte=ORDER,
    word=ORDER,
    max_gap=st.integers(0, 20),
)
def test_block_decode_is_bit_identical_to_point_codec(
    data: st.DataObject, points: list[dict[str, Any]], byte: str, word: str, max_gap: int
) -> None:
    profile = _profile(points, byte, word, max_gap=max_gap)
    n = len(profile.points)
    for request in plan_reads(profile):
        words = data.draw(st.lists(WORD, min_size=request.count, max_size=request.count))
        want = _reference(request, words, n)
        for decoder in _decoders(request):
            got = np.full(n, np.nan, dtype=np.float32)
            assert decoder.needed == 2 * request.count
            decoder.decode(_payload(request, words), got)
            _assert_same_bits(got, want)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    type_=st.sampled_from(["int16", "uint16", "int32", "uint32", "float32", "float64"]),
    count=st.integers(1, 30),
)
def test_unbroken_unscaled_run_is_bit_identical(
    data: st.DataObject, type_: str, count: int
) -> None:
    # The wide transmitter's layout: back-to-back points of one type in engineering units.
    # It decodes through the one-operation run path, NaN, sNaN, inf and -0.0 included.
    width = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}
    points = [
        {"key": f"p{i}", "name": "P", "kind": "status", "table": "holding"}
        | {"address": width[type_] * i, "type": type_}
        for i in range(count)
    ]
    (request,) = plan_reads(_profile(points))
    assert [g.run is not None for g in request.decoder.groups] == [True]
    assert request.decoder.plan is not None, "a small unswapped read takes the struct path"
    words = data.draw(st.lists(WORD, min_size=request.count, max_size=request.count))
    for decoder in _decoders(request):
        got = np.full(count, np.nan, dtype=np.float32)
        decoder.decode(_payload(request, words), got)
        _assert_same_bits(got, _reference(request, words, count))


def test_scaled_or_swapped_points_take_the_general_path() -> None:
    base = {"name": "P", "kind": "status", "table": "holding", "type": "float32"}
    scaled = [base | {"key": "a", "address": 0}, base | {"key": "b", "address": 2, "scale": 0.1}]
    (request,) = plan_reads(_profile(scaled))
    assert [g.run for g in request.decoder.groups] == [None]
    (swapped,) = plan_reads(_profile([base | {"key": "a", "address": 0}], word="little"))
    assert [g.run for g in swapped.decoder.groups] == [None]


@given(data=st.data(), count=st.integers(1, 40), scale=SCALE, offset=OFFSET)
def test_bit_table_block_decode(data: st.DataObject, count: int, scale: float, offset: float):
    points = [
        {"key": f"b{i}", "name": f"B{i}", "kind": "status", "table": table, "address": i}
        | {"type": "bool", "scale": scale, "offset": offset}
        for i in range(count)
        for table in ("coil", "discrete")
    ]
    profile = _profile(points)
    n = len(profile.points)
    requests = plan_reads(profile)
    assert {r.table for r in requests} == {Table.COIL, Table.DISCRETE}
    for request in requests:
        bits = data.draw(
            st.lists(st.integers(0, 1), min_size=request.count, max_size=request.count)
        )
        for decoder in _decoders(request):
            got = np.full(n, np.nan, dtype=np.float32)
            assert decoder.needed == request.count
            decoder.decode(_payload(request, bits), got)
            _assert_same_bits(got, _reference(request, bits, n))


@pytest.mark.parametrize(
    ("type_", "byte", "word", "words", "value"),
    [
        ("float32", "big", "big", [0x4049, 0x0FDB], 3.1415927410125732),
        ("float32", "big", "little", [0x0FDB, 0x4049], 3.1415927410125732),
        ("float32", "little", "big", [0x4940, 0xDB0F], 3.1415927410125732),
        ("float32", "little", "little", [0xDB0F, 0x4940], 3.1415927410125732),
        ("int32", "little", "little", [0xFEFF, 0xFFFF], -2.0),
        ("uint32", "big", "little", [0xBEEF, 0xDEAD], float(0xDEADBEEF)),
        ("int16", "little", "big", [0xFEFF], -2.0),
        ("float64", "little", "little", [0x182D, 0x4454, 0xFB21, 0x0940], 3.141592653589793),
    ],
)
def test_known_vectors(type_: str, byte: str, word: str, words: list[int], value: float) -> None:
    point = {"key": "p", "name": "P", "kind": "status", "table": "holding", "address": 0}
    profile = _profile([point | {"type": type_}], byte, word)
    (request,) = plan_reads(profile)
    for decoder in _decoders(request):
        got = np.full(1, np.nan, dtype=np.float32)
        decoder.decode(_payload(request, words), got)
        assert got[0] == np.float32(value)


def test_groups_by_dtype_whatever_the_order() -> None:
    points = [
        {"key": f"f{i}", "name": "F", "kind": "status", "table": "holding", "address": 2 * i}
        | {"type": "float32", "word_order": "little" if i % 2 else "big"}
        for i in range(10)
    ]
    points.append(
        {"key": "s", "name": "S", "kind": "status", "table": "holding"}
        | {"address": 20, "type": "uint16"}
    )
    (request,) = plan_reads(_profile(points))
    assert len(request.decoder.groups) == 2  # one float32 gather, one uint16 gather


def test_empty_decoder_does_nothing() -> None:
    decoder = BlockDecoder((), bit_table=False)
    values = np.zeros(0, dtype=np.float32)
    decoder.decode(b"", values)
    assert decoder.needed == 0 and decoder.index.size == 0


def test_which_reads_take_the_struct_path() -> None:
    base = {"name": "P", "kind": "status", "table": "holding"}
    status_word = [
        base | {"key": "w", "address": 0, "type": "uint16"},
        base | {"key": "fault", "address": 0, "type": "bool", "bit": 3},
        base | {"key": "gas", "address": 2, "type": "int16", "scale": 0.1},
    ]
    (shared,) = plan_reads(_profile(status_word))
    assert shared.decoder.plan is not None and not shared.decoder.plan.plain
    (swapped,) = plan_reads(
        _profile([base | {"key": "a", "address": 0, "type": "float32"}], word="little")
    )
    assert swapped.decoder.plan is None
    two_types = [
        base | {"key": "a", "address": 0, "type": "uint16"},
        base | {"key": "b", "address": 0, "type": "int16"},
    ]
    (mixed,) = plan_reads(_profile(two_types))
    assert mixed.decoder.plan is None
    wide = [base | {"key": f"f{i}", "address": 2 * i, "type": "float32"} for i in range(40)]
    (long_read,) = plan_reads(_profile(wide))
    assert long_read.decoder.plan is None, "wide reads keep numpy's vectorised path"
