"""`hazard-gateway web --config FILE`: the live panel; `web hash-password`: a user's hash.

Cold start: only argparse and the standard library at module top; the web stack
(FastAPI, uvicorn, paho, argon2) is imported inside the run functions.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `web` subcommand (and its `hash-password` helper)."""
    parser = commands.add_parser(
        "web",
        help="the live panel for safety officers (sites, values, alarm console, history)",
        description="Serve the live panel. Users, roles and the broker come from --config "
        "(a `web:` section or a whole file; see docs/web.md).",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="panel config (YAML)")
    parser.add_argument("--port", type=int, help="listen port (overrides the config)")
    parser.set_defaults(run=run_web)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    hashing = actions.add_parser(
        "hash-password",
        help="print the argon2id hash of a password for the config's `password_hash`",
    )
    hashing.add_argument("--stdin", action="store_true", help="read the password from stdin")
    hashing.set_defaults(run=run_hash_password)


def run_hash_password(args: argparse.Namespace) -> int:
    """Ask for a password (twice on a terminal) and print its argon2id hash."""
    from gateway.web.auth import hash_password  # noqa: PLC0415 - cold start

    if args.stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    if len(password) < 8:
        print("error: use a password of 8 or more characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def run_web(args: argparse.Namespace) -> int:
    """Serve the panel until SIGINT/SIGTERM."""
    if args.config is None:
        print("error: give --config FILE (see docs/web.md)", file=sys.stderr)
        return 2
    from gateway.web import load_web_config, serve_panel  # noqa: PLC0415 - cold start

    config = load_web_config(args.config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def ready(url: str) -> None:
        print(f"panel at {url}  (broker {config.broker.host}:{config.broker.port})", flush=True)

    serve_panel(config, stop, args.port, on_ready=ready)
    return 0
