"""Simulator process for bench/pipeline.py: a site shard, the gas leak on a cue.

    python3 bench/_pipeline_sim.py SHARD_SITE.yaml [--seed 0] [--cpu N]

Serves every device of the shard with :class:`gateway.simulator.server.Simulator`
and prints ``READY`` once every endpoint listens. Every point reads the ``normal``
scenario (baseline + seeded noise) until the bench writes ``CUE <time.time()>`` on
stdin; from then on the gas-leak scenario's target point (the first gas point of the
shard, if any) follows ``gas-leak`` with cycle time = now - cue, so the bench knows on
its own wall clock when the reading crosses H and HH. Before the cue the gas point
must not follow gas-leak: its quiet phase is an exact constant, which would raise a
"stuck" fault during the warm-up.

The normal scenario's noise changes once per ``NOISE_TICK_S`` (0.1 s), so a value is
computed once per point and tick and then reused: the same readings, a fraction of the
simulator's CPU at 100 Hz. Runs until stdin closes, or SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from gateway.config import Device, Site, load_site
from gateway.profiles import Point
from gateway.simulator.scenarios import NOISE_TICK_S, ScenarioEngine
from gateway.simulator.server import Simulator


class LeakOnCue:
    """A ValueSource: ``normal`` readings, and the gas leak from the cue on."""

    def __init__(self, site: Site, seed: int) -> None:
        self.normal = ScenarioEngine(site, "normal", seed)
        self.leak = ScenarioEngine(site, "gas-leak", seed)
        target = self.leak.target
        self.target = (target.device, target.key) if target is not None else None
        self.cue: float | None = None
        self._cache: dict[tuple[str, str], tuple[int, float]] = {}

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        """The reading of ``point``; normal values are reused within one noise tick."""
        key = (device.name, point.key)
        if self.cue is not None and key == self.target:
            return self.leak.value(device, point, time.time() - self.cue)
        tick = int(elapsed / NOISE_TICK_S)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == tick:
            return hit[1]
        value = self.normal.value(device, point, elapsed)
        self._cache[key] = (tick, value)
        return value

    def device_down(self, device: Device, elapsed: float) -> bool:
        """Devices always answer."""
        return False


async def _serve(site_path: Path, seed: int) -> None:
    site = load_site(site_path)
    source = LeakOnCue(site, seed)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def on_stdin() -> None:
        line = sys.stdin.readline()
        if not line:  # the bench closed the pipe (or died): stop
            stop.set()
        elif line.startswith("CUE "):
            source.cue = float(line.split()[1])
            print(f"CUED {source.target}", flush=True)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with Simulator(site, source=source):
        print("READY", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point: pin if asked, serve until told to stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one core")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.cpu})
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    asyncio.run(_serve(args.site, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
