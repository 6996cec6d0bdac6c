"""`hazard-gateway history`: the alarm journal of a site, and the loops still open.

What a safety officer or an auditor asks after a shift: which alarms were raised,
who acknowledged or shelved them and why, and which activations still lack a
disposition (cause and action taken, 闭环). Reads the journal in --state-dir; safe
to run while the edge agent is running (SQLite WAL). Operators acknowledge with
`hazard-gateway ack` (a command signed with their key), so "by" names who it was.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from gateway.commands.common import add_state_dir_argument
from gateway.timeutil import rfc3339

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `history` subcommand."""
    parser = commands.add_parser(
        "history",
        help="print the alarm journal; --open lists activations without a disposition",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_state_dir_argument(parser)
    parser.add_argument(
        "--open", action="store_true", help="only activations that still lack a disposition"
    )
    parser.add_argument(
        "--overdue",
        action="store_true",
        help="only activations past their disposition deadline (who is responsible, since when)",
    )
    parser.add_argument(
        "--limit", type=_count, default=200, metavar="N", help="newest N events (default 200)"
    )
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    """argparse type: a whole number of events, at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        msg = f"{text!r} is not a number of events (1 or more)"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Print the events; exit 2 when there is no journal in --state-dir."""
    from gateway.alarms.journal import AlarmJournal  # noqa: PLC0415 - not for --help

    path = args.state_dir / "journal.sqlite"
    if not path.is_file():
        print(f"error: no alarm journal at {path} (is --state-dir the edge agent's?)")
        return 2
    journal = AlarmJournal(path)
    try:
        if args.overdue:
            events = journal.overdue(time.time(), args.limit)
        elif args.open:
            events = journal.without_disposition(args.limit)
        else:
            events = journal.events(args.limit)
    finally:
        journal.close()
    for event in events:
        print(json.dumps(event, ensure_ascii=False) if args.json else _row(event))
    if args.overdue and not args.json:
        print(f"{len(events)} activation(s) past their disposition deadline")
    elif args.open and not args.json:
        print(f"{len(events)} activation(s) without a disposition")
    return 0


def _row(event: dict[str, Any]) -> str:
    who = f" by {event['by']}" if event.get("by") else ""
    note = f" — {event['note']}" if event.get("note") else ""
    cause = f" — cause: {event['cause']}; action: {event['action']}" if event.get("cause") else ""
    if "due" in event:  # an overdue activation: who must close it, and since when
        cause += f" — OVERDUE since {rfc3339(float(event['due']))}, responsible "
        cause += str(event.get("responsible") or "(none named)")
    value = "" if event.get("value") is None else f" {event['value']:g} {event.get('unit', '')}"
    return (
        f"{event['ts']}  #{event['seq']:<5} {event['state']:<14} L{event['level']} "
        f"{event['kind']:<5} {event['device']}/{event['point']}{value}{who}{note}{cause}"
    )
