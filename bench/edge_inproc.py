"""The edge pipeline in one process, Modbus answered in memory: what the gateway's code costs.

    python3 bench/edge_inproc.py                  # 200 x 20 points @ 1 s, 20 s window
    python3 bench/edge_inproc.py --devices 50 --seconds 30
    python3 bench/edge_inproc.py --quick          # 20 devices, 3 s (test suite)

bench/pipeline.py measures the edge as users run it, Modbus TCP and all. This one runs the
same `EdgeSite` (pollers, block decode, edge_core, the alarm lifecycle, the outbox, the MQTT
publisher against a real Mosquitto) in this process, with every device's link replaced by one
that answers each read on the next loop turn with bench/pipeline.py's device payload (19
float32 that move every poll, so every window is reported, and a status word). The CPU time
of this process over the window, per poll, is then the gateway's own cost per device-second
without the socket round trip; the difference to bench/pipeline.py's figure is the cost of
Modbus over TCP (asyncio's transport, the wake-ups, pymodbus' transaction).

Prints devices, polls, user and system CPU seconds, µs per poll, points per CPU-second and
its ratio to the 50,000 target of the 1 Hz sites, the telemetry windows made, and how many
skipped the outbox (`mqtt.telemetry_direct`, docs/mqtt.md).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _pipeline_sites import SiteSpec, write_site

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gateway.commands.edge import load_edge_runtime  # noqa: E402
from gateway.config import load_site  # noqa: E402
from gateway.console import ConsoleSink  # noqa: E402
from gateway.datatypes import Table  # noqa: E402
from gateway.edge.warmup import kernel_loader  # noqa: E402
from gateway.mqtt.publisher import MqttSettings  # noqa: E402
from gateway.site import EdgeSite  # noqa: E402
from tests.harness import Mosquitto  # noqa: E402

POINTS = 20
TARGET = 50_000.0  # points per CPU-second, 20-point devices at 1 Hz (issue #15)
WARMUP_S = 4.0


class MemoryLink:
    """A connected Modbus link whose reads are answered on the next loop turn."""

    def __init__(self, key: str, payloads: itertools.cycle[bytes]) -> None:
        self.key = key
        self.connected = False
        self._payloads = payloads

    async def connect(self) -> None:
        """Nothing to open."""
        self.connected = True

    def close(self) -> None:
        """The next poll reconnects."""
        self.connected = False

    async def read_raw(
        self, table: Table, address: int, count: int, unit: int, pause_s: float = 0.0
    ) -> bytes:
        """The next payload, through a future like a real response."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        loop.call_soon(answer.set_result, next(self._payloads))
        return await answer


def _payloads(seed: int = 0) -> itertools.cycle[bytes]:
    rng = np.random.default_rng(seed)
    frames = [
        struct.pack(f">{POINTS - 1}fH", *(150.0 + rng.normal(0.0, 0.5, POINTS - 1)), 0)
        for _ in range(64)
    ]
    return itertools.cycle(frames)


async def _measure(site_path: Path, state: Path, broker: Mosquitto, seconds: float) -> str:
    site = load_site(site_path)
    settings = MqttSettings.from_url(broker.url, client_id="edge-inproc")
    service = EdgeSite(site, state, settings, sinks=[ConsoleSink(values=False)])  # as the edge runs
    payloads = _payloads()
    for poller in service.agent.pollers.values():
        poller.link = MemoryLink(poller.link.key, payloads)  # type: ignore[assignment]
    stop = asyncio.Event()
    runner = asyncio.create_task(service.run(stop))
    try:
        await asyncio.sleep(WARMUP_S)
        publisher = service.publisher
        assert publisher is not None
        polls_0 = sum(p.stats.polls for p in service.agent.pollers.values())
        sent_0, direct_0 = publisher.stats.telemetry_sent, publisher.stats.telemetry_direct
        usage_0, start = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        await asyncio.sleep(seconds)
        usage_1, elapsed = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - start
        polls = sum(p.stats.polls for p in service.agent.pollers.values()) - polls_0
        sent = publisher.stats.telemetry_sent - sent_0
        direct = publisher.stats.telemetry_direct - direct_0
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=15)
        service.close()
    user = usage_1.ru_utime - usage_0.ru_utime
    system = usage_1.ru_stime - usage_0.ru_stime
    cpu = user + system
    per_poll = 1e6 * cpu / max(polls, 1)
    per_cpu_s = POINTS * polls / cpu if cpu > 0 else 0.0
    return (
        f"devices {len(site.devices)} x {POINTS} points @ 1 s, {elapsed:.1f} s: {polls} polls, "
        f"CPU user {user:.3f} s + system {system:.3f} s\n"
        f"  {per_poll:,.1f} us per poll, {per_cpu_s:,.0f} points per CPU-second "
        f"(ratio to the {TARGET:,.0f} target: {per_cpu_s / TARGET:.2f})\n"
        f"  telemetry windows sent {sent}, of them straight to the connection {direct}"
    )


def main() -> int:
    """Run the bench; exit 1 only when something broke."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="20 devices, 3 s")
    args = parser.parse_args()
    devices, seconds = (20, 3.0) if args.quick else (args.devices, args.seconds)
    spec = SiteSpec(f"inproc-{devices}", devices, POINTS, 1.0, 1.0, gas=False)
    load_edge_runtime()
    kernel_loader.wait()
    with tempfile.TemporaryDirectory(prefix="edge-inproc-") as tmp:
        folder = Path(tmp)
        site_path, _shards = write_site(spec, folder / "site", 1)
        broker = Mosquitto(folder / "mosquitto").start()
        try:
            print(asyncio.run(_measure(site_path, folder / "state", broker, seconds)), flush=True)
        finally:
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
