"""bench/pipeline.py --quick runs end to end: Mosquitto, simulator, edge process, subscriber."""

from __future__ import annotations

import re

import pytest

from tests.harness import TOOLS
from tests.harness.bench import bench_number, run_quick_bench

ROW = re.compile(
    r"^quick\s+(?P<s>\d+)\s+(?P<pts>[\d,]+)\s+(?P<polls>[\d,.]+)\s+(?P<ovr>[\d.]+)\s+"
    r"(?P<fail>\d+)\s+(?P<cores>\d+\.\d+)\s+(?P<ptscpu>[\d,]+)\s+(?P<rss>\d+)\s",
    re.MULTILINE,
)
LATENCY = re.compile(r"alarm latency p99 (?P<p99>\d+) ms \(n (?P<n>\d+);")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_bench_measures_the_whole_pipeline() -> None:
    if TOOLS["mosquitto"].find() is None:
        pytest.skip("needs mosquitto (apt-get install mosquitto)")
    done = run_quick_bench("pipeline.py", timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    row = ROW.search(done.stdout)
    assert row is not None, done.stdout
    # 3 devices (2 x 20 points + a 3-point gas detector) at 100 ms: ~30 polls/s, ~430 points/s.
    assert bench_number(row["s"]) >= 9, done.stdout
    assert bench_number(row["polls"]) > 10, done.stdout
    assert bench_number(row["pts"]) > 100, done.stdout
    for name in ("cores", "ptscpu", "rss"):
        assert bench_number(row[name]) > 0, f"{name} is zero in: {row.group(0)}"
    latency = LATENCY.search(done.stdout)
    assert latency is not None, done.stdout
    assert int(latency["n"]) >= 1 and int(latency["p99"]) > 0, done.stdout
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1, done.stdout
