# ruff: noqa: PLR0124, PLW3301
# (x != x is the NaN test inside kernels; nested min/max pairs keep a short dependency tree)
"""Vectorised sub-block scans and quiet-band checks of the fast path (see `_channel`).

float32 bound helpers, the one-pass min/max/sum `_reduce` (over int32 ordering keys, so NaN
fails the band check), the quality and ROC |Δv| maxima, the run test of `_run_limit` (`_has_run`),
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
        s += float(xf[j])  # float64; without JIT a Python float: inf + -inf is NaN, no warning
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


@_jit()
def _roc_band(act, cnt, latched, n_off, off, inside):  # type: ignore[no-untyped-def]
    """|Δv| bound under which the ROC machine stays unchanged (-1: not at rest).

    off: the |Δv| of a rate under the trip limit (machine inactive, nothing pending);
    inside: under the rate deadband (latched alarm back to normal, waiting for a reset).
    """
    if cnt == 0 and act == 0:
        return off
    if act != 0 and latched and cnt == n_off + 1:
        return inside
    return -1.0


_RUN_MATH = {"nnan", "nsz"}  # finite samples only: exact; -0.0 == 0.0 in every comparison


@_jit(fastmath=_RUN_MATH)
def _run_min(x, cu, j, su):  # type: ignore[no-untyped-def]
    """Least of x[cu, j-3-su .. j] (su <= 4), as two 4-sample windows that cover it."""
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)  # unsigned: no wrap-around
    w0 = min(min(x[cu, j], x[cu, j - u1]), min(x[cu, j - u2], x[cu, j - u3]))
    if su == 0:
        return w0
    k = j - su
    return min(w0, min(min(x[cu, k], x[cu, k - u1]), min(x[cu, k - u2], x[cu, k - u3])))


@_jit(fastmath=_RUN_MATH)
def _run_max(x, cu, j, su):  # type: ignore[no-untyped-def]
    """Greatest of x[cu, j-3-su .. j] (su <= 4), like `_run_min`."""
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    w0 = max(max(x[cu, j], x[cu, j - u1]), max(x[cu, j - u2], x[cu, j - u3]))
    if su == 0:
        return w0
    k = j - su
    return max(w0, max(max(x[cu, k], x[cu, k - u1]), max(x[cu, k - u2], x[cu, k - u3])))


@_jit(fastmath=_RUN_MATH)
def _any_min_gt(x, cu, lo, hi, su, t, strict):  # type: ignore[no-untyped-def]
    """Any window of `_run_min` > t (strict) or >= t, for j in lo..hi-1."""
    acc = False
    if strict:
        for j in range(lo, hi):
            acc |= _run_min(x, cu, j, su) > t
    else:
        for j in range(lo, hi):
            acc |= _run_min(x, cu, j, su) >= t
    return acc


@_jit(fastmath=_RUN_MATH)
def _any_max_lt(x, cu, lo, hi, su, t, strict):  # type: ignore[no-untyped-def]
    """Any window of `_run_max` < t (strict) or <= t, for j in lo..hi-1."""
    acc = False
    if strict:
        for j in range(lo, hi):
            acc |= _run_max(x, cu, j, su) < t
    else:
        for j in range(lo, hi):
            acc |= _run_max(x, cu, j, su) <= t
    return acc


@_jit(fastmath=_RUN_MATH)
def _any_run(x, cu, a, b, sgn, t, inside, su):  # type: ignore[no-untyped-def]
    """`_has_run` for one run length 4 + su: the four (sgn, inside) cases."""
    lo = np.uint64(a) + su + np.uint64(3)
    hi = np.uint64(b)
    if sgn > 0:  # all v > t (beyond), or all v <= t (inside)
        if inside:
            return _any_max_lt(x, cu, lo, hi, su, t, False)
        return _any_min_gt(x, cu, lo, hi, su, t, True)
    if inside:  # all -v <= t: v >= -t
        return _any_min_gt(x, cu, lo, hi, su, -t, False)
    return _any_max_lt(x, cu, lo, hi, su, -t, True)  # all -v > t: v < -t


@_jit(fastmath=_RUN_MATH, leaf=True)
def _has_run(x, c, a, b, sgn, t, inside, s):  # type: ignore[no-untyped-def]
    """True if 4 + s (s in 0..4) consecutive samples of x[c, a:b] have (sgn * v > t) != inside.

    A run holds iff its least (or greatest) sample does: one pass of window min (max)
    compares ORed into one flag, which vectorises (8 lanes) unlike 4 compares per sample.
    Longer runs are looked for only where a 4-run pass (4 loads per sample) found one.
    The samples must be finite (fast path only); -v > t is v < -t exactly in float32.
    """
    cu = np.uint64(c)
    if not _any_run(x, cu, a, b, sgn, t, inside, np.uint64(0)):
        return False
    return s == 0 or _any_run(x, cu, a, b, sgn, t, inside, np.uint64(s))
