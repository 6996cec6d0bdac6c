"""bench/pipeline.py's verdict on overruns: did the simulators, or the machine, keep up?"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench modules import each other by name
    module = importlib.import_module("_pipeline_report")
    yield module
    for name in ("_pipeline_report", "_pipeline_sites", "latency"):
        sys.modules.pop(name, None)


def test_pinned_simulators_are_judged_by_the_core_they_share(report: ModuleType) -> None:
    sites = importlib.import_module("_pipeline_sites")
    spec = sites.SITES["d20x63-10ms"]
    # two simulator processes at 0.46 of a core each, on a machine with room (the --pin run)
    spread = report.SiteResult(spec, sim_procs=2, sim_max=0.46, sim_total=0.92, busy=0.7)
    assert not spread.sim_limited  # each on a core of its own: both keep up
    pinned = report.SiteResult(
        spec, sim_procs=2, sim_max=0.46, sim_total=0.92, busy=0.7, pinned=True
    )
    assert pinned.sim_limited  # on one core together: that core is nearly full
    assert report.SiteResult(spec, sim_max=0.3, sim_total=0.3, runq=0.06).sim_limited
