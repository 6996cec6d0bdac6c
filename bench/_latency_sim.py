"""Simulator process for bench/latency.py: gas detectors that step on a wall-clock schedule.

    python3 bench/_latency_sim.py SITE.yaml SCHEDULE.json --t0 EPOCH_SECONDS

SCHEDULE.json (written by bench/latency.py before this process starts)::

    {"low": 5.0, "high": 30.0,
     "steps": {"d00": [[0.83, "up"], [3.41, "down"], ...], ...}}

Offsets are seconds after ``--t0`` (a ``time.time()`` value): the schedule runs on the
wall clock, the same clock the bench's MQTT subscriber stamps arrivals with, so
latency = arrival - (t0 + offset) needs no clock translation between processes. Before
its first step a device reads ``low``; every step toggles it between ``low`` and
``high``, plus a slow +-0.5 %LEL wobble (far from the limits and within the 2 %LEL
deadband). The status word carries a request counter in bits 8-15, so it changes at
every poll and each device reports a telemetry window every window (its report
deadband is 0); the fault bit (bit 0) stays clear: no other alarm fires.

Serves the site with :class:`gateway.simulator.server.Simulator` (``source=`` this
schedule), prints ``READY`` once every endpoint listens, and runs until stdin closes or
SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import logging
import math
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from _sim_process import serve_until_stopped  # bench/ is on sys.path: run as a script

from gateway.config import Device, load_site
from gateway.profiles import Kind, Point
from gateway.simulator.server import Simulator

WOBBLE, WOBBLE_PERIOD_S = 0.5, 7.3  # %LEL, s


class StepSchedule:
    """A ValueSource: gas points toggle low/high at scheduled wall-clock instants."""

    def __init__(self, schedule: dict[str, Any], t0: float) -> None:
        self.low = float(schedule["low"])
        self.high = float(schedule["high"])
        steps: dict[str, list[list[Any]]] = schedule["steps"]
        self.counters: dict[str, int] = {}
        self.times = {
            device: [t0 + float(offset) for offset, _ in rows] for device, rows in steps.items()
        }
        for device, rows in steps.items():
            directions = [str(direction) for _, direction in rows]
            expected = ["up" if i % 2 == 0 else "down" for i in range(len(rows))]
            if directions != expected:
                msg = f"{device}: steps must alternate up, down, ... (got {directions[:4]})"
                raise ValueError(msg)

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        """Gas: ``high`` after an odd number of past steps, else ``low`` (+ wobble)."""
        now = time.time()
        if point.kind is Kind.GAS_LEL:
            done = bisect.bisect_right(self.times.get(device.name, []), now)
            phase = zlib.crc32(device.name.encode()) % 1000 / 1000 * math.tau
            wobble = WOBBLE * math.sin(math.tau * now / WOBBLE_PERIOD_S + phase)
            return (self.high if done % 2 else self.low) + wobble
        if point.bit is None:  # the status word: a live counter in bits 8-15
            count = self.counters[device.name] = (self.counters.get(device.name, 0) + 1) % 256
            return float(count << 8)
        return 0.0  # the fault bit

    def device_down(self, device: Device, elapsed: float) -> bool:
        """Devices always answer."""
        return False


async def _serve(site_path: Path, source: StepSchedule) -> None:
    await serve_until_stopped(Simulator(load_site(site_path), source=source))


def main(argv: list[str] | None = None) -> int:
    """Entry point: load the schedule, serve until told to stop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("schedule", type=Path)
    parser.add_argument("--t0", type=float, required=True, help="time.time() of offset 0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    source = StepSchedule(json.loads(args.schedule.read_text()), args.t0)
    asyncio.run(_serve(args.site, source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
