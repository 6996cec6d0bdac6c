"""`hazard-gateway simulate`: serve a site's devices over Modbus with a hazard scenario.

READY is a promise to whoever waits for it (a test, a script, `demo --keep-ports`): it is
printed only after every endpoint is bound by this process. A port held by another
program is an error naming the endpoint, before READY, with exit status 2; before this
rule a second simulator said READY while clients were reading the first one's values.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from gateway.commands.common import (
    add_site_argument,
    load_site_arg,
    positive_seconds,
    run_until_stopped,
)

if TYPE_CHECKING:
    from gateway.config import Site
    from gateway.simulator.server import Simulator

__all__ = ["register"]

# The scenario names, repeated here so that `--help` does not import the simulator
# (numpy, pymodbus); tests/unit/test_cli.py checks them against SCENARIOS.
SCENARIO_NAMES = (
    "normal",
    "gas-leak",
    "dust-clog",
    "tank-overfill",
    "sensor-fault",
    "device-dropout",
)


def register(commands: Any) -> None:
    """Add the `simulate` subcommand."""
    parser = commands.add_parser(
        "simulate",
        help="serve every device of a site file over Modbus TCP/RTU with a hazard scenario",
        description=(
            "Serve each device of the site file on its own endpoint (TCP host:port, or its "
            "serial port for RTU) using pymodbus' server, with values encoded through the "
            "device's profile. Prints READY once every endpoint is bound by this process; "
            "a taken port is an error before READY. Deterministic under --seed."
        ),
    )
    add_site_argument(parser, required=False)
    parser.add_argument(
        "--scenario",
        default="normal",
        choices=SCENARIO_NAMES,
        help="what the simulated devices go through (default: normal)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the scenario's noise (default 0)"
    )
    parser.add_argument(
        "--duration", type=positive_seconds, metavar="S", help="stop after this many seconds"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or --duration; a bind failure raises OSError (exit 2)."""
    site = load_site_arg(args.site)
    run_until_stopped(lambda stop: _serve(site, args.scenario, args.seed, stop), args.duration)
    return 0


async def _serve(site: Site, scenario: str, seed: int, stop: asyncio.Event) -> None:
    from gateway.simulator.server import Simulator  # noqa: PLC0415 - pymodbus, not for --help

    async with Simulator(site, scenario, seed) as simulator:
        _announce(simulator, scenario, seed)
        await stop.wait()


def _announce(simulator: Simulator, scenario: str, seed: int) -> None:
    for key, images in simulator.endpoints().items():
        units = ", ".join(f"{i.device.name} (unit {i.device.config.unit})" for i in images)
        print(f"serving {key}: {units}", flush=True)
    print(f"READY scenario={scenario} seed={seed}", flush=True)
