"""`hazard-gateway probe`: read one live device with a profile and print what it says.

What an integrator runs while wiring a new detector: every point with its raw
registers in hex, as they came off the wire, and the value the profile decodes from
them, so a wrong address, byte order or word order shows at once (``41C8 0000`` read
as ``0000 41C8`` is a word-order mistake, not a broken sensor).

When something fails it says what, once: connection refused, no route, a host name
DNS cannot resolve, a serial device that does not exist, a timeout after N s, or the
Modbus exception by name (``2 illegal data address``). Exit status 0 when every point
was read, 1 when the device failed to answer, 2 for a mistake on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import math
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.commands.common import positive_seconds
from gateway.errors import DeviceError, DeviceExceptionResponse, DeviceTimeout, UsageError

if TYPE_CHECKING:
    from gateway.config import Device, DeviceConfig
    from gateway.edge.link import ModbusLink
    from gateway.profiles import Point

__all__ = ["MODBUS_EXCEPTIONS", "exception_name", "register"]

# Modbus Application Protocol v1.1b3, section 7.
MODBUS_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
HEADER = (
    f"{'point':<22} {'table':<9} {'addr':>5} {'type':<9} {'registers (hex)':<19} "
    f"{'value':>14} {'unit':<8} quality"
)


def exception_name(code: int) -> str:
    """``2 illegal data address``: the code and its name from the Modbus specification."""
    return f"{code} {MODBUS_EXCEPTIONS.get(code, 'unknown exception code')}"


def _ranged_int(low: int, high: int, what: str) -> Any:
    """argparse type: an integer in [low, high]; a usage error names the bad value."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"{text!r} is not a {what}"
            raise argparse.ArgumentTypeError(msg) from None
        if not low <= value <= high:
            msg = f"{text!r} is not a {what} ({low} to {high})"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def register(commands: Any) -> None:
    """Add the `probe` subcommand."""
    parser = commands.add_parser(
        "probe",
        help="read one device once with a profile: raw registers and decoded values",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", required=True, help="profile id (built-in) or path to .yaml")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="Modbus TCP host")
    where.add_argument(
        "--serial", metavar="DEV", help="serial port for Modbus RTU, e.g. /dev/ttyUSB0"
    )
    parser.add_argument(
        "--port", type=_ranged_int(1, 65535, "TCP port"), default=502, help="TCP port (502)"
    )
    parser.add_argument(
        "--baudrate",
        type=_ranged_int(300, 921600, "baud rate"),
        default=9600,
        help="RTU line speed in bit/s (default 9600)",
    )
    parser.add_argument(
        "--parity", choices=("N", "E", "O"), default="N", help="RTU parity (default N)"
    )
    parser.add_argument(
        "--stopbits", type=int, choices=(1, 2), default=1, help="RTU stop bits (default 1)"
    )
    parser.add_argument(
        "--unit", type=_ranged_int(0, 247, "Modbus unit id"), default=1, help="unit id (1)"
    )
    parser.add_argument(
        "--timeout", type=positive_seconds, default=2.0, metavar="S", help="seconds (default 2)"
    )
    parser.set_defaults(run=run)


@dataclass
class Reading:
    """What came back for one point: its words (wire order) or why there are none."""

    point: Point
    words: tuple[int, ...] | None = None
    error: str = ""


def run(args: argparse.Namespace) -> int:
    """Read every point once and print the table; exit 1 when the device failed."""
    from gateway.config import Device, resolve_profile  # noqa: PLC0415 (not for --help)

    profile = resolve_profile(args.profile)
    config = _device_config(args)
    device = Device(config, profile, profile.points)
    problem = _reach(config)
    readings = [Reading(p) for p in device.points]
    if not problem:
        problem = asyncio.run(_read_all(device, readings))
    _print_table(device, readings)
    errors = list(dict.fromkeys(r.error for r in readings if r.error))
    if problem:
        errors.insert(0, problem)
    for error in errors:
        print(f"error: {error}")
    return 1 if errors else 0


def _device_config(args: argparse.Namespace) -> DeviceConfig:
    """The probed device as a site file would write it; a bad value is one line."""
    from pydantic import ValidationError  # noqa: PLC0415 - already loaded by gateway.config

    from gateway.config import DeviceConfig, SerialEndpoint, TcpEndpoint  # noqa: PLC0415

    try:
        endpoint: dict[str, Any] = (
            {"tcp": TcpEndpoint(host=args.host, port=args.port)}
            if args.host is not None
            else {
                "serial": SerialEndpoint(
                    port=args.serial,
                    baudrate=args.baudrate,
                    parity=args.parity,
                    stopbits=args.stopbits,
                )
            }
        )
        return DeviceConfig(
            name="probe", profile=args.profile, unit=args.unit, timeout_s=args.timeout, **endpoint
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        msg = f"{field}: {first['msg']} (got {first.get('input')!r})"
        raise UsageError(msg) from None


def _reach(config: DeviceConfig) -> str:
    """Why the endpoint cannot be reached at all ("" when it can), before pymodbus tries.

    pymodbus' connect() only answers False, so the probe asks the socket layer itself:
    that is the difference between a typo in the host name and a device that is off.
    """
    if config.serial is not None:
        port = config.serial.port
        if not os.path.exists(port):
            return f"serial device {port} does not exist (is the adapter plugged in?)"
        if not os.access(port, os.R_OK | os.W_OK):
            return f"serial device {port}: permission denied (is the user in group dialout?)"
        return ""
    assert config.tcp is not None
    return _reach_tcp(config.tcp.host, config.tcp.port, config.timeout_s)


def _reach_tcp(host: str, port: int, timeout: float) -> str:
    """Resolve and connect once; the failure by name, or ""."""
    where = f"{host}:{port}"
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r} (DNS: {exc.strerror})"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except ConnectionRefusedError:
        return f"connection refused by {where} (nothing listens there: device off or wrong port?)"
    except TimeoutError:
        return f"timeout: no TCP connection to {where} within {timeout:g} s"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"no route to {where} ({os.strerror(exc.errno)})"
        return f"cannot connect to {where}: {exc.strerror or exc}"


async def _read_all(device: Device, readings: list[Reading]) -> str:
    """Read each point's registers; a link-level failure stops the rest and is returned."""
    from gateway.edge.link import open_link  # noqa: PLC0415 - pymodbus: not for --help

    link = open_link(device)
    try:
        await link.connect()
        cache: dict[tuple[str, int, int], tuple[int, ...]] = {}
        for reading in readings:
            try:
                reading.words = await _words(link, device, reading.point, cache)
            except DeviceExceptionResponse as exc:
                reading.error = _exception_text(exc.code, reading.point)
            except DeviceTimeout:
                timeout = device.config.timeout_s
                return f"timeout: unit {device.config.unit} did not answer within {timeout:g} s"
    except DeviceError as exc:
        return str(exc)
    finally:
        link.close()
    return ""


async def _words(
    link: ModbusLink,
    device: Device,
    point: Point,
    cache: dict[tuple[str, int, int], tuple[int, ...]],
) -> tuple[int, ...]:
    """A point's registers (or its bit), read once per address even when points share it."""
    key = (point.table.value, point.address, point.width)
    if key not in cache:
        cache[key] = tuple(
            await link.read(point.table, point.address, point.width, device.config.unit)
        )
    return cache[key]


def _exception_text(code: int, point: Point) -> str:
    return (
        f"Modbus exception {exception_name(code)} reading {point.table.value} "
        f"{point.address}+{point.width} ({point.key})"
    )


def _print_table(device: Device, readings: list[Reading]) -> None:
    """The header line, then one row per point: raw registers beside the decoded value."""
    from gateway.edge.codec import codec_for  # noqa: PLC0415 - light, but edge code

    profile = device.profile
    config = device.config
    where = (
        f"tcp {config.tcp.host}:{config.tcp.port}"
        if config.tcp is not None
        else f"serial {config.serial.port if config.serial else '?'}"
    )
    print(f"{profile.vendor} {profile.model}, unit {config.unit} at {where}")
    print(HEADER)
    for reading in readings:
        point = reading.point
        raw, shown, quality = "-", "", "not read"
        if reading.error:
            quality = "error"
        elif reading.words is not None:
            raw = _hex(point, reading.words)
            value = codec_for(profile, point).decode(reading.words)
            shown, quality = f"{value:.6g}", _quality(point, value)
        print(
            f"{point.key:<22} {point.table.value:<9} {point.address:>5} {point.type.value:<9} "
            f"{raw:<19} {shown:>14} {point.unit:<8} {quality}"
        )


def _hex(point: Point, words: tuple[int, ...]) -> str:
    if point.table.is_bit_table:
        return f"bit {words[0]}"
    return " ".join(f"{word:04X}" for word in words)


def _quality(point: Point, value: float) -> str:
    """``good``, or why the edge agent would flag the reading (NaN, outside valid_range)."""
    if math.isnan(value):
        return "nan"
    if point.valid_range is not None and not point.valid_range[0] <= value <= point.valid_range[1]:
        return f"out_of_range {list(point.valid_range)}"
    return "good"
