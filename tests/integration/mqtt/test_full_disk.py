"""A full state disk never stops alarms: docs/mqtt.md "alarm events are never dropped".

The state directory lives on a small tmpfs that the test fills up: while the broker is
up, while it is down, and across a restart on the full disk. Before issue 9 the outbox
could not write, ``mark_attempt`` failed before every send, thinning freed nothing and the
restart was refused. Now every alarm detected reaches the subscriber once the broker is
reachable, and the agent restarts on the refilled disk. Thinning telemetry into the
room the reserve gives back is shown on a real tmpfs in tests/unit/test_outbox.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Device
from gateway.contracts.alarm import AlarmEvent
from gateway.edge.agent import Sink
from gateway.mqtt.publisher import MqttSettings
from gateway.simulator.server import Simulator
from gateway.site import EdgeSite
from tests.harness import Mosquitto
from tests.harness.mqtt_probe import MqttProbe
from tests.integration.sites import make_site, tcp_device

pytestmark = pytest.mark.integration

DISK = "16m"


@pytest.fixture(name="small_disk")
def fixture_small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB file system (tmpfs) to fill up; mounting needs root, as CI runs."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full-disk test mounts a small tmpfs, which needs root (CI is root)")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill_disk(where: Path, name: str, leave: int = 0) -> None:
    """Write zeros to ``where/name`` until the disk is full, then give ``leave`` bytes back."""
    with (where / name).open("ab", buffering=0) as stream:
        for block in (bytes(64 * 1024), bytes(512), b"\0"):
            while True:
                try:
                    stream.write(block)
                except OSError:
                    break
        stream.truncate(max(0, stream.tell() - leave))


def _fast(device: Device) -> Device:
    """The device with a telemetry window per poll, so telemetry piles up quickly."""
    config = device.config.model_copy(update={"telemetry_window_s": 0.2})
    return Device(config, device.profile, device.points)


class Detected(Sink):
    """Every alarm event the agent raised, as the operators' console saw it."""

    def __init__(self) -> None:
        self.events: list[AlarmEvent] = []

    def on_alarm(self, event: AlarmEvent) -> None:
        self.events.append(event)


def _received(probe: MqttProbe, into: dict[str, dict[str, Any]], status: list[Any]) -> None:
    while True:
        try:
            message = probe.messages.get_nowait()
        except queue.Empty:
            return
        if "/alarm/" in message.topic:
            body = json.loads(message.payload)
            into[body["event_id"]] = body
        elif message.topic.endswith("/status"):
            status.append(json.loads(message.payload))


async def _until(check: Callable[[], bool], timeout: float) -> bool:
    for _ in range(int(timeout / 0.1)):
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


async def test_every_alarm_reaches_the_broker_on_a_full_disk_and_after_a_restart(
    start_server: Callable[..., Any], small_disk: Path, tmp_path: Path
) -> None:
    devices = [
        _fast(tcp_device(f"gas-{i:02d}", poll_interval_s=0.2, timeout_s=0.2)) for i in range(4)
    ]
    site = make_site(devices, enterprise="ent", site="site-a")
    broker = start_server(Mosquitto, tmp_path / "broker", persistence=True)
    probe = MqttProbe(broker.host, broker.port, client_id="regulator", clean_session=False)
    probe.connect()
    probe.subscribe("hazard/v1/#", qos=1)
    settings = MqttSettings.from_url(broker.url, client_id="edge-a", telemetry_qos=1)
    state = small_disk / "state"
    detected = Detected()
    got: dict[str, dict[str, Any]] = {}
    status: list[Any] = []

    def arrived() -> bool:
        _received(probe, got, status)
        return {e.event_id for e in detected.events} <= set(got)

    # 1. broker up; the disk fills while the devices come and go
    service = EdgeSite(site, state, settings, sinks=[detected])
    stop = asyncio.Event()
    runner = asyncio.create_task(service.run(stop))
    assert await _until(lambda: len(detected.events) >= 4, 10), "no COMM alarms"
    fill_disk(small_disk, "filler")
    simulator = Simulator(site, "normal")
    await simulator.__aenter__()
    assert await _until(lambda: len(detected.events) >= 8, 10), "no COMM clearing"
    assert await _until(arrived, 10), "alarms raised on a full disk, broker up"

    # 2. broker down, and whatever filled the disk takes the room the reserve gave back:
    # devices drop out and come back, telemetry piles up
    await asyncio.to_thread(broker.stop)
    fill_disk(small_disk, "filler-1b")
    await simulator.__aexit__(None, None, None)
    assert await _until(lambda: len(detected.events) >= 12, 10)
    simulator = Simulator(site, "normal")
    await simulator.__aenter__()
    assert await _until(lambda: len(detected.events) >= 16, 10)
    await asyncio.sleep(3.0)  # telemetry windows pile up meanwhile
    during = service.outbox.stats()
    await asyncio.to_thread(broker.start)
    assert await _until(arrived, 20), "alarms raised during the outage never arrived"
    stop.set()
    await asyncio.wait_for(runner, timeout=10)
    service.close()

    # 3. restart on the disk filled up again, to the last byte: the agent starts (a
    # journal that cannot even open runs from a copy in memory, see test_journal_memory).
    (small_disk / "filler-1b").unlink()
    fill_disk(small_disk, "filler-2")
    before = len(detected.events)
    service = EdgeSite(site, state, settings, sinks=[detected])  # used to refuse to start
    stop = asyncio.Event()
    runner = asyncio.create_task(service.run(stop))
    await asyncio.sleep(1.0)
    await simulator.__aexit__(None, None, None)
    assert await _until(lambda: len(detected.events) >= before + 4, 10)
    assert await _until(arrived, 15), "alarms raised after a restart on a full disk"
    restarted = service.outbox.stats()
    stop.set()
    await asyncio.wait_for(runner, timeout=10)
    service.close()
    probe.close()

    # with no byte free and nothing on disk to thin, alarms waited in memory, said so
    assert during.memory_alarms > 0 and during.degraded, during
    assert not during.reserve_held, "the reserve was given up first"
    assert not restarted.reserve_held
    assert any(s["outbox"]["reserve_held"] is False for s in status), "on the status topic"
