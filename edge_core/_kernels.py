# ruff: noqa: PLR0124, N803
# (x != x is the NaN test inside kernels; S/IS/FS name the settings/state matrices)
"""Private numba kernels of the detector (semantics: see `edge_core.detector`).

Layout
------
* ``S``  float64 [channels x N_SETTINGS]: packed settings (`edge_core.config`).
* ``IS`` int64 [channels x N_ISTATE], ``FS`` float64 [channels x N_FSTATE]: the state
  carried across blocks (columns ``I_*`` / ``F_*`` below).
* ``hist`` float32 [channels x max ROC window]: ring of the last raw samples (ROC look-back
  across block edges), indexed by global sample index modulo the channel's window.
* ``x`` float32 [channels x n] and ``xi``, the same memory viewed as int32.
* telemetry windows of the block, shared by all channels with the same window_s (one
  "group"): ``seg_b[s]`` .. ``seg_b[s + 1]`` are the samples of segment s, ``seg_w[s]`` its
  window id; processed row r uses the segments ``s_lo[r]`` .. ``s_hi[r] - 1``.
* outputs per processed channel row r: ``evf[r, e] = (sample index, value, limit)``,
  ``evu[r, e] = (kind, active)``, ``counts[r] = (stop, n_events, n_rows)``.  Closed windows
  are written straight into the AGGREGATE_DTYPE result records ``agg``, from row
  ``arow[r]`` on (the wrapper sizes that array exactly, see `window_segments`).

A channel stops early (``stop < n``) when its event rows are nearly full; its state is
then exactly the state after sample ``stop - 1`` and the wrapper resumes it from ``stop``
with fresh buffers -- this is correct because results never depend on block splits.

Fast path (`_channel`): the samples of one telemetry window are taken in sub-blocks of up
to `_CHUNK` samples.  A sub-block is proven fault-free -- no bad quality, every value finite
and inside the valid range (min/max of the int32 ordering key of the float32 bits, so NaN
fails the check without any fast-math flag), and a guaranteed stuck-timer reset ("big
jump": |v[j] - v[j-1]| > 2 * stuck_epsilon forces a reset at j) close enough to the last
one -- in one vectorised pass `_reduce` that also gives the window min/max/sum.  Then each
process alarm whose machine is at rest and whose quiet band contains the sub-block's
[min, max] (ROC: max - min of the sub-block and its look-back, or the exact max |Δv|) is
skipped; the others are stepped sample by sample over the sub-block by a branch-light loop
for that one machine (`_run_limit`, `_run_roc`).  The stuck reference is rebuilt only when
the channel leaves the fast path (`_stuck_replay`).  Sub-blocks that are not fault-free go
through the exact per-sample path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange, typeof, types
from numba.core import sigutils

from edge_core.config import (
    S_DEADBAND,
    S_H,
    S_HEARTBEAT,
    S_HH,
    S_L,
    S_LATCH,
    S_LL,
    S_N_OFF,
    S_N_ON,
    S_N_STUCK,
    S_REPORT_DB,
    S_ROC,
    S_ROC_DEADBAND,
    S_ROC_W,
    S_ROC_WINDOW_S,
    S_STUCK_EPS,
    S_VALID_HI,
    S_VALID_LO,
    S_WINDOW_S,
)
from edge_core.result import AGGREGATE_DTYPE

# int state columns: act[5] (LL, L, H, HH, ROC), cnt[5], acked[5], then scalars
I_ACT, I_CNT, I_ACK = 0, 5, 10
I_FAULT, I_COMM, I_STUCK_START, I_LAST_FAULT, I_COUNT, I_REPORTED = 15, 16, 17, 18, 19, 20
N_ISTATE = 21
# float state columns
F_STUCK_REF, F_WID, F_MIN, F_MAX, F_SUM, F_LAST, F_LAST_REP, F_LAST_REP_START = range(8)
N_FSTATE = 8
MAX_EVENTS_PER_SAMPLE = 8  # 5 process alarms + FAULT clear/raise + COMM

_CHUNK = 512
_MIN_CHUNK = 16
_FLT_MAX = float(np.finfo(np.float32).max)
_ROC_MARGIN = 1e-6  # relative margin of the float32 / float64 ROC bounds (float32 eps 6e-8)


def _jit(*args: Any, leaf: bool = False, **kwargs: Any) -> Callable[..., Any]:
    """The one place the numba options are set.

    leaf=True compiles without numba's reference counting (``_nrt=False``), for helpers
    that take arrays but never allocate and are called from the per-window loop: their
    arrays are borrowed from `_channel`, which holds them for the whole call.  With NRT,
    every call that LLVM does not inline paid an atomic incref + decref per array argument:
    that was 55 % of the quiet-stream time serially, and with `prange` the two threads
    fought over the same refcount cache lines, which is why `parallel=True` gave no gain.
    """
    opts: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
    if leaf:
        opts["_nrt"] = False
    opts.update(kwargs)
    return njit(*args, **opts)  # type: ignore[no-any-return]


def new_state(n_channels: int, max_roc_w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial (IS, FS, hist) state arrays."""
    istate = np.zeros((n_channels, N_ISTATE), np.int64)
    istate[:, I_LAST_FAULT] = -1
    fstate = np.full((n_channels, N_FSTATE), np.nan)
    fstate[:, F_MIN], fstate[:, F_MAX], fstate[:, F_SUM] = np.inf, -np.inf, 0.0
    return istate, fstate, np.zeros((n_channels, max(1, max_roc_w)), np.float32)


# ---- small helpers -------------------------------------------------------------------------
@_jit()
def _step(act, cnt, beyond, inside, n_on, n_off, latched):  # type: ignore[no-untyped-def]
    """One good sample into an on/off-delay machine -> (act, cnt, changed)."""
    if act == 0:
        cnt = cnt + 1 if beyond else 0
        if cnt > n_on:
            return 1, 0, True
        return 0, cnt, False
    cnt = cnt + 1 if inside else 0
    if cnt > n_off:
        if latched:
            return 1, n_off + 1, False
        return 0, 0, True
    return 1, cnt, False


@_jit(leaf=True)
def _emit(evf, evu, r, ne, i, kind, act, value, limit):  # type: ignore[no-untyped-def]
    evf[r, ne, 0] = i
    evf[r, ne, 1] = value
    evf[r, ne, 2] = limit
    evu[r, ne, 0] = kind
    evu[r, ne, 1] = act
    return ne + 1


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


@_jit()
def _f32_ge(x):  # type: ignore[no-untyped-def]
    """Smallest float32 >= x."""
    f = np.float32(x)
    if np.float64(f) < x:
        f = np.nextafter(f, np.float32(np.inf))
    return f


@_jit()
def _f32_gt(x):  # type: ignore[no-untyped-def]
    f = np.float32(x)
    if np.float64(f) <= x:
        f = np.nextafter(f, np.float32(np.inf))
    return f


@_jit()
def _f32_le(x):  # type: ignore[no-untyped-def]
    """Largest float32 <= x."""
    f = np.float32(x)
    if np.float64(f) > x:
        f = np.nextafter(f, np.float32(-np.inf))
    return f


@_jit()
def _f32_lt(x):  # type: ignore[no-untyped-def]
    f = np.float32(x)
    if np.float64(f) >= x:
        f = np.nextafter(f, np.float32(-np.inf))
    return f


@_jit()
def _key_f32(key):  # type: ignore[no-untyped-def]
    """float32 from its int32 ordering key (the key map is its own inverse)."""
    bits = np.int32(key ^ (np.int32(key >> 31) & np.int32(0x7FFFFFFF)))
    return bits.view(np.float32)


@_jit(fastmath={"reassoc", "nsz"}, leaf=True)
def _reduce(xf, xr, a, b):  # type: ignore[no-untyped-def]
    """(min, max, float64 sum) of the float32 samples a..b-1 of one row xf (xr: its bits).

    One vectorised pass.  min/max are taken over the int32 ordering key of the bits
    (integer min/max vectorise without fast-math; the key orders -NaN < -inf < ... < inf
    < NaN), so a NaN shows up as a min/max outside every finite band.  Unsigned indices
    spare numba's negative-index wrap-around, which would block the vectoriser.
    """
    lo = np.int32(0x7FFFFFFF)
    hi = np.int32(-0x7FFFFFFF - 1)
    s = 0.0
    for j in range(np.uint64(a), np.uint64(b)):
        bits = xr[j]
        key = np.int32(bits ^ (np.int32(bits >> 31) & np.int32(0x7FFFFFFF)))
        lo = min(lo, key)
        hi = max(hi, key)
        s += np.float64(xf[j])
    return _key_f32(lo), _key_f32(hi), s


@_jit(leaf=True)
def _roc_dmax(x, c, a, b, w):  # type: ignore[no-untyped-def]
    """max |x[c, j] - x[c, j - w]| (float32) for j in a..b-1 (a >= w); NaN if any is NaN."""
    cu = np.uint64(c)
    wu = np.uint64(w)
    m = np.int32(0)
    for j in range(np.uint64(a), np.uint64(b)):
        d = np.float32(abs(x[cu, j] - x[cu, j - wu]))
        m = max(m, d.view(np.int32))  # bits of a float32 >= 0 order like the value
    bits = np.int32(m)  # (one definition: numba cannot .view a loop-carried variable)
    return bits.view(np.float32)


@_jit(leaf=True)
def _qmax(q, c, a, b):  # type: ignore[no-untyped-def]
    """Non-zero iff a quality byte of q[c, a:b] is non-zero."""
    cu = np.uint64(c)
    m = np.uint8(0)
    for j in range(np.uint64(a), np.uint64(b)):
        m |= q[cu, j]
    return m


@_jit()
def _thresholds(lim, db, high):  # type: ignore[no-untyped-def]
    """float32 bounds of the quiet band of one limit machine at rest.

    high (H, HH): inactive -> max <= A; active -> min >= B (never back inside);
    latched waiting for the ack -> max <= C (stays back inside).  low (LL, L): mirrored.
    """
    if lim != lim:
        return np.float32(0.0), np.float32(0.0), np.float32(0.0)
    if high:
        return _f32_le(lim), _f32_gt(lim - db), _f32_le(lim - db)
    return _f32_ge(lim), _f32_lt(lim + db), _f32_ge(lim + db)


@_jit()
def _narrow(lo, hi, lim, act, cnt, latched, n_off, high, ta, tb, tc):  # type: ignore[no-untyped-def]
    """Narrow [lo, hi] to the quiet band of one limit machine -> (lo, hi, at_rest)."""
    if lim != lim:
        return lo, hi, True
    if cnt == 0:
        if act == 0:
            return (lo, min(hi, ta), True) if high else (max(lo, ta), hi, True)
        return (max(lo, tb), hi, True) if high else (lo, min(hi, tb), True)
    if act != 0 and latched and cnt == n_off + 1:
        return (lo, min(hi, tc), True) if high else (max(lo, tc), hi, True)
    return lo, hi, False


@_jit()
def _quiet(mn, mx, act, cnt, latched, n_off, high, ta, tb, tc):  # type: ignore[no-untyped-def]
    """True when a machine at rest stays unchanged for every value in [mn, mx]."""
    if cnt == 0:
        if act == 0:
            return mx <= ta if high else mn >= ta
        return mn >= tb if high else mx <= tb
    if act != 0 and latched and cnt == n_off + 1:
        return mx <= tc if high else mn >= tc
    return False


@_jit(leaf=True)
def _run_limit(
    x,
    c,
    a,
    b,
    lim,
    inner,
    sgn,
    act,
    cnt,
    acked,
    latch,  # type: ignore[no-untyped-def]
    n_on,
    n_off,
    kind,
    evf,
    evu,
    r,
    ne,
):
    """Step one limit machine over the good samples x[c, a:b] (fast path, no faults).

    sgn = 1 for H/HH (beyond: v > lim, inside: v <= inner), -1 for LL/L (the same
    comparisons on -v, -lim, -inner, which are exact).  Same transitions as `_step`.
    Once the pending count is back at 0 and the delay needs 4 or more samples, the rest is
    first checked in one vectorised pass (`_has_run4`): without 4 consecutive samples that
    count, nothing can change and only the final count (the trailing run) is needed.
    """
    cu = np.uint64(c)
    slim = sgn * lim
    sinner = sgn * inner
    j = a
    checked = False
    while j < b:
        xv = np.float64(x[cu, np.uint64(j)])
        sv = sgn * xv
        cond = (sv <= sinner) if act != 0 else (sv > slim)
        cnt = cnt + 1 if cond else 0
        if cnt > (n_off if act != 0 else n_on):
            if act == 0:
                act, cnt, acked = 1, 0, 0
                ne = _emit(evf, evu, r, ne, j, kind, 1, xv, lim)
            elif latch and acked == 0:
                cnt = n_off + 1
            else:
                act, cnt, acked = 0, 0, 0
                ne = _emit(evf, evu, r, ne, j, kind, 0, xv, lim)
        j += 1
        if cnt == 0 and not checked and (n_off if act != 0 else n_on) >= 3 and b - j > 8:
            checked = True
            # float32 form of cond: sgn * v > t (beyond) or not (sgn * v > t) (inside)
            if act != 0:
                t = _f32_le(inner) if sgn > 0 else -_f32_ge(inner)
            else:
                t = _f32_le(lim) if sgn > 0 else -_f32_ge(lim)
            if not _has_run4(x, c, j, b, np.float32(sgn), t, act != 0):
                k = b
                while k > j and (
                    (sgn * np.float64(x[cu, np.uint64(k - 1)]) <= sinner)
                    if act != 0
                    else (sgn * np.float64(x[cu, np.uint64(k - 1)]) > slim)
                ):
                    k -= 1
                cnt = b - k
                break
    return act, cnt, acked, ne


@_jit(leaf=True)
def _has_run4(x, c, a, b, sgn, t, inside):  # type: ignore[no-untyped-def]
    """True if 4 consecutive samples of x[c, a:b] have (sgn * v > t) != inside."""
    cu = np.uint64(c)
    hit = False
    for j in range(np.uint64(a + 3), np.uint64(b)):
        c0 = (sgn * x[cu, j] > t) != inside
        c1 = (sgn * x[cu, j - np.uint64(1)] > t) != inside
        c2 = (sgn * x[cu, j - np.uint64(2)] > t) != inside
        c3 = (sgn * x[cu, j - np.uint64(3)] > t) != inside
        hit |= c0 & c1 & c2 & c3
    return hit


@_jit(leaf=True)
def _run_roc(
    x,
    c,
    a,
    b,
    w,
    k0,
    lfk,
    rws,
    roc,
    rthr,
    act,
    cnt,  # type: ignore[no-untyped-def]
    acked,
    latch,
    n_on,
    n_off,
    evf,
    evu,
    r,
    ne,
):
    """Step the ROC machine over the good samples x[c, a:b] (fast path, a >= w)."""
    cu = np.uint64(c)
    for j in range(a, b):
        if k0 + j - w <= lfk:  # window not fault-free: frozen
            cnt = 0
            continue
        xv = np.float64(x[cu, np.uint64(j)])
        rate = abs((xv - np.float64(x[cu, np.uint64(j - w)])) / rws)
        cond = (rate <= rthr) if act != 0 else (rate > roc)
        cnt = cnt + 1 if cond else 0
        if cnt > (n_off if act != 0 else n_on):
            if act == 0:
                act, cnt, acked = 1, 0, 0
                ne = _emit(evf, evu, r, ne, j, 4, 1, xv, roc)
            elif latch and acked == 0:
                cnt = n_off + 1
            else:
                act, cnt, acked = 0, 0, 0
                ne = _emit(evf, evu, r, ne, j, 4, 0, xv, roc)
    return act, cnt, acked, ne


@_jit(leaf=True)
def _stuck_replay(x, c, guar, e, big, seps, k0):  # type: ignore[no-untyped-def]
    """Exact (stuck reference, its global index) after the good samples up to e-1.

    A big jump at guar is known to have reset the reference; the last big jump jl >= guar
    did too, and the samples after it are replayed like the per-sample path does.
    """
    jl = e - 1
    while jl > guar and not (abs(np.float64(x[c, jl]) - np.float64(x[c, jl - 1])) > big):
        jl -= 1
    sref = np.float64(x[c, jl])
    s_start = k0 + jl
    for j in range(jl + 1, e):
        xv = np.float64(x[c, j])
        if abs(xv - sref) > seps:
            sref = xv
            s_start = k0 + j
    return sref, s_start


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


@_jit()
def _channel(
    r,
    c,
    x,
    xi,
    q,
    has_q,
    pos,
    k0,
    S,
    IS,
    FS,
    hist,  # type: ignore[no-untyped-def]
    seg_b,
    seg_w,
    s_lo,
    s_hi,
    evf,
    evu,
    counts,
    arow,
    agg,
):
    """Process channel c from sample `pos` to the end (or until its event rows are full)."""
    cap = evf.shape[1]
    # settings
    lim0, lim1, lim2, lim3 = S[c, S_LL], S[c, S_L], S[c, S_H], S[c, S_HH]
    db = S[c, S_DEADBAND]
    up0, up1, dn2, dn3 = lim0 + db, lim1 + db, lim2 - db, lim3 - db
    n_on = np.int64(S[c, S_N_ON])
    n_off = np.int64(S[c, S_N_OFF])
    roc = S[c, S_ROC]
    has_roc = roc > 0.0
    w = np.int64(S[c, S_ROC_W])
    rws = S[c, S_ROC_WINDOW_S]
    rthr = roc - S[c, S_ROC_DEADBAND]
    latch = S[c, S_LATCH] != 0.0
    vlo, vhi = S[c, S_VALID_LO], S[c, S_VALID_HI]
    n_stuck = int(S[c, S_N_STUCK])
    seps = S[c, S_STUCK_EPS]
    big = 2.0 * seps * (1.0 + 1e-12)
    rep_db, hb = S[c, S_REPORT_DB], S[c, S_HEARTBEAT]
    # fast path constants: fault-free band (valid range, finite), quiet bands, ROC bounds
    blo0 = np.float32(-_FLT_MAX)
    bhi0 = np.float32(_FLT_MAX)
    if vlo == vlo:
        blo0 = max(blo0, _f32_ge(vlo))
    if vhi == vhi:
        bhi0 = min(bhi0, _f32_le(vhi))
    ta0, tb0, tc0 = _thresholds(lim0, db, False)
    ta1, tb1, tc1 = _thresholds(lim1, db, False)
    ta2, tb2, tc2 = _thresholds(lim2, db, True)
    ta3, tb3, tc3 = _thresholds(lim3, db, True)
    roc_off = roc * rws * (1.0 - _ROC_MARGIN)  # |dv| <= this: rate <= roc
    roc_in = rthr * rws * (1.0 - _ROC_MARGIN) if rthr >= 0.0 else -1.0  # rate <= rthr
    n_mach = 1 + (lim0 == lim0) + (lim1 == lim1) + (lim2 == lim2) + (lim3 == lim3) + has_roc
    i_min = w if has_roc else np.int64(0)
    if n_stuck > 0:
        i_min = max(i_min, np.int64(1))
    # state
    a0, a1, a2, a3, a4 = IS[c, 0], IS[c, 1], IS[c, 2], IS[c, 3], IS[c, 4]
    n0, n1, n2, n3, n4 = IS[c, 5], IS[c, 6], IS[c, 7], IS[c, 8], IS[c, 9]
    k_0, k_1, k_2, k_3, k_4 = IS[c, 10], IS[c, 11], IS[c, 12], IS[c, 13], IS[c, 14]
    fc, comm = IS[c, I_FAULT], IS[c, I_COMM]
    s_start, lfk = IS[c, I_STUCK_START], IS[c, I_LAST_FAULT]
    acnt, reported = IS[c, I_COUNT], IS[c, I_REPORTED]
    sref, cur_wid = FS[c, F_STUCK_REF], FS[c, F_WID]
    amin, amax, asum, alast = FS[c, F_MIN], FS[c, F_MAX], FS[c, F_SUM], FS[c, F_LAST]
    lrep, lrep_start = FS[c, F_LAST_REP], FS[c, F_LAST_REP_START]

    ne = 0
    na = 0
    row0 = arow[r]
    i = pos
    slow_until = pos
    lazy = False  # stuck reference not materialised (inside a fast run)
    guar = 0  # a big jump (guaranteed stuck reset) of the fast run
    pend = -1  # end of the last fast sub-block (ROC look-back bound), -1: none
    plen = 0
    plo = np.float32(0.0)
    phi = np.float32(0.0)
    stop = False
    xf = x[c]
    xr = xi[c]
    # cached quiet band of all machines at rest (valid while no machine state changes)
    rest_ok = False
    all_rest = False
    rlo = blo0
    rhi = bhi0
    rthr_c = -1.0
    s = s_lo[r]
    while s < s_hi[r] - 1 and seg_b[s + 1] <= pos:
        s += 1
    while s < s_hi[r] and not stop:
        se = seg_b[s + 1]
        wid = seg_w[s]
        if cur_wid == cur_wid and wid != cur_wid:
            reported, lrep, lrep_start = _close_window(
                agg,
                row0 + na,
                c,
                cur_wid * S[c, S_WINDOW_S],
                acnt,
                amin,
                amax,
                asum,
                alast,
                reported,
                lrep,
                lrep_start,
                rep_db,
                hb,
            )
            na += 1
            acnt, amin, amax, asum = 0, np.inf, -np.inf, 0.0
        cur_wid = wid
        while i < se:
            # ---------------- fast path ----------------
            if i >= slow_until and fc == 0 and comm == 0 and i >= i_min:
                b = min(se, i + _CHUNK)
                if ne + MAX_EVENTS_PER_SAMPLE + n_mach * (b - i) > cap:  # room for the worst case
                    b = i + (cap - ne - MAX_EVENTS_PER_SAMPLE) // n_mach
                ok = b > i
                p = i
                if ok and n_stuck > 0:
                    g = guar if lazy else (s_start - k0 if sref == sref else i)
                    jmax = min(b, g + n_stuck + 1)
                    ok = False
                    while p < jmax:
                        if abs(np.float64(x[c, p]) - np.float64(x[c, p - 1])) > big:
                            ok = True
                            break
                        p += 1
                    b = min(b, p + n_stuck)
                if ok and has_q:
                    ok = _qmax(q, c, i, b) == 0
                if ok:
                    mn, mx, ssum = _reduce(xf, xr, i, b)
                    ok = mn >= blo0 and mx <= bhi0  # False for NaN
                if ok and not rest_ok:
                    rlo, rhi, r0 = _narrow(
                        blo0, bhi0, lim0, a0, n0, latch and k_0 == 0, n_off, False, ta0, tb0, tc0
                    )
                    rlo, rhi, r1 = _narrow(
                        rlo, rhi, lim1, a1, n1, latch and k_1 == 0, n_off, False, ta1, tb1, tc1
                    )
                    rlo, rhi, r2 = _narrow(
                        rlo, rhi, lim2, a2, n2, latch and k_2 == 0, n_off, True, ta2, tb2, tc2
                    )
                    rlo, rhi, r3 = _narrow(
                        rlo, rhi, lim3, a3, n3, latch and k_3 == 0, n_off, True, ta3, tb3, tc3
                    )
                    rthr_c = -1.0
                    if n4 == 0 and a4 == 0:
                        rthr_c = roc_off
                    elif a4 != 0 and latch and k_4 == 0 and n4 == n_off + 1:
                        rthr_c = roc_in
                    all_rest = r0 and r1 and r2 and r3 and (not has_roc or rthr_c >= 0.0)
                    rest_ok = True
                if ok and all_rest and mn >= rlo and mx <= rhi:
                    # every machine at rest and inside its band: only ROC left to prove
                    roc_quiet = True
                    if has_roc:
                        roc_quiet = False
                        if pend == i and plen >= w:
                            span = np.float64(max(mx, phi)) - np.float64(min(mn, plo))
                            roc_quiet = bool(span <= rthr_c)
                        if not roc_quiet:
                            roc_quiet = bool(np.float64(_roc_dmax(x, c, i, b, w)) <= rthr_c)
                    if roc_quiet:
                        acnt += b - i
                        asum += ssum
                        amin = min(amin, np.float64(mn))
                        amax = max(amax, np.float64(mx))
                        alast = np.float64(x[c, b - 1])
                        if n_stuck > 0:
                            lazy = True
                            guar = p
                        pend, plen, plo, phi = b, b - i, mn, mx
                        i = b
                        continue
                if ok:
                    rest_ok = False  # machines may be stepped below
                    roc_quiet = True
                    if has_roc:
                        thr = -1.0
                        if n4 == 0 and a4 == 0:
                            thr = roc_off
                        elif a4 != 0 and latch and k_4 == 0 and n4 == n_off + 1:
                            thr = roc_in
                        roc_quiet = False
                        if thr >= 0.0:
                            if pend == i and plen >= w:
                                span = np.float64(max(mx, phi)) - np.float64(min(mn, plo))
                                roc_quiet = bool(span <= thr)
                            if not roc_quiet:
                                roc_quiet = bool(np.float64(_roc_dmax(x, c, i, b, w)) <= thr)
                    if lim0 == lim0 and not _quiet(
                        mn, mx, a0, n0, latch and k_0 == 0, n_off, False, ta0, tb0, tc0
                    ):
                        a0, n0, k_0, ne = _run_limit(
                            x,
                            c,
                            i,
                            b,
                            lim0,
                            up0,
                            -1.0,
                            a0,
                            n0,
                            k_0,
                            latch,
                            n_on,
                            n_off,
                            0,
                            evf,
                            evu,
                            r,
                            ne,
                        )
                    if lim1 == lim1 and not _quiet(
                        mn, mx, a1, n1, latch and k_1 == 0, n_off, False, ta1, tb1, tc1
                    ):
                        a1, n1, k_1, ne = _run_limit(
                            x,
                            c,
                            i,
                            b,
                            lim1,
                            up1,
                            -1.0,
                            a1,
                            n1,
                            k_1,
                            latch,
                            n_on,
                            n_off,
                            1,
                            evf,
                            evu,
                            r,
                            ne,
                        )
                    if lim2 == lim2 and not _quiet(
                        mn, mx, a2, n2, latch and k_2 == 0, n_off, True, ta2, tb2, tc2
                    ):
                        a2, n2, k_2, ne = _run_limit(
                            x,
                            c,
                            i,
                            b,
                            lim2,
                            dn2,
                            1.0,
                            a2,
                            n2,
                            k_2,
                            latch,
                            n_on,
                            n_off,
                            2,
                            evf,
                            evu,
                            r,
                            ne,
                        )
                    if lim3 == lim3 and not _quiet(
                        mn, mx, a3, n3, latch and k_3 == 0, n_off, True, ta3, tb3, tc3
                    ):
                        a3, n3, k_3, ne = _run_limit(
                            x,
                            c,
                            i,
                            b,
                            lim3,
                            dn3,
                            1.0,
                            a3,
                            n3,
                            k_3,
                            latch,
                            n_on,
                            n_off,
                            3,
                            evf,
                            evu,
                            r,
                            ne,
                        )
                    if not roc_quiet:
                        a4, n4, k_4, ne = _run_roc(
                            x,
                            c,
                            i,
                            b,
                            w,
                            k0,
                            lfk,
                            rws,
                            roc,
                            rthr,
                            a4,
                            n4,
                            k_4,
                            latch,
                            n_on,
                            n_off,
                            evf,
                            evu,
                            r,
                            ne,
                        )
                    acnt += b - i
                    asum += ssum
                    amin = min(amin, np.float64(mn))
                    amax = max(amax, np.float64(mx))
                    alast = np.float64(x[c, b - 1])
                    if n_stuck > 0:
                        lazy = True
                        guar = p
                    pend, plen, plo, phi = b, b - i, mn, mx
                    i = b
                    continue
                slow_until = max(b, i + _MIN_CHUNK)
            # ---------------- exact per-sample path ----------------
            if lazy:
                sref, s_start = _stuck_replay(x, c, guar, i, big, seps, k0)
                lazy = False
            pend = -1
            rest_ok = False
            if ne + MAX_EVENTS_PER_SAMPLE > cap:
                stop = True
                break
            v = x[c, i]
            xv = np.float64(v)
            k = k0 + i
            qv = q[c, i] if has_q else np.uint8(0)
            old_fc, old_comm = fc, comm
            faulted = True
            if qv != 0:
                comm = 1
                sref = np.nan
            else:
                comm = 0
                code = 0
                if xv != xv:
                    code = 1
                elif abs(xv) == np.inf or xv < vlo or xv > vhi:
                    code = 2
                if code != 0:
                    sref = np.nan
                elif n_stuck > 0:
                    if sref != sref or abs(xv - sref) > seps:
                        sref = xv
                        s_start = k
                    elif k - s_start >= n_stuck:
                        code = 3
                fc = code
                faulted = code != 0
            if faulted:
                lfk = k
                n0 = n1 = n2 = n3 = n4 = 0
            else:
                if lim0 == lim0:
                    a0, n0, ch = _step(
                        a0, n0, xv < lim0, xv >= up0, n_on, n_off, latch and k_0 == 0
                    )
                    if ch:
                        k_0 = 0
                        ne = _emit(evf, evu, r, ne, i, 0, a0, xv, lim0)
                if lim1 == lim1:
                    a1, n1, ch = _step(
                        a1, n1, xv < lim1, xv >= up1, n_on, n_off, latch and k_1 == 0
                    )
                    if ch:
                        k_1 = 0
                        ne = _emit(evf, evu, r, ne, i, 1, a1, xv, lim1)
                if lim2 == lim2:
                    a2, n2, ch = _step(
                        a2, n2, xv > lim2, xv <= dn2, n_on, n_off, latch and k_2 == 0
                    )
                    if ch:
                        k_2 = 0
                        ne = _emit(evf, evu, r, ne, i, 2, a2, xv, lim2)
                if lim3 == lim3:
                    a3, n3, ch = _step(
                        a3, n3, xv > lim3, xv <= dn3, n_on, n_off, latch and k_3 == 0
                    )
                    if ch:
                        k_3 = 0
                        ne = _emit(evf, evu, r, ne, i, 3, a3, xv, lim3)
                if has_roc:
                    pk = k - w
                    if pk > lfk:
                        pj = i - w
                        pv = x[c, pj] if pj >= 0 else hist[c, pk % w]
                        rate = abs((xv - np.float64(pv)) / rws)
                        a4, n4, ch = _step(
                            a4, n4, rate > roc, rate <= rthr, n_on, n_off, latch and k_4 == 0
                        )
                        if ch:
                            k_4 = 0
                            ne = _emit(evf, evu, r, ne, i, 4, a4, xv, roc)
                    else:
                        n4 = 0
                acnt += 1
                asum += xv
                amin = min(amin, xv)
                amax = max(amax, xv)
                alast = xv
            if qv == 0 and fc != old_fc:
                if old_fc != 0:
                    ne = _emit(evf, evu, r, ne, i, 5, 0, xv, np.float64(old_fc))
                if fc != 0:
                    ne = _emit(evf, evu, r, ne, i, 5, 1, xv, np.float64(fc))
            if comm != old_comm:
                ne = _emit(evf, evu, r, ne, i, 6, comm, xv, np.float64(qv))
            i += 1
        if not stop:
            s += 1
    if lazy:
        sref, s_start = _stuck_replay(x, c, guar, i, big, seps, k0)

    # ROC ring: the last w raw samples before `i`
    if has_roc:
        for j in range(max(0, i - w), i):
            hist[c, (k0 + j) % w] = x[c, j]
    IS[c, 0], IS[c, 1], IS[c, 2], IS[c, 3], IS[c, 4] = a0, a1, a2, a3, a4
    IS[c, 5], IS[c, 6], IS[c, 7], IS[c, 8], IS[c, 9] = n0, n1, n2, n3, n4
    IS[c, 10], IS[c, 11], IS[c, 12], IS[c, 13], IS[c, 14] = k_0, k_1, k_2, k_3, k_4
    IS[c, I_FAULT], IS[c, I_COMM] = fc, comm
    IS[c, I_STUCK_START], IS[c, I_LAST_FAULT] = s_start, lfk
    IS[c, I_COUNT], IS[c, I_REPORTED] = acnt, reported
    FS[c, F_STUCK_REF], FS[c, F_WID] = sref, cur_wid
    FS[c, F_MIN], FS[c, F_MAX], FS[c, F_SUM], FS[c, F_LAST] = amin, amax, asum, alast
    FS[c, F_LAST_REP], FS[c, F_LAST_REP_START] = lrep, lrep_start
    counts[r, 0] = i
    counts[r, 1] = ne
    counts[r, 2] = na


_SIG = types.void(
    *sigutils.normalize_signature(  # type: ignore[no-untyped-call]
        "void(int64[::1], float32[:, ::1], int32[:, ::1], uint8[:, ::1], boolean, int64[::1],"
        " int64, float64[:, ::1], int64[:, ::1], float64[:, ::1], float32[:, ::1],"
        " int64[::1], float64[::1], int64[::1], int64[::1],"
        " float64[:, :, ::1], uint8[:, :, ::1], int64[:, ::1], int64[::1])"
    )[0],
    typeof(np.empty(0, AGGREGATE_DTYPE)),  # type: ignore[no-untyped-call]  # result, in place
)


@_jit(_SIG)
def _kernel_serial(
    chans,
    x,
    xi,
    q,
    has_q,
    pos,
    k0,
    S,
    IS,
    FS,
    hist,  # type: ignore[no-untyped-def]
    seg_b,
    seg_w,
    s_lo,
    s_hi,
    evf,
    evu,
    counts,
    arow,
    agg,
):
    for r in range(chans.shape[0]):
        _channel(
            r,
            chans[r],
            x,
            xi,
            q,
            has_q,
            pos[r],
            k0,
            S,
            IS,
            FS,
            hist,
            seg_b,
            seg_w,
            s_lo,
            s_hi,
            evf,
            evu,
            counts,
            arow,
            agg,
        )


@functools.cache
def parallel_kernel() -> Callable[..., None]:
    """The prange kernel, compiled (or loaded from cache) on first use only."""

    @_jit(_SIG, parallel=True)
    def _kernel_parallel(
        chans,
        x,
        xi,
        q,
        has_q,
        pos,
        k0,
        S,
        IS,
        FS,  # type: ignore[no-untyped-def]
        hist,
        seg_b,
        seg_w,
        s_lo,
        s_hi,
        evf,
        evu,
        counts,
        arow,
        agg,
    ):
        for r in prange(chans.shape[0]):
            _channel(
                r,
                chans[r],
                x,
                xi,
                q,
                has_q,
                pos[r],
                k0,
                S,
                IS,
                FS,
                hist,
                seg_b,
                seg_w,
                s_lo,
                s_hi,
                evf,
                evu,
                counts,
                arow,
                agg,
            )

    return _kernel_parallel  # type: ignore[no-any-return]


@_jit(
    "int64(int64[::1], int64[:, ::1], float64[:, :, ::1], uint8[:, :, ::1], int64,"
    " int64[::1], int64[::1], float32[::1], float64[::1], uint8[::1], boolean[::1])"
)
def gather_events(
    chans,
    counts,
    evf,
    evu,
    at,
    ch,
    idx,
    value,
    limit,
    kind,  # type: ignore[no-untyped-def]
    active,
):
    """Append the events of every processed row (row order) from position `at`."""
    for r in range(chans.shape[0]):
        for e in range(counts[r, 1]):
            ch[at] = chans[r]
            idx[at] = np.int64(evf[r, e, 0])
            value[at] = evf[r, e, 1]
            limit[at] = evf[r, e, 2]
            kind[at] = evu[r, e, 0]
            active[at] = evu[r, e, 1] != 0
            at += 1
    return at


@_jit("int64[::1](int64[::1], int64)")
def _counting_order(key, n_keys):  # type: ignore[no-untyped-def]
    """Stable permutation sorting `key` (values in [0, n_keys))."""
    start = np.zeros(n_keys + 1, np.int64)
    for j in range(key.shape[0]):
        start[key[j] + 1] += 1
    for j in range(n_keys):
        start[j + 1] += start[j]
    out = np.empty(key.shape[0], np.int64)
    for j in range(key.shape[0]):
        out[start[key[j]]] = j
        start[key[j]] += 1
    return out
