"""Run the site simulator in its own process for the benches.

    python3 bench/_sim_process.py SITE.yaml [--scenario normal] [--seed 0] [--cpu N]

Serves every device of the site with :class:`gateway.simulator.server.Simulator`,
prints ``READY`` on stdout once every TCP endpoint accepts connections, and runs
until stdin closes (the parent exited or closed the pipe) or SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from gateway.config import load_site
from gateway.simulator.server import Simulator


async def serve_until_stopped(simulator: Simulator) -> None:
    """Serve, print READY, and stop on SIGTERM/SIGINT or when stdin closes.

    Shared by the bench simulator processes (this one and bench/_latency_sim.py).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Closing our stdin (or the parent dying) stops the simulator too.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    async with simulator:
        print("READY", flush=True)
        await stop.wait()


async def _serve(site_path: Path, scenario: str, seed: int) -> None:
    await serve_until_stopped(Simulator(load_site(site_path), scenario, seed))


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, pin to a core if asked, serve until told to stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--scenario", default="normal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one core")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.cpu})
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    asyncio.run(_serve(args.site, args.scenario, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
