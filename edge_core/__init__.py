"""edge_core: the numba alarm core of hazard-gateway.

`Detector` turns blocks of float32 samples [channels x samples] into alarm transitions
(LL, L, H, HH, ROC, FAULT, COMM) and telemetry-window aggregates; `ReferenceDetector` is its
slow pure-Python twin used as the test oracle.  Semantics: `edge_core.detector`.
"""

from edge_core.config import AlarmKind, ChannelConfig, FaultCode
from edge_core.detector import Detector, warm_up
from edge_core.reference import ReferenceDetector
from edge_core.result import AGGREGATE_DTYPE, TRANSITION_DTYPE, BlockResult

__all__ = [
    "AGGREGATE_DTYPE",
    "TRANSITION_DTYPE",
    "AlarmKind",
    "BlockResult",
    "ChannelConfig",
    "Detector",
    "FaultCode",
    "ReferenceDetector",
    "warm_up",
]
