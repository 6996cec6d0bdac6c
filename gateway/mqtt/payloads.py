"""JSON payloads other than alarm events (those live in gateway.alarms.events)."""

from __future__ import annotations

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
            p.key: {"min": p.min, "max": p.max, "mean": p.mean, "last": p.last, "count": p.count}
            for p in window.points
        },
    }
