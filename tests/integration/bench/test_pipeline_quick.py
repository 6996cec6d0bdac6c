"""bench/pipeline.py --quick runs end to end: Mosquitto, simulators, edge process, subscriber.

The bench devices are served by bench/modbus_responder.c (built with gcc), the gas
detector by the pymodbus simulator: every poll of both must succeed.
"""

from __future__ import annotations

import re

import pytest

from tests.harness.bench import bench_number, quick_bench_stdout

ROW = re.compile(
    r"^quick\s+(?P<s>\d+)\s+(?P<pts>[\d,]+)\s+(?P<polls>[\d,.]+)\s+(?P<ovr>[\d.]+)\s+"
    r"(?P<late>[\d.]+)\s+(?P<fail>\d+)\s+(?P<cores>\d+\.\d+)\s+(?P<ptscpu>[\d,]+)\s+(?P<rss>\d+)\s+"
    r"(?P<peak>\d+)\s+(?P<anon>\d+)\s",
    re.MULTILINE,
)
# seconds/windows/missed for no stolen time and four steal levels, then unjudged windows
MISSED = re.compile(r"^quick((?:\s+\d+/[\d,]+/[\d,]+){5})\s+(?P<unjudged>[\d,]+)$", re.MULTILINE)
LATENCY = re.compile(r"alarm latency p99 (?P<p99>\d+) ms \(n (?P<n>\d+);")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_bench_measures_the_whole_pipeline() -> None:
    stdout = quick_bench_stdout("pipeline.py", timeout=100, needs=("mosquitto", "gcc"))
    row = ROW.search(stdout)
    assert row is not None, stdout
    # 3 devices (2 x 20 points + a 3-point gas detector) at 100 ms: ~30 polls/s, ~430 points/s.
    assert bench_number(row["s"]) >= 9, stdout
    assert bench_number(row["polls"]) > 10, stdout
    assert bench_number(row["pts"]) > 100, stdout
    # The responder answers every read; the gas detector's pymodbus simulator may miss
    # its 0.5 s timeout once or twice on a loaded machine (of ~330 polls).
    assert int(row["fail"]) <= 2, stdout
    for name in ("cores", "ptscpu", "rss"):
        assert bench_number(row[name]) > 0, f"{name} is zero in: {row.group(0)}"
    # the anonymous part of RSS: numpy, numba and the kernels alone hold tens of MiB
    assert 20 <= bench_number(row["anon"]) < bench_number(row["rss"]), row.group(0)
    # Every window received in the measurement is judged by the stolen time of its seconds.
    missed = MISSED.search(stdout)
    assert missed is not None, stdout
    cells = [[bench_number(x) for x in cell.split("/")] for cell in missed.group(1).split()]
    seconds, windows = sum(c[0] for c in cells), sum(c[1] for c in cells)
    # 2 bench devices (the gas detector is left out), 1 s windows
    assert seconds >= 8 and windows >= 1.5 * seconds, stdout
    # a sampler wake-up held up 0.25 s leaves two seconds unjudged: 3 windows per device
    assert bench_number(missed["unjudged"]) <= 9, stdout
    latency = LATENCY.search(stdout)
    assert latency is not None, stdout
    assert int(latency["n"]) >= 1 and int(latency["p99"]) > 0, stdout
    verdicts = [line for line in stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1, stdout
