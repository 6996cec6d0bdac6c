"""Column layout of the kernel state matrices, and the initial state.

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
"""

from __future__ import annotations

import numpy as np

# int state columns: act[5] (LL, L, H, HH, ROC), cnt[5], acked[5], then scalars
I_ACT, I_CNT, I_ACK = 0, 5, 10
I_FAULT, I_COMM, I_STUCK_START, I_LAST_FAULT, I_COUNT, I_REPORTED = 15, 16, 17, 18, 19, 20
N_ISTATE = 21
# float state columns
F_STUCK_REF, F_WID, F_MIN, F_MAX, F_SUM, F_LAST, F_LAST_REP, F_LAST_REP_START = range(8)
N_FSTATE = 8
MAX_EVENTS_PER_SAMPLE = 8  # 5 process alarms + FAULT clear/raise + COMM


def new_state(n_channels: int, max_roc_w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial (IS, FS, hist) state arrays."""
    istate = np.zeros((n_channels, N_ISTATE), np.int64)
    istate[:, I_LAST_FAULT] = -1
    fstate = np.full((n_channels, N_FSTATE), np.nan)
    fstate[:, F_MIN], fstate[:, F_MAX], fstate[:, F_SUM] = np.inf, -np.inf, 0.0
    return istate, fstate, np.zeros((n_channels, max(1, max_roc_w)), np.float32)
