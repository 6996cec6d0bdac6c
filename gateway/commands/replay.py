"""`hazard-gateway replay`: run a recorded CSV through a site's alarm settings.

Writes the alarm events the gateway would have raised (JSON lines, the MQTT payload
contract) and a summary of activations per point and per hour, with alarm floods
(EEMUA 191: more than 10 alarms in 10 minutes). Use it to tune limits, delays and
deadbands before a site goes live.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from gateway.commands.common import add_site_argument, load_site_arg
from gateway.replay import read_series, replay

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
    parser.add_argument("--input", type=Path, required=True, metavar="CSV")
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="alarm events as JSON lines (default: stdout)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay and report; the summary goes to stderr when events go to stdout."""
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
