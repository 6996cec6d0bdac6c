"""`hazard-gateway push --config FILE` and `hazard-gateway push status --config FILE`.

Cold start: only argparse and the standard library at module top; the push package
(pydantic models, paho, httpx, cryptography) is imported inside the run functions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `push` subcommand (run the service) and `push status`."""
    parser = commands.add_parser(
        "push",
        help="push alarms, site status and readings to regulator platforms",
        description="Subscribe to alarm events, site status, manifests and telemetry, and "
        "forward them through the configured channels (webhook, mem-http, mqtt-bridge), each "
        "with its own persistent queue. See docs/push.md and examples/push.yaml.",
    )
    parser.add_argument("--config", type=Path, help="push config file (YAML); required")
    parser.add_argument("--section", help="read this section of a shared config file")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.set_defaults(run=run_push_command)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    status = actions.add_parser("status", help="per channel: backlog, oldest, last success/error")
    # own dests: a subparser's defaults would overwrite `push --config X status`
    status.add_argument("--config", dest="status_config", type=Path, help="push config file")
    status.add_argument("--section", dest="status_section", help="section of a shared file")
    status.add_argument("--json", action="store_true", help="one JSON object per channel")
    status.set_defaults(run=run_status)


def run_push_command(args: argparse.Namespace) -> int:
    """Run the service until Ctrl-C, SIGTERM or --duration."""
    import asyncio  # noqa: PLC0415

    from gateway.commands.common import run_until_stopped  # noqa: PLC0415
    from gateway.push import PushService, load_push_config  # noqa: PLC0415

    if args.config is None:
        print("error: push needs --config FILE (see examples/push.yaml)", file=sys.stderr)
        return 2
    config = load_push_config(args.config, args.section)
    service = PushService(config)
    names = ", ".join(f"{c.name} ({c.type})" for c in config.channels)
    print(f"push: channels {names}; queues in {config.state_dir}", flush=True)

    async def body(stop: asyncio.Event) -> None:
        await service.run(stop, ready=lambda: print("READY", flush=True))

    run_until_stopped(body, args.duration)
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print each channel's figures from its queue file."""
    from gateway.central import load_central_config  # noqa: PLC0415
    from gateway.push.config import PushConfig  # noqa: PLC0415
    from gateway.push.status import channel_status, format_status  # noqa: PLC0415

    path = args.status_config or args.config
    if path is None:
        print("error: push status needs --config FILE", file=sys.stderr)
        return 2
    config = load_central_config(path, PushConfig, args.status_section or args.section)
    print(format_status(channel_status(config), as_json=args.json))
    return 0
