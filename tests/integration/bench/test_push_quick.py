"""bench/push.py --quick runs end to end: broker, push service, verifying receiver."""

from __future__ import annotations

import re

import pytest

from tests.harness.bench import quick_bench_stdout

LINE = re.compile(
    r"^push \(MQTT arrival -> 2xx\)\s+n\s+(?P<n>\d+)\s+p50\s+(?P<p50>\S+)\s+p90\s+\S+\s+"
    r"p99\s+(?P<p99>\S+)\s+max\s+\S+\s+ms$",
    re.MULTILINE,
)
RATE = re.compile(
    r"^throughput: \d+ events, one push worker: (?P<rate>[\d,]+) events/s$", re.MULTILINE
)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_bench_measures_push_throughput_and_latency() -> None:
    stdout = quick_bench_stdout("push.py", timeout=90, needs=("mosquitto",))
    found, rate = LINE.search(stdout), RATE.search(stdout)
    assert found is not None and rate is not None, stdout
    assert int(found["n"]) == 400 and 0 < float(found["p50"]) <= float(found["p99"]), stdout
    assert float(rate["rate"].replace(",", "")) > 0, stdout
    verdicts = [line for line in stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1, stdout
