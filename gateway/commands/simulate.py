"""`hazard-gateway simulate`: serve a site's devices over Modbus with a hazard scenario."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gateway.commands.common import add_site_argument, load_site_arg, run_until_stopped
from gateway.config import Site
from gateway.simulator.scenarios import SCENARIOS
from gateway.simulator.server import Simulator

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `simulate` subcommand."""
    parser = commands.add_parser(
        "simulate",
        help="serve every device of a site file over Modbus TCP/RTU with a hazard scenario",
        description=(
            "Serve each device of the site file on its own endpoint (TCP host:port, or its "
            "serial port for RTU) using pymodbus' server, with values encoded through the "
            "device's profile. Scenarios: " + ", ".join(SCENARIOS) + ". Deterministic under --seed."
        ),
    )
    add_site_argument(parser, required=False)
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or --duration."""
    site = load_site_arg(args.site)
    run_until_stopped(lambda stop: _serve(site, args.scenario, args.seed, stop), args.duration)
    return 0


async def _serve(site: Site, scenario: str, seed: int, stop: asyncio.Event) -> None:
    async with Simulator(site, scenario, seed) as simulator:
        for key, images in simulator.endpoints().items():
            units = ", ".join(f"{i.device.name} (unit {i.device.config.unit})" for i in images)
            print(f"serving {key}: {units}", flush=True)
        print(f"READY scenario={scenario} seed={seed}", flush=True)
        await stop.wait()
