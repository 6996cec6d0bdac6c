"""bench/detect.py --quick runs and prints every figure (numbers are not judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_bench_quick() -> None:
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, str(root / "bench" / "detect.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=root,
    )
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
