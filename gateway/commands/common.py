"""Helpers shared by subcommands: running until Ctrl-C or a duration, loading sites."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from gateway.config import Site, load_site

__all__ = [
    "DEMO_SITE",
    "add_site_argument",
    "add_state_dir_argument",
    "load_site_arg",
    "run_until_stopped",
]

DEMO_SITE = "embedded demo site (gateway/data/site-demo.yaml)"


def add_site_argument(parser: argparse.ArgumentParser, required: bool) -> None:
    """The --site option; without it (when allowed) the embedded demo site is used."""
    parser.add_argument(
        "--site",
        type=Path,
        required=required,
        help="site file (YAML) listing the devices"
        + ("" if required else f"; default: {DEMO_SITE}"),
    )


def add_state_dir_argument(parser: argparse.ArgumentParser) -> None:
    """--state-dir: where the edge agent keeps its journal and outbox (SQLite files)."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("HAZARD_STATE_DIR", "state")),
        help="the edge agent's journal and outbox folder (default: $HAZARD_STATE_DIR or ./state)",
    )


def load_site_arg(path: Path | None) -> Site:
    """The site named on the command line, or the embedded demo site."""
    if path is not None:
        return load_site(path)
    demo = resources.files("gateway") / "data" / "site-demo.yaml"
    return load_site(Path(str(demo)))


def run_until_stopped(
    body: Callable[[asyncio.Event], Awaitable[None]], duration: float | None
) -> None:
    """Run ``body(stop)`` until Ctrl-C/SIGTERM or ``duration`` seconds, then stop cleanly."""

    async def supervise() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        await body(stop)

    asyncio.run(supervise())
