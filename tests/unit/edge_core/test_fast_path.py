"""Long, mostly quiet streams: exercise the kernels' fast path against the reference."""

from __future__ import annotations

import numpy as np
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
