"""Property tests: numba Detector == ReferenceDetector, whole == split, parallel == serial."""

from __future__ import annotations

import itertools

import numpy as np
from edge_support import DTS, assert_same, concat, configs, run_split, streams
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_core import Detector, ReferenceDetector


@st.composite
def cases(draw: st.DrawFn, max_n: int = 400):  # type: ignore[no-untyped-def]
    n_ch = draw(st.integers(1, 3))
    cfgs = [draw(configs()) for _ in range(n_ch)]
    n = draw(st.integers(0, max_n))
    x, q = draw(streams(n_ch, n))
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    dt = draw(DTS)
    t0 = draw(st.sampled_from([0.0, 0.0, 1000.0, 0.37]))
    return cfgs, x, q, cuts, dt, t0


@settings(max_examples=60, deadline=None)
@given(cases())
def test_detector_matches_reference(case) -> None:  # type: ignore[no-untyped-def]
    cfgs, x, q, cuts, dt, t0 = case
    ref = run_split(ReferenceDetector(cfgs), x, q, dt, [], t0)
    got = run_split(Detector(cfgs), x, q, dt, cuts, t0)
    assert_same(got, ref)


@settings(max_examples=40, deadline=None)
@given(cases(max_n=1500))
def test_split_equals_whole_and_parallel_equals_serial(case) -> None:  # type: ignore[no-untyped-def]
    cfgs, x, q, cuts, dt, t0 = case
    whole = run_split(Detector(cfgs), x, q, dt, [], t0)
    assert_same(run_split(Detector(cfgs), x, q, dt, cuts, t0), whole)
    assert_same(run_split(Detector(cfgs, parallel=True), x, q, dt, cuts, t0), whole)


@settings(max_examples=30, deadline=None)
@given(cases(max_n=150), st.lists(st.integers(0, 150), max_size=4))
def test_acknowledge_between_blocks(case, ack_at) -> None:  # type: ignore[no-untyped-def]
    cfgs, x, q, _, dt, t0 = case
    n = x.shape[1]
    cuts = sorted({min(a, n) for a in ack_at})
    dets = [ReferenceDetector(cfgs), Detector(cfgs)]
    outs: list[list] = [[], []]  # type: ignore[type-arg]
    bounds = [0, *cuts, n]
    for j, (a, b) in enumerate(itertools.pairwise(bounds)):
        for det, out in zip(dets, outs, strict=True):
            if j:
                for c in range(len(cfgs)):
                    det.acknowledge(c)
            blk = np.ascontiguousarray(x[:, a:b])
            qb = None if q is None else np.ascontiguousarray(q[:, a:b])
            out.append(det.process(blk, t0 + a * dt, dt, qb))
    assert_same(concat(outs[1]), concat(outs[0]))
