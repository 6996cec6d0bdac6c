"""Result record layouts (`TRANSITION_DTYPE`, `AGGREGATE_DTYPE`) and `BlockResult`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AGGREGATE_DTYPE", "TRANSITION_DTYPE", "BlockResult"]

TRANSITION_DTYPE = np.dtype(
    [
        ("channel", np.int32),
        ("ts", np.float64),
        ("kind", np.uint8),
        ("active", np.bool_),
        ("value", np.float32),
        ("limit", np.float64),
    ]
)

AGGREGATE_DTYPE = np.dtype(
    [
        ("channel", np.int32),
        ("window_start", np.float64),
        ("min", np.float32),
        ("max", np.float32),
        ("mean", np.float64),
        ("last", np.float32),
        ("count", np.int32),
        ("report", np.bool_),
    ]
)


@dataclass(frozen=True)
class BlockResult:
    """Output of one `process` call.

    transitions: TRANSITION_DTYPE records ordered by (ts, channel, kind).
    aggregates: AGGREGATE_DTYPE records of the telemetry windows closed by this block,
    ordered by (channel, window_start).
    """

    transitions: np.ndarray
    aggregates: np.ndarray
