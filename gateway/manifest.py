"""Build the retained site manifest from a loaded site (the edge side of the contract).

Central services learn a site's structure from this message only, so it carries what
they need and nothing they must not see: devices, points, kinds, units, limits and the
GB/T 50493 level of each limit kind, and the regulator's codes from the site file.
Endpoints (hosts, serial ports) stay at the edge.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.config import Device, Site
from gateway.contracts.alarm import AlarmKind, level_of
from gateway.contracts.manifest import SiteManifest, manifest_version
from gateway.profiles import Point
from gateway.timeutil import rfc3339

__all__ = ["build_manifest"]


def build_manifest(site: Site, now: float | None = None) -> SiteManifest:
    """The manifest of ``site``; its version changes only when its content does."""
    regulator = site.config.regulator
    body: dict[str, Any] = {
        "enterprise": site.enterprise,
        "site": site.site,
        "description": site.config.description,
        "credit_code": regulator.credit_code if regulator else None,
        "devices": [_device(d) for d in site.devices],
    }
    body = {k: v for k, v in body.items() if v is not None}
    body["version"] = manifest_version(body)
    body["ts"] = rfc3339(time.time() if now is None else now)
    return SiteManifest.model_validate(body)


def _device(device: Device) -> dict[str, Any]:
    codes = device.config.regulator
    out: dict[str, Any] = {
        "name": device.name,
        "profile": device.config.profile,
        "vendor": device.profile.vendor,
        "model": device.profile.model,
        "poll_interval_s": device.config.poll_interval_s,
        "telemetry_window_s": device.config.telemetry_window_s,
        "points": [_point(device, p) for p in device.points],
    }
    if codes is not None:
        out.update(codes.model_dump(exclude_none=True))
    return out


def _point(device: Device, point: Point) -> dict[str, Any]:
    alarms = point.alarms
    limits = alarms.limits() if alarms is not None else {}
    out: dict[str, Any] = {
        "key": point.key,
        "name": point.name,
        "kind": str(point.kind),
        "unit": point.unit,
        "limits": limits,
        "levels": {name: level_of(AlarmKind(name)) for name in limits},
        "deadband": alarms.deadband if alarms is not None else 0.0,
    }
    if point.valid_range is not None:
        out["valid_range"] = list(point.valid_range)
    if alarms is not None:
        rates = {"roc": alarms.roc, "roc_rise": alarms.roc_rise, "roc_fall": alarms.roc_fall}
        out.update({name: value for name, value in rates.items() if value is not None})
    codes = device.point_regulator(point.key)
    if codes is not None:
        out.update(codes.model_dump(exclude_none=True))
    return out
