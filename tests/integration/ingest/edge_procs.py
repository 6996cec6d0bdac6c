"""The real edge side as processes (simulator + `hazard-gateway edge`) for round trips."""

from __future__ import annotations

from pathlib import Path

from gateway.netutil import free_port

__all__ = ["write_site"]


def write_site(path: Path, enterprise: str, site: str, profile: str, devices: int = 1) -> Path:
    """A site file of ``devices`` devices of ``profile`` polled every 0.25 s, 1 s windows."""
    lines = [f"enterprise: {enterprise}", f"site: {site}", "devices:"]
    for i in range(devices):
        lines += [
            f"  - name: dev-{i:02d}",
            f"    profile: {profile}",
            f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}",
            "    poll_interval_s: 0.25",
            "    telemetry_window_s: 1",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
