"""Offline replay: run a recorded CSV through a site's alarm settings.

How a safety engineer tunes limits, delays and deadbands before deployment
(ISA-18.2 rationalization): replay last month's readings, see which alarms would
have fired, how often per point and per hour, and whether any ten-minute stretch
was a flood (EEMUA 191: more than 10 alarms in 10 minutes per operator).

The CSV has a header ``ts,device,point,value`` (an optional ``quality`` column, 0 =
good); ``ts`` is RFC 3339 or epoch seconds. Rows may come in any order. A bad row is
reported as ``file:line device/point: column 'value' ...``, every bad row at once.

Timing rules. Data from a historian has duplicates, jitter and gaps, while edge_core
counts delays in samples on a fixed period, so each point's samples are placed on a grid
of period ``dt`` (the median spacing of that point's recording; the device's poll
interval when it has one sample) by their own timestamps:

* **duplicate** (the same timestamp twice): the last row in the file wins (a historian
  writes corrections after the original); counted in the summary;
* **jitter**: a sample goes to the grid slot nearest its own time. Two samples in one
  slot (jitter over half a period, e.g. ``3, 3.6, 4.2, 5`` at 1 s): the later wins and
  the earlier is counted as merged; a sample that skips a slot while less than
  1.5 periods after the previous one moves the grid to itself (clock drift);
* **gap** (more than 1.5 periods without a sample): the alarm state carries on as if
  the stream were continuous (edge_core's rule for a late block), and the gap is
  reported with the point, its start, its end and its length.

Alarm events carry the recorded time of the sample that caused them, never a grid time.
Each run between gaps is fed to edge_core as one block, so a month of data replays fast.
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
from gateway.timeutil import parse_ts, rfc3339

__all__ = ["Gap", "ReplaySummary", "Series", "read_series", "replay"]

FLOOD_WINDOW_S = 600.0
FLOOD_THRESHOLD = 10
GAP_PERIODS = 1.5  # more than this many periods without a sample is a gap
MAX_PROBLEMS = 50
GAPS_SHOWN = 10


@dataclass
class Series:
    """One point's recorded samples (time order after ``read_series``) and their CSV lines."""

    device: Device
    point_index: int
    ts: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``device/point``, as errors and the summary name it."""
        return f"{self.device.name}/{self.device.points[self.point_index].key}"


@dataclass(frozen=True)
class Gap:
    """A stretch of more than GAP_PERIODS periods without a sample of one point."""

    point: str
    start: float
    end: float

    def __str__(self) -> str:
        return f"{self.point}: no samples from {rfc3339(self.start)} to {rfc3339(self.end)} " + (
            f"({self.end - self.start:g} s)"
        )


@dataclass
class ReplaySummary:
    """What the replay found: activations per point and per hour, floods, timing repairs."""

    samples: int = 0
    events: int = 0
    activations: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    per_hour: Counter[str] = field(default_factory=Counter)
    floods: list[tuple[str, int]] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    merged: Counter[str] = field(default_factory=Counter)
    gaps: list[Gap] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        """A readable report."""
        yield f"replayed {self.samples} samples: {self.events} alarm events"
        yield from self._timing_lines()
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

    def _timing_lines(self) -> Iterator[str]:
        for point, count in sorted(self.duplicates.items()):
            yield f"duplicate timestamps: {point}: {count} (the last row in the file was used)"
        for point, count in sorted(self.merged.items()):
            yield (
                f"jitter over half a period: {point}: {count} sample(s) shared a grid slot "
                "with a later one (the later was used)"
            )
        if not self.gaps:
            return
        yield f"gaps (> {GAP_PERIODS:g} periods without a sample): {len(self.gaps)}" + (
            f", the {GAPS_SHOWN} longest:" if len(self.gaps) > GAPS_SHOWN else ":"
        )
        longest = sorted(self.gaps, key=lambda g: g.start - g.end)[:GAPS_SHOWN]
        for gap in sorted(longest, key=lambda g: (g.start, g.point)):
            yield f"  {gap}"


@dataclass
class _Run:
    """Consecutive grid slots of one series; ``picks[k]`` is the sample used in slot k."""

    picks: list[int]


def read_series(site: Site, path: Path) -> list[Series]:
    """Parse the CSV into per-point series in time order; ConfigError lists every bad row."""
    series: dict[tuple[str, str], Series] = {}
    problems: list[Problem] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"ts", "device", "point", "value"} - set(reader.fieldnames or ())
        if missing:
            message = f"missing columns {sorted(missing)} (need ts,device,point,value)"
            raise ConfigError([Problem(str(path), 1, "header", message)])
        for line, row in enumerate(reader, start=2):
            problem = _add_row(site, series, row, Problem(str(path), line, "", ""))
            if problem is not None:
                problems.append(problem)
    if problems:
        extra = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS]
        if extra > 0:
            shown.append(Problem(str(path), None, "", f"... and {extra} more bad rows"))
        raise ConfigError(shown)
    for item in series.values():
        _sort(item)
    return list(series.values())


def _add_row(
    site: Site, series: dict[tuple[str, str], Series], row: dict[str, str | None], at: Problem
) -> Problem | None:
    """Append one CSV row to its series; the Problem (``at`` filled in) when it is bad."""
    if None in row or any(row[name] is None for name in ("ts", "device", "point", "value")):
        return Problem(at.file, at.line, "", "the row's number of cells differs from the header's")
    device, point = str(row["device"]), str(row["point"])
    target = _series_for(site, series, device, point)
    if isinstance(target, str):
        return Problem(at.file, at.line, f"{device}/{point}", target)
    cells = _parse_cells(str(row["ts"]), str(row["value"]), row.get("quality"))
    if isinstance(cells, str):
        return Problem(at.file, at.line, target.name, cells)
    ts, value, quality = cells
    target.ts.append(ts)
    target.values.append(value)
    target.quality.append(quality)
    target.lines.append(at.line or 0)
    return None


def _parse_cells(
    raw_ts: str, raw_value: str, raw_quality: str | None
) -> tuple[float, float, int] | str:
    """(ts, value, quality) of one row, or what is wrong with it, naming column and value."""
    try:
        ts = parse_ts(raw_ts)
    except (ValueError, OverflowError) as exc:
        return f"column 'ts' {raw_ts!r}: {exc}"
    if not math.isfinite(ts):
        return f"column 'ts' {raw_ts!r} is not a finite time"
    text = raw_value.strip()
    try:
        value = float(text) if text else math.nan  # an empty cell: no reading (NaN fault)
    except ValueError:
        return f"column 'value' {text!r} is not a number"
    quality = (raw_quality or "").strip() or "0"
    if not quality.isdigit() or int(quality) > 255:
        return f"column 'quality' {quality!r} is not an integer 0-255"
    return ts, value, int(quality)


def _series_for(
    site: Site, series: dict[tuple[str, str], Series], device: str, point: str
) -> Series | str:
    """The series of ``device/point``, or why there is none."""
    key = (device, point)
    if key not in series:
        try:
            found = site.device(device)
        except KeyError:
            names = [d.name for d in site.devices]
            return f"device {device!r} is not in the site file (it has {names})"
        keys = [p.key for p in found.points]
        if point not in keys:
            return f"device {device!r} has no point {point!r} (it has {keys})"
        series[key] = Series(found, keys.index(point))
    return series[key]


def _sort(item: Series) -> None:
    """Time order; equal timestamps keep their file order, so the last row stays last."""
    order = np.argsort(np.asarray(item.ts), kind="stable")
    item.ts = [item.ts[i] for i in order]
    item.values = [item.values[i] for i in order]
    item.quality = [item.quality[i] for i in order]
    item.lines = [item.lines[i] for i in order]


def replay(site: Site, series: Iterable[Series]) -> tuple[list[AlarmEvent], ReplaySummary]:
    """Run every series through its alarm settings; events in time order with seq."""
    summary = ReplaySummary()
    raw: list[_Found] = []
    for item in series:
        summary.samples += len(item.ts)
        raw += _detect(item, summary)
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


_Found = tuple[float, Series, AlarmKind, bool, float, float]


def _detect(item: Series, summary: ReplaySummary) -> list[_Found]:
    """Detect on the grid, run by run; each transition gets its sample's recorded time."""
    if not item.ts:
        return []
    point = item.device.points[item.point_index]
    dt = _spacing(item.ts, item.device.config.poll_interval_s)
    detector = Detector([channel_config(point, item.device.config.telemetry_window_s)])
    values = np.asarray(item.values, dtype=np.float32)
    quality = np.asarray(item.quality, dtype=np.uint8)
    found: list[_Found] = []
    clock = math.nan  # where edge_core's clock expects the next block (see edge_core._clock)
    for run in _grid(item, dt, summary):
        picks = np.asarray(run.picks)
        t0 = item.ts[run.picks[0]]
        start = t0 if math.isnan(clock) or t0 > clock + 0.5 * dt else clock
        try:
            result = detector.process(
                np.ascontiguousarray(values[picks].reshape(1, -1)),
                t0,
                dt,
                np.ascontiguousarray(quality[picks].reshape(1, -1)),
            )
        except ValueError as exc:  # a bug in the grid above, not in the data: say where
            line = item.lines[run.picks[0]]
            msg = f"{item.name} at CSV line {line} (ts {t0!r}): {exc}"
            raise ValueError(msg) from exc
        clock = start + len(picks) * dt
        for row in result.transitions:
            slot = min(round((float(row["ts"]) - start) / dt), len(picks) - 1)
            when = item.ts[run.picks[slot]]  # the recorded time, not the grid time
            kind = alarm_kind(int(row["kind"]))
            found.append(
                (when, item, kind, bool(row["active"]), float(row["value"]), float(row["limit"]))
            )
    return found


def _spacing(ts: list[float], fallback: float) -> float:
    """The recording's period: the median positive spacing (robust to jitter and gaps)."""
    gaps = np.diff(np.asarray(ts))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else fallback


def _grid(item: Series, dt: float, summary: ReplaySummary) -> list[_Run]:
    """Place the samples on slots of ``dt`` by their own time (rules in the module doc)."""
    ts = item.ts
    runs = [_Run([0])]
    origin = ts[0]  # the time of slot 0 of the current run
    for i in range(1, len(ts)):
        run = runs[-1]
        last = len(run.picks) - 1
        previous = ts[run.picks[-1]]
        slot = round((ts[i] - origin) / dt)
        if slot <= last:  # the same slot: the later sample (or the later row) wins
            counter = summary.duplicates if ts[i] == previous else summary.merged
            counter[item.name] += 1
            run.picks[-1] = i
        elif slot == last + 1:
            run.picks.append(i)
        elif ts[i] - previous <= GAP_PERIODS * dt:  # skipped a slot by drift: follow it
            run.picks.append(i)
            origin = ts[i] - (last + 1) * dt
        else:
            summary.gaps.append(Gap(item.name, previous, ts[i]))
            runs.append(_Run([i]))
            origin = ts[i]
    return runs


def _summarise(events: list[AlarmEvent], raw: list[_Found], summary: ReplaySummary) -> None:
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
