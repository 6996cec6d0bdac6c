"""Run a bench/ script in --quick mode, as the test suite does so that no bench rots."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .pytest_support import tools_or_skip
from .tools import require

__all__ = ["bench_number", "quick_bench_stdout", "run_quick_bench"]

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


def quick_bench_stdout(script: str, timeout: float, *, needs: Sequence[str] = ()) -> str:
    """What ``run_quick_bench`` printed; a skip without a tool in ``needs``, a failure on exit != 0.

    A missing tool skips with its install command, and fails under ``CI=true``.
    """
    with tools_or_skip():
        for tool in needs:
            require(tool)
    done = run_quick_bench(script, timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def bench_number(text: str) -> float:
    """A figure as a bench prints it (``12,345.6``)."""
    return float(text.replace(",", ""))
