"""bench/detect.py --quick runs and prints every figure (numbers are not judged here)."""

from __future__ import annotations

import pytest

from tests.harness.bench import run_quick_bench


@pytest.mark.slow
def test_bench_quick() -> None:
    proc = run_quick_bench("detect.py", timeout=300)
    assert proc.returncode == 0, proc.stderr
    for figure in (
        "memory-read limit",
        "numba serial",
        "numba parallel",
        "numpy (semantic subset)",
        "reference",
        "warm start",
        "cold compile",
        "peak RSS",
        "SUMMARY",
    ):
        assert figure in proc.stdout, figure
    assert proc.stdout.count("PASS") + proc.stdout.count("MISS") == 7
