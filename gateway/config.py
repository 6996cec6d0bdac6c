"""Site files: which devices a site has, where they are, and per-point overrides.

A site file instantiates device profiles: each device names a profile, a TCP
endpoint or a serial port, a Modbus unit id and a poll interval, and may override
a point's alarms, scaling, unit or valid range for this installation. Loading
resolves every profile and returns frozen :class:`Site` objects, or raises a
SiteError/ProfileError that lists every problem with its file and line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.errors import ConfigError, Problem, SiteError
from gateway.modelbase import FrozenModel, parse_model
from gateway.profile_rules import alarm_warnings
from gateway.profiles import (
    AlarmSettings,
    DeviceProfile,
    Kind,
    Point,
    builtin_profiles_dir,
    check_alarms,
    check_point_ranges,
    load_profile,
)
from gateway.yamlsource import FieldPath, SourceDoc, load_yaml_file

log = logging.getLogger(__name__)

__all__ = [
    "Device",
    "DeviceConfig",
    "DeviceRegulator",
    "DispositionConfig",
    "PointOverride",
    "PointRegulator",
    "SerialEndpoint",
    "Site",
    "SiteConfig",
    "SiteRegulator",
    "TcpEndpoint",
    "load_site",
    "resolve_profile",
    "with_tcp_ports",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"  # safe as an MQTT topic level


class TcpEndpoint(FrozenModel):
    """A Modbus TCP device (or a serial gateway reached over TCP)."""

    host: str = Field(min_length=1)
    port: int = Field(502, ge=1, le=65535)


class SerialEndpoint(FrozenModel):
    """A Modbus RTU device on an RS-485/RS-232 port; devices on one port share a bus."""

    port: str = Field(min_length=1)
    baudrate: int = Field(9600, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8

    def line_settings(self) -> tuple[int, str, int, int]:
        """What every device on the same port must agree on."""
        return (self.baudrate, self.parity, self.stopbits, self.bytesize)


_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
# GB 32100-2015 unified social credit code: 18 characters of this alphabet, the last a
# check character computed from the first 17 with these weights.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


class SiteRegulator(FrozenModel):
    """The enterprise as the regulator's platform knows it."""

    credit_code: str = Field(description="unified social credit code (统一社会信用代码), 18 chars")
    name: str = ""

    @field_validator("credit_code")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
            msg = "must be 18 characters of 0-9 and A-Y without I, O, S, V, Z (GB 32100-2015)"
            raise ValueError(msg)
        if uscc_check_char(value[:17]) != value[17]:
            msg = f"check character should be {uscc_check_char(value[:17])!r} (GB 32100-2015)"
            raise ValueError(msg)
        return value


class DeviceRegulator(FrozenModel):
    """Regulator codes of a device: its major hazard source and equipment."""

    hazard_source_code: str | None = Field(None, pattern=_CODE, description="重大危险源编码")
    equipment_code: str | None = Field(None, pattern=_CODE, description="设备编码")


class PointRegulator(FrozenModel):
    """Regulator codes of a point: indicator code, equipment code and tag number."""

    indicator_code: str | None = Field(None, pattern=_CODE, description="指标编码")
    equipment_code: str | None = Field(None, pattern=_CODE, description="设备编码")
    tag_number: str | None = Field(None, pattern=_CODE, description="位号")


class PointOverride(FrozenModel):
    """Site-specific changes to one profile point, and its regulator codes."""

    name: str | None = None
    kind: Kind | None = None
    scale: float | None = None
    offset: float | None = None
    unit: str | None = None
    valid_range: tuple[float, float] | None = None
    alarms: AlarmSettings | None = None
    regulator: PointRegulator | None = None


class DeviceConfig(FrozenModel):
    """One device instance as written in the site file."""

    name: str = Field(pattern=NAME_PATTERN)
    profile: str = Field(min_length=1, description="profile id (file stem) or a path to a .yaml")
    tcp: TcpEndpoint | None = None
    serial: SerialEndpoint | None = None
    unit: int = Field(1, ge=0, le=247)
    poll_interval_s: float = Field(1.0, ge=0.005, le=3600)
    timeout_s: float = Field(1.0, gt=0, le=60)
    request_pause_s: float | None = Field(None, ge=0, le=10)
    telemetry_window_s: float = Field(5.0, gt=0, le=3600)
    enabled: bool = True
    regulator: DeviceRegulator | None = None
    points: dict[str, PointOverride] = Field(default_factory=dict)

    @property
    def link_key(self) -> str:
        """Devices with equal keys share a link: a serial port, or a TCP host:port."""
        if self.serial is not None:
            return f"serial:{self.serial.port}"
        assert self.tcp is not None
        return f"tcp:{self.tcp.host}:{self.tcp.port}"

    @model_validator(mode="after")
    def _one_endpoint(self) -> DeviceConfig:
        if (self.tcp is None) == (self.serial is None):
            msg = "give exactly one of `tcp` (host, port) or `serial` (port, baudrate, ...)"
            raise ValueError(msg)
        return self


class DispositionConfig(FrozenModel):
    """Who closes the loop (闭环) on an alarm activation, and by when (site practice)."""

    deadline_h: float = Field(24.0, gt=0, le=24 * 31, description="hours to a disposition")
    responsible: str = Field("", max_length=64, description="default responsible person")
    by_device: dict[str, str] = Field(default_factory=dict, description="device -> person")


class SiteConfig(FrozenModel):
    """A site file: the enterprise, the site and its devices."""

    enterprise: str = Field(pattern=NAME_PATTERN)
    site: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    regulator: SiteRegulator | None = None
    disposition: DispositionConfig = Field(default_factory=DispositionConfig)
    profile_dirs: tuple[str, ...] = ()
    devices: tuple[DeviceConfig, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Device:
    """A device ready to poll: its config, its profile and its points with overrides."""

    config: DeviceConfig
    profile: DeviceProfile
    points: tuple[Point, ...]

    @property
    def name(self) -> str:
        """The device name, unique in its site."""
        return self.config.name

    @property
    def request_pause_s(self) -> float:
        """Pause between two requests to this device (site value, else profile's)."""
        if self.config.request_pause_s is not None:
            return self.config.request_pause_s
        return self.profile.request_pause_s

    def point_regulator(self, key: str) -> PointRegulator | None:
        """The regulator codes the site file gives the point ``key``, if any."""
        override = self.config.points.get(key)
        return override.regulator if override is not None else None


@dataclass(frozen=True)
class Site:
    """A loaded, validated site."""

    config: SiteConfig
    devices: tuple[Device, ...]
    path: Path | None = None

    @property
    def enterprise(self) -> str:
        """Enterprise id, first MQTT topic level after the version."""
        return self.config.enterprise

    @property
    def site(self) -> str:
        """Site id."""
        return self.config.site

    def device(self, name: str) -> Device:
        """The device called ``name`` (KeyError when absent)."""
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)


def load_site(path: Path) -> Site:
    """Load a site file and every profile it uses; raise ConfigError listing all problems."""
    doc = load_yaml_file(path)
    if isinstance(doc, Problem):
        raise SiteError([doc])
    config = parse_model(SiteConfig, doc)
    if isinstance(config, list):
        raise SiteError(config)
    profiles, problems = _resolve_profiles(config, doc, path.parent)
    devices = []
    for index, device in enumerate(config.devices):
        profile = profiles.get(device.profile)
        if profile is not None:
            points, point_problems = _apply_overrides(device, profile, doc, index)
            problems += point_problems
            devices.append(Device(device, profile, points))
    problems += [doc.problem(p, m) for p, m in _check_site(config)]
    if problems:
        raise SiteError(problems)
    return Site(config, tuple(devices), path)


def _resolve_profiles(
    config: SiteConfig, doc: SourceDoc, base: Path
) -> tuple[dict[str, DeviceProfile], list[Problem]]:
    search = [base / d for d in config.profile_dirs] + [builtin_profiles_dir()]
    profiles: dict[str, DeviceProfile] = {}
    problems: list[Problem] = []
    for index, device in enumerate(config.devices):
        if device.profile in profiles:
            continue
        found = _find_profile(device.profile, search, base)
        if found is None:
            where = ", ".join(str(d) for d in search)
            message = f"profile {device.profile!r} not found (looked in {where})"
            problems.append(doc.problem(("devices", index, "profile"), message))
            continue
        try:
            profiles[device.profile] = load_profile(found)
        except ConfigError as exc:
            problems += exc.problems
    return profiles, problems


def _find_profile(ref: str, search: list[Path], base: Path) -> Path | None:
    if ref.endswith((".yaml", ".yml")):
        candidate = (base / ref) if not Path(ref).is_absolute() else Path(ref)
        return candidate if candidate.is_file() else None
    for folder in search:
        candidate = folder / f"{ref}.yaml"
        if candidate.is_file():
            return candidate
    return None


def _apply_overrides(
    device: DeviceConfig, profile: DeviceProfile, doc: SourceDoc, index: int
) -> tuple[tuple[Point, ...], list[Problem]]:
    problems: list[Problem] = []
    known = {point.key for point in profile.points}
    for key in device.points:
        if key not in known:
            message = f"profile {device.profile!r} has no point {key!r} (it has {sorted(known)})"
            problems.append(doc.problem(("devices", index, "points", key), message))
    points = []
    for point in profile.points:
        override = device.points.get(point.key)
        merged = point if override is None else _merge_point(point, override)
        where: FieldPath = ("devices", index, "points", point.key)
        if override is not None:
            # Only the fields an override may change: scale and valid_range.
            found = [(p, m) for p, m in check_point_ranges(merged, where) if p[-1] != "address"]
            problems += [doc.problem(p, m) for p, m in found]
        if override is not None and merged.alarms is not None:
            found = list(check_alarms(merged.kind, merged.alarms, (*where, "alarms"), merged))
            problems += [doc.problem(p, m) for p, m in found]
            for path, message in alarm_warnings(merged, (*where, "alarms")):
                log.warning("%s", doc.problem(path, message))
        points.append(merged)
    return tuple(points), problems


def _merge_point(point: Point, override: PointOverride) -> Point:
    changes: dict[str, object] = {
        name: getattr(override, name)
        for name in override.model_fields_set
        if name not in ("alarms", "regulator")
    }
    if override.alarms is not None:
        base = point.alarms or AlarmSettings()
        changes["alarms"] = base.merged(override.alarms)
    return point.model_copy(update=changes)


def _check_site(config: SiteConfig) -> Iterator[tuple[FieldPath, str]]:
    names: dict[str, int] = {}
    buses: dict[str, tuple[int, tuple[int, str, int, int]]] = {}
    units: dict[tuple[str, int], int] = {}
    for index, device in enumerate(config.devices):
        if device.name in names:
            yield (
                ("devices", index, "name"),
                (f"duplicate device name {device.name!r} (also devices[{names[device.name]}])"),
            )
        names.setdefault(device.name, index)
        line = _line_of(device)
        if device.serial is not None:
            settings = device.serial.line_settings()
            first = buses.setdefault(device.serial.port, (index, settings))
            if first[1] != settings:
                yield (
                    ("devices", index, "serial"),
                    (
                        f"serial port {device.serial.port} is shared with devices[{first[0]}] "
                        f"but its line settings differ ({settings} vs {first[1]})"
                    ),
                )
        previous = units.setdefault((line, device.unit), index)
        if previous != index:
            yield (
                ("devices", index, "unit"),
                (f"unit {device.unit} is already used on {line} by devices[{previous}]"),
            )


def _line_of(device: DeviceConfig) -> str:
    if device.serial is not None:
        return device.serial.port
    assert device.tcp is not None
    return f"{device.tcp.host}:{device.tcp.port}"


def with_tcp_ports(site: Site, port_for: Callable[[str, int], int]) -> Site:
    """The same site with each TCP endpoint moved to ``port_for(host, port)``.

    Devices that shared an endpoint still share the new one. The demo uses this to
    run on free ports whatever else the machine is running.
    """
    moved: dict[tuple[str, int], int] = {}
    devices = []
    for device in site.devices:
        tcp = device.config.tcp
        if tcp is None:
            devices.append(device)
            continue
        port = moved.setdefault((tcp.host, tcp.port), port_for(tcp.host, tcp.port))
        config = device.config.model_copy(update={"tcp": TcpEndpoint(host=tcp.host, port=port)})
        devices.append(Device(config, device.profile, device.points))
    return Site(site.config, tuple(devices), site.path)


def resolve_profile(ref: str, base: Path | None = None) -> DeviceProfile:
    """Load a profile by id (a built-in or one in ``base``) or by path; ConfigError if absent."""
    folder = base or Path.cwd()
    found = _find_profile(ref, [folder, builtin_profiles_dir()], folder)
    if found is None:
        message = f"no profile {ref!r} (not a file, not in {builtin_profiles_dir()})"
        raise SiteError([Problem(ref, None, "profile", message)])
    return load_profile(found)
