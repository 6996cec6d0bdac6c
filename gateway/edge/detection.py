"""Bridge from polled samples to edge_core: settings in, transitions and windows out.

The numeric core knows channels and arrays; the gateway knows devices and points.
This module maps one device's points to edge_core channel settings, feeds each poll
to the device's detector, and turns the records that come back into domain objects
that keep the acquisition time of the sample that caused them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from edge_core._clock import SampleClock, grid_start
from edge_core.config import QUALITY_MAINTENANCE, ChannelConfig
from edge_core.config import AlarmKind as CoreKind
from gateway.alarms.model import DEVICE_POINT, Transition
from gateway.config import Device
from gateway.contracts.alarm import AlarmKind
from gateway.contracts.telemetry import Columns, TelemetryWindow
from gateway.edge.samples import PollSample
from gateway.edge.warmup import WarmDetector
from gateway.profiles import Kind, Point, Signal

Results = tuple[list[Transition], list[TelemetryWindow]]

__all__ = ["DeviceDetector", "alarm_kind", "channel_config", "maintenance_quality"]

HEARTBEAT_S = 60.0
DETECT_BLOCK_S = 0.05  # fast pollers: samples of up to this long run through the kernels together
# A spark detector's counter: any increase is a spark detected (MEM Order No. 10 makes
# spark detection a required safeguard), so by default a rise of one count alarms (ROC).
SPARK_ANY_RISE = 1e-6

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
    """edge_core settings of one point: its alarms, valid range and telemetry window.

    A ``signal: fault`` bit becomes a device-fault channel (FAULT, never an H); a
    ``maintenance`` bit carries no alarm of its own (it marks the device's other readings
    bad, `maintenance_quality`); gas points alarm on over-range (`Point.over_range_alarm`);
    a spark counter without rate limits of its own alarms on any increase.
    """
    alarms = point.alarms
    low, high = point.valid_range if point.valid_range is not None else (math.nan, math.nan)
    base = ChannelConfig(
        valid_lo=low,
        valid_hi=high,
        window_s=window_s,
        heartbeat_s=HEARTBEAT_S,
        over_range_alarm=point.over_range_alarm,
        device_fault=point.signal is Signal.FAULT,
    )
    if point.kind is Kind.SPARK_COUNT and not _has_roc(point):
        base = replace(base, roc_rise=SPARK_ANY_RISE)
    if alarms is None or point.signal in (Signal.FAULT, Signal.MAINTENANCE):
        return base
    return replace(
        base,
        ll=_nan(alarms.lo_lo),
        l=_nan(alarms.lo),
        h=_nan(alarms.hi),
        hh=_nan(alarms.hi_hi),
        deadband=alarms.deadband,
        on_delay_s=alarms.on_delay_s,
        off_delay_s=alarms.off_delay_s,
        roc=_nan(alarms.roc),
        roc_rise=base.roc_rise if alarms.roc_rise is None else alarms.roc_rise,
        roc_fall=_nan(alarms.roc_fall),
        roc_window_s=alarms.roc_window_s,
        roc_deadband=alarms.roc_deadband,
        latch=alarms.latch,
        stuck_s=_nan(alarms.stuck_s),
        stuck_epsilon=alarms.stuck_epsilon,
        report_deadband=alarms.deadband,
    )


def _has_roc(point: Point) -> bool:
    alarms = point.alarms
    return alarms is not None and any(
        v is not None for v in (alarms.roc, alarms.roc_rise, alarms.roc_fall)
    )


def maintenance_quality(points: tuple[Point, ...]) -> Callable[[PollSample], np.ndarray]:
    """The quality column to feed the detector: a calibrating device's readings are bad.

    While a ``signal: maintenance`` bit reads set (with good quality), every point of
    the device that is not a status point gets QUALITY_MAINTENANCE: no process alarm,
    rate or stuck check sees the calibration gas, and no COMM alarm is raised.
    """
    flags = [i for i, p in enumerate(points) if p.signal is Signal.MAINTENANCE]
    readings = np.array([p.kind is not Kind.STATUS for p in points], np.bool_)

    def quality(sample: PollSample) -> np.ndarray:
        q = np.ascontiguousarray(sample.quality.reshape(-1, 1), dtype=np.uint8)
        if flags and any(sample.quality[i] == 0 and sample.values[i] != 0 for i in flags):
            q[readings & (q[:, 0] == 0), 0] = QUALITY_MAINTENANCE
        return q

    return quality


def alarm_kind(code: int) -> AlarmKind:
    """The gateway's alarm kind of an edge_core kind code."""
    return _KIND[CoreKind(code)]


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


class DeviceDetector:
    """The edge_core detector of one device; one channel per point.

    Fast pollers are detected in short blocks: the samples of up to ``DETECT_BLOCK_S``
    (50 ms; 5 polls at 10 ms) run through the kernels together, since a kernel call costs
    the same for one sample as for a few and at 100 Hz that call was a third of the edge's
    CPU (bench/pipeline.py). An alarm then waits at most that long (the alarm target is
    the poll interval + 200 ms), keeps its sample's acquisition time, and the results are
    the same as sample by sample (edge_core's results never depend on the block cuts).
    Devices polled every 50 ms or slower are detected at every poll.
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self._name = device.name
        self.dt = device.config.poll_interval_s
        self.window_s = device.config.telemetry_window_s
        configs = [channel_config(p, self.window_s) for p in device.points]
        self._detector = WarmDetector(configs)  # answers while the kernels compile
        self._keys = [p.key for p in device.points]
        self._quality = maintenance_quality(device.points)
        self._grid = SampleClock()  # a mirror of the detector's clock (one sample per poll)
        self.block_samples = max(1, int(DETECT_BLOCK_S / self.dt + 1e-9))
        self._pending: list[tuple[float, PollSample]] = []  # (grid time, sample)
        self._carried: Results = ([], [])  # results of a block run early, for the next feed

    def reset(self, point_index: int) -> bool:
        """Reset the point's latched alarms that are back to normal; False if none was.

        Samples still waiting for their block are run first, so the detector decides on
        every reading the operator has seen.
        """
        self._carry(self._run_pending())
        return bool(self._detector.reset(point_index))

    def feed(self, sample: PollSample) -> Results:
        """Take one poll; returns the transitions and windows of every block run now."""
        t0, continues = self._sample_time(sample.ts, sample.due)
        if self._pending and not continues:  # a late poll re-anchors: a block of its own
            self._carry(self._run_pending())
        self._pending.append((t0, sample))
        if len(self._pending) >= self.block_samples:
            self._carry(self._run_pending())
        out, self._carried = self._carried, ([], [])
        return out

    def _carry(self, results: Results) -> None:
        self._carried[0].extend(results[0])
        self._carried[1].extend(results[1])

    def _run_pending(self) -> Results:
        pending, self._pending = self._pending, []
        if not pending:
            return [], []
        t0, samples = pending[0][0], [s for _, s in pending]
        if len(samples) == 1:
            block = np.ascontiguousarray(samples[0].values.reshape(-1, 1), dtype=np.float32)
            quality = self._quality(samples[0])
        else:
            block = np.ascontiguousarray(np.stack([s.values for s in samples], axis=1))
            quality = np.ascontiguousarray(np.concatenate([self._quality(s) for s in samples], 1))
        result = self._detector.process(block, t0, self.dt, quality)
        rows = result.transitions
        transitions = self._transitions(rows, t0, samples) if rows.size else []
        return transitions, self._windows(result.aggregates)

    def _transitions(
        self, rows: np.ndarray, t0: float, samples: list[PollSample]
    ) -> list[Transition]:
        by_sample: dict[int, list[Transition]] = {}
        last = len(samples) - 1
        for row in rows:
            i = min(last, max(0, round((float(row["ts"]) - t0) / self.dt)))
            by_sample.setdefault(i, []).append(
                Transition(
                    device=self._name,
                    point=self._keys[int(row["channel"])],
                    kind=alarm_kind(int(row["kind"])),
                    active=bool(row["active"]),
                    value=float(row["value"]),
                    limit=float(row["limit"]),
                    ts=samples[i].ts,  # the acquisition time, never the detector's grid time
                )
            )
        return [t for i in sorted(by_sample) for t in self._collapse_device_comm(by_sample[i])]

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

    def _sample_time(self, ts: float, due: float) -> tuple[float, bool]:
        # edge_core's one timing rule (grid_start) places every poll: an early or
        # jittered one continues the grid, a late one re-anchors it. The detector then
        # never refuses a poll for its timing, and the alarm keeps the acquisition time.
        # The rule is applied to when the poll was due (its slot, from the poller), not
        # when it was read: on uvloop the loop's clock is milliseconds cached per loop
        # turn, so a poll may start a millisecond early and anchor the grid early, and a
        # late start or a wake-up held up by the VM read more than half a period after
        # it re-anchored the grid; the telemetry window it left lost its last sample to
        # the next (bench/README.md, "Seventh pass"). A wall-clock step moves the slots
        # too, so it still re-anchors. Without ``due`` (NaN: samples fed directly) the
        # read time decides, as before.
        # The mirror is a SampleClock fed exactly like the detector's own, so the two
        # agree to the bit even after millions of polls (no float drift between them).
        # Returns the poll's grid time and whether it continues the grid (False: re-anchored).
        expected = self._grid.expected()
        t0 = grid_start(ts if math.isnan(due) else due, expected, self.dt)
        self._grid.begin(t0, self.dt)
        self._grid.advance(1)
        return t0, t0 == expected

    def _windows(self, rows: np.ndarray) -> list[TelemetryWindow]:
        # Whole columns (.tolist()) into TelemetryWindow.of_columns, no object per point:
        # on wide sites this ran per poll for every point and was a fifth of the edge's
        # CPU (bench/pipeline.py). The checks run on .tolist() copies: on a few elements,
        # ndarray.all() or a boolean gather costs more than the copy.
        if False in rows["report"].tolist():
            rows = rows[rows["report"]]
        if rows.size == 0:
            return []
        name, window_s = self._name, self.window_s
        column = rows["window_start"]
        starts = column.tolist()
        if starts.count(starts[0]) == len(starts):  # the usual poll closes one window
            return [TelemetryWindow.of_columns(name, starts[0], window_s, self._columns(rows))]
        return [
            TelemetryWindow.of_columns(name, start, window_s, self._columns(rows[column == start]))
            for start in sorted(set(starts))
        ]

    def _columns(self, rows: np.ndarray) -> Columns:
        keys = self._keys
        return (
            [keys[c] for c in rows["channel"].tolist()],
            rows["min"].tolist(),
            rows["max"].tolist(),
            rows["mean"].tolist(),
            rows["last"].tolist(),
            rows["count"].tolist(),
        )
