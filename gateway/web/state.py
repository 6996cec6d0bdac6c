"""The live state the pages show: sites, point values, active alarms.

Everything here is fed from MQTT (``apply_*``) on the event loop and read by the pages
and the SSE hub. Changes mark keys dirty instead of being pushed one by one, so the hub
can send one batch per tick whatever the message rate. Point history for sparklines is
kept in five-second buckets (the last value of each), 120 buckets = the last 10 minutes,
which bounds memory at 2,000 points and keeps a sparkline cheap to draw.

Risk colour of a site (the "four colours" of risk maps): red with an active second-level
concentration alarm, orange with a first-level one, yellow when offline or with an active
FAULT/COMM alarm, blue otherwise. Shelved and out-of-service alarms do not colour a site.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gateway.contracts import (
    AlarmEvent,
    AlarmKind,
    IsaState,
    SiteManifest,
    SiteStatus,
    TelemetryWindow,
)

__all__ = ["AlarmRow", "LiveState", "PointState", "SiteState", "point_id"]

BUCKET_S = 5.0
BUCKETS = 120
FAULT_KINDS = (AlarmKind.FAULT, AlarmKind.COMM)
_SHOWN = (IsaState.UNACK, IsaState.ACKED, IsaState.RTN_UNACK)
_HIDDEN = (IsaState.SHELVED, IsaState.OUT_OF_SERVICE)
AlarmKeyT = tuple[str, str, str, str, str]


def point_id(enterprise: str, site: str, device: str, point: str) -> str:
    """The key a point has in SSE batches and in the page's DOM."""
    return f"{enterprise}/{site}/{device}/{point}"


@dataclass
class PointState:
    """The latest reading of one point and its bucketed history."""

    value: float | None = None
    good: bool = False
    ts: float = 0.0
    spark: deque[tuple[float, float | None]] = field(default_factory=lambda: deque(maxlen=BUCKETS))

    def update(self, value: float, count: int, ts: float) -> None:
        """Take one window's last value (NaN or no samples: bad quality)."""
        finite = math.isfinite(value) and count > 0
        self.value, self.good, self.ts = (value if finite else None), finite, ts
        bucket = ts // BUCKET_S * BUCKET_S
        if self.spark and self.spark[-1][0] == bucket:
            self.spark[-1] = (bucket, self.value)
        else:
            self.spark.append((bucket, self.value))


@dataclass
class SiteState:
    """One site as the overview shows it."""

    enterprise: str
    site: str
    state: str = "unknown"
    since: float | None = None
    last_data: float | None = None
    manifest: SiteManifest | None = None
    devices_ok: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmRow:
    """An alarm in the console: its newest event and when its activation was raised."""

    event: AlarmEvent
    raised: float
    first_out: bool

    @property
    def isa(self) -> IsaState:
        """The ISA-18.2 state after the newest event."""
        return _isa_of(self.event)

    def to_dict(self) -> dict[str, Any]:
        """The JSON row of the console."""
        e = self.event
        return {
            "id": "/".join((e.enterprise, e.site, e.device, e.point, e.kind.value)),
            "enterprise": e.enterprise, "site": e.site, "device": e.device, "point": e.point,
            "kind": e.kind.value, "level": e.level, "state": e.state.value,
            "isa": self.isa.value, "value": e.value, "limit": e.limit, "unit": e.unit,
            "raised": self.raised, "ts": e.epoch, "first_out": self.first_out,
            "activation_id": e.activation_id or e.event_id, "by": e.by,
            "fault": e.kind in FAULT_KINDS,
            "unacked": self.isa in (IsaState.UNACK, IsaState.RTN_UNACK),
        }  # fmt: skip


def _isa_of(event: AlarmEvent) -> IsaState:
    if event.isa_state is not None:
        return event.isa_state
    fallback = {"active": IsaState.UNACK, "acknowledged": IsaState.ACKED}
    return fallback.get(event.state.value, IsaState.NORMAL)


class LiveState:
    """Sites, points and alarms; ``dirty_*`` tell the hub what changed since its last tick."""

    def __init__(self) -> None:
        self.sites: dict[tuple[str, str], SiteState] = {}
        self.points: dict[str, PointState] = {}
        self.alarms: dict[AlarmKeyT, AlarmRow] = {}
        self.dirty_points: set[str] = set()
        self.dirty_sites: set[tuple[str, str]] = set()
        self.alarms_changed = False

    def site(self, enterprise: str, site: str) -> SiteState:
        """The state of a site, created on first sight."""
        key = (enterprise, site)
        if key not in self.sites:
            self.sites[key] = SiteState(enterprise, site)
        return self.sites[key]

    def apply_status(self, enterprise: str, status: SiteStatus) -> bool:
        """Take a status message; True when online/offline changed."""
        site = self.site(enterprise, status.site)
        changed = site.state != status.state
        if changed:
            site.state, site.since = status.state, status.epoch
        site.devices_ok = {name: d.ok for name, d in status.devices.items()}
        self.dirty_sites.add((enterprise, status.site))
        return changed

    def apply_manifest(self, manifest: SiteManifest) -> None:
        """Take a site manifest (the site page's layout)."""
        self.site(manifest.enterprise, manifest.site).manifest = manifest
        self.dirty_sites.add((manifest.enterprise, manifest.site))

    def apply_telemetry(self, enterprise: str, site: str, window: TelemetryWindow) -> None:
        """Take one device's window: each point's last value, quality and time."""
        ts = window.start + window.window_s
        for p in window.points:
            key = point_id(enterprise, site, window.device, p.key)
            self.points.setdefault(key, PointState()).update(p.last, p.count, ts)
            self.dirty_points.add(key)
        state = self.site(enterprise, site)
        state.last_data = max(state.last_data or 0.0, ts)
        self.dirty_sites.add((enterprise, site))

    def apply_alarm(self, event: AlarmEvent, raised: float, first_out: bool) -> None:
        """Take an alarm event (already de-duplicated by the store)."""
        key = (event.enterprise, event.site, event.device, event.point, event.kind.value)
        old = self.alarms.get(key)
        if old is not None and old.event.seq > event.seq and old.event.site == event.site:
            return  # an older event redelivered late: the newer state stands
        row = AlarmRow(event, raised, first_out)
        if row.isa in _SHOWN or row.isa in _HIDDEN:
            self.alarms[key] = row
        else:
            self.alarms.pop(key, None)
        self.alarms_changed = True
        self.dirty_sites.add((event.enterprise, event.site))

    def active(self) -> list[AlarmRow]:
        """Console order: second level first, then unacknowledged, then oldest raised."""
        return sorted(self.alarms.values(), key=lambda r: (-r.event.level, r.raised))

    def overview_row(self, key: tuple[str, str]) -> dict[str, Any]:
        """One site of the overview."""
        site = self.sites[key]
        rows = [r for r in self.alarms.values() if (r.event.enterprise, r.event.site) == key]
        counting = [r for r in rows if r.isa in _SHOWN]
        counts = {lvl: sum(1 for r in counting if r.event.level == lvl) for lvl in (1, 2)}
        return {
            "enterprise": site.enterprise, "site": site.site, "state": site.state,
            "since": site.since, "last_data": site.last_data,
            "description": site.manifest.description if site.manifest else "",
            "level1": counts[1], "level2": counts[2], "risk": _risk(site, counting),
            "faults": sum(1 for r in counting if r.event.kind in FAULT_KINDS),
        }  # fmt: skip

    def point_row(self, key: str) -> list[Any]:
        """The SSE form of a point: [value, good (0/1), ts in ms]."""
        p = self.points[key]
        return [p.value, int(p.good), round(p.ts * 1000)]


def _risk(site: SiteState, rows: list[AlarmRow]) -> str:
    concentration = [r for r in rows if r.event.kind not in FAULT_KINDS]
    if any(r.event.level == 2 for r in concentration):
        return "red"
    if concentration:
        return "orange"
    if site.state == "offline" or len(rows) > len(concentration):
        return "yellow"
    return "blue"
