"""bench/ingest.py --quick runs end to end: Mosquitto, VictoriaMetrics, InfluxDB 1.6.7."""

from __future__ import annotations

import re

import pytest

from tests.harness import TOOLS
from tests.harness.bench import run_quick_bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROW = re.compile(
    r"^(?P<server>victoria-metrics|influxdb-1\.6\.7)\s+plain POST\s+(?P<post>[\d,]+) pts/s\s+"
    r"worker\s+(?P<worker>[\d,]+) pts/s\s+ratio (?P<ratio>\d+\.\d\d)\s+cpu (?P<cpu>[\d.]+) us/pt"
    r"\s+rss \+(?P<rss>-?\d+) MB\s+points (?P<done>[\d,]+)/(?P<total>[\d,]+)$",
    re.MULTILINE,
)


@pytest.mark.timeout(150)
def test_quick_bench_compares_one_worker_with_a_plain_post_loop() -> None:
    for tool in ("mosquitto", "influxd", "victoria-metrics"):
        if TOOLS[tool].find() is None:
            pytest.skip(f"needs {tool}")
    done = run_quick_bench("ingest.py", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {m["server"]: m for m in ROW.finditer(done.stdout)}
    assert rows.keys() == {"victoria-metrics", "influxdb-1.6.7"}, done.stdout
    for m in rows.values():
        assert m["done"] == m["total"], m.group(0)
        assert float(m["ratio"]) > 0 and float(m["cpu"]) > 0, m.group(0)
        for name in ("post", "worker"):
            assert int(m[name].replace(",", "")) > 0, m.group(0)
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 2, done.stdout
