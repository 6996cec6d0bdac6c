"""Run a bench/ script in --quick mode, as the test suite does so that no bench rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["bench_number", "run_quick_bench"]

ROOT = Path(__file__).resolve().parents[2]


def run_quick_bench(script: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python bench/<script> --quick`` from the repository root; output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def bench_number(text: str) -> float:
    """A figure as a bench prints it (``12,345.6``)."""
    return float(text.replace(",", ""))
