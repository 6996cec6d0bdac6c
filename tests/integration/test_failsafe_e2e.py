"""Over-range gas end to end: simulator -> `hazard-gateway edge` -> Mosquitto -> subscriber.

A combustible gas detector steps from 2 %LEL to 110 %LEL, above the top of its valid
range (105 %LEL). Before issue 8 that raised only FAULT and froze H/HH; fail-safe, it
must raise HH (and H) in the very poll that read it, alongside the FAULT, and the HH must
reach an MQTT subscriber within one poll interval (DESIGN.md: alarm latency <= poll
interval + 200 ms at p99; a margin is added for this shared test machine).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Device
from gateway.profiles import Point
from gateway.simulator.server import Simulator
from gateway.timeutil import parse_ts
from tests.harness import Mosquitto
from tests.harness.mqtt_probe import MqttProbe
from tests.integration.mqtt.collect import Received
from tests.integration.sites import make_site, tcp_device

pytestmark = pytest.mark.integration

POLL_S = 0.5
MARGIN_S = 0.5


class GasSource:
    """What the simulated detector reads: ``gas`` %LEL on the gas point, 0 elsewhere."""

    def __init__(self) -> None:
        self.gas = 2.0

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        return self.gas if point.key == "gas" else 0.0

    def device_down(self, device: Device, elapsed: float) -> bool:
        return False


@pytest.fixture(name="edge_proc")
def fixture_edge_proc() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait without blocking the loop: the in-process simulator serves from it."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_over_range_gas_publishes_hh_within_one_poll(
    start_server: Callable[..., Any], tmp_path: Path, edge_proc: list[subprocess.Popen[str]]
) -> None:
    device = tcp_device("gas-01", poll_interval_s=POLL_S, timeout_s=0.4)
    assert device.config.tcp is not None
    site_file = tmp_path / "site.yaml"
    site_file.write_text(
        "enterprise: failsafe\nsite: plant-1\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {device.config.tcp.port}}}\n"
        f"    poll_interval_s: {POLL_S}\n",
        encoding="utf-8",
    )
    broker = start_server(Mosquitto, tmp_path / "broker")
    probe = MqttProbe(broker.host, broker.port, client_id="sub").connect()
    probe.subscribe("hazard/v1/failsafe/plant-1/#", qos=1)
    received = Received()
    source = GasSource()
    async with Simulator(make_site([device]), source=source):
        edge_proc.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway.cli",
                    "edge",
                    "--site",
                    str(site_file),
                    "--mqtt",
                    broker.url,
                    "--state-dir",
                    str(tmp_path / "state"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                text=True,
            )
        )

        def polled() -> bool:  # online, and a telemetry window proves polling runs
            received.drain(probe)
            return any(s["state"] == "online" for s in received.status) and bool(received.telemetry)

        await _until(polled, 60, "edge online and polling")
        await asyncio.sleep(2 * POLL_S)  # a few good polls at 2 %LEL
        stepped_wall, stepped = time.time(), time.monotonic()
        source.gas = 110.0

        def hh() -> bool:
            received.drain(probe)
            return ("HH", "active") in received.transitions("gas-01", "gas")

        await _until(hh, POLL_S + 10, "HH over MQTT")
        arrived = time.monotonic() - stepped

        def fault() -> bool:
            received.drain(probe)
            return ("FAULT", "active") in received.transitions("gas-01", "gas")

        await _until(fault, 5, "the FAULT beside it")
    probe.close()

    events = received.transitions("gas-01", "gas")
    assert events[:3] == [("HH", "active"), ("H", "active"), ("FAULT", "active")], events
    hh_event = next(a for a in received.alarms if a["kind"] == "HH")
    assert hh_event["level"] == 2 and hh_event["value"] == 110.0 and hh_event["limit"] == 40.0
    fault_event = next(a for a in received.alarms if a["kind"] == "FAULT")
    assert fault_event["ts"] == hh_event["ts"]  # the same poll raised both
    assert arrived <= POLL_S + 0.2 + MARGIN_S, f"HH took {arrived:.3f} s after the step"
    detected = parse_ts(hh_event["ts"])  # the acquisition time of the poll that saw it
    assert detected - stepped_wall <= POLL_S + 0.1, "HH was not raised by the first poll"
