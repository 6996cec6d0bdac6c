"""JSON payloads other than alarm events (those live in gateway.alarms.events)."""

from __future__ import annotations

import math
from typing import Any

from gateway.edge.detection import TelemetryWindow
from gateway.timeutil import rfc3339

__all__ = ["telemetry_payload"]


def telemetry_payload(window: TelemetryWindow) -> dict[str, Any]:
    """One telemetry window of one device (docs/mqtt.md, schema telemetry.json)."""
    return {
        "device": window.device,
        "ts": rfc3339(window.start),
        "window_s": window.window_s,
        "points": {
            p.key: {
                "min": _json_number(p.min),
                "max": _json_number(p.max),
                "mean": _json_number(p.mean),
                "last": _json_number(p.last),
                "count": p.count,
            }
            for p in window.points
        },
    }


def _json_number(value: float) -> float | None:
    """NaN/inf are not JSON: a window without good samples reports null."""
    return value if math.isfinite(value) else None
