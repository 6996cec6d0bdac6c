"""bench/web.py --quick runs end to end: broker, panel process, publisher, Chromium."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.harness import TOOLS
from tests.harness.bench import run_quick_bench

LAG = re.compile(
    r"^publish -> DOM\s+n\s+(?P<n>\d+)\s+p50\s+(?P<p50>\S+)\s+p99\s+(?P<p99>\S+)", re.M
)


@pytest.mark.integration
@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_web_bench_measures_lag_long_tasks_and_cpu() -> None:
    if TOOLS["mosquitto"].find() is None or shutil.which("chromium") is None:
        pytest.skip("needs mosquitto and chromium (apt-get install mosquitto chromium)")
    done = run_quick_bench("web.py", timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    found = LAG.search(done.stdout)
    assert found is not None, done.stdout
    assert int(found["n"]) >= 5, done.stdout
    assert 0 < float(found["p50"]) <= float(found["p99"]), done.stdout
    assert "2000 rows on the page" in done.stdout, done.stdout
    assert re.search(r"^panel server CPU: \d+\.\d %", done.stdout, re.M), done.stdout
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 1, done.stdout
