# ruff: noqa: N803
# (S/IS name the settings/state matrices)
"""Alarm state machines and event emission.

The on/off-delay machine of one good sample (`_step`, exact path), the event row writer
(`_emit`), the branch-light loops that step one machine over a fault-free sub-block (fast
path: `_run_limit`, `_run_roc`, driven by `_step_block` for the machines the fast path
deferred) and the stuck-reference replay when a channel leaves it.
"""

from __future__ import annotations

import numpy as np

from edge_core._jit import _jit
from edge_core._layout import I_ACK, I_ACT, I_CNT
from edge_core._scan import _f32_ge, _f32_le, _has_run
from edge_core.config import (
    S_DEADBAND,
    S_LATCH,
    S_N_OFF,
    S_N_ON,
    S_ROC_DEADBAND,
    S_ROC_FALL,
    S_ROC_RISE,
    S_ROC_W,
    S_ROC_WINDOW_S,
)

#: vectorised run checks per `_run_limit` call (one, and one after each of two transitions)
_RUN_CHECKS = 3
#: `_step_block` mask bit of the ROC machine (bits 0..3: LL, L, H, HH)
ROC_BIT = 16


@_jit()
def _step(act, cnt, ack, beyond, inside, n_on, n_off, latch):  # type: ignore[no-untyped-def]
    """One good sample into an on/off-delay machine -> (act, cnt, ack, changed).

    ``ack`` is a latch reset accepted while back to normal (`Detector.reset`); a sample
    that is not back inside voids it, so a latched alarm clears only after it has been
    normal *and* reset since (ISA-18.2 latched alarm).
    """
    if act == 0:
        cnt = cnt + 1 if beyond else 0
        if cnt > n_on:
            return 1, 0, 0, True
        return 0, cnt, ack, False
    if not inside:
        return 1, 0, 0, False
    cnt = cnt + 1
    if cnt > n_off:
        if latch and ack == 0:
            return 1, n_off + 1, ack, False
        return 0, 0, 0, True
    return 1, cnt, ack, False


@_jit()
def _roc_limit(rate, rise, fall):  # type: ignore[no-untyped-def]
    """The signed ROC limit on the side of ``rate``: +rise, or -fall for a fall."""
    if (rate >= 0.0 and rise == rise) or fall != fall:  # noqa: PLR0124 (NaN test)
        return rise
    return -fall


@_jit(leaf=True)
def _emit(evf, evu, r, ne, i, kind, act, value, limit):  # type: ignore[no-untyped-def]
    evf[r, ne, 0] = i
    evf[r, ne, 1] = value
    evf[r, ne, 2] = limit
    evu[r, ne, 0] = kind
    evu[r, ne, 1] = act
    return ne + 1


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
    Once the pending count is back at 0 and the delay n needs 4 or more samples, the rest
    is first checked in one vectorised pass (`_has_run`): without min(n + 1, 8) consecutive
    samples that count, nothing can change and only the final count (the trailing run) is
    needed.  The check is armed again after a transition (at most `_RUN_CHECKS` times), so
    a machine that trips and then holds steady is not stepped sample by sample to the end.
    """
    cu = np.uint64(c)
    slim = sgn * lim
    sinner = sgn * inner
    j = a
    armed = True
    checks = 0
    while j < b:
        xv = np.float64(x[cu, np.uint64(j)])
        sv = sgn * xv
        cond = (sv <= sinner) if act != 0 else (sv > slim)
        if cond:
            cnt += 1
        else:
            cnt = 0
            acked = 0  # not back to normal: a reset given before is void
        if cnt > (n_off if act != 0 else n_on):
            if act == 0:
                act, cnt, acked, armed = 1, 0, 0, True
                ne = _emit(evf, evu, r, ne, j, kind, 1, xv, lim)
            elif latch and acked == 0:
                cnt = n_off + 1
            else:
                act, cnt, acked, armed = 0, 0, 0, True
                ne = _emit(evf, evu, r, ne, j, kind, 0, xv, lim)
        j += 1
        n = n_off if act != 0 else n_on
        if cnt == 0 and armed and checks < _RUN_CHECKS and n >= 3 and b - j > 8:
            armed = False
            checks += 1
            # float32 form of cond: sgn * v > t (beyond) or not (sgn * v > t) (inside)
            if act != 0:
                t = _f32_le(inner) if sgn > 0 else -_f32_ge(inner)
            else:
                t = _f32_le(lim) if sgn > 0 else -_f32_ge(lim)
            if not _has_run(x, c, j, b, np.float32(sgn), t, act != 0, min(n, 7) - 3):
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
def _run_roc(
    x,
    c,
    a,
    b,
    w,
    k0,
    lfk,
    rws,
    rise,
    fall,  # type: ignore[no-untyped-def]
    tr,
    tf,
    act,
    cnt,
    acked,
    latch,
    n_on,
    n_off,
    evf,
    evu,
    r,
    ne,
):
    """Step the ROC machine over the good samples x[c, a:b] (fast path, a >= w).

    rate = (v[j] - v[j - w]) / roc_window_s, signed: beyond when rate > rise or
    -rate > fall, back inside when neither exceeds its limit less the rate deadband
    (tr, tf); a NaN limit never fires.  Events carry the rate as their value.
    """
    cu = np.uint64(c)
    for j in range(a, b):
        if k0 + j - w <= lfk:  # window not fault-free: frozen
            cnt = 0
            continue
        xv = np.float64(x[cu, np.uint64(j)])
        rate = (xv - np.float64(x[cu, np.uint64(j - w)])) / rws
        back = not (rate > tr) and not (-rate > tf)
        cond = back if act != 0 else (rate > rise or -rate > fall)
        if cond:
            cnt += 1
        else:
            cnt = 0
            acked = 0
        if cnt > (n_off if act != 0 else n_on):
            if act == 0:
                act, cnt, acked = 1, 0, 0
                ne = _emit(evf, evu, r, ne, j, 4, 1, rate, _roc_limit(rate, rise, fall))
            elif latch and acked == 0:
                cnt = n_off + 1
            else:
                act, cnt, acked = 0, 0, 0
                ne = _emit(evf, evu, r, ne, j, 4, 0, rate, _roc_limit(rate, rise, fall))
    return act, cnt, acked, ne


@_jit(leaf=True)
def _step_block(x, c, a, b, mask, S, IS, k0, lfk, evf, evu, r, ne):  # type: ignore[no-untyped-def]
    """Step the machines in `mask` over the good samples x[c, a:b]; state in IS -> ne.

    The fast path defers a machine that a window cannot prove quiet and steps it here
    over several windows at once (one call, one `_has_run` pass per ~512 samples instead
    of per window).  A machine that stayed quiet since `a` is unchanged by those samples,
    so stepping it from `a` is exact too.  Settings are read from S like `_channel` does.
    """
    db = S[c, S_DEADBAND]
    n_on, n_off = np.int64(S[c, S_N_ON]), np.int64(S[c, S_N_OFF])
    latch = S[c, S_LATCH] != 0.0
    for m in range(4):
        if mask & (1 << m):
            high = m >= 2
            lim = S[c, m]  # S_LL, S_L, S_H, S_HH are columns 0..3
            inner = lim - db if high else lim + db
            sgn = 1.0 if high else -1.0
            act, cnt, ack, ne = _run_limit(
                x,
                c,
                a,
                b,
                lim,
                inner,
                sgn,
                IS[c, I_ACT + m],
                IS[c, I_CNT + m],
                IS[c, I_ACK + m],
                latch,
                n_on,
                n_off,
                m,
                evf,
                evu,
                r,
                ne,
            )
            IS[c, I_ACT + m], IS[c, I_CNT + m], IS[c, I_ACK + m] = act, cnt, ack
    if mask & ROC_BIT:
        rise, fall = S[c, S_ROC_RISE], S[c, S_ROC_FALL]
        rdb = S[c, S_ROC_DEADBAND]
        act, cnt, ack, ne = _run_roc(
            x,
            c,
            a,
            b,
            np.int64(S[c, S_ROC_W]),
            k0,
            lfk,
            S[c, S_ROC_WINDOW_S],
            rise,
            fall,
            rise - rdb,
            fall - rdb,
            IS[c, I_ACT + 4],
            IS[c, I_CNT + 4],
            IS[c, I_ACK + 4],
            latch,
            n_on,
            n_off,
            evf,
            evu,
            r,
            ne,
        )
        IS[c, I_ACT + 4], IS[c, I_CNT + 4], IS[c, I_ACK + 4] = act, cnt, ack
    return ne


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
