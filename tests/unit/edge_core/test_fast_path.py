"""Long, mostly quiet streams: exercise the kernels' fast path against the reference."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from edge_support import NAN, assert_same, run_split
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_core import ChannelConfig, Detector, ReferenceDetector


@st.composite
def quiet_cases(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(500, 3000))
    n_ch = draw(st.integers(1, 3))
    x = rng.normal(0.0, 1.0, (n_ch, n)).astype(np.float32)
    q = None
    for c in range(n_ch):
        for _ in range(draw(st.integers(0, 4))):  # excursions, plateaus, faults
            a = int(rng.integers(0, n))
            b = a + int(rng.integers(1, 300))
            kind = int(rng.integers(0, 5))
            if kind == 0:
                x[c, a:b] += np.float32(rng.choice([4.0, -4.0, 6.0, -6.0]))
            elif kind == 1:
                x[c, a:b] = x[c, a]
            elif kind == 2:
                x[c, a:b] = np.nan
            elif kind == 3:
                x[c, a:b] += np.cumsum(rng.normal(0, 0.5, x[c, a:b].size)).astype(np.float32)
            else:
                q = np.zeros(x.shape, np.uint8) if q is None else q
                q[c, a:b] = 1
    cfgs = [
        ChannelConfig(
            ll=-5.0,
            l=-4.0,
            h=4.0,
            hh=draw(st.sampled_from([5.0, NAN])),
            deadband=draw(st.sampled_from([0.0, 0.5])),
            on_delay_s=draw(st.sampled_from([0.0, 0.05, 0.2])),
            off_delay_s=draw(st.sampled_from([0.0, 0.1])),
            roc=draw(st.sampled_from([NAN, 30.0, 60.0])),
            roc_window_s=draw(st.sampled_from([0.01, 0.05, 0.2])),
            roc_deadband=draw(st.sampled_from([0.0, 10.0])),
            latch=draw(st.booleans()),
            valid_lo=-20.0,
            valid_hi=20.0,
            stuck_s=draw(st.sampled_from([NAN, 0.5, 2.0, 0.1])),
            stuck_epsilon=draw(st.sampled_from([0.0, 0.001, 0.3])),
            window_s=draw(st.sampled_from([1.0, 2.5, 10.0])),
            report_deadband=0.5,
            heartbeat_s=5.0,
        )
        for _ in range(n_ch)
    ]
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    return cfgs, x, q, cuts


@settings(max_examples=40, deadline=None)
@given(quiet_cases())
def test_quiet_streams_match_reference(case) -> None:  # type: ignore[no-untyped-def]
    cfgs, x, q, cuts = case
    ref = run_split(ReferenceDetector(cfgs), x, q, 0.01, [])
    assert_same(run_split(Detector(cfgs), x, q, 0.01, cuts), ref)


# ---- deterministic edges of the fast path (sub-blocks, windows, block cuts) ------------------
DT = 0.01
QUIET = ChannelConfig(
    ll=-8.0,
    l=-6.0,
    h=6.0,
    hh=8.0,
    deadband=0.5,
    on_delay_s=0.03,
    off_delay_s=0.05,
    roc=400.0,
    roc_window_s=0.05,
    roc_deadband=50.0,
    valid_lo=-100.0,
    valid_hi=100.0,
    stuck_s=5.0,
    stuck_epsilon=0.001,
    window_s=1.0,
    report_deadband=0.5,
    heartbeat_s=60.0,
)


def _noise(n_ch: int, n: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n_ch, n)).astype(np.float32)


def _check(
    cfgs: list[ChannelConfig], x: np.ndarray, cuts: list[int], q: np.ndarray | None = None
) -> None:
    ref = run_split(ReferenceDetector(cfgs), x, q, DT, [])
    assert_same(run_split(Detector(cfgs), x, q, DT, cuts), ref)
    assert_same(run_split(Detector(cfgs, parallel=True), x, q, DT, cuts), ref)


@pytest.mark.parametrize("cuts", [[], [100, 200, 700], [99, 101, 512, 513], [5, 6, 1024]])
def test_window_and_sub_block_edges(cuts: list[int]) -> None:
    """Windows of 100 and 1000 samples (sub-blocks cut at 512), blocks cut at the edges."""
    x = _noise(3, 3000)
    cfgs = [QUIET, replace(QUIET, window_s=10.0), replace(QUIET, window_s=0.37)]
    _check(cfgs, x, cuts)


@pytest.mark.parametrize("where", [0, 1, 99, 100, 511, 512, 1999])
def test_excursions_and_nan_at_edges(where: int) -> None:
    """Excursion / NaN / inf at the first and last sample of blocks, windows, sub-blocks."""
    x = _noise(4, 2000)
    x[0, where] = 9.0  # HH + H at one sample
    x[1, where : where + 40] = -7.0  # L for 0.4 s
    x[2, where] = np.nan  # NaN inside a long quiet span
    x[3, where] = np.inf
    cfgs = [
        QUIET,
        replace(QUIET, on_delay_s=0.0, off_delay_s=0.0),
        QUIET,
        replace(QUIET, latch=True),
    ]
    _check(cfgs, x, [where, min(where + 1, 2000)])
    _check(cfgs, x, [])


@pytest.mark.parametrize("at", [5, 95, 100, 105, 512, 515])
def test_roc_step_crosses_sub_block_edges(at: int) -> None:
    """A step larger than the ROC band at and around window / sub-block edges."""
    x = _noise(3, 1500) * np.float32(0.1)
    x[0, at:] += np.float32(30.0)  # |dv| over w = 5 samples: rate 600 > roc
    x[1, at : at + 3] += np.float32(21.0)  # just above 20 (= roc * window)
    x[2, at:] += np.linspace(0, 60, 1500 - at).astype(np.float32)  # ramp: rate 40/s
    cfgs = [QUIET, replace(QUIET, roc_deadband=0.0), replace(QUIET, roc=30.0, latch=True)]
    _check(cfgs, x, [])
    _check(cfgs, x, [at, at + 7])


@pytest.mark.parametrize("stuck_s", [0.05, 0.2, 1.0, 5.0])
def test_stuck_inside_long_quiet_spans(stuck_s: float) -> None:
    """Plateaus (stuck), tiny noise (below epsilon) and steps of exactly 2 * epsilon."""
    x = _noise(3, 3000)
    x[0, 700:1900] = np.float32(0.5)
    x[1, 300:2600] = np.float32(1.0) + np.float32(0.0004) * x[1, 300:2600]
    x[2, :] = np.float32(0.002) * np.arange(3000, dtype=np.float32)  # steps of 2 eps
    cfgs = [replace(QUIET, stuck_s=stuck_s)] * 3
    _check(cfgs, x, [])
    _check(cfgs, x, [512, 1000, 1901])


def test_latched_alarm_waits_in_fast_path() -> None:
    """Latched H waits for the ack through long quiet spans, then clears after it."""
    x = _noise(2, 2000)
    x[:, 100:120] = 7.0
    cfgs = [replace(QUIET, latch=True), replace(QUIET, latch=True, roc=100.0)]
    dets = [Detector(cfgs), ReferenceDetector(cfgs)]
    outs: list[list] = [[], []]  # type: ignore[type-arg]
    for a, b in ((0, 800), (800, 2000)):
        for det, out in zip(dets, outs, strict=True):
            out.append(det.process(np.ascontiguousarray(x[:, a:b]), a * DT, DT))
            det.acknowledge(0)
            det.acknowledge(1)
    for got, want in zip(*outs, strict=True):
        assert_same(got, want)


def test_event_rows_overflow_and_resume() -> None:
    """More transitions than the per-channel event rows: channels stop and resume."""
    n = 3000
    x = np.where(np.arange(n) % 2 == 0, 7.0, 5.0).astype(np.float32)[None, :].repeat(3, 0)
    x[1] = _noise(1, n)[0]
    cfg = replace(QUIET, deadband=0.0, on_delay_s=0.0, off_delay_s=0.0, roc=NAN, stuck_s=NAN)
    _check([cfg, QUIET, cfg], x, [])
    _check([cfg, QUIET, cfg], x, [1000])


def test_bad_quality_inside_quiet_span() -> None:
    x = _noise(2, 1200)
    q = np.zeros(x.shape, np.uint8)
    q[0, 300] = 1
    q[1, 511:530] = 2
    _check([QUIET, QUIET], x, [], q)
    _check([QUIET, QUIET], x, [300, 512], q)


@pytest.mark.parametrize("delays", [(0.03, 0.05), (0.0, 0.1), (0.05, 0.0), (0.3, 0.03)])
def test_noise_centred_on_limits(delays: tuple[float, float]) -> None:
    """Adversarial stream: the machine of one limit moves at nearly every sample (the
    vectorised no-run-of-4 check and its scalar fallbacks, latched or not)."""
    on, off = delays
    rng = np.random.default_rng(11)
    centre = np.array([-8.0, -6.0, 6.0, 8.0, 6.0], np.float32)[:, None]
    x = centre + np.float32(0.4) * rng.standard_normal((5, 4000), dtype=np.float32)
    x[4] *= np.float32(1.1)  # a different spread
    cfg = replace(QUIET, on_delay_s=on, off_delay_s=off)
    cfgs = [cfg, cfg, cfg, replace(cfg, latch=True), replace(cfg, deadband=0.1)]
    _check(cfgs, x, [])
    _check(cfgs, x, [1, 100, 2047])
