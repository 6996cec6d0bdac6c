# ruff: noqa: PLR0124
# (x != x is the NaN test inside kernels)
"""Telemetry windows: cutting a block into window runs and closing a window's record.

`window_segments` is called by the wrapper once per distinct window_s, `window_rows` once per
block to size the result; `_close_window` by `_channel` when a channel's samples move into
the next window.
"""

from __future__ import annotations

import numpy as np

from edge_core._jit import _jit


@_jit()
def _wid(j, kt0, t_org, dt, ws):  # type: ignore[no-untyped-def]
    return np.floor((t_org + np.float64(kt0 + j) * dt) / ws)


@_jit()
def _segment_end(i, n, wid, kt0, t_org, dt, ws):  # type: ignore[no-untyped-def]
    """First index j > i whose telemetry window differs from `wid` (or n)."""
    est = ((wid + 1.0) * ws - t_org) / dt - np.float64(kt0)
    j = n
    if est < np.float64(n):
        j = max(i + 1, np.int64(np.ceil(est)))
    while j > i + 1 and _wid(j - 1, kt0, t_org, dt, ws) != wid:
        j -= 1
    while j < n and _wid(j, kt0, t_org, dt, ws) == wid:
        j += 1
    return j


@_jit("int64(int64, int64, float64, float64, float64, int64[::1], float64[::1])")
def window_segments(n, kt0, t_org, dt, ws, seg_b, seg_w):  # type: ignore[no-untyped-def]
    """Cut samples 0..n-1 into runs of one telemetry window; return the number of runs.

    Writes run s = samples seg_b[s] .. seg_b[s+1]-1 with window id seg_w[s] while they fit
    (pass empty arrays to count first); seg_b[runs] = n.
    """
    m = 0
    i = 0
    while i < n:
        wid = _wid(i, kt0, t_org, dt, ws)
        j = _segment_end(i, n, wid, kt0, t_org, dt, ws)
        if m < seg_w.shape[0]:
            seg_b[m] = i
            seg_w[m] = wid
        m += 1
        i = j
    if m < seg_b.shape[0]:
        seg_b[m] = n
    return m


@_jit("int64(float64[:], float64[::1], int64[::1], int64[::1], int64[::1])")
def window_rows(cur, seg_w, s_lo, s_hi, arow):  # type: ignore[no-untyped-def]
    """Where each channel's closed-window rows start in the block's result; the total.

    A channel closes one row per window change inside the block (its runs s_lo..s_hi-1),
    plus its carried window ``cur`` if the block starts a new one. Writes ``arow``. One call
    instead of six numpy operations on a few channels: per poll, that was a sixth of the
    detector's cost on 1 Hz devices (bench/pipeline.py).
    """
    total = 0
    for r in range(cur.shape[0]):
        arow[r] = total
        total += s_hi[r] - s_lo[r] - 1
        c = cur[r]
        if c == c and seg_w[s_lo[r]] != c:
            total += 1
    return total


@_jit(leaf=True)
def _close_window(
    agg,
    row,
    chan,
    wstart,
    cnt,
    amin,
    amax,
    asum,  # type: ignore[no-untyped-def]
    alast,
    reported,
    lrep,
    lrep_start,
    rep_db,
    hb,
):
    """Write telemetry row `row`; return (reported, last_reported, last_report_start)."""
    rec = agg[row]
    if cnt > 0:
        last = alast
        rec["min"] = amin
        rec["max"] = amax
        rec["mean"] = asum / cnt
    else:
        last = np.nan
        rec["min"] = np.nan
        rec["max"] = np.nan
        rec["mean"] = np.nan
    rec["channel"] = chan
    rec["window_start"] = wstart
    rec["last"] = last
    if reported == 0:
        report = True
    else:
        changed = (last != last) != (lrep != lrep) or abs(last - lrep) > rep_db
        report = changed or wstart - lrep_start >= hb
    rec["count"] = cnt
    rec["report"] = report
    if report:
        return 1, last, wstart
    return reported, lrep, lrep_start
