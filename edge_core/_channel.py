# ruff: noqa: PLR0124, N803, PLR0912, PLR0915
# (x != x is the NaN test inside kernels; S/IS/FS name the settings/state matrices)
"""The per-channel loop `_channel`: fast path, exact per-sample path, state in and out.

Fast path (`_channel`): the samples of one telemetry window are taken in sub-blocks of up
to `_CHUNK` samples.  A sub-block is proven fault-free -- no bad quality, every value finite
and inside the valid range (min/max of the int32 ordering key of the float32 bits, so NaN
fails the check without any fast-math flag), and a guaranteed stuck-timer reset ("big
jump": |v[j] - v[j-1]| > 2 * stuck_epsilon forces a reset at j) close enough to the last
one -- in one vectorised pass `_reduce` that also gives the window min/max/sum.  Then each
process alarm whose machine is at rest and whose quiet band contains the sub-block's
[min, max] (ROC: max - min of the sub-block and its look-back, or the exact max |Δv|) is
skipped; the others are deferred (bits of ``pm``, since sample ``pa``) and later stepped
over all the fault-free sub-blocks since ``pa`` at once, each by a branch-light loop for that
one machine (`_step_block` -> `_run_limit`, `_run_roc`): before the exact path, every
`_DEFER` samples, or when their worst-case events might not fit the event rows.  A noisy
machine thus costs one call per ~512 samples, not one per telemetry window.  The stuck
reference is rebuilt only when the channel leaves the fast path (`_stuck_replay`).
Sub-blocks that are not fault-free go through the exact per-sample path.
"""

from __future__ import annotations

import numpy as np

from edge_core._jit import _jit
from edge_core._layout import (
    F_LAST,
    F_LAST_REP,
    F_LAST_REP_START,
    F_MAX,
    F_MIN,
    F_STUCK_REF,
    F_SUM,
    F_WID,
    I_COMM,
    I_COUNT,
    I_FAULT,
    I_LAST_FAULT,
    I_REPORTED,
    I_STUCK_START,
    MAX_EVENTS_PER_SAMPLE,
)
from edge_core._machine import ROC_BIT, _emit, _roc_limit, _step, _step_block, _stuck_replay
from edge_core._scan import (
    _f32_ge,
    _f32_le,
    _narrow,
    _qmax,
    _quiet,
    _reduce,
    _roc_band,
    _roc_dmax,
    _thresholds,
)
from edge_core._windows import _close_window
from edge_core.config import (
    QUALITY_MAINTENANCE,
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
    S_OVER_ALARM,
    S_RANGE_CODE,
    S_REPORT_DB,
    S_ROC_DEADBAND,
    S_ROC_FALL,
    S_ROC_RISE,
    S_ROC_W,
    S_ROC_WINDOW_S,
    S_STUCK_EPS,
    S_VALID_HI,
    S_VALID_LO,
    S_WINDOW_S,
)

_CHUNK = 512
_MIN_CHUNK = 16
_DEFER = 512  # deferred machines are stepped at least every this many samples
_FLT_MAX = float(np.finfo(np.float32).max)
_ROC_MARGIN = 1e-6  # relative margin of the float32 / float64 ROC bounds (float32 eps 6e-8)


@_jit()
def _deferred_room(pm, deferred, n_mach, ahead):  # type: ignore[no-untyped-def]
    """Worst-case event rows of the deferred machines plus a sub-block of `ahead` samples.

    A deferred machine emits at most one event per sample; one deferred later than `pa`
    was quiet (unchanged, no event) before, so `deferred` samples each bound them all.
    """
    n_pend = (pm & 1) + (pm >> 1 & 1) + (pm >> 2 & 1) + (pm >> 3 & 1) + (pm >> 4 & 1)
    return n_pend * deferred + n_mach * ahead


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
    rise, fall = S[c, S_ROC_RISE], S[c, S_ROC_FALL]
    has_roc = rise > 0.0 or fall > 0.0
    w = np.int64(S[c, S_ROC_W])
    rws = S[c, S_ROC_WINDOW_S]
    tr, tf = rise - S[c, S_ROC_DEADBAND], fall - S[c, S_ROC_DEADBAND]
    # the fast path's |dv| bounds hold for both directions: take the tighter limit
    roc = rise if fall != fall or (rise == rise and rise < fall) else fall
    rthr = tr if tf != tf or (tr == tr and tr < tf) else tf
    latch = S[c, S_LATCH] != 0.0
    vlo, vhi = S[c, S_VALID_LO], S[c, S_VALID_HI]
    over_alarm = S[c, S_OVER_ALARM] != 0.0
    range_code = int(S[c, S_RANGE_CODE])
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
    pm = 0  # machines deferred since sample pa (bits: LL, L, H, HH, ROC_BIT)
    pa = pos
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
            fast = i >= slow_until and fc == 0 and comm == 0 and i >= i_min
            if pm != 0 and (
                not fast
                or i - pa >= _DEFER
                or ne
                + MAX_EVENTS_PER_SAMPLE
                + _deferred_room(pm, i - pa, n_mach, min(se, i + _CHUNK) - i)
                > cap
            ):
                # the deferred machines are stepped now: the exact path needs their state,
                # or the deferral is long, or its worst-case events would not fit
                IS[c, 0], IS[c, 1], IS[c, 2], IS[c, 3], IS[c, 4] = a0, a1, a2, a3, a4
                IS[c, 5], IS[c, 6], IS[c, 7], IS[c, 8], IS[c, 9] = n0, n1, n2, n3, n4
                IS[c, 10], IS[c, 11], IS[c, 12], IS[c, 13], IS[c, 14] = k_0, k_1, k_2, k_3, k_4
                ne = _step_block(x, c, pa, i, pm, S, IS, k0, lfk, evf, evu, r, ne)
                a0, a1, a2, a3, a4 = IS[c, 0], IS[c, 1], IS[c, 2], IS[c, 3], IS[c, 4]
                n0, n1, n2, n3, n4 = IS[c, 5], IS[c, 6], IS[c, 7], IS[c, 8], IS[c, 9]
                k_0, k_1, k_2, k_3, k_4 = IS[c, 10], IS[c, 11], IS[c, 12], IS[c, 13], IS[c, 14]
                pm = 0
            # ---------------- fast path ----------------
            if fast:
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
                if not ok:
                    slow_until = max(b, i + _MIN_CHUNK)
                    continue
                if pm == 0 and not rest_ok:
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
                    rthr_c = _roc_band(a4, n4, latch and k_4 == 0, n_off, roc_off, roc_in)
                    all_rest = r0 and r1 and r2 and r3 and (not has_roc or rthr_c >= 0.0)
                    rest_ok = True
                was = pm
                if not (pm == 0 and all_rest and mn >= rlo and mx <= rhi):
                    # a machine that this sub-block may move is deferred (see _step_block)
                    if (
                        lim0 == lim0
                        and not (pm & 1)
                        and not _quiet(
                            mn, mx, a0, n0, latch and k_0 == 0, n_off, False, ta0, tb0, tc0
                        )
                    ):
                        pm |= 1
                    if (
                        lim1 == lim1
                        and not (pm & 2)
                        and not _quiet(
                            mn, mx, a1, n1, latch and k_1 == 0, n_off, False, ta1, tb1, tc1
                        )
                    ):
                        pm |= 2
                    if (
                        lim2 == lim2
                        and not (pm & 4)
                        and not _quiet(
                            mn, mx, a2, n2, latch and k_2 == 0, n_off, True, ta2, tb2, tc2
                        )
                    ):
                        pm |= 4
                    if (
                        lim3 == lim3
                        and not (pm & 8)
                        and not _quiet(
                            mn, mx, a3, n3, latch and k_3 == 0, n_off, True, ta3, tb3, tc3
                        )
                    ):
                        pm |= 8
                if has_roc and not (pm & ROC_BIT):
                    thr = _roc_band(a4, n4, latch and k_4 == 0, n_off, roc_off, roc_in)
                    roc_quiet = False
                    if thr >= 0.0:
                        if pend == i and plen >= w:
                            span = np.float64(max(mx, phi)) - np.float64(min(mn, plo))
                            roc_quiet = bool(span <= thr)
                        if not roc_quiet:
                            roc_quiet = bool(np.float64(_roc_dmax(x, c, i, b, w)) <= thr)
                    if not roc_quiet:
                        pm |= ROC_BIT
                if pm != 0:
                    rest_ok = False  # deferred machines change state: the band is stale
                    if was == 0:
                        pa = i
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
                if qv != QUALITY_MAINTENANCE:  # declared invalid: bad, but not COMM
                    comm = 1
                sref = np.nan
            else:
                comm = 0
                code = 0
                if xv != xv:
                    code = 1
                elif abs(xv) == np.inf or xv < vlo or xv > vhi:
                    code = range_code
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
                if over_alarm and qv == 0 and (xv == np.inf or xv > vhi):
                    # above full scale on a gas point: the worst case, alarmed at once
                    k_2 = k_3 = 0
                    if lim2 == lim2 and a2 == 0:
                        a2 = 1
                        ne = _emit(evf, evu, r, ne, i, 2, 1, xv, lim2)
                    if lim3 == lim3 and a3 == 0:
                        a3 = 1
                        ne = _emit(evf, evu, r, ne, i, 3, 1, xv, lim3)
            else:
                if lim0 == lim0:
                    a0, n0, k_0, ch = _step(a0, n0, k_0, xv < lim0, xv >= up0, n_on, n_off, latch)
                    if ch:
                        ne = _emit(evf, evu, r, ne, i, 0, a0, xv, lim0)
                if lim1 == lim1:
                    a1, n1, k_1, ch = _step(a1, n1, k_1, xv < lim1, xv >= up1, n_on, n_off, latch)
                    if ch:
                        ne = _emit(evf, evu, r, ne, i, 1, a1, xv, lim1)
                if lim2 == lim2:
                    a2, n2, k_2, ch = _step(a2, n2, k_2, xv > lim2, xv <= dn2, n_on, n_off, latch)
                    if ch:
                        ne = _emit(evf, evu, r, ne, i, 2, a2, xv, lim2)
                if lim3 == lim3:
                    a3, n3, k_3, ch = _step(a3, n3, k_3, xv > lim3, xv <= dn3, n_on, n_off, latch)
                    if ch:
                        ne = _emit(evf, evu, r, ne, i, 3, a3, xv, lim3)
                if has_roc:
                    pk = k - w
                    if pk > lfk:
                        pj = i - w
                        pv = x[c, pj] if pj >= 0 else hist[c, pk % w]
                        rate = (xv - np.float64(pv)) / rws
                        beyond = rate > rise or -rate > fall
                        inside = not (rate > tr) and not (-rate > tf)
                        a4, n4, k_4, ch = _step(a4, n4, k_4, beyond, inside, n_on, n_off, latch)
                        if ch:
                            lim4 = _roc_limit(rate, rise, fall)
                            ne = _emit(evf, evu, r, ne, i, 4, a4, rate, lim4)
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
    if pm != 0:  # samples pa..i-1 are all good: step the deferred machines over them
        ne = _step_block(x, c, pa, i, pm, S, IS, k0, lfk, evf, evu, r, ne)
    IS[c, I_FAULT], IS[c, I_COMM] = fc, comm
    IS[c, I_STUCK_START], IS[c, I_LAST_FAULT] = s_start, lfk
    IS[c, I_COUNT], IS[c, I_REPORTED] = acnt, reported
    FS[c, F_STUCK_REF], FS[c, F_WID] = sref, cur_wid
    FS[c, F_MIN], FS[c, F_MAX], FS[c, F_SUM], FS[c, F_LAST] = amin, amax, asum, alast
    FS[c, F_LAST_REP], FS[c, F_LAST_REP_START] = lrep, lrep_start
    counts[r, 0] = i
    counts[r, 1] = ne
    counts[r, 2] = na
