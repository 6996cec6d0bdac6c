"""bench/push.py --quick runs end to end: broker, push service, verifying receiver."""

from __future__ import annotations

import re

import pytest

from tests.harness import TOOLS
from tests.harness.bench import run_quick_bench

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
    if TOOLS["mosquitto"].find() is None:
        pytest.skip("needs mosquitto (apt-get install mosquitto)")
    done = run_quick_bench("push.py", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    found, rate = LINE.search(done.stdout), RATE.search(done.stdout)
    assert found is not None and rate is not None, done.stdout
    assert int(found["n"]) == 400 and 0 < float(found["p50"]) <= float(found["p99"]), done.stdout
    assert float(rate["rate"].replace(",", "")) > 0, done.stdout
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1, done.stdout
