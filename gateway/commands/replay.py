"""`hazard-gateway replay`: run a recorded CSV through a site's alarm settings.

Writes the alarm events the gateway would have raised (JSON lines, the MQTT payload
contract) and a summary of activations per point and per hour, with alarm floods
(EEMUA 191: more than 10 alarms in 10 minutes). Use it to tune limits, delays and
deadbands before a site goes live.

Recorded data is taken as a historian writes it: rows in any order, a duplicate
timestamp (the last row wins), jitter (samples placed by their own time) and gaps
(reported); the rules are in gateway/replay.py. A bad row is reported with its
file:line, device/point, column and value, every bad row at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from gateway.commands.common import add_site_argument, load_site_arg

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `replay` subcommand."""
    parser = commands.add_parser(
        "replay",
        help="replay a recorded CSV (ts,device,point,value) through the site's alarm settings",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_site_argument(parser, required=True)
    parser.add_argument(
        "--input",
        type=Path,
        required=True,
        metavar="CSV",
        help="recorded samples: a header ts,device,point,value[,quality], then one row each",
    )
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="alarm events as JSON lines (default: stdout)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay and report; the summary goes to stderr when events go to stdout."""
    from gateway.replay import read_series, replay  # noqa: PLC0415 - edge_core: not for --help

    site = load_site_arg(args.site)
    started = time.perf_counter()
    series = read_series(site, args.input)
    events, summary = replay(site, series)
    lines = "".join(json.dumps(e.to_dict()) + "\n" for e in events)
    report = sys.stdout
    if args.output is None:
        sys.stdout.write(lines)
        report = sys.stderr
    else:
        args.output.write_text(lines, encoding="utf-8")
    for line in summary.lines():
        print(line, file=report)
    elapsed = time.perf_counter() - started
    print(f"({summary.samples} samples in {elapsed:.2f} s)", file=report)
    return 0
