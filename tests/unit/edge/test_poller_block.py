"""DevicePoller with the block decoder, against a scripted link (no network).

Full answers decode like the per-point codec; short answers mark only the points
they leave out; an illegal-address answer to a read bridging a hole splits it, and
the split reads decode into the right points; a lost link makes every point COMM.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from gateway.config import Device, DeviceConfig, TcpEndpoint
from gateway.datatypes import Table
from gateway.edge.poller import Backoff, DevicePoller
from gateway.edge.samples import PollSample, Quality
from gateway.errors import DeviceExceptionResponse, DeviceTimeout
from gateway.profiles import DeviceProfile

POINTS: list[dict[str, Any]] = [
    {"key": "u", "address": 0, "type": "uint16", "scale": 0.1},
    {"key": "i", "address": 1, "type": "int16", "byte_order": "little"},
    {"key": "f", "address": 4, "type": "float32", "word_order": "little"},
    {"key": "b", "address": 1, "type": "bool", "bit": 3},
]
# holding 0..5: u = 1234 (x0.1), i = -2 byte-swapped, 2..3 unused, f = 1.0 word-swapped
WORDS = [1234, 0xFEFF, 0, 0, 0x0000, 0x3F80]
EXPECTED = [123.4, -2.0, 1.0, 1.0]  # b: bit 3 of the wire word 0xFEFF, as-is


def _device() -> Device:
    profile = DeviceProfile.model_validate(
        {
            "vendor": "test",
            "model": "poller",
            "max_gap": 4,
            "points": [
                {"name": p["key"].upper(), "kind": "status", "table": "holding"} | p for p in POINTS
            ],
        }
    )
    config = DeviceConfig(name="dev", profile="poller", tcp=TcpEndpoint(host="127.0.0.1", port=1))
    return Device(config, profile, profile.points)


class ScriptedLink:
    """Answers read_raw from a register image, or with a scripted error."""

    def __init__(self, words: list[int]) -> None:
        self.words = words
        self.connected = True
        self.reads: list[tuple[int, int]] = []
        self.errors: list[Exception] = []
        self.short_by = 0
        self.closed = 0

    async def connect(self) -> None:
        self.connected = True

    def close(self) -> None:
        self.closed += 1
        self.connected = False

    async def read_raw(
        self, table: Table, address: int, count: int, unit: int, pause_s: float = 0.0
    ) -> bytes:
        self.reads.append((address, count))
        if self.errors:
            raise self.errors.pop(0)
        words = self.words[address : address + count - self.short_by]
        return struct.pack(f">{len(words)}H", *words)


def _poller(link: ScriptedLink) -> tuple[DevicePoller, list[PollSample]]:
    samples: list[PollSample] = []
    poller = DevicePoller(_device(), link, samples.append, backoff=Backoff(0.01, 0.02))  # type: ignore[arg-type]
    return poller, samples


async def test_full_answer_decodes_every_point() -> None:
    link = ScriptedLink(WORDS)
    poller, samples = _poller(link)
    sample = await poller.poll_once()
    assert link.reads == [(0, 6)]
    assert sample.quality.tolist() == [0, 0, 0, 0]
    assert sample.values.tolist() == pytest.approx(EXPECTED, rel=1e-6)
    assert samples == [sample]
    again = await poller.poll_once()
    assert again.values is not sample.values and again.quality is not sample.quality


async def test_short_answer_marks_only_the_points_it_leaves_out() -> None:
    link = ScriptedLink(WORDS)
    link.short_by = 1  # 5 registers instead of 6: the float32 at 4..5 is cut
    poller, _ = _poller(link)
    sample = await poller.poll_once()
    assert sample.quality.tolist() == [0, 0, Quality.DECODE, 0]
    assert sample.values[:2].tolist() == pytest.approx(EXPECTED[:2], rel=1e-6)
    assert np.isnan(sample.values[2])


async def test_illegal_address_splits_the_bridging_read() -> None:
    link = ScriptedLink(WORDS)
    link.errors = [DeviceExceptionResponse(2, "holding 0+6")]
    poller, _ = _poller(link)
    first = await poller.poll_once()
    assert first.quality.tolist() == [Quality.DEVICE_ERROR] * 4
    assert [(r.address, r.count) for r in poller.requests] == [(0, 2), (4, 2)]
    second = await poller.poll_once()
    assert link.reads[1:] == [(0, 2), (4, 2)]
    assert second.quality.tolist() == [0, 0, 0, 0]
    assert second.values.tolist() == pytest.approx(EXPECTED, rel=1e-6)
    assert poller.stats.failures == 1 and poller.stats.ok == 1


async def test_other_exception_codes_do_not_split() -> None:
    link = ScriptedLink(WORDS)
    link.errors = [DeviceExceptionResponse(4, "holding 0+6")]
    poller, _ = _poller(link)
    sample = await poller.poll_once()
    assert sample.quality.tolist() == [Quality.DEVICE_ERROR] * 4
    assert [(r.address, r.count) for r in poller.requests] == [(0, 6)]


async def test_lost_link_makes_every_point_comm_bad() -> None:
    link = ScriptedLink(WORDS)
    link.errors = [DeviceTimeout("no answer")]
    poller, _ = _poller(link)
    sample = await poller.poll_once()
    assert sample.quality.tolist() == [Quality.COMM] * 4
    assert np.isnan(sample.values).all()
    assert link.closed == 1 and poller.stats.consecutive_failures == 1


async def test_a_failing_sink_never_stops_polling(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[PollSample] = []

    def broken_sink(sample: PollSample) -> None:
        calls.append(sample)
        raise RuntimeError("downstream bug")

    poller = DevicePoller(_device(), ScriptedLink(WORDS), broken_sink)  # type: ignore[arg-type]
    first = await poller.poll_once()
    second = await poller.poll_once()
    assert len(calls) == 2 and first.good and second.good
    assert "Handling a poll of device dev failed" in caplog.text
