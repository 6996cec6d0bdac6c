"""Offline replay: run a recorded CSV through a site's alarm settings.

How a safety engineer tunes limits, delays and deadbands before deployment
(ISA-18.2 rationalization): replay last month's readings, see which alarms would
have fired, how often per point and per hour, and whether any ten-minute stretch
was a flood (EEMUA 191: more than 10 alarms in 10 minutes per operator).

The CSV has a header ``ts,device,point,value`` (an optional ``quality`` column, 0 =
good); ``ts`` is RFC 3339 or epoch seconds. Each point's series is cut into runs of
regular spacing and fed to edge_core in blocks, so a month of data replays fast.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_core import Detector
from gateway.config import Device, Site
from gateway.contracts.alarm import AlarmEvent, AlarmKind, AlarmState
from gateway.edge.detection import alarm_kind, channel_config
from gateway.errors import ConfigError, Problem
from gateway.timeutil import parse_ts

__all__ = ["ReplaySummary", "read_series", "replay"]

FLOOD_WINDOW_S = 600.0
FLOOD_THRESHOLD = 10


@dataclass
class Series:
    """One point's recorded samples, in time order after ``sort``."""

    device: Device
    point_index: int
    ts: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)


@dataclass
class ReplaySummary:
    """What the replay found: activations per point and per hour, floods."""

    samples: int = 0
    events: int = 0
    activations: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    per_hour: Counter[str] = field(default_factory=Counter)
    floods: list[tuple[str, int]] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        """A readable report."""
        yield f"replayed {self.samples} samples: {self.events} alarm events"
        yield "activations per point (device/point kind: count):"
        for (device, point, kind), count in sorted(self.activations.items(), key=lambda i: -i[1]):
            yield f"  {device}/{point} {kind}: {count}"
        yield "activations per hour (UTC):"
        for hour, count in sorted(self.per_hour.items()):
            yield f"  {hour}: {count}"
        if self.floods:
            yield f"alarm floods (> {FLOOD_THRESHOLD} in 10 min, EEMUA 191):"
            for start, count in self.floods:
                yield f"  from {start}: {count} activations"
        else:
            yield f"no alarm flood (never > {FLOOD_THRESHOLD} activations in 10 minutes)"


def read_series(site: Site, path: Path) -> list[Series]:
    """Parse the CSV into per-point series; ConfigError lists every bad line."""
    series: dict[tuple[str, str], Series] = {}
    problems: list[Problem] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"ts", "device", "point", "value"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(
                [Problem(str(path), 1, "header", f"missing columns {sorted(missing)}")]
            )
        for line, row in enumerate(reader, start=2):
            try:
                target = _series_for(site, series, row["device"], row["point"])
                target.ts.append(parse_ts(row["ts"]))
                target.values.append(float(row["value"]) if row["value"].strip() else math.nan)
                target.quality.append(int(row.get("quality") or 0))
            except (KeyError, ValueError, AttributeError) as exc:
                problems.append(Problem(str(path), line, "", str(exc).strip("'\"")))
    if problems:
        raise ConfigError(problems[:50])
    for item in series.values():
        order = np.argsort(np.asarray(item.ts), kind="stable")
        item.ts = [item.ts[i] for i in order]
        item.values = [item.values[i] for i in order]
        item.quality = [item.quality[i] for i in order]
    return list(series.values())


def _series_for(
    site: Site, series: dict[tuple[str, str], Series], device: str, point: str
) -> Series:
    key = (device, point)
    if key not in series:
        try:
            found = site.device(device)
        except KeyError:
            msg = f"device {device!r} is not in the site file"
            raise KeyError(msg) from None
        keys = [p.key for p in found.points]
        if point not in keys:
            msg = f"device {device!r} has no point {point!r} (it has {keys})"
            raise KeyError(msg)
        series[key] = Series(found, keys.index(point))
    return series[key]


def replay(site: Site, series: Iterable[Series]) -> tuple[list[AlarmEvent], ReplaySummary]:
    """Run every series through its alarm settings; events in time order with seq."""
    summary = ReplaySummary()
    raw: list[tuple[float, Series, AlarmKind, bool, float, float]] = []
    for item in series:
        summary.samples += len(item.ts)
        raw += _detect(item)
    raw.sort(key=lambda r: r[0])
    events = []
    for seq, (ts, item, kind, active, value, limit) in enumerate(raw, start=1):
        point = item.device.points[item.point_index]
        events.append(
            AlarmEvent.create(
                seq=seq,
                enterprise=site.enterprise,
                site=site.site,
                device=item.device.name,
                point=point.key,
                kind=kind,
                state=AlarmState.ACTIVE if active else AlarmState.CLEARED,
                value=value,
                limit=limit,
                unit=point.unit,
                ts=ts,
            )
        )
    _summarise(events, raw, summary)
    return events, summary


def _detect(item: Series) -> list[tuple[float, Series, AlarmKind, bool, float, float]]:
    if not item.ts:
        return []
    point = item.device.points[item.point_index]
    ts = np.asarray(item.ts)
    dt = _spacing(ts, item.device.config.poll_interval_s)
    detector = Detector([channel_config(point, item.device.config.telemetry_window_s)])
    values = np.asarray(item.values, dtype=np.float32)
    quality = np.asarray(item.quality, dtype=np.uint8)
    found = []
    for start, end in _regular_runs(ts, dt):
        result = detector.process(
            np.ascontiguousarray(values[start:end].reshape(1, -1)),
            float(ts[start]),
            dt,
            np.ascontiguousarray(quality[start:end].reshape(1, -1)),
        )
        for row in result.transitions:
            index = start + round((float(row["ts"]) - float(ts[start])) / dt)
            when = float(ts[min(index, end - 1)])  # the recorded time, not the grid time
            kind = alarm_kind(int(row["kind"]))
            found.append(
                (when, item, kind, bool(row["active"]), float(row["value"]), float(row["limit"]))
            )
    return found


def _spacing(ts: np.ndarray, fallback: float) -> float:
    if len(ts) < 2:
        return fallback
    gaps = np.diff(ts)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else fallback


def _regular_runs(ts: np.ndarray, dt: float) -> Iterator[tuple[int, int]]:
    """Index ranges whose samples sit on one dt grid (within half a sample)."""
    start = 0
    for i in range(1, len(ts)):
        expected = ts[start] + (i - start) * dt
        if abs(ts[i] - expected) > 0.5 * dt:
            yield start, i
            start = i
    yield start, len(ts)


def _summarise(
    events: list[AlarmEvent],
    raw: list[tuple[float, Series, AlarmKind, bool, float, float]],
    summary: ReplaySummary,
) -> None:
    summary.events = len(events)
    activations: list[tuple[float, str]] = []
    for event, record in zip(events, raw, strict=True):
        if event.state is AlarmState.ACTIVE:
            summary.activations[(event.device, event.point, event.kind.value)] += 1
            summary.per_hour[event.ts[:13] + ":00Z"] += 1
            activations.append((record[0], event.ts))
    summary.floods = _floods(activations)


def _floods(activations: list[tuple[float, str]]) -> list[tuple[str, int]]:
    """Stretches with more than FLOOD_THRESHOLD activations within FLOOD_WINDOW_S."""
    floods: list[tuple[str, int]] = []
    left = 0
    flood_end = -math.inf
    for right, (when, _stamp) in enumerate(activations):
        while when - activations[left][0] >= FLOOD_WINDOW_S:
            left += 1
        count = right - left + 1
        if count <= FLOOD_THRESHOLD:
            continue
        if when > flood_end:
            floods.append((activations[left][1], count))
        else:
            floods[-1] = (floods[-1][0], max(floods[-1][1], count))
        flood_end = activations[left][0] + FLOOD_WINDOW_S
    return floods
