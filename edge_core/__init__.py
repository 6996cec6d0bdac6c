"""edge_core: the numba alarm core of hazard-gateway.

`Detector` turns blocks of float32 samples [channels x samples] into alarm transitions
(LL, L, H, HH, ROC, FAULT, COMM) and telemetry-window aggregates; `ReferenceDetector` is its
slow pure-Python twin used as the test oracle.  Semantics: `edge_core.detector`.

Importing this package compiles nothing: the names are loaded on first use (PEP 562),
so `edge_core.config` and `edge_core.reference` are usable while the kernels (loaded
by `edge_core.detector`, compiled on a fresh machine) are still being compiled.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge_core.config import QUALITY_MAINTENANCE, AlarmKind, ChannelConfig, FaultCode
    from edge_core.detector import Detector, warm_up
    from edge_core.reference import ReferenceDetector
    from edge_core.result import AGGREGATE_DTYPE, TRANSITION_DTYPE, BlockResult

__all__ = [
    "AGGREGATE_DTYPE",
    "QUALITY_MAINTENANCE",
    "TRANSITION_DTYPE",
    "AlarmKind",
    "BlockResult",
    "ChannelConfig",
    "Detector",
    "FaultCode",
    "ReferenceDetector",
    "warm_up",
]

_WHERE = {
    "AGGREGATE_DTYPE": "edge_core.result",
    "TRANSITION_DTYPE": "edge_core.result",
    "BlockResult": "edge_core.result",
    "AlarmKind": "edge_core.config",
    "QUALITY_MAINTENANCE": "edge_core.config",
    "ChannelConfig": "edge_core.config",
    "FaultCode": "edge_core.config",
    "Detector": "edge_core.detector",
    "warm_up": "edge_core.detector",
    "ReferenceDetector": "edge_core.reference",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'edge_core' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
