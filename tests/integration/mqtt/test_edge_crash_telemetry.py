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
        return len(received.telemetry) >= 6 * len(DEVICES)

    wait_for(flowing, 40, "telemetry from every device")
    time.sleep(2.0)
    killed_at = time.time()
    edge.stop(signal.SIGKILL)
    restarted = Process(*edge_args)  # sends whatever the outbox kept
    procs.append(restarted)
    time.sleep(4.0)
    received.drain(probe)

    for device in DEVICES:
        starts = sorted({parse_ts(t["ts"]) for t in received.telemetry if t["device"] == device})
        first = starts[0]
        due = [
            first + k
            for k in range(int(killed_at - first) + 1)
            if first + k + 1.0 + SENT_AFTER_END_S < killed_at
        ]
        missing = [s for s in due if s not in starts]
        assert len(due) >= 6, f"{device}: only {len(due)} windows before the kill"
        assert not missing, f"{device}: windows closed before the kill never arrived: {missing}"
