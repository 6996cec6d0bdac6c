# ruff: noqa: PLR0124
# (x != x is the NaN test inside kernels)
"""Vectorised sub-block scans and quiet-band checks of the fast path (see `_channel`).

float32 bound helpers, the one-pass min/max/sum `_reduce` (over int32 ordering keys, so NaN
fails the band check), the quality and ROC |Δv| maxima, the 4-run test of `_run_limit`,
and the quiet bands of a limit machine at rest (`_thresholds`, `_narrow`, `_quiet`).
"""

from __future__ import annotations

import numpy as np

from edge_core._jit import _jit


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
