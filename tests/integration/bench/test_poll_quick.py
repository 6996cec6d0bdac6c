"""bench/poll.py --quick runs end to end: simulator process, our client, the C peer."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.harness.bench import bench_number, run_quick_bench

ROW = re.compile(
    r"^\s*(?P<conns>[14])\s+(?P<regs>10|125)\s+.+?\s+(?P<ours>[\d,]+)\s+(?P<c>[\d,]+)\s+"
    r"(?P<ratio>\d+\.\d+)\s+(?P<pts>[\d,]+)\s+(?P<cpu>\d+\.\d)\s+(?P<ptscpu>[\d,]+)\s"
)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_quick_bench_prints_the_matrix_with_live_figures() -> None:
    if shutil.which("gcc") is None or not Path("/usr/include/modbus/modbus.h").exists():
        pytest.skip("needs gcc and libmodbus-dev (apt-get install gcc libmodbus-dev)")
    done = run_quick_bench("poll.py", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [m for line in done.stdout.splitlines() if (m := ROW.match(line))]
    cells = {(int(m["conns"]), int(m["regs"])) for m in rows}
    assert cells == {(1, 10), (1, 125), (4, 10), (4, 125)}, done.stdout
    for m in rows:
        for name in ("ours", "c", "ratio", "pts", "cpu", "ptscpu"):
            assert bench_number(m[name]) > 0, f"{name} is zero in: {m.group(0)}"
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "MISS"))]
    assert len(verdicts) == 4, done.stdout
