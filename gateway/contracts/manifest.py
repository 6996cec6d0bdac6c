"""The retained site manifest (``hazard/v1/{enterprise}/{site}/manifest``).

The edge publishes it at start and whenever the site file changes, so central services
learn a site's structure (devices, points, kinds, units, limits, GB/T 50493 levels and
the regulator's codes) from MQTT and need no copy of the site file. ``version`` is a
hash of everything but the timestamp: equal manifests have equal versions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from gateway.contracts.parsing import NAME, Finite, parse_json
from gateway.modelbase import FrozenModel

__all__ = ["ManifestDevice", "ManifestPoint", "SiteManifest", "manifest_version"]

MAX_MANIFEST_PAYLOAD = 4 * 1024 * 1024
_Code = Annotated[str, Field(max_length=64)]


class ManifestPoint(FrozenModel):
    """One point as central services need it."""

    key: NAME
    name: Annotated[str, Field(max_length=200)]
    kind: Annotated[str, Field(max_length=32)]
    unit: Annotated[str, Field(max_length=32)] = ""
    valid_range: tuple[Finite, Finite] | None = None
    limits: dict[str, Finite] = Field(default_factory=dict, description="LL/L/H/HH set")
    levels: dict[str, int] = Field(default_factory=dict, description="alarm kind -> level")
    deadband: Finite = 0.0
    roc: Finite | None = Field(None, description="rate limit both ways, unit per second")
    roc_rise: Finite | None = Field(None, description="rate-of-rise limit, unit per second")
    roc_fall: Finite | None = Field(None, description="rate-of-fall limit, unit per second")
    indicator_code: _Code | None = None
    equipment_code: _Code | None = None
    tag_number: _Code | None = None


class ManifestDevice(FrozenModel):
    """One device: its profile and points, and its regulator codes."""

    name: NAME
    profile: Annotated[str, Field(max_length=200)]
    vendor: Annotated[str, Field(max_length=200)] = ""
    model: Annotated[str, Field(max_length=200)] = ""
    poll_interval_s: Finite
    telemetry_window_s: Finite
    hazard_source_code: _Code | None = None
    equipment_code: _Code | None = None
    points: tuple[ManifestPoint, ...]


class SiteManifest(FrozenModel):
    """What a site is made of (docs/schemas/manifest.json)."""

    enterprise: NAME
    site: NAME
    ts: Annotated[str, Field(max_length=40)]
    version: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    description: Annotated[str, Field(max_length=2000)] = ""
    credit_code: _Code | None = None
    devices: tuple[ManifestDevice, ...]

    @classmethod
    def from_payload(cls, payload: bytes | str) -> SiteManifest:
        """Parse and validate a manifest; ContractError names the field."""
        return parse_json(_ADAPTER, payload, "site manifest", MAX_MANIFEST_PAYLOAD)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object published on the manifest topic."""
        return self.model_dump(mode="json", exclude_none=True)

    def device(self, name: str) -> ManifestDevice:
        """The device called ``name`` (KeyError when absent)."""
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)


def manifest_version(body: dict[str, Any]) -> str:
    """A short stable hash of a manifest body without ``ts`` and ``version``."""
    stable = {k: v for k, v in body.items() if k not in ("ts", "version")}
    text = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_ADAPTER: TypeAdapter[SiteManifest] = TypeAdapter(SiteManifest)
