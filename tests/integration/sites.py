"""Build in-memory sites for tests from Device objects."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Device, Site, SiteConfig


def make_site(
    devices: Sequence[Device], enterprise: str = "test-ent", site: str = "test-site"
) -> Site:
    """A Site holding ``devices`` (their configs become the site's device list)."""
    config = SiteConfig(enterprise=enterprise, site=site, devices=tuple(d.config for d in devices))
    return Site(config, tuple(devices))
