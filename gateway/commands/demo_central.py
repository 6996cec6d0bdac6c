"""The central services the demo runs next to the edge: ingest (with --influxdb) and the panel.

They are the same services as `hazard-gateway ingest` and `hazard-gateway web`, built
from a few demo defaults instead of a config file, and they reach the edge only over
the demo's broker, exactly as in production.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from urllib.parse import urlsplit

from gateway.errors import UsageError

__all__ = ["DemoPanel", "run_ingest_beside", "validate_influx_url"]


def validate_influx_url(url: str) -> tuple[str, str]:
    """``http://host:8086/db`` -> (base URL, database); the database defaults to hazard."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"--influxdb {url!r}: expected http://host:8086[/database]"
        raise UsageError(msg)
    database = parts.path.strip("/") or "hazard"
    return f"{parts.scheme}://{parts.netloc}", database


async def run_ingest_beside(
    influx_url: str, broker_url: str, state: Path, stop: asyncio.Event
) -> None:
    """Run one ingest worker (v1 /write API) in a thread until ``stop`` is set."""
    from gateway.central import BrokerConfig  # noqa: PLC0415
    from gateway.ingest import run_ingest  # noqa: PLC0415
    from gateway.ingest.config import (  # noqa: PLC0415
        DeadLetterConfig,
        InfluxConfig,
        IngestConfig,
        MetricsConfig,
    )

    base, database = validate_influx_url(influx_url)
    config = IngestConfig(
        broker=BrokerConfig(url=broker_url, client_id="demo-ingest"),
        influxdb=InfluxConfig(url=base, api="v1", database=database),
        deadletter=DeadLetterConfig(path=state / "ingest-deadletter.sqlite"),
        metrics=MetricsConfig(port=0, status_every_s=0),
        protocol="3.1.1",  # the embedded broker speaks 3.1.1
    )
    from gateway.ingest.setup import init_database  # noqa: PLC0415

    # the database (180-day retention) must exist before the first write
    print(f"ingest: {await asyncio.to_thread(init_database, config.influxdb)}", flush=True)
    halt = threading.Event()
    worker = asyncio.create_task(asyncio.to_thread(run_ingest, config, halt))
    try:
        await stop.wait()
    finally:
        halt.set()
        await worker


class DemoPanel:
    """The live panel beside the demo: a demo admin login and the operator key it signs with."""

    def __init__(self, broker_url: str, state: Path, port: int) -> None:
        from gateway.web import PanelServer, demo_config  # noqa: PLC0415 (fastapi, uvicorn)

        config, self.login = demo_config(broker_url, state / "web", port=port)
        self._server = PanelServer(config)  # a taken port falls back to a free one
        self.url = ""

    def start(self) -> str:
        """Serve; the URL (the port may differ from the one asked for)."""
        self.url = self._server.start()
        return self.url

    def operator_keys(self) -> dict[str, bytes]:
        """The keys the demo's edge agent checks the panel's signed commands with."""
        from gateway.alarms.commands import load_operator_keys  # noqa: PLC0415

        return load_operator_keys(self.login.operator_keys)

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()
