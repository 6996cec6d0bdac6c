"""What push knows of each site: online or offline, and the latest value of every point.

A site is *offline* when its status says so (the edge's last will, published by the broker
when the edge vanishes, or a clean shutdown), or when nothing was heard from it (status or
telemetry) for ``periods.offline_threshold_s``. Each change is one STATUS item; the first
status seen after start is pushed too, so the platform learns the state after a restart.
The real-time upload is the latest ``last`` of every point of every telemetry window, with
its quality (good when the window had good samples). Time comes in as ``now`` arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gateway.contracts import SiteStatus, TelemetryWindow
from gateway.push.items import ItemKind, PointValue, PushItem, item_key
from gateway.timeutil import rfc3339

__all__ = ["SiteTracker"]


@dataclass
class _Site:
    enterprise: str
    site: str
    last_seen: float
    pushed_online: bool | None = None
    values: dict[tuple[str, str], PointValue] = field(default_factory=dict)


class SiteTracker:
    """Sites by (enterprise, site), updated from MQTT and swept by timers."""

    def __init__(self, offline_threshold_s: float) -> None:
        self.threshold = offline_threshold_s
        self._sites: dict[tuple[str, str], _Site] = {}

    def _get(self, enterprise: str, site: str, now: float) -> _Site:
        return self._sites.setdefault((enterprise, site), _Site(enterprise, site, now))

    def on_status(
        self, enterprise: str, site: str, status: SiteStatus, now: float
    ) -> PushItem | None:
        """A status message; the STATUS item when the site's state changed."""
        entry = self._get(enterprise, site, now)
        if status.online:
            entry.last_seen = now
        reason = "status online" if status.online else "status offline (last will or shutdown)"
        return self._change(entry, status.online, status.ts, reason, now)

    def on_telemetry(
        self, enterprise: str, site: str, window: TelemetryWindow, now: float
    ) -> PushItem | None:
        """A telemetry window: keep its values; a sign of life (may bring the site online)."""
        entry = self._get(enterprise, site, now)
        entry.last_seen = now
        stamp = rfc3339(window.start + window.window_s)
        for p in window.points:
            good = p.count > 0 and math.isfinite(p.last)
            value = p.last if math.isfinite(p.last) else None
            entry.values[(window.device, p.key)] = PointValue(
                device=window.device, point=p.key, value=value, good=good, ts=stamp
            )
        if entry.pushed_online is False:
            return self._change(entry, True, rfc3339(now), "telemetry resumed", now)
        return None

    def sweep(self, now: float) -> list[PushItem]:
        """STATUS items for sites silent for longer than the offline threshold."""
        out = []
        for entry in self._sites.values():
            silent = now - entry.last_seen
            if entry.pushed_online and silent > self.threshold:
                reason = f"nothing heard for {silent:.0f} s (threshold {self.threshold:g} s)"
                item = self._change(entry, False, rfc3339(now), reason, now)
                if item is not None:
                    out.append(item)
        return out

    def _change(
        self, entry: _Site, online: bool, ts: str, reason: str, now: float
    ) -> PushItem | None:
        if entry.pushed_online is online:
            return None
        entry.pushed_online = online
        state = "online" if online else "offline"
        return PushItem(
            kind=ItemKind.STATUS,
            key=item_key(ItemKind.STATUS, entry.enterprise, entry.site, state, ts),
            enterprise=entry.enterprise,
            site=entry.site,
            ts=ts,
            received=now,
            online=online,
            reason=reason,
        )

    def realtime(self, now: float) -> list[PushItem]:
        """One REALTIME item per site with values: the latest of each of its points."""
        stamp = rfc3339(now)
        return [
            PushItem(
                kind=ItemKind.REALTIME,
                key=item_key(ItemKind.REALTIME, e.enterprise, e.site, stamp),
                enterprise=e.enterprise,
                site=e.site,
                ts=stamp,
                received=now,
                values=tuple(e.values[k] for k in sorted(e.values)),
            )
            for e in self._sites.values()
            if e.values
        ]

    def heartbeat(self, now: float) -> list[PushItem]:
        """One HEARTBEAT item per known site, carrying its current state."""
        stamp = rfc3339(now)
        return [
            PushItem(
                kind=ItemKind.HEARTBEAT,
                key=item_key(ItemKind.HEARTBEAT, e.enterprise, e.site, stamp),
                enterprise=e.enterprise,
                site=e.site,
                ts=stamp,
                received=now,
                online=e.pushed_online,
            )
            for e in self._sites.values()
        ]
