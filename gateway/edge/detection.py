"""Bridge from polled samples to edge_core: settings in, transitions and windows out.

The numeric core knows channels and arrays; the gateway knows devices and points.
This module maps one device's points to edge_core channel settings, feeds each poll
to the device's detector, and turns the records that come back into domain objects
that keep the acquisition time of the sample that caused them.
"""

from __future__ import annotations

import math

import numpy as np

from edge_core import AlarmKind as CoreKind
from edge_core import ChannelConfig, Detector
from gateway.alarms.model import DEVICE_POINT, Transition
from gateway.config import Device
from gateway.contracts.alarm import AlarmKind
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.edge.samples import PollSample
from gateway.profiles import Point

__all__ = ["DeviceDetector", "alarm_kind", "channel_config"]

HEARTBEAT_S = 60.0

_KIND = {
    CoreKind.LL: AlarmKind.LL,
    CoreKind.L: AlarmKind.L,
    CoreKind.H: AlarmKind.H,
    CoreKind.HH: AlarmKind.HH,
    CoreKind.ROC: AlarmKind.ROC,
    CoreKind.FAULT: AlarmKind.FAULT,
    CoreKind.COMM: AlarmKind.COMM,
}


def channel_config(point: Point, window_s: float) -> ChannelConfig:
    """edge_core settings of one point: its alarms, valid range and telemetry window."""
    alarms = point.alarms
    low, high = point.valid_range if point.valid_range is not None else (math.nan, math.nan)
    if alarms is None:
        return ChannelConfig(
            valid_lo=low, valid_hi=high, window_s=window_s, heartbeat_s=HEARTBEAT_S
        )
    return ChannelConfig(
        ll=_nan(alarms.lo_lo),
        l=_nan(alarms.lo),
        h=_nan(alarms.hi),
        hh=_nan(alarms.hi_hi),
        deadband=alarms.deadband,
        on_delay_s=alarms.on_delay_s,
        off_delay_s=alarms.off_delay_s,
        roc=_nan(alarms.roc),
        roc_window_s=alarms.roc_window_s,
        latch=alarms.latch,
        valid_lo=low,
        valid_hi=high,
        stuck_s=_nan(alarms.stuck_s),
        stuck_epsilon=alarms.stuck_epsilon,
        window_s=window_s,
        report_deadband=alarms.deadband,
        heartbeat_s=HEARTBEAT_S,
    )


def alarm_kind(code: int) -> AlarmKind:
    """The gateway's alarm kind of an edge_core kind code."""
    return _KIND[CoreKind(code)]


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


class DeviceDetector:
    """The edge_core detector of one device; one channel per point."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.dt = device.config.poll_interval_s
        self.window_s = device.config.telemetry_window_s
        configs = [channel_config(p, self.window_s) for p in device.points]
        self._detector = Detector(configs)
        self._keys = [p.key for p in device.points]
        self._next_t: float | None = None

    def acknowledge(self, point_index: int) -> None:
        """Release a latched alarm of the point (the latch holds until acknowledged)."""
        self._detector.acknowledge(point_index)

    def feed(self, sample: PollSample) -> tuple[list[Transition], list[TelemetryWindow]]:
        """Run one poll through the detector."""
        t0 = self._sample_time(sample.ts)
        block = np.ascontiguousarray(sample.values.reshape(-1, 1), dtype=np.float32)
        quality = np.ascontiguousarray(sample.quality.reshape(-1, 1), dtype=np.uint8)
        result = self._detector.process(block, t0, self.dt, quality)
        transitions = [
            Transition(
                device=self.device.name,
                point=self._keys[int(row["channel"])],
                kind=alarm_kind(int(row["kind"])),
                active=bool(row["active"]),
                value=float(row["value"]),
                limit=float(row["limit"]),
                ts=sample.ts,  # the acquisition time, never the detector's grid time
            )
            for row in result.transitions
        ]
        return self._collapse_device_comm(transitions), self._windows(result.aggregates)

    def _collapse_device_comm(self, transitions: list[Transition]) -> list[Transition]:
        # A dead device would raise one COMM alarm per point: an alarm flood for one
        # fault (EEMUA 191). When every point of the device changes COMM state in the
        # same poll, report it once, on the device (point DEVICE_POINT).
        for active in (True, False):
            comm = [t for t in transitions if t.kind is AlarmKind.COMM and t.active is active]
            if len(comm) < 2 or len(comm) != len(self._keys):
                continue
            rest = [t for t in transitions if t not in comm]
            first = comm[0]
            transitions = [
                *rest,
                Transition(
                    first.device,
                    DEVICE_POINT,
                    AlarmKind.COMM,
                    active,
                    first.value,
                    first.limit,
                    first.ts,
                ),
            ]
        return transitions

    def _sample_time(self, ts: float) -> float:
        # The detector counts time in samples of dt and refuses time going backwards;
        # poll jitter of under half a period is absorbed, a later poll re-anchors it.
        expected = self._next_t
        t0 = ts if expected is None or ts > expected - 0.4 * self.dt else expected
        self._next_t = t0 + self.dt
        return t0

    def _windows(self, rows: np.ndarray) -> list[TelemetryWindow]:
        by_start: dict[float, list[PointWindow]] = {}
        for row in rows:
            if not row["report"]:
                continue
            by_start.setdefault(float(row["window_start"]), []).append(
                PointWindow(
                    key=self._keys[int(row["channel"])],
                    min=float(row["min"]),
                    max=float(row["max"]),
                    mean=float(row["mean"]),
                    last=float(row["last"]),
                    count=int(row["count"]),
                )
            )
        return [
            TelemetryWindow(self.device.name, start, self.window_s, tuple(points))
            for start, points in sorted(by_start.items())
        ]
