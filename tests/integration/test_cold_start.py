"""Cold start on a fresh machine: an empty numba cache (NUMBA_CACHE_DIR in a temp folder).

`--help` and the commands that do not detect never import numba; the demo polls and
prints its first status line within 10 s although its kernels are not compiled yet
(gateway.edge.warmup runs the reference detector meanwhile).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "gateway.cli"]
LIGHT = (["--help"], ["profiles", "list"], ["demo", "--help"], ["edge", "--help"])


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}


@pytest.mark.parametrize("args", LIGHT, ids=" ".join)
def test_light_commands_import_no_numba_and_start_within_a_second(
    tmp_path: Path, args: list[str]
) -> None:
    env = _env(tmp_path)
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", *CLI[1:], *args],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
    assert not {m for m in imported if m.split(".")[0] in ("numba", "llvmlite")}
    runs = [_timed(env, args) for _ in range(3)]
    wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
    print(f"cold start {' '.join(args)}: {wall:.2f} s wall, {cpu:.2f} s CPU (best of 3)")
    # CPU time, not wall time, is judged: other work on a shared CI machine stretches the
    # wall clock without the command doing more (on an idle core the two are equal).
    assert cpu <= 1.0


def _timed(env: dict[str, str], args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*CLI, *args], env=env, capture_output=True, timeout=60, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_demo_polls_within_10_s_on_an_empty_kernel_cache(tmp_path: Path) -> None:
    start = time.monotonic()
    demo = subprocess.Popen(
        [*CLI, "demo", "--duration", "20", "--status-every", "1", "--state-dir", str(tmp_path)],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    lines: list[str] = []
    first_status = None
    try:
        for line in demo.stdout:
            lines.append(line)
            if "polls " in line and " failed " in line:
                first_status = time.monotonic() - start
                break
    finally:
        demo.kill()
        demo.wait(timeout=10)
        demo.stdout.close()
    output = "".join(lines)
    assert first_status is not None, output
    print(f"demo on an empty kernel cache: first poll status after {first_status:.1f} s")
    assert first_status <= 10.0, output
    assert "compiling the detection kernels" in output
    assert "polls 0 " not in output.splitlines()[-1]
