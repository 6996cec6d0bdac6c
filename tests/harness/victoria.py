"""VictoriaMetrics (Debian's single-node ``victoria-metrics``) on a free loopback port.

It stands in for InfluxDB 2 in tests because it accepts the ``/api/v2/write`` line protocol
that influxdb-client speaks (Debian has no InfluxDB 2). Writes are buffered for about a second
before they are searchable; ``export`` calls ``/internal/force_flush`` first so a test can read
what it just wrote without sleeping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .http import json_lines, request
from .process import ServerProcess
from .tools import require
from .waiting import LOOPBACK, free_port, http_status, wait_for

__all__ = ["VictoriaMetrics"]


class VictoriaMetrics(ServerProcess):
    """VictoriaMetrics with its HTTP API at ``url``; ready when ``/health`` answers 200."""

    name = "victoria-metrics"

    def __init__(
        self,
        workdir: Path | str | None = None,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 30.0,
    ) -> None:
        self.binary = require("victoria-metrics")
        super().__init__(workdir, start_timeout=start_timeout)
        self.host = LOOPBACK
        self.port = port or free_port()
        self.storage_path = self.workdir / "data"
        self.extra_args = extra_args

    @property
    def url(self) -> str:
        """Base URL; influxdb-client writes to ``{url}/api/v2/write``."""
        return f"http://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        return [
            str(self.binary),
            f"-storageDataPath={self.storage_path}",
            f"-httpListenAddr={self.host}:{self.port}",
            "-retentionPeriod=100y",
            "-loggerLevel=WARN",
            *self.extra_args,
        ]

    def _is_ready(self) -> bool:
        return http_status(f"{self.url}/health") == 200

    def force_flush(self) -> None:
        """Make everything written so far visible to queries and exports."""
        request("GET", f"{self.url}/internal/force_flush")

    def export(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """Return the series matching the selector ``match`` from ``/api/v1/export``.

        Each item is ``{"metric": {...labels}, "values": [...], "timestamps": [ms...]}``.
        """
        self.force_flush()
        _, body = request("GET", f"{self.url}/api/v1/export", params={"match[]": match})
        return json_lines(body)

    def wait_for_export(self, match: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Poll ``export`` until at least one series matches (writes from elsewhere)."""
        return wait_for(lambda: self.export(match), timeout, f"series matching {match}", 0.2)
