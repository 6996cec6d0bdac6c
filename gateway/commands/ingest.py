"""`hazard-gateway ingest --config FILE`: MQTT -> InfluxDB, acknowledged only once stored.

Cold start: only argparse and the standard library at module top; paho-mqtt, httpx,
prometheus-client and the ingest package are imported inside ``run`` so ``--help`` stays
fast (gateway/cli.py).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.ingest.metrics import IngestStats

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    """Add the `ingest` subcommand."""
    parser = commands.add_parser(
        "ingest",
        help="write telemetry, alarm events and site status from MQTT into InfluxDB",
        description="Subscribe to hazard/v1/# (QoS 1, persistent session) and write every "
        "telemetry window, alarm event and site status to InfluxDB (v2 API or v1 /write). "
        "A message is acknowledged only after its batch was written or it was dead-lettered. "
        "See docs/operations.md (Ingest) and docs/influxdb.md.",
    )
    parser.add_argument("--config", type=Path, required=True, help="ingest config file (YAML)")
    parser.add_argument(
        "--init",
        action="store_true",
        help="create the database/bucket (retention from the config, 180 d default, "
        "at least 30 d) and the DBRP mapping on 2.x, then exit",
    )
    parser.add_argument(
        "--partition",
        metavar="K/N",
        help="static partition K of N workers (hash of enterprise/site), own session each",
    )
    parser.add_argument(
        "--duration", type=float, help="stop after this many seconds (tests, benches)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the config, then --init or ingest until SIGINT/SIGTERM."""
    from gateway.ingest import load_ingest_config, run_ingest  # noqa: PLC0415 - cold start
    from gateway.ingest.partition import Partition  # noqa: PLC0415
    from gateway.ingest.setup import init_database  # noqa: PLC0415

    config = load_ingest_config(args.config)
    if args.init:
        print(init_database(config.influxdb))
        return 0
    if args.partition:
        Partition.parse(args.partition)  # ValueError -> "error: ..." exit 2
        config = config.with_partition(args.partition)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signo, _frame: stop.set())
    if args.duration is not None:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True
        timer.start()
    print(f"ingest: {config.broker.url} -> {config.influxdb.url} as {config.client_id}", flush=True)
    service = run_ingest(config, stop, on_status=lambda line: print(line, flush=True))
    print("ingest stopped: " + _summary(service.stats), flush=True)
    return 0


def _summary(stats: IngestStats) -> str:
    dead = sum(stats.deadletters.values())
    return f"{stats.points_written} points, {stats.messages_written} messages, {dead} dead letters"
