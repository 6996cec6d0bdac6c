"""Run the edge CLI under cProfile with a CPU-time clock, for bench/pipeline.py --profile.

    python3 bench/_pipeline_profile.py OUT.prof {cpu|wall} edge --site S --mqtt URL --state-dir D

``python -m cProfile`` times with the wall clock, so on a loaded machine (or around an
fsync) it charges waiting as cost; this profile uses ``time.process_time``, the CPU time
the bench's points-per-CPU-second figure divides by (``wall`` gives the wall clock, to see
where the event loop is blocked, e.g. in SQLite's fsync). It profiles only between SIGUSR1
(the bench sends it at the start of its measurement window) and SIGUSR2 (at the end),
so start-up and imports stay out. The stats are written when the agent stops
(SIGTERM/SIGINT stop it cleanly).
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time


def main() -> int:
    """Profile ``gateway.cli`` with the remaining arguments; dump to argv[1]."""
    out, clock, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    sys.argv = ["hazard-gateway", *rest]
    profiler = cProfile.Profile(time.perf_counter if clock == "wall" else time.process_time)
    # Python runs signal handlers in the main thread: the one the asyncio loop runs in.
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    signal.signal(signal.SIGUSR2, lambda *_: profiler.disable())
    try:
        runpy.run_module("gateway.cli", run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        profiler.disable()
        profiler.dump_stats(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
