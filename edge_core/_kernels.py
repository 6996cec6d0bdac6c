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
* outputs per processed channel row r: ``evf[r, e] = (sample index, value, limit)``,
  ``evu[r, e] = (kind, active)``, ``agf[r, a] = (window start, min, max, mean, last)``,
  ``agi[r, a] = (count, report)``, ``counts[r] = (stop, n_events, n_rows)``.

A channel stops early (``stop < n``) when its output rows are nearly full; its state is
then exactly the state after sample ``stop - 1`` and the wrapper resumes it from ``stop``
with fresh buffers -- this is correct because results never depend on block splits.

Fast path: a run of up to `_CHUNK` samples is summarised without the state machine when
the state is at rest (no pending delay, not in fault) and the run is proven quiet: every
value within the float32 band in which no limit machine changes state (checked through
min/max of the run plus a NaN check through its sum; the band excludes inf), every
|v[k] - v[k-w]| within the ROC band, no bad quality, and a guaranteed stuck-timer reset
("big jump": |v[j] - v[j-1]| > 2 * stuck_epsilon forces a change at j) within the run.
Anything else goes through the exact per-sample path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

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


def _jit(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    """The one place the numba options are set."""
    opts: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
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


@_jit()
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


@_jit(fastmath={"nnan", "nsz"})
def _fmin(a, b):  # type: ignore[no-untyped-def]
    return a if a < b else b


@_jit(fastmath={"nnan", "nsz"})
def _fmax(a, b):  # type: ignore[no-untyped-def]
    return a if a > b else b


@_jit(fastmath={"reassoc", "nsz"})
def _scan(x, c, a, b):  # type: ignore[no-untyped-def]
    """(min, max, float64 sum) of x[c, a:b]; min/max are only meaningful if the sum is
    not NaN (no NaN in the run), which the caller checks first."""
    mn = np.float32(np.inf)
    mx = np.float32(-np.inf)
    s = 0.0
    for j in range(a, b):
        v = x[c, j]
        mn = _fmin(mn, v)
        mx = _fmax(mx, v)
        s += np.float64(v)
    return mn, mx, s


@_jit()
def _roc_violations(x, c, a, b, w, above, thr):  # type: ignore[no-untyped-def]
    """Count samples whose |x[j] - x[j-w]| (float32) is not <= thr (above=False) / > thr."""
    bad = 0
    if above:
        for j in range(a, b):
            bad += not (abs(x[c, j] - x[c, j - w]) > thr)
    else:
        for j in range(a, b):
            bad += not (abs(x[c, j] - x[c, j - w]) <= thr)
    return bad


@_jit()
def _qmax(q, c, a, b):  # type: ignore[no-untyped-def]
    m = np.uint8(0)
    for j in range(a, b):
        m = max(m, q[c, j])
    return m


@_jit()
def _limit_band(lo, hi, lim, act, cnt, n_off, latched, high, db):  # type: ignore[no-untyped-def]
    """Narrow the float32 band [lo, hi] where one limit machine stays unchanged.

    Returns (lo, hi, ok); ok is False when the machine is not at rest (pending delay).
    """
    if lim != lim:
        return lo, hi, True
    if cnt == 0:
        if act == 0:  # must stay not beyond
            if high:
                hi = min(hi, _f32_le(lim))
            else:
                lo = max(lo, _f32_ge(lim))
        elif high:  # active: must stay not back inside
            lo = max(lo, _f32_gt(lim - db))
        else:
            hi = min(hi, _f32_lt(lim + db))
        return lo, hi, True
    if act != 0 and latched and cnt == n_off + 1:  # latched, back inside, waiting for ack
        if high:
            hi = min(hi, _f32_le(lim - db))
        else:
            lo = max(lo, _f32_ge(lim + db))
        return lo, hi, True
    return lo, hi, False


@_jit()
def _close_window(agf, agi, r, na, wstart, cnt, amin, amax, asum, alast,  # type: ignore[no-untyped-def]
                  reported, lrep, lrep_start, rep_db, hb):
    """Emit one telemetry row; return (na, reported, last_reported, last_report_start)."""
    if cnt > 0:
        last = alast
        agf[r, na, 1] = amin
        agf[r, na, 2] = amax
        agf[r, na, 3] = asum / cnt
    else:
        last = np.nan
        agf[r, na, 1] = np.nan
        agf[r, na, 2] = np.nan
        agf[r, na, 3] = np.nan
    agf[r, na, 0] = wstart
    agf[r, na, 4] = last
    if reported == 0:
        report = True
    else:
        changed = (last != last) != (lrep != lrep) or abs(last - lrep) > rep_db
        report = changed or wstart - lrep_start >= hb
    agi[r, na, 0] = cnt
    agi[r, na, 1] = 1 if report else 0
    if report:
        return na + 1, 1, last, wstart
    return na + 1, reported, lrep, lrep_start


@_jit()
def _channel(r, c, x, q, has_q, pos, k0, kt0, t_org, dt,  # type: ignore[no-untyped-def]
             S, IS, FS, hist, evf, evu, agf, agi, counts):
    """Process channel c from sample `pos` to the end (or until output row r is full)."""
    n = x.shape[1]
    cap = evf.shape[1]
    acap = agf.shape[1]
    # settings
    lim0, lim1, lim2, lim3 = S[c, S_LL], S[c, S_L], S[c, S_H], S[c, S_HH]
    db = S[c, S_DEADBAND]
    up0, up1, dn2, dn3 = lim0 + db, lim1 + db, lim2 - db, lim3 - db
    n_on = np.int64(S[c, S_N_ON])
    n_off = np.int64(S[c, S_N_OFF])
    roc = S[c, S_ROC]
    has_roc = roc > 0.0
    chunk = _CHUNK
    w = np.int64(S[c, S_ROC_W])
    rws = S[c, S_ROC_WINDOW_S]
    rthr = roc - S[c, S_ROC_DEADBAND]
    latch = S[c, S_LATCH] != 0.0
    vlo, vhi = S[c, S_VALID_LO], S[c, S_VALID_HI]
    n_stuck = int(S[c, S_N_STUCK])
    seps = S[c, S_STUCK_EPS]
    big = 2.0 * seps * (1.0 + 1e-12)
    ws = S[c, S_WINDOW_S]
    rep_db, hb = S[c, S_REPORT_DB], S[c, S_HEARTBEAT]
    if n_stuck > 0:
        chunk = n_stuck if n_stuck < _CHUNK else _CHUNK
    # fixed parts of the quiet band: valid range, finite
    blo0 = np.float32(-_FLT_MAX)
    bhi0 = np.float32(_FLT_MAX)
    if vlo == vlo:
        blo0 = max(blo0, _f32_ge(vlo))
    if vhi == vhi:
        bhi0 = min(bhi0, _f32_le(vhi))
    # ROC quiet thresholds on the float32 |v[k] - v[k-w]| (conservative by 1e-6)
    roc_le = np.float32(0.0)
    roc_gt = np.float32(0.0)
    roc_le_in = np.float32(-1.0)
    if has_roc:
        roc_le = _f32_le(roc * rws * (1.0 - 1e-6))
        if rthr >= 0.0:
            roc_gt = _f32_ge(rthr * rws * (1.0 + 1e-6))
            roc_le_in = _f32_le(rthr * rws * (1.0 - 1e-6))
        else:
            roc_gt = np.float32(-1.0)
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
    i = pos
    seg_end = pos
    slow_until = pos
    while i < n:
        if i >= seg_end:
            if na >= acap:
                break
            wid = _wid(i, kt0, t_org, dt, ws)
            if cur_wid == cur_wid and wid != cur_wid:
                na, reported, lrep, lrep_start = _close_window(
                    agf, agi, r, na, cur_wid * ws, acnt, amin, amax, asum, alast,
                    reported, lrep, lrep_start, rep_db, hb)
                acnt, amin, amax, asum = 0, np.inf, -np.inf, 0.0
            cur_wid = wid
            seg_end = _segment_end(i, n, wid, kt0, t_org, dt, ws)
        if ne + MAX_EVENTS_PER_SAMPLE > cap:
            break
        # ---------------- fast path ----------------
        if i >= slow_until and fc == 0 and comm == 0:
            ce = min(seg_end, i + chunk)
            ok = ce - i >= _MIN_CHUNK
            lo, hi = blo0, bhi0
            if ok:
                lo, hi, ok = _limit_band(lo, hi, lim0, a0, n0, n_off, latch and k_0 == 0, False, db)
            if ok:
                lo, hi, ok = _limit_band(lo, hi, lim1, a1, n1, n_off, latch and k_1 == 0, False, db)
            if ok:
                lo, hi, ok = _limit_band(lo, hi, lim2, a2, n2, n_off, latch and k_2 == 0, True, db)
            if ok:
                lo, hi, ok = _limit_band(lo, hi, lim3, a3, n3, n_off, latch and k_3 == 0, True, db)
            ok = ok and lo <= hi
            roc_above = False
            roc_t = roc_le
            if ok and has_roc:
                if i < w:
                    ok = False
                elif n4 == 0:
                    if a4 != 0:
                        roc_above, roc_t = True, roc_gt
                elif a4 != 0 and latch and k_4 == 0 and n4 == n_off + 1 and rthr >= 0.0:
                    roc_t = roc_le_in
                else:
                    ok = False
            jf = i
            if ok and n_stuck > 0:
                ok = False
                if sref == sref:
                    jf = max(i, 1)
                    jmax = min(ce, s_start - k0 + n_stuck + 1)
                    while jf < jmax:
                        if abs(np.float64(x[c, jf]) - np.float64(x[c, jf - 1])) > big:
                            ok = True
                            break
                        jf += 1
            if ok and has_q:
                ok = _qmax(q, c, i, ce) == 0
            if ok:
                cmin, cmax, ssum = _scan(x, c, i, ce)
                ok = ssum == ssum and cmin >= lo and cmax <= hi
                if ok and has_roc:
                    ok = _roc_violations(x, c, i, ce, w, roc_above, roc_t) == 0
                if ok:
                    amin = min(amin, np.float64(cmin))
                    amax = max(amax, np.float64(cmax))
                    asum += ssum
                    acnt += ce - i
                    alast = np.float64(x[c, ce - 1])
                    if n_stuck > 0:
                        jl = ce - 1
                        while jl > jf and not (
                            abs(np.float64(x[c, jl]) - np.float64(x[c, jl - 1])) > big
                        ):
                            jl -= 1
                        sref = np.float64(x[c, jl])
                        s_start = k0 + jl
                        for j in range(jl + 1, ce):
                            xj = np.float64(x[c, j])
                            if abs(xj - sref) > seps:
                                sref = xj
                                s_start = k0 + j
                    i = ce
                    continue
            slow_until = max(ce, i + _MIN_CHUNK)
        # ---------------- exact per-sample path ----------------
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
                a0, n0, ch = _step(a0, n0, xv < lim0, xv >= up0, n_on, n_off, latch and k_0 == 0)
                if ch:
                    k_0 = 0
                    ne = _emit(evf, evu, r, ne, i, 0, a0, xv, lim0)
            if lim1 == lim1:
                a1, n1, ch = _step(a1, n1, xv < lim1, xv >= up1, n_on, n_off, latch and k_1 == 0)
                if ch:
                    k_1 = 0
                    ne = _emit(evf, evu, r, ne, i, 1, a1, xv, lim1)
            if lim2 == lim2:
                a2, n2, ch = _step(a2, n2, xv > lim2, xv <= dn2, n_on, n_off, latch and k_2 == 0)
                if ch:
                    k_2 = 0
                    ne = _emit(evf, evu, r, ne, i, 2, a2, xv, lim2)
            if lim3 == lim3:
                a3, n3, ch = _step(a3, n3, xv > lim3, xv <= dn3, n_on, n_off, latch and k_3 == 0)
                if ch:
                    k_3 = 0
                    ne = _emit(evf, evu, r, ne, i, 3, a3, xv, lim3)
            if has_roc:
                pk = k - w
                if pk > lfk:
                    pj = i - w
                    p = x[c, pj] if pj >= 0 else hist[c, pk % w]
                    rate = abs((xv - np.float64(p)) / rws)
                    a4, n4, ch = _step(a4, n4, rate > roc, rate <= rthr, n_on, n_off,
                                       latch and k_4 == 0)
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


_SIG = (
    "void(int64[::1], float32[:, ::1], uint8[:, ::1], boolean, int64[::1],"
    " int64, int64, float64, float64, float64[:, ::1], int64[:, ::1], float64[:, ::1],"
    " float32[:, ::1], float64[:, :, ::1], uint8[:, :, ::1], float64[:, :, ::1],"
    " int64[:, :, ::1], int64[:, ::1])"
)


@_jit(_SIG)
def _kernel_serial(chans, x, q, has_q, pos, k0, kt0, t_org, dt,  # type: ignore[no-untyped-def]
                   S, IS, FS, hist, evf, evu, agf, agi, counts):
    for r in range(chans.shape[0]):
        _channel(r, chans[r], x, q, has_q, pos[r], k0, kt0, t_org, dt,
                 S, IS, FS, hist, evf, evu, agf, agi, counts)


@functools.cache
def parallel_kernel() -> Callable[..., None]:
    """The prange kernel, compiled (or loaded from cache) on first use only."""

    @_jit(_SIG, parallel=True)
    def _kernel_parallel(chans, x, q, has_q, pos, k0, kt0, t_org, dt,  # type: ignore[no-untyped-def]
                         S, IS, FS, hist, evf, evu, agf, agi, counts):
        for r in prange(chans.shape[0]):
            _channel(r, chans[r], x, q, has_q, pos[r], k0, kt0, t_org, dt,
                     S, IS, FS, hist, evf, evu, agf, agi, counts)

    return _kernel_parallel  # type: ignore[no-any-return]


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
