"""SIGKILL the edge agent while QoS 0 telemetry flows: every window closed before it arrives.

docs/mqtt.md: fresh windows go straight to an idle connection, stored ones after a restart,
and a killed agent loses at most the windows of its last group (50 ms) besides those it had
not closed. Real processes (simulator, `hazard-gateway edge`), a real Mosquitto.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.timeutil import parse_ts
from tests.harness import Mosquitto
from tests.harness.cli_process import CliProcess as Process
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.integration.mqtt.collect import Received, start_site
from tests.integration.sites import unused_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEVICES = ("pt-01", "pt-02", "pt-03")
# A window closes at the first poll after its end (polls every 0.25 s, 0.025 s past the
# grid) and waits up to 50 ms for its group: 0.35 s after its end it has been sent.
SENT_AFTER_END_S = 0.35
PROFILE = """vendor: test
model: noisy-pressure
points:
  - key: p
    name: Pressure
    kind: pressure_kpa
    table: holding
    address: 0
    type: float32
    unit: kPa
"""


def _site(folder: Path) -> Path:
    (folder / "noisy-pressure.yaml").write_text(PROFILE, encoding="utf-8")
    lines = ["enterprise: crash-test", "site: plant-2", "profile_dirs: [.]", "devices:"]
    for name in DEVICES:
        lines += [
            f"  - name: {name}",
            "    profile: noisy-pressure",
            f"    tcp: {{host: 127.0.0.1, port: {unused_port()}}}",
            "    poll_interval_s: 0.25",
            "    telemetry_window_s: 1",
        ]
    path = folder / "site.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sigkill_loses_no_telemetry_window_closed_before_it(
    start_server: Callable[..., Any], tmp_path: Path, procs: list[Process]
) -> None:
    site = _site(tmp_path)
    broker = start_server(Mosquitto, tmp_path / "broker")
    probe = MqttProbe(broker.host, broker.port, client_id="sub")
    probe.connect()
    probe.subscribe("hazard/v1/+/+/+/telemetry", qos=1)
    edge_args, edge = start_site(procs, site, broker.url, tmp_path / "state")
    received = Received()

    def flowing() -> bool:
        received.drain(probe)
        return all(len(_starts(received, d)) >= 6 for d in DEVICES)

    wait_for(flowing, 40, "telemetry from every device")
    time.sleep(2.0)
    killed_at = time.time()
    edge.stop(signal.SIGKILL)
    received.drain(probe)
    before_kill = {device: _starts(received, device) for device in DEVICES}
    due = {device: _due(before_kill[device], killed_at) for device in DEVICES}
    for device in DEVICES:
        assert len(due[device]) >= 6, f"{device}: only {len(due[device])} windows before the kill"
    restarted = Process(*edge_args)  # sends whatever the outbox kept
    procs.append(restarted)

    def missing() -> dict[str, list[float]]:
        received.drain(probe)
        gaps = {d: sorted(set(due[d]) - set(_starts(received, d))) for d in DEVICES}
        return {d: gap for d, gap in gaps.items() if gap}

    # Windows the outbox kept arrive once the restarted agent is up: on a loaded machine
    # that can take seconds (interpreter, compiled kernels, broker session). Only a
    # window that never arrives is lost.
    deadline = time.monotonic() + 30.0
    while missing() and time.monotonic() < deadline:
        time.sleep(0.2)
    lost = missing()
    assert not lost, (
        f"windows closed before the kill (at {killed_at:.2f}) never arrived: {lost}; "
        f"received before the kill, last 3 a device: "
        f"{ {d: before_kill[d][-3:] for d in DEVICES} }\n"
        f"killed agent:\n{edge.tail(15)}\nrestarted agent:\n{restarted.tail(15)}"
    )


def _starts(received: Received, device: str) -> list[float]:
    return sorted({parse_ts(t["ts"]) for t in received.telemetry if t["device"] == device})


def _due(starts: list[float], killed_at: float) -> list[float]:
    """Windows from the first received one that had closed and been sent before the kill."""
    first = starts[0]
    return [
        first + k
        for k in range(int(killed_at - first) + 1)
        if first + k + 1.0 + SENT_AFTER_END_S < killed_at
    ]
