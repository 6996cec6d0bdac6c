"""Build in-memory sites for tests from Device objects."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Device, DeviceConfig, Site, SiteConfig, TcpEndpoint, resolve_profile
from gateway.netutil import free_port

_HANDED_OUT: set[int] = set()


def unused_port() -> int:
    """A free loopback port this test process has not handed out before.

    Devices of one site each get their own: ``free_port()`` alone may return a port it
    returned a moment ago (released, not yet listened on), and a simulator refuses two
    devices of one unit on one port.
    """
    while (port := free_port()) in _HANDED_OUT:
        pass
    _HANDED_OUT.add(port)
    return port


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
        tcp=TcpEndpoint(host="127.0.0.1", port=unused_port()),
        poll_interval_s=poll_interval_s,
        timeout_s=timeout_s,
    )
    return Device(config, profile, profile.points)
