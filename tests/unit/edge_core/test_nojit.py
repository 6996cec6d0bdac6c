"""The kernels give the reference's answers with NUMBA_DISABLE_JIT=1 (pure Python)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import numpy as np
from edge_core import ChannelConfig, Detector, ReferenceDetector
rng = np.random.default_rng(3)
x = rng.normal(0, 2, (2, 300)).astype(np.float32)
x[0, 40:60] = 9; x[1, 100:120] = x[1, 100]; x[1, 150] = np.nan; x[0, 200:230] = 0.5
q = np.zeros(x.shape, np.uint8); q[1, 250:255] = 1
cfg = ChannelConfig(ll=-5, l=-3, h=3, hh=5, deadband=0.5, on_delay_s=0.02, off_delay_s=0.03,
                    roc=300, roc_window_s=0.02, latch=True, valid_lo=-20, valid_hi=20,
                    stuck_s=0.1, stuck_epsilon=0.001, window_s=0.25)
x[1, 270:275] = 30; q[1, 280:285] = 255  # over range, then maintenance
fail_safe = ChannelConfig(h=3, hh=5, deadband=0.5, roc_rise=300, roc_fall=200,
                          roc_window_s=0.02, roc_deadband=50, latch=True, valid_lo=-20,
                          valid_hi=20, over_range_alarm=True, stuck_s=0.1, window_s=0.25)
out = []
for cls in (Detector, ReferenceDetector):
    d = cls([cfg, fail_safe])
    out.append([d.process(np.ascontiguousarray(x[:, a:b]), a * 0.01, 0.01,
                          np.ascontiguousarray(q[:, a:b])) for a, b in ((0, 37), (37, 300))])
for a, b in zip(*out):
    for f in a.transitions.dtype.names:
        np.testing.assert_array_equal(a.transitions[f], b.transitions[f])
    assert np.allclose(a.aggregates["mean"], b.aggregates["mean"], equal_nan=True)
    assert (a.aggregates["count"] == b.aggregates["count"]).all()
print("OK", sum(len(a.transitions) for a in out[0]))
"""


def test_kernels_without_jit() -> None:
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK")
