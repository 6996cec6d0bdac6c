"""Helpers shared by subcommands: running until Ctrl-C or a duration, loading sites."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from gateway.config import Site

__all__ = [
    "DEMO_SITE",
    "add_site_argument",
    "add_state_dir_argument",
    "fast_loop_factory",
    "load_site_arg",
    "positive_seconds",
    "run_until_stopped",
    "tolerate_closed_stdout",
]

DEMO_SITE = "embedded demo site (gateway/data/site-demo.yaml)"
GC_YOUNG_THRESHOLD = 20_000  # allocations between young-generation collections (default 700)


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


def positive_seconds(text: str) -> float:
    """argparse type for a duration: a finite number of seconds above zero.

    ``--duration -5`` used to be accepted and stop the command at once (and ``nan`` never
    stops it); argparse turns the ArgumentTypeError into a one-line usage error that names
    the option and the value.
    """
    try:
        value = float(text)
    except ValueError:
        msg = f"{text!r} is not a number of seconds"
        raise argparse.ArgumentTypeError(msg) from None
    if not math.isfinite(value) or value <= 0:
        msg = f"{text!r} is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return value


def load_site_arg(path: Path | None) -> Site:
    """The site named on the command line, or the embedded demo site."""
    from gateway.config import load_site  # noqa: PLC0415 (pydantic: not for --help)

    if path is not None:
        return load_site(path)
    demo = resources.files("gateway") / "data" / "site-demo.yaml"
    return load_site(Path(str(demo)))


def fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed and not turned off, else None (asyncio's).

    The edge makes a socket round trip per device and poll; with uvloop (libuv, in C) its
    transports, timers and wake-ups cost about 15 % less CPU per poll (bench/README.md).
    ``HAZARD_EVENT_LOOP=asyncio`` keeps the standard loop (to compare, or to debug).
    """
    if os.environ.get("HAZARD_EVENT_LOOP", "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop  # noqa: PLC0415 (optional at run time)
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_until_stopped(
    body: Callable[[asyncio.Event], Awaitable[None]],
    duration: float | None,
    *,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run ``body(stop)`` until Ctrl-C/SIGTERM or ``duration`` seconds, then stop cleanly.

    ``loop_factory``: the event loop to run on (None: asyncio's own).
    """

    async def supervise() -> None:
        settle_garbage_collector()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        await body(stop)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(supervise())


def settle_garbage_collector() -> None:
    """Tune CPython's cyclic GC for a long-running service (edge, demo, ingest, push, web).

    The modules (numba, numpy, pydantic, ...) leave a few hundred thousand long-lived
    objects that every older-generation collection walks again; at the default threshold
    (700 allocations) the walks were ~7 % of a wide site's edge CPU (perf, bench/pipeline.py).
    ``gc.freeze`` moves what exists now out of the collector's sight, and a larger
    young-generation threshold runs it less often; cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


class _ReaderMayLeave:
    """``sys.stdout`` that turns into /dev/null when the reader of the pipe leaves.

    With ``hazard-gateway profiles validate BAD | head`` the reader may close the pipe
    while the command still has problems to find; a write then raises BrokenPipeError.
    Catching it at the top of the CLI would lose the command's own exit status (the
    failure became success). Here the rest of the output is dropped and the command
    runs to its end, so its exit status stays what the checks found.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)


@contextlib.contextmanager
def tolerate_closed_stdout() -> Iterator[None]:
    """Run a command with a ``sys.stdout`` that survives a closed pipe (see above)."""
    original = sys.stdout
    tolerant = _ReaderMayLeave(original)
    sys.stdout = tolerant  # a TextIO by delegation (__getattr__)
    try:
        yield
    finally:
        tolerant.flush()
        sys.stdout = original
