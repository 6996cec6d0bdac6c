"""bench/latency.py --quick runs end to end: broker, simulator, edge agent, subscriber."""

from __future__ import annotations

import math
import re

import pytest

from tests.harness.bench import quick_bench_stdout

TOTAL = re.compile(
    r"^total\s+\(step -> subscriber\)\s+n\s+(?P<n>\d+)\s+p50\s+(?P<p50>\S+)\s+p90\s+\S+\s+"
    r"p99\s+(?P<p99>\S+)\s+max\s+\S+\s+ms$",
    re.MULTILINE,
)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_bench_measures_alarm_latency() -> None:
    stdout = quick_bench_stdout("latency.py", timeout=90, needs=("mosquitto",))
    found = TOTAL.search(stdout)
    assert found is not None, stdout
    assert int(found["n"]) >= 20, stdout
    p50, p99 = float(found["p50"]), float(found["p99"])
    assert math.isfinite(p99) and math.isfinite(p50), stdout
    assert 0 < p50 <= p99, stdout
    verdicts = [line for line in stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1, stdout
