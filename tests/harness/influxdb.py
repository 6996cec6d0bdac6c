"""InfluxDB 1.x (Debian's ``influxd`` 1.6.7) in a temporary folder on free loopback ports.

Used to run the dashboards' InfluxQL queries and the v1 ``/write`` path for real. Every
listener is bound to loopback on a free port, including the RPC service that otherwise takes
8088, and everything that would write outside the work folder or phone home is switched off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .http import request
from .process import ServerProcess
from .tools import require
from .waiting import LOOPBACK, free_port, http_status

__all__ = ["InfluxDB1"]

_CONFIG = """\
reporting-enabled = false
bind-address = "{host}:{rpc_port}"

[meta]
  dir = "{workdir}/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  index-version = "inmem"
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "{host}:{port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[[graphite]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[[udp]]
  enabled = false
"""


class InfluxDB1(ServerProcess):
    """InfluxDB 1.x with its HTTP API at ``url``; ready when ``/ping`` answers 204."""

    name = "influxdb1"

    def __init__(
        self,
        workdir: Path | str | None = None,
        *,
        port: int | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.binary = require("influxd")
        super().__init__(workdir, start_timeout=start_timeout)
        self.host = LOOPBACK
        self.port = port or free_port()
        self.rpc_port = free_port()
        self.config_path = self.workdir / "influxdb.conf"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    def _prepare(self) -> None:
        self.config_path.write_text(
            _CONFIG.format(
                host=self.host, port=self.port, rpc_port=self.rpc_port, workdir=self.workdir
            )
        )

    def _command(self) -> list[str]:
        return [str(self.binary), "-config", str(self.config_path)]

    def _is_ready(self) -> bool:
        return http_status(f"{self.url}/ping") == 204

    def query(self, q: str, db: str | None = None, epoch: str | None = "ns") -> dict[str, Any]:
        """Run InfluxQL ``q`` via ``/query`` and return the parsed JSON.

        Raises when the server reports an error in any statement, so tests see bad queries.
        """
        params = {"q": q}
        if db:
            params["db"] = db
        if epoch:
            params["epoch"] = epoch
        _, body = request("POST", f"{self.url}/query", params=params)
        result: dict[str, Any] = json.loads(body)
        errors = [r["error"] for r in result.get("results", []) if "error" in r]
        if "error" in result or errors:
            msg = f"InfluxQL {q!r} failed: {result.get('error') or errors}"
            raise RuntimeError(msg)
        return result

    def create_database(self, name: str) -> None:
        """Create database ``name`` (no-op when it exists)."""
        self.query(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        """Drop database ``name``."""
        self.query(f'DROP DATABASE "{name}"')

    def write(self, lines: str | bytes, db: str, precision: str = "ns") -> None:
        """Write line protocol via the v1 ``/write`` endpoint (expects 204)."""
        data = lines.encode() if isinstance(lines, str) else lines
        request(
            "POST",
            f"{self.url}/write",
            params={"db": db, "precision": precision},
            data=data,
            expect=(204,),
        )

    def series_values(self, q: str, db: str) -> list[list[Any]]:
        """Run ``q`` and return the value rows of its first series ([] when empty)."""
        results = self.query(q, db).get("results", [{}])
        series = results[0].get("series", []) if results else []
        return list(series[0]["values"]) if series else []
