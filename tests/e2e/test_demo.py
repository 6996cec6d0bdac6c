"""`hazard-gateway demo`, as a new user runs it: gas-leak alarms rise, clear, reach MQTT."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_shows_the_gas_leak_rising_and_clearing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--duration", "44", "--status-every", "10"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    alarms = re.findall(r"ALARM (\w+)\s+L(\d) (\w+)\s+gas-01/gas", done.stdout)
    assert alarms == [
        ("ACTIVE", "1", "H"),
        ("ACTIVE", "2", "HH"),
        ("CLEARED", "2", "HH"),
        ("CLEARED", "1", "H"),
    ], done.stdout
    assert "received back 4 alarms" in done.stdout  # through the embedded broker and back
    assert "demo stopped: 4 alarm events, 4 received back" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "MQTT disconnected" not in done.stderr  # the panel stops before the broker
