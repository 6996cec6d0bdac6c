"""Device profiles: one YAML file per device model, written by integrators.

A profile is checked in two stages, as integrators expect from a good validator:
first the field schema (types, enums, ranges; pydantic), then the rules across
fields (register width vs address, overlapping points, duplicate keys, limits in
order LL < L < H < HH, and the safety rules of `gateway.profile_rules`: GB/T 50493
gas and oxygen setpoints, status-bit signals). Every problem in the file is collected and
reported with its line before anything runs.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from gateway.datatypes import TYPE_INFO, ByteOrder, DataType, Table, WordOrder
from gateway.errors import Problem, ProfileError
from gateway.modelbase import FrozenModel, parse_model
from gateway.pointkinds import OVER_RANGE_ALARM_KINDS, Kind, OverRange, Signal
from gateway.profile_rules import alarm_warnings, point_problems, setpoint_problems
from gateway.yamlsource import FieldPath, SourceDoc, load_yaml_file

__all__ = [
    "AlarmSettings",
    "DeviceProfile",
    "Kind",
    "OverRange",
    "Point",
    "Signal",
    "builtin_profiles_dir",
    "check_point_ranges",
    "check_profile",
    "load_profile",
    "load_profile_doc",
]

log = logging.getLogger(__name__)

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class AlarmSettings(FrozenModel):
    """Alarm limits and their tuning for one point (all values in the point's unit)."""

    lo_lo: float | None = Field(None, alias="LL")
    lo: float | None = Field(None, alias="L")
    hi: float | None = Field(None, alias="H")
    hi_hi: float | None = Field(None, alias="HH")
    deadband: float = Field(0.0, ge=0)
    on_delay_s: float = Field(0.0, ge=0)
    off_delay_s: float = Field(0.0, ge=0)
    roc: float | None = Field(
        None, gt=0, description="two-way rate-of-change limit, unit per second"
    )
    roc_rise: float | None = Field(None, gt=0, description="rate-of-rise limit, unit per second")
    roc_fall: float | None = Field(None, gt=0, description="rate-of-fall limit, unit per second")
    roc_deadband: float = Field(0.0, ge=0, description="rate deadband, unit per second")
    roc_window_s: float = Field(1.0, gt=0)
    latch: bool = False
    stuck_s: float | None = Field(None, gt=0, description="no change for this long = fault")
    stuck_epsilon: float = Field(0.0, ge=0)

    def limits(self) -> dict[str, float]:
        """The limits that are set, by their names LL/L/H/HH, low to high."""
        named = {"LL": self.lo_lo, "L": self.lo, "H": self.hi, "HH": self.hi_hi}
        return {name: value for name, value in named.items() if value is not None}

    def merged(self, override: AlarmSettings) -> AlarmSettings:
        """These settings with the fields that ``override`` set explicitly replaced."""
        changes = {name: getattr(override, name) for name in override.model_fields_set}
        return self.model_copy(update=changes)


class Point(FrozenModel):
    """One value of a device: where it lives in the register map and what it means."""

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    kind: Kind
    table: Table
    address: int = Field(ge=0, le=65535, description="0-based protocol address")
    type: DataType
    bit: int | None = Field(None, ge=0, le=15, description="bit of the register, for bool")
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    valid_range: tuple[float, float] | None = None
    over_range: OverRange | None = Field(
        None, description="above valid_range: alarm (default for gas kinds) or fault"
    )
    signal: Signal | None = Field(None, description="what a set status bit means")
    oel_ppm: float | None = Field(
        None, gt=0, description="toxic gas occupational exposure limit (MAC/PC-TWA), ppm"
    )
    idlh_ppm: float | None = Field(None, gt=0, description="toxic gas IDLH, ppm")
    byte_order: ByteOrder | None = None
    word_order: WordOrder | None = None
    alarms: AlarmSettings | None = None
    description: str = ""

    @property
    def over_range_alarm(self) -> bool:
        """True when a reading above valid_range also raises H/HH (fail-safe gas default)."""
        if self.over_range is not None:
            return self.over_range is OverRange.ALARM
        return self.kind in OVER_RANGE_ALARM_KINDS

    @property
    def width(self) -> int:
        """Registers (or bits, in a bit table) this point occupies."""
        return 1 if self.table.is_bit_table else TYPE_INFO[self.type].registers


class DeviceProfile(FrozenModel):
    """A device model: vendor, register map conventions and points."""

    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    description: str = ""
    manual: str | None = Field(None, description="public manual the register map is from")
    protocol: Literal["modbus"] = "modbus"
    byte_order: ByteOrder = ByteOrder.BIG
    word_order: WordOrder = WordOrder.BIG
    max_registers_per_read: int = Field(125, ge=1, le=125)
    max_bits_per_read: int = Field(2000, ge=1, le=2000)
    max_gap: int = Field(16, ge=0, le=124, description="bridge holes up to this many registers")
    request_pause_s: float = Field(0.0, ge=0, le=10)
    points: tuple[Point, ...] = Field(min_length=1)

    def point(self, key: str) -> Point:
        """The point with ``key`` (KeyError when absent)."""
        for point in self.points:
            if point.key == key:
                return point
        raise KeyError(key)

    def byte_order_of(self, point: Point) -> ByteOrder:
        """The point's byte order, or the profile's."""
        return point.byte_order or self.byte_order

    def word_order_of(self, point: Point) -> WordOrder:
        """The point's word order, or the profile's."""
        return point.word_order or self.word_order


def check_profile(profile: DeviceProfile) -> Iterator[tuple[FieldPath, str]]:
    """Stage two: rules across fields. Yields (field path, message) for each problem."""
    return _check_points(list(enumerate(profile.points)))


def _check_points(points: list[tuple[int, Point]]) -> Iterator[tuple[FieldPath, str]]:
    # ``points`` are (index in the file, point): after a stage-one error, only the
    # well-formed points are checked, under their own indices.
    seen_keys: dict[str, int] = {}
    for index, point in points:
        where: FieldPath = ("points", index)
        if point.key in seen_keys:
            yield (
                (*where, "key"),
                f"duplicate key {point.key!r} (also points[{seen_keys[point.key]}])",
            )
        seen_keys.setdefault(point.key, index)
        yield from _check_point_type(point, where)
        yield from check_point_ranges(point, where)
        yield from point_problems(point, where)
        if point.alarms is not None:
            yield from check_alarms(point.kind, point.alarms, (*where, "alarms"), point)
    yield from _check_overlaps(points)


def _check_point_type(point: Point, where: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if point.table.is_bit_table and point.type is not DataType.BOOL:
        yield (*where, "type"), f"table {point.table} holds single bits: type must be bool"
    if point.table.is_bit_table and point.bit is not None:
        yield (*where, "bit"), f"bit is only for bool points in registers, not in {point.table}"
    if not point.table.is_bit_table and point.type is DataType.BOOL and point.bit is None:
        yield (*where, "bit"), "a bool point in a register needs `bit` (0-15)"
    if point.type is not DataType.BOOL and point.bit is not None:
        yield (*where, "bit"), f"bit is only for bool points (type is {point.type})"


def check_point_ranges(point: Point, where: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """Address span within 65535, a usable scale and a valid_range of [low, high]."""
    last = point.address + point.width - 1
    if last > 65535:
        yield (
            (*where, "address"),
            f"{point.type} needs {point.width} registers from {point.address}: "
            f"ends at {last}, beyond 65535",
        )
    if point.scale == 0 or not math.isfinite(point.scale):
        yield (*where, "scale"), f"scale must be a finite non-zero number (got {point.scale})"
    if point.valid_range is not None and not point.valid_range[0] < point.valid_range[1]:
        yield (*where, "valid_range"), f"valid_range {list(point.valid_range)} must be [low, high]"


def check_alarms(
    kind: Kind, alarms: AlarmSettings, where: FieldPath, point: Point | None = None
) -> Iterator[tuple[FieldPath, str]]:
    """Limits in order LL < L < H < HH, and the safety setpoint rules (`setpoint_problems`).

    ``point`` (the whole point, when known) lets the rules that need more than the
    kind -- a toxic gas's OEL -- run too.
    """
    limits = alarms.limits()
    names = list(limits)
    for lower, upper in itertools.pairwise(names):
        if not limits[lower] < limits[upper]:
            yield (
                (*where, upper),
                f"limits must rise LL < L < H < HH: {lower}={limits[lower]} "
                f"is not below {upper}={limits[upper]}",
            )
    yield from setpoint_problems(kind, alarms, where, point)


def _check_overlaps(points: list[tuple[int, Point]]) -> Iterator[tuple[FieldPath, str]]:
    owners: dict[tuple[Table, int], tuple[int, Point]] = {}
    for index, point in points:
        for address in range(point.address, point.address + point.width):
            slot = (point.table, address)
            other = owners.get(slot)
            if other is None:
                owners[slot] = (index, point)
            elif not _may_share(point, other[1]):
                yield (
                    ("points", index, "address"),
                    f"{point.key!r} overlaps {other[1].key!r} (points[{other[0]}]) "
                    f"at {point.table} register {address}",
                )
                break


def _may_share(a: Point, b: Point) -> bool:
    # Status registers carry several flags: bool points on distinct bits (and a bitfield
    # exposing the whole word) may share a register.
    sharable = {DataType.BOOL, DataType.BITFIELD}
    if a.type not in sharable or b.type not in sharable or a.table.is_bit_table:
        return False
    return a.bit is None or b.bit is None or a.bit != b.bit


def load_profile_doc(doc: SourceDoc) -> DeviceProfile | list[Problem]:
    """Validate an already parsed profile document (both stages)."""
    if not isinstance(doc.data, dict):
        return [doc.problem((), "a profile must be a YAML mapping (vendor, model, points, ...)")]
    parsed = parse_model(DeviceProfile, doc)
    if isinstance(parsed, list):
        return sorted(parsed + _point_rules_despite_schema_errors(doc), key=_by_line)
    problems = [doc.problem(path, message) for path, message in check_profile(parsed)]
    for index, point in enumerate(parsed.points):
        for path, message in alarm_warnings(point, ("points", index, "alarms")):
            log.warning("%s", doc.problem(path, message))
    return problems or parsed


def _point_rules_despite_schema_errors(doc: SourceDoc) -> list[Problem]:
    """Stage two for the points that are well-formed, so one bad field hides nothing."""
    raw_points = doc.data.get("points")
    if not isinstance(raw_points, list):
        return []
    well_formed = []
    for index, raw in enumerate(raw_points):
        try:
            well_formed.append((index, Point.model_validate(raw)))
        except ValidationError:
            continue  # already reported by stage one
    return [doc.problem(path, message) for path, message in _check_points(well_formed)]


def _by_line(problem: Problem) -> int:
    return problem.line or 0


def load_profile(path: Path) -> DeviceProfile:
    """Load and validate a profile file; raise ProfileError listing every problem."""
    doc = load_yaml_file(path)
    if isinstance(doc, Problem):
        raise ProfileError([doc])
    result = load_profile_doc(doc)
    if isinstance(result, list):
        raise ProfileError(result)
    return result


def builtin_profiles_dir() -> Path:
    """The folder of the reference profiles shipped with the package."""
    return Path(str(resources.files("device_profiles")))
