"""bench/edge_inproc.py --quick runs: the real EdgeSite and Mosquitto, Modbus answered in memory."""

from __future__ import annotations

import re

import pytest

from tests.harness.bench import bench_number, quick_bench_stdout

FIGURES = re.compile(
    r"(?P<polls>\d+) polls, CPU user .*\n\s+(?P<us>[\d,.]+) us per poll, (?P<pts>[\d,]+) points "
    r"per CPU-second \(ratio to the 50,000 target: (?P<ratio>[\d.]+)\)\n\s+telemetry windows "
    r"sent (?P<sent>\d+), of them straight to the connection (?P<direct>\d+)"
)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_in_process_bench_prints_the_cost_per_poll() -> None:
    stdout = quick_bench_stdout("edge_inproc.py", timeout=100, needs=("mosquitto",))
    figures = FIGURES.search(stdout)
    assert figures is not None, stdout
    # 20 devices at 1 s for 3 s: about 60 polls, each a 20-point window that moved.
    assert 40 <= bench_number(figures["polls"]) <= 80, stdout
    assert bench_number(figures["us"]) > 0 and bench_number(figures["pts"]) > 0, stdout
    assert bench_number(figures["sent"]) >= 20, "the windows must reach the broker"
    assert bench_number(figures["direct"]) > 0, "an idle connection takes fresh windows directly"
