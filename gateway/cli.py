"""`hazard-gateway`: the command line of the gateway.

Each subcommand lives in its own module under gateway/commands/ and registers its
parser here; user mistakes (a bad profile, a missing file) print a located error and
exit 2, never a traceback, while a bug shows its traceback.

Cold start: a command module imports only what its parser needs (argparse, the config
models); what its ``run`` needs (numba kernels, pymodbus, MQTT, the web server) is
imported inside ``run``, so ``--help`` and light commands start in well under a second
on a fresh machine, with an empty numba cache.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from gateway.commands.common import tolerate_closed_stdout
from gateway.errors import ConfigError, GatewayError

__all__ = ["build_parser", "main"]

EXIT_USER_ERROR = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the pipe
# One module per subcommand under gateway/commands/, in the order `--help` lists them.
COMMANDS = (
    "demo",
    "simulate",
    "edge",
    "site",
    "profiles",
    "probe",
    "replay",
    "history",
    "ack",
    "ingest",
    "push",
    "web",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="hazard-gateway",
        description=(
            "Monitoring gateway for major hazard sources and combustible-dust workshops: "
            "polls Modbus gas/dust/level detectors, raises graded alarms, publishes over MQTT."
        ),
        epilog="Start with `hazard-gateway demo`. Docs: docs/profiles.md, docs/operations.md.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"gateway.commands.{name}").register(commands)
    return parser


class _VersionAction(argparse.Action):
    """--version, looked up only when asked: importlib.metadata costs 0.2 s of cold start."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        import importlib.metadata  # noqa: PLC0415

        try:
            version = importlib.metadata.version("hazard-gateway")
        except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
            version = "(not installed)"
        print(f"{parser.prog} {version}")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pymodbus logs every failed transaction with frame dumps; our poller already logs
    # the first failure of a device (and repeats at DEBUG), so keep pymodbus for -vv.
    logging.getLogger("pymodbus").setLevel(logging.DEBUG if args.verbose >= 2 else logging.CRITICAL)
    try:
        with tolerate_closed_stdout():  # `... | head`: keeps the command's own exit status
            return int(args.run(args))
    except ConfigError as exc:
        print(f"error: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # a write around sys.stdout: the command stopped half-way
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (GatewayError, OSError) as exc:  # anything else is a bug: let it show its traceback
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
