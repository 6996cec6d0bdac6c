# ruff: noqa: N803
# (S/IS/FS name the settings/state matrices)
"""Private numba kernels of the detector (semantics: see `edge_core.detector`).

This is the entry the wrapper uses: the serial and the `prange` kernel over channel rows,
event gathering and the counting sort.  The rest lives in one module per concern:

* `edge_core._jit` -- the one `_jit()` numba-options helper;
* `edge_core._layout` -- state column layout (``I_*``, ``F_*``) and `new_state`;
* `edge_core._windows` -- telemetry window runs (`window_segments`) and `_close_window`;
* `edge_core._scan` -- vectorised fast-path scans and quiet-band checks;
* `edge_core._machine` -- alarm state machines and event emission;
* `edge_core._channel` -- the per-channel loop `_channel` (fast path + exact path).

A channel stops early (``stop < n``) when its event rows are nearly full; its state is
then exactly the state after sample ``stop - 1`` and the wrapper resumes it from ``stop``
with fresh buffers -- this is correct because results never depend on block splits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numba import prange, typeof, types
from numba.core import sigutils

from edge_core._channel import _channel
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
    I_ACK,
    I_ACT,
    I_CNT,
    I_COMM,
    I_COUNT,
    I_FAULT,
    I_LAST_FAULT,
    I_REPORTED,
    I_STUCK_START,
    MAX_EVENTS_PER_SAMPLE,
    N_FSTATE,
    N_ISTATE,
    new_state,
)
from edge_core._windows import window_rows, window_segments
from edge_core.result import AGGREGATE_DTYPE

__all__ = [
    "F_LAST",
    "F_LAST_REP",
    "F_LAST_REP_START",
    "F_MAX",
    "F_MIN",
    "F_STUCK_REF",
    "F_SUM",
    "F_WID",
    "I_ACK",
    "I_ACT",
    "I_CNT",
    "I_COMM",
    "I_COUNT",
    "I_FAULT",
    "I_LAST_FAULT",
    "I_REPORTED",
    "I_STUCK_START",
    "MAX_EVENTS_PER_SAMPLE",
    "N_FSTATE",
    "N_ISTATE",
    "_counting_order",
    "_kernel_serial",
    "gather_events",
    "new_state",
    "parallel_kernel",
    "window_rows",
    "window_segments",
]


_SIG = types.int64(
    *sigutils.normalize_signature(  # type: ignore[no-untyped-call]
        "void(int64[::1], float32[:, ::1], int32[:, ::1], uint8[:, ::1], boolean, int64[::1],"
        " int64, float64[:, ::1], int64[:, ::1], float64[:, ::1], float32[:, ::1],"
        " int64[::1], float64[::1], int64[::1], int64[::1],"
        " float64[:, :, ::1], uint8[:, :, ::1], int64[:, ::1], int64[::1])"
    )[0],
    typeof(np.empty(0, AGGREGATE_DTYPE)),  # type: ignore[no-untyped-call]  # result, in place
)
# Both kernels return the number of events written (all rows). A channel stops early
# only when its event rows are nearly full, so 0 also says every channel is done: the
# usual poll then needs no numpy call to find that out.


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
    events = 0
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
        events += counts[r, 1]
    return events


@functools.cache
def parallel_kernel() -> Callable[..., int]:
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
        events = 0
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
            events += counts[r, 1]
        return events

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
