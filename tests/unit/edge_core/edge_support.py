"""Shared strategies and comparisons for the edge_core tests."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import strategies as st

from edge_core import BlockResult, ChannelConfig

NAN = math.nan


def assert_same(a: BlockResult, b: BlockResult) -> None:
    """Transitions exactly equal; aggregates equal (mean within rounding)."""
    ta, tb = a.transitions, b.transitions
    assert ta.shape == tb.shape, (ta, tb)
    for f in ("channel", "ts", "kind", "active", "limit"):
        np.testing.assert_array_equal(ta[f], tb[f], err_msg=f)
    np.testing.assert_array_equal(ta["value"], tb["value"], err_msg="value")
    # rows of one block are ordered by (channel, window_start); concatenated blocks only
    # keep the per-channel order, so compare in (channel, start) order
    ga = np.sort(a.aggregates, order=["channel", "window_start"], kind="stable")
    gb = np.sort(b.aggregates, order=["channel", "window_start"], kind="stable")
    assert ga.shape == gb.shape, (ga, gb)
    for f in ("channel", "window_start", "count", "report", "min", "max", "last"):
        np.testing.assert_array_equal(ga[f], gb[f], err_msg=f)
    np.testing.assert_allclose(ga["mean"], gb["mean"], rtol=1e-9, atol=1e-9)


def concat(results: list[BlockResult]) -> BlockResult:
    return BlockResult(
        np.concatenate([r.transitions for r in results]),
        np.concatenate([r.aggregates for r in results]),
    )


def run_split(
    det: object, x: np.ndarray, q: np.ndarray | None, dt: float, cuts: list[int], t0: float = 0.0
) -> BlockResult:
    """Feed x in blocks cut at `cuts` (sorted sample indices); t0 of each block exact."""
    out = []
    bounds = [0, *cuts, x.shape[1]]
    for a, b in itertools.pairwise(bounds):
        blk = np.ascontiguousarray(x[:, a:b])
        qb = None if q is None else np.ascontiguousarray(q[:, a:b])
        out.append(det.process(blk, t0 + a * dt, dt, qb))  # type: ignore[attr-defined]
    return concat(out)


DTS = st.sampled_from([0.1, 0.25, 0.01, 1.0, 0.05])
_LEVELS = [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]


@st.composite
def configs(draw: st.DrawFn) -> ChannelConfig:
    lims = sorted(draw(st.lists(st.sampled_from(_LEVELS), min_size=4, max_size=4)))
    ll, lo, h, hh = (v if draw(st.integers(0, 4)) else NAN for v in lims)
    return ChannelConfig(
        ll=ll,
        l=lo,
        h=h,
        hh=hh,
        deadband=draw(st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0])),
        on_delay_s=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0, 3.0])),
        off_delay_s=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 2.0])),
        roc=draw(st.sampled_from([NAN, 0.0, 1.0, 5.0, 20.0])),
        roc_window_s=draw(st.sampled_from([0.1, 0.5, 1.0, 2.0])),
        roc_deadband=draw(st.sampled_from([0.0, 0.5, 2.0])),
        roc_rise=draw(st.sampled_from([NAN, NAN, 1.0, 5.0])),
        roc_fall=draw(st.sampled_from([NAN, NAN, 0.5, 5.0])),
        over_range_alarm=draw(st.booleans()),
        device_fault=draw(st.sampled_from([False, False, False, True])),
        latch=draw(st.booleans()),
        valid_lo=draw(st.sampled_from([NAN, -4.0, -10.0])),
        valid_hi=draw(st.sampled_from([NAN, 4.0, 10.0])),
        stuck_s=draw(st.sampled_from([NAN, 0.0, 0.3, 1.0, 3.0])),
        stuck_epsilon=draw(st.sampled_from([0.0, 0.0, 0.01, 0.2])),
        window_s=draw(st.sampled_from([0.25, 0.5, 1.0, 0.3, 2.0])),
        report_deadband=draw(st.sampled_from([0.0, 0.1, 1.0])),
        heartbeat_s=draw(st.sampled_from([NAN, 0.0, 1.0, 60.0])),
    )


@st.composite
def streams(draw: st.DrawFn, n_channels: int, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Piecewise streams: levels near limits, noise, plateaus, NaN/inf, bad quality."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = np.empty((n_channels, n), np.float32)
    q = np.zeros((n_channels, n), np.uint8)
    for c in range(n_channels):
        i = 0
        while i < n:
            seg = int(rng.integers(1, 40))
            kind = rng.integers(0, 10)
            level = rng.choice(_LEVELS) + rng.choice([0.0, 0.1, -0.1, 0.3, -0.3, 0.5])
            if kind <= 3:
                vals = level + rng.normal(0, rng.choice([0.05, 0.3, 1.0]), seg)
            elif kind <= 5:
                vals = np.full(seg, level)
            elif kind == 6:
                vals = level + np.cumsum(rng.normal(0, 0.5, seg))
            elif kind == 7:
                vals = rng.choice([np.nan, np.inf, -np.inf, 50.0, level], seg)
            else:
                vals = level + rng.choice([0.0, 0.005, 0.3], seg) * rng.choice([-1, 1], seg)
            x[c, i : i + seg] = vals[: n - i]
            if rng.integers(0, 8) == 0:
                q[c, i : i + seg] = rng.choice([0, 1, 2, 255], min(seg, n - i))
            i += seg
    use_q = draw(st.booleans())
    return x, (q if use_q else None)
