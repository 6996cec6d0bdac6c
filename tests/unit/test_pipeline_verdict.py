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
    for name in ("_pipeline_report", "_pipeline_sites", "_pipeline_steal", "latency"):
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


class FixedSteal:
    """Stolen shares per second, as bench/_pipeline_steal.StealSeconds reports them."""

    def __init__(self, shares: dict[int, float]) -> None:
        self.shares = shares

    def share(self, second: int) -> float | None:
        return self.shares.get(second)


def test_missing_samples_are_split_by_the_stolen_time_of_their_seconds(
    report: ModuleType,
) -> None:
    steal = importlib.import_module("_pipeline_steal")
    window = steal.WindowCount
    received = [
        window("d1", 99.0, 1.0, 90),  # before the measurement: not judged
        window("d1", 100.0, 1.0, 100),  # no stolen time in it or the next second
        window("d2", 100.0, 1.0, 100),
        window("d1", 101.0, 1.0, 99),  # the next second was stolen from: a stall across
        window("d1", 102.0, 1.0, 97),  # its end is accounted there; 3 % of the machine
        window("d1", 103.0, 1.0, 98),  # no stolen time, yet 2 missed: the edge's own
        window("d1", 104.0, 1.0, 100),  # the sampler missed the next second: unjudged
        window("d1", 106.0, 1.0, 100),  # ends after the measurement: not judged
    ]
    shares = FixedSteal({100: 0.0, 101: 0.0, 102: 0.03, 103: 0.0, 104: 0.0, 106: 0.3})
    missed = steal.missed_samples(received, 0.01, shares, 99.5, 106.5)
    assert [(b.seconds, b.windows, b.missed) for b in missed.buckets] == [
        (2, 3, 2),  # seconds 100 and 103
        (0, 0, 0),
        (2, 2, 4),  # seconds 101 and 102
        (0, 0, 0),
        (0, 0, 0),  # second 106 lies past the end
    ]
    assert missed.clean_misses == [("d1", 103.0, 2)]
    assert missed.windows_unknown == 1
    assert [b.label for b in missed.buckets] == [
        "none",
        "<= 1 %",
        "1-5 %",
        "5-20 %",
        "> 20 %",
    ]


@pytest.mark.parametrize(
    ("clean_seconds", "clean_missed", "verdict"),
    [(6, 0, "PASS"), (6, 1, "MISS"), (4, 0, "MISS")],
)
def test_no_overruns_is_judged_on_seconds_without_stolen_time(
    report: ModuleType,
    capsys: pytest.CaptureFixture[str],
    clean_seconds: int,
    clean_missed: int,
    verdict: str,
) -> None:
    sites = importlib.import_module("_pipeline_sites")
    result = report.SiteResult(sites.SITES["d20x63-10ms"], overruns_per_s=2.5)
    result.missed.clean.seconds = clean_seconds
    result.missed.clean.windows = 20 * clean_seconds
    result.missed.clean.missed = clean_missed
    result.missed.stolen[2].seconds, result.missed.stolen[2].missed = 20, 300
    report.print_summary([result])
    line = next(x for x in capsys.readouterr().out.splitlines() if "samples missed" in x)
    assert line.startswith(verdict), line
    assert f"{clean_missed} samples missed in the {20 * clean_seconds} windows" in line
    assert "300 samples missed" in line and "2.5 overruns/s" in line
    assert ("too few to judge" in line) == (clean_seconds < 5)
