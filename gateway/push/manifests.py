"""Site manifests as push learns them from MQTT, and the regulator codes a channel needs.

The edge publishes each site's manifest retained, so push has every site's structure
(and regulator codes) right after it subscribes. A channel declares the codes it needs
(:class:`CodeNeeds`); :func:`missing_codes` says which are absent for one point, so the
same rule refuses a site file at start-up and dead-letters an event at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.contracts import ManifestDevice, ManifestPoint, SiteManifest

__all__ = ["CodeName", "CodeNeeds", "ManifestBook", "PointRef", "missing_codes"]

CodeName = Literal[
    "credit_code", "hazard_source_code", "indicator_code", "equipment_code", "tag_number"
]
SITE_CODES = ("credit_code",)
DEVICE_CODES = ("hazard_source_code",)
POINT_CODES = ("indicator_code", "equipment_code", "tag_number")


@dataclass(frozen=True)
class CodeNeeds:
    """Regulator codes a channel cannot push without (names as in the manifest)."""

    site: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    point: tuple[str, ...] = ()


@dataclass(frozen=True)
class PointRef:
    """One point of one manifest, with its device and site."""

    site: SiteManifest
    device: ManifestDevice
    point: ManifestPoint

    @property
    def equipment_code(self) -> str | None:
        """The point's equipment code, else its device's."""
        return self.point.equipment_code or self.device.equipment_code


def missing_codes(site: SiteManifest, ref: PointRef | None, needs: CodeNeeds) -> list[str]:
    """Dotted names of needed codes absent for the site (and the point, when given)."""
    missing = [f"site.{name}" for name in needs.site if not getattr(site, name)]
    if ref is None:
        return missing
    missing += [
        f"devices.{ref.device.name}.{name}"
        for name in needs.device
        if not getattr(ref.device, name)
    ]
    for name in needs.point:
        value = ref.equipment_code if name == "equipment_code" else getattr(ref.point, name)
        if not value:
            missing.append(f"devices.{ref.device.name}.points.{ref.point.key}.{name}")
    return missing


class ManifestBook:
    """The latest manifest of every site seen on the manifest topic."""

    def __init__(self) -> None:
        self._sites: dict[tuple[str, str], SiteManifest] = {}

    def put(self, manifest: SiteManifest) -> None:
        """Keep ``manifest`` as its site's current one."""
        self._sites[(manifest.enterprise, manifest.site)] = manifest

    def site(self, enterprise: str, site: str) -> SiteManifest | None:
        """The site's manifest, None before it arrived."""
        return self._sites.get((enterprise, site))

    def point(self, enterprise: str, site: str, device: str, point: str) -> PointRef | None:
        """The point in its site's manifest, None when the manifest or point is unknown."""
        manifest = self._sites.get((enterprise, site))
        if manifest is None:
            return None
        for dev in manifest.devices:
            if dev.name == device:
                for pt in dev.points:
                    if pt.key == point:
                        return PointRef(manifest, dev, pt)
        return None

    def sites(self) -> list[SiteManifest]:
        """Every known manifest."""
        return list(self._sites.values())
