"""Build in-memory sites for tests from Device objects."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Device, DeviceConfig, Site, SiteConfig, TcpEndpoint, resolve_profile
from gateway.netutil import free_port


def make_site(
    devices: Sequence[Device], enterprise: str = "test-ent", site: str = "test-site"
) -> Site:
    """A Site holding ``devices`` (their configs become the site's device list)."""
    config = SiteConfig(enterprise=enterprise, site=site, devices=tuple(d.config for d in devices))
    return Site(config, tuple(devices))


def tcp_device(
    name: str,
    profile_id: str = "generic-combustible-gas",
    *,
    poll_interval_s: float = 1.0,
    timeout_s: float = 1.0,
) -> Device:
    """A device of a built-in profile on a free loopback TCP port."""
    profile = resolve_profile(profile_id)
    config = DeviceConfig(
        name=name,
        profile=profile_id,
        tcp=TcpEndpoint(host="127.0.0.1", port=free_port()),
        poll_interval_s=poll_interval_s,
        timeout_s=timeout_s,
    )
    return Device(config, profile, profile.points)
