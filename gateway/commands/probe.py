"""`hazard-gateway probe`: read one live device with a profile and print what it says.

What an integrator runs while wiring a new detector: every point with its value,
unit and quality, plus the raw registers, so a wrong address or word order shows.
"""

from __future__ import annotations

import argparse
import asyncio
import math
from typing import Any

from gateway.config import Device, DeviceConfig, SerialEndpoint, TcpEndpoint, resolve_profile
from gateway.edge.link import open_link
from gateway.edge.poller import DevicePoller
from gateway.edge.samples import PollSample, Quality

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `probe` subcommand."""
    parser = commands.add_parser(
        "probe",
        help="read one device once with a profile and print a table of decoded values",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", required=True, help="profile id (built-in) or path to .yaml")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="Modbus TCP host")
    where.add_argument(
        "--serial", metavar="DEV", help="serial port for Modbus RTU, e.g. /dev/ttyUSB0"
    )
    parser.add_argument("--port", type=int, default=502, help="TCP port (default 502)")
    parser.add_argument("--baudrate", type=int, default=9600)
    parser.add_argument("--parity", choices=("N", "E", "O"), default="N")
    parser.add_argument("--stopbits", type=int, choices=(1, 2), default=1)
    parser.add_argument("--unit", type=int, default=1, help="Modbus unit id (default 1)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read once and print; exit 1 when the device did not answer."""
    profile = resolve_profile(args.profile)
    endpoint: dict[str, Any] = (
        {"tcp": TcpEndpoint(host=args.host, port=args.port)}
        if args.host
        else {
            "serial": SerialEndpoint(
                port=args.serial, baudrate=args.baudrate, parity=args.parity, stopbits=args.stopbits
            )
        }
    )
    config = DeviceConfig(
        name="probe", profile=args.profile, unit=args.unit, timeout_s=args.timeout, **endpoint
    )
    device = Device(config, profile, profile.points)
    sample, error = asyncio.run(_read(device))
    _print_table(device, sample)
    if error:
        print(f"device did not answer: {error}")
        return 1
    return 0


async def _read(device: Device) -> tuple[PollSample, str]:
    poller = DevicePoller(device, open_link(device), lambda _sample: None)
    try:
        sample = await poller.poll_once()
    finally:
        poller.link.close()
    return sample, poller.stats.last_error if not sample.good else ""


def _print_table(device: Device, sample: PollSample) -> None:
    profile = device.profile
    print(f"{profile.vendor} {profile.model}, unit {device.config.unit}")
    print(f"{'point':<22} {'table':<9} {'addr':>5} {'type':<9} {'value':>14} {'unit':<8} quality")
    for point, value, quality in zip(device.points, sample.values, sample.quality, strict=True):
        shown = "" if math.isnan(value) else f"{value:.6g}"
        print(
            f"{point.key:<22} {point.table.value:<9} {point.address:>5} {point.type.value:<9} "
            f"{shown:>14} {point.unit:<8} {Quality(int(quality)).name.lower()}"
        )
