"""Detection while the kernels compile: the reference first, then the kernels, same state."""

from __future__ import annotations

import math

import numpy as np

from edge_core import ChannelConfig, Detector
from gateway.edge.warmup import KernelLoader, WarmDetector
from tests.unit.edge_core.edge_support import assert_same, concat

DT = 0.1
CONFIGS = [
    ChannelConfig(h=20.0, hh=40.0, deadband=1.0, on_delay_s=0.3, off_delay_s=0.2, window_s=1.0),
    ChannelConfig(l=19.5, ll=18.0, roc=5.0, valid_lo=0.0, valid_hi=25.0, window_s=1.0),
]


class HeldLoader(KernelLoader):
    """A loader whose kernels become available only when the test says so."""

    def start(self) -> None:
        pass

    def release(self, detector_class: object | None) -> None:
        self.detector_class = detector_class  # type: ignore[assignment]
        self._done.set()


def _blocks(seed: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    ramps = np.concatenate([np.linspace(0, 50, 60), np.linspace(50, 0, 60)])
    rows = np.stack([ramps + rng.normal(0, 0.5, ramps.size), 21 - ramps / 5])
    rows[1, 30] = math.nan
    return [np.ascontiguousarray(rows[:, i : i + 7], dtype=np.float32) for i in range(0, n, 7)]


def test_switching_mid_stream_gives_what_the_kernels_alone_give() -> None:
    loader = HeldLoader()
    warm = WarmDetector(CONFIGS, loader=loader)
    plain = Detector(CONFIGS)
    got, want = [], []
    for i, block in enumerate(_blocks(1, 120)):
        if i == 9:
            loader.release(Detector)  # the kernels finished compiling
        got.append(warm.process(block, 1000.0 + 7 * i * DT, DT))
        want.append(plain.process(block, 1000.0 + 7 * i * DT, DT))
        assert warm.on_kernels is (i >= 9)
    assert_same(concat(got), concat(want))
    assert len(concat(want).transitions) > 4  # the stream does raise and clear alarms


def test_calls_other_than_process_are_replayed_too() -> None:
    loader = HeldLoader()
    warm = WarmDetector(CONFIGS, loader=loader)
    block = np.full((2, 5), 45.0, dtype=np.float32)
    warm.process(block, 0.0, DT)
    assert warm.reset(0) in (False, True)
    loader.release(Detector)
    result = warm.process(block, 5 * DT, DT)
    assert warm.on_kernels
    assert result.transitions.size == 0  # the kernels knew HH was already active


def test_a_failed_compile_keeps_the_reference_running() -> None:
    loader = HeldLoader()
    warm = WarmDetector(CONFIGS, loader=loader)
    loader.release(None)  # compiling failed
    result = warm.process(np.full((2, 3), 45.0, dtype=np.float32), 0.0, DT)
    assert not warm.on_kernels
    assert {int(k) for k in result.transitions["kind"]}  # still detects


def test_with_loaded_kernels_the_reference_is_never_built() -> None:
    loader = HeldLoader()
    loader.release(Detector)
    assert WarmDetector(CONFIGS, loader=loader).on_kernels
