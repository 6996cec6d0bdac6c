"""The demo grows with the central side: its live panel opens, and with --influxdb it ingests."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest

from tests.harness import InfluxDB1

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_opens_the_panel_and_ingests_into_influxdb(influxdb1: InfluxDB1) -> None:
    database = "demo_ingest"
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--duration", "30", "--status-every", "10",
         "--panel-port", "0", "--influxdb", f"http://127.0.0.1:{influxdb1.port}/{database}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    lines: list[str] = []
    page = ""
    for line in demo.stdout:
        lines.append(line)
        found = re.search(r"live panel (http://\S+)", line)
        if found:
            with urllib.request.urlopen(found.group(1) + "/login", timeout=10) as answer:
                page = answer.read().decode()
    assert demo.wait(timeout=60) == 0, "".join(lines)
    demo.stdout.close()
    output = "".join(lines)
    assert "<form" in page, output  # the login page was served while the demo ran
    assert re.search(r"log in as 'demo', password '\S+'", output)
    rows = influxdb1.series_values("SELECT kind, state, value FROM alarm", database)
    assert ["H", "active"] in [row[1:3] for row in rows], rows  # the gas leak's first level
    counts = influxdb1.series_values("SELECT count(last) FROM telemetry", database)
    assert counts and counts[0][1] > 10, counts
    influxdb1.drop_database(database)
