"""Figures and verdicts of bench/pipeline.py: one row per site, then the SUMMARY.

The targets are DESIGN.md's "Whole edge pipeline", "Sample rate per device" and "Alarm
latency" lines; each verdict prints the measured figure and its ratio to the target.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from _pipeline_sites import SiteSpec
from _pipeline_steal import MissedSamples
from latency import percentile  # bench/ is on sys.path: run as a script

__all__ = ["SiteResult", "print_missed", "print_summary", "print_table"]


SIM_BUSY = 0.8  # a simulator process above this share of a core may be the limit
MACHINE_BUSY = 0.9  # share of all cores above which the machine is the limit
RUNQ_BUSY = 0.05  # s/s the edge's loop thread waited for a CPU: starved by the machine
# DESIGN.md targets
PTS_PER_CPU_20PT_1HZ = 50_000
PTS_PER_CPU_63PT_100HZ = 300_000
IDLE_CORES = 0.01
LATENCY_MARGIN_S = 0.2
# "No overruns" is judged on the windows of seconds the hypervisor took no CPU time in
# (bench/_pipeline_steal.py); fewer such seconds than this in a run judge nothing.
MIN_CLEAN_SECONDS = 5
CLEAN_MISSES_SHOWN = 10
MAX_UNJUDGED = 0.1  # more windows than this share unjudged (sampler gaps): judge nothing


@dataclass
class SiteResult:
    """Figures of one site over its measurement window."""

    spec: SiteSpec
    start: float = 0.0  # epoch s of the window's first status
    seconds: float = 0.0
    points_per_s: float = 0.0
    polls_per_s: float = 0.0
    overruns_per_s: float = 0.0
    late_per_s: float = 0.0  # polls started late (at most half a period), not skipped
    failures: int = 0
    edge_cores: float = 0.0
    rss_mb: float = 0.0
    hwm_mb: float = 0.0
    anon_mb: float = 0.0  # of rss_mb, the edge's own (anonymous) pages
    sim_max: float = 0.0
    sim_total: float = 0.0
    sim_procs: int = 0
    pinned: bool = False  # --pin: every simulator process on one core
    busy: float = 0.0
    steal: float = 0.0  # share of all cores the hypervisor gave to other guests
    runq: float = 0.0
    backlog: int = 0
    telemetry_per_s: float = 0.0
    telemetry_expected: float = 0.0
    latency: list[float] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)
    missing_alarms: int = 0
    other_alarms: int = 0
    queued_end: int = 0
    errors: list[str] = field(default_factory=list)
    profile: str = ""
    missed: MissedSamples = field(default_factory=MissedSamples)

    @property
    def points_per_cpu_s(self) -> float:
        """Good points per second of the edge process's CPU time."""
        return self.points_per_s / self.edge_cores if self.edge_cores > 0 else 0.0

    @property
    def sim_limited(self) -> bool:
        """True when a simulator core or the whole machine was near saturation.

        Pinned, the simulators share one core: their sum is that core's load.
        """
        sim_core = self.sim_total if self.pinned else self.sim_max
        return sim_core >= SIM_BUSY or self.busy >= MACHINE_BUSY or self.runq >= RUNQ_BUSY


def _ms(values: list[float], q: float) -> str:
    return f"{1000 * percentile(values, q):.0f}" if values else "-"


def print_table(results: list[SiteResult]) -> None:
    """One row per site."""
    header = (
        f"{'site':<14} {'s':>4} {'points/s':>9} {'polls/s':>8} {'ovr/s':>6} {'late/s':>6} "
        f"{'fail':>4} {'edge cores':>10} {'pts/CPU-s':>10} {'RSS MB':>6} {'peak':>5} {'anon':>5} "
        f"{'sim max/all (n)':>15} {'busy':>5} {'steal':>5} {'runq':>5} {'tel/s got/exp':>13} "
        f"{'backlog':>7} {'lat p99 ms (n)':>14} {'proc p99':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        sim = f"{r.sim_max:.2f}/{r.sim_total:.2f} ({r.sim_procs})"
        tel = f"{r.telemetry_per_s:.1f}/{r.telemetry_expected:.1f}"
        lat = f"{_ms(r.latency, 99)} ({len(r.latency)})" if r.spec.gas else "-"
        proc = _ms(r.processing, 99) if r.spec.gas else "-"
        print(
            f"{r.spec.name:<14} {r.seconds:>4.0f} {r.points_per_s:>9,.0f} {r.polls_per_s:>8,.1f} "
            f"{r.overruns_per_s:>6.1f} {r.late_per_s:>6.1f} {r.failures:>4} {r.edge_cores:>10.3f} "
            f"{r.points_per_cpu_s:>10,.0f} {r.rss_mb:>6.0f} {r.hwm_mb:>5.0f} {r.anon_mb:>5.0f} "
            f"{sim:>15} "
            f"{r.busy:>5.2f} {r.steal:>5.2f} {r.runq:>5.2f} {tel:>13} {r.backlog:>7} {lat:>14} "
            f"{proc:>8}"
        )


def print_missed(results: list[SiteResult]) -> None:
    """Samples missing from the windows received, by stolen CPU time in their seconds."""
    print(
        "\nSamples missing from the telemetry windows received (each should hold window / poll"
        " samples of a point),\nby the share of the machine the hypervisor took (/proc/stat"
        " steal, 10 ms ticks) in the most-stolen of the window's seconds and the next:"
        " seconds / windows / missed"
    )
    labels = [b.label for b in MissedSamples().buckets]
    header = f"{'site':<14} " + " ".join(f"{label:>18}" for label in labels) + f" {'unjudged':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        cells = [f"{b.seconds}/{b.windows:,}/{b.missed:,}" for b in r.missed.buckets]
        print(
            f"{r.spec.name:<14} "
            + " ".join(f"{c:>18}" for c in cells)
            + f" {r.missed.windows_unknown:>8,}"
        )
    for r in results:
        if r.missed.windows_overfull:
            print(
                f"{r.spec.name}: {r.missed.windows_overfull} windows held more samples than"
                " window / poll"
            )
        misses = r.missed.clean_misses
        if misses:
            shown = ", ".join(
                f"{device} {time.strftime('%H:%M:%S', time.gmtime(start))} -{n}"
                for device, start, n in misses[:CLEAN_MISSES_SHOWN]
            )
            extra = len(misses) - CLEAN_MISSES_SHOWN
            more = f" (+{extra} more)" if extra > 0 else ""
            label = "windows short of samples without stolen time (UTC)"
            print(f"{r.spec.name}: {label}: {shown}{more}")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_summary(results: list[SiteResult]) -> None:
    """PASS/MISS per DESIGN.md target, as ratios to the target."""
    print("\nSUMMARY (DESIGN.md, whole edge pipeline)")
    for r in results:
        s = r.spec
        if s.points == 20 and s.poll_s == 1.0 and s.window_s == 1.0 and s.devices > 1:
            ratio = r.points_per_cpu_s / PTS_PER_CPU_20PT_1HZ
            print(
                f"{_verdict(ratio >= 1)}  {s.name}: {r.points_per_cpu_s:,.0f} points per "
                f"CPU-second, target >= {PTS_PER_CPU_20PT_1HZ:,} (20-pt @ 1 Hz, 1 s windows): "
                f"ratio {ratio:.2f}"
            )
        if s.points == 63 and s.poll_s <= 0.01:
            ratio = r.points_per_cpu_s / PTS_PER_CPU_63PT_100HZ
            print(
                f"{_verdict(ratio >= 1)}  {s.name}: {r.points_per_cpu_s:,.0f} points per "
                f"CPU-second, target >= {PTS_PER_CPU_63PT_100HZ:,} (63-pt @ 100 Hz): "
                f"ratio {ratio:.2f}"
            )
            note = (
                "; simulator or machine near saturation, so this measures the machine"
                if r.sim_limited
                else "; the simulator kept up"
            )
            _print_no_overruns(r, note)
        if s.devices == 1 and not s.gas:
            ratio = r.edge_cores / IDLE_CORES
            print(
                f"{_verdict(ratio < 1)}  {s.name}: {100 * r.edge_cores:.2f} % of a core for a "
                f"1-device site, target < {100 * IDLE_CORES:g} %: ratio {ratio:.2f}"
            )
        if s.gas:
            target = s.poll_s + LATENCY_MARGIN_S
            p99 = percentile(r.latency, 99) if r.latency else math.nan
            ratio = p99 / target
            print(
                f"{_verdict(ratio <= 1)}  {s.name}: alarm latency p99 {1000 * p99:.0f} ms "
                f"(n {len(r.latency)}; processing p99 {_ms(r.processing, 99)} ms), target "
                f"<= {1000 * target:.0f} ms (poll + 200 ms): ratio {ratio:.2f}"
            )


def _print_no_overruns(r: SiteResult, note: str) -> None:
    """The 100 Hz "no overruns" verdict: judged where the hypervisor left the CPU alone."""
    clean, stolen = r.missed.clean, r.missed.stolen
    judged = sum(b.windows for b in r.missed.buckets)
    covered = r.missed.windows_unknown <= MAX_UNJUDGED * (judged + r.missed.windows_unknown)
    ok = clean.seconds >= MIN_CLEAN_SECONDS and clean.missed == 0 and covered
    too_few = "" if clean.seconds >= MIN_CLEAN_SECONDS else ", too few to judge"
    if not covered:
        too_few += f", {r.missed.windows_unknown:,} windows unjudged"
    print(
        f"{_verdict(ok)}  {r.spec.name}: {clean.missed} samples missed in the "
        f"{clean.windows:,} windows of the {clean.seconds} s without stolen CPU time "
        f"(target 0, at least {MIN_CLEAN_SECONDS} s{too_few}); overall {r.overruns_per_s:.1f} "
        f"overruns/s, and {sum(b.missed for b in stolen):,} samples missed in the "
        f"{sum(b.windows for b in stolen):,} windows of the {sum(b.seconds for b in stolen)} s "
        f"with stolen time (sim max {r.sim_max:.2f} core, machine busy {r.busy:.2f}, "
        f"steal {r.steal:.3f}, edge runq {r.runq:.2f} s/s{note})"
    )
