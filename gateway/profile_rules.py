"""Safety rules of alarm settings, checked at profile and site load (stage two).

Each rule names its source (standard and clause) and the value our profiles ship:
GB/T 50493-2019 two-level gas alarms and their ceilings (combustible %LEL, toxic %OEL or
%IDLH), the oxygen setpoints, status bits that declare their signal (a detector's fault
bit is a FAULT, not an H), and -- as warnings -- gas on-delays that would delay a leak
alarm. docs/profiles.md lists them in a table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from gateway.datatypes import DataType
from gateway.pointkinds import Kind, Signal
from gateway.yamlsource import FieldPath

__all__ = ["alarm_warnings", "point_problems", "setpoint_problems"]


class AlarmSettings(Protocol):
    """What the rules read of `gateway.profiles.AlarmSettings` (no import: no cycle)."""

    @property
    def on_delay_s(self) -> float: ...

    def limits(self) -> dict[str, float]: ...


class Point(Protocol):
    """What the rules read of `gateway.profiles.Point`."""

    @property
    def kind(self) -> Kind: ...
    @property
    def type(self) -> DataType: ...
    @property
    def signal(self) -> Signal | None: ...
    @property
    def oel_ppm(self) -> float | None: ...
    @property
    def idlh_ppm(self) -> float | None: ...
    @property
    def alarms(self) -> AlarmSettings | None: ...


# GB/T 50493-2019 §5.5.x, combustible gas: first level <= 25 %LEL, second level <= 50 %LEL.
LEL_FIRST_LEVEL_MAX = 25.0
LEL_SECOND_LEVEL_MAX = 50.0
# GB/T 50493-2019 §5.5.x, toxic gas: first level <= 100 %OEL, second <= 200 %OEL; where
# the detector's range cannot cover those, <= 5 % / 10 % of IDLH.
OEL_FIRST, OEL_SECOND = 1.0, 2.0
IDLH_FIRST, IDLH_SECOND = 0.05, 0.10
# GB/T 50493-2019 §5.5.x, ambient oxygen: deficiency 19.5 %VOL, over-oxygen 23.5 %VOL.
O2_DEFICIENCY = 19.5
O2_OVER = 23.5
# DOMAIN.md §3.5 (our recommendation after ISA-18.2 / GB/T 50493 response times): a gas
# alarm's on-delay adds to the detector's own T90; more than a few seconds delays a leak.
GAS_ON_DELAY_MAX_S = 3.0
_GAS_KINDS = (Kind.GAS_LEL, Kind.GAS_PPM)


def setpoint_problems(
    kind: Kind, alarms: AlarmSettings, where: FieldPath, point: Point | None = None
) -> Iterator[tuple[FieldPath, str]]:
    """GB/T 50493-2019 setpoints: gas ceilings and two levels, toxic %OEL, oxygen."""
    limits = alarms.limits()
    if kind in _GAS_KINDS:
        for name in ("H", "HH"):
            if name not in limits:
                level = "first" if name == "H" else "second"
                yield (
                    (*where, name),
                    f"a {kind} point needs a {level}-level alarm {name} "
                    "(GB/T 50493-2019 §5.5: two-level alarms)",
                )
    if kind is Kind.GAS_LEL:
        yield from _ceilings(limits, where, (LEL_FIRST_LEVEL_MAX, LEL_SECOND_LEVEL_MAX), "%LEL")
    if kind is Kind.GAS_PPM and point is not None:
        if point.oel_ppm is not None:
            ceilings = (OEL_FIRST * point.oel_ppm, OEL_SECOND * point.oel_ppm)
            yield from _ceilings(limits, where, ceilings, "ppm", " (100 % / 200 % of oel_ppm)")
        elif point.idlh_ppm is not None:
            ceilings = (IDLH_FIRST * point.idlh_ppm, IDLH_SECOND * point.idlh_ppm)
            yield from _ceilings(limits, where, ceilings, "ppm", " (5 % / 10 % of idlh_ppm)")
    if kind is Kind.OXYGEN_PCT:
        yield from _oxygen(limits, where)


def _ceilings(
    limits: dict[str, float],
    where: FieldPath,
    ceilings: tuple[float, float],
    unit: str,
    basis: str = "",
) -> Iterator[tuple[FieldPath, str]]:
    for name, ceiling in zip(("H", "HH"), ceilings, strict=True):
        if name in limits and limits[name] > ceiling + 1e-9:
            level = "first" if name == "H" else "second"
            yield (
                (*where, name),
                f"{name}={limits[name]} {unit} exceeds the GB/T 50493-2019 {level}-level "
                f"alarm ceiling of {round(ceiling, 4)} {unit}{basis}",
            )


def _oxygen(limits: dict[str, float], where: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    # Deficiency is the second-level alarm (LL), over-oxygen the first (H): the columns
    # of GB/T 50493-2019's setpoint table. Fail-safe direction: alarm no later than that.
    low = limits.get("L", limits.get("LL"))
    high = limits.get("H", limits.get("HH"))
    if low is None or low < O2_DEFICIENCY:
        yield (
            (*where, "LL"),
            f"oxygen deficiency alarm (LL or L) must be set at >= {O2_DEFICIENCY} %VOL "
            f"(GB/T 50493-2019 §5.5; got {low})",
        )
    if high is None or high > O2_OVER:
        yield (
            (*where, "H"),
            f"over-oxygen alarm (H or HH) must be set at <= {O2_OVER} %VOL "
            f"(GB/T 50493-2019 §5.5; got {high})",
        )


def point_problems(point: Point, where: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """Rules on the point as a whole: gas alarms present, toxic OEL, status signals."""
    if point.kind in _GAS_KINDS and point.alarms is None:
        yield (
            (*where, "alarms"),
            f"a {point.kind} point needs first- and second-level alarms H and HH "
            "(GB/T 50493-2019 §5.5)",
        )
    if point.kind is Kind.GAS_PPM and point.oel_ppm is None and point.idlh_ppm is None:
        yield (
            (*where, "oel_ppm"),
            "a toxic gas point needs oel_ppm (or idlh_ppm) to check its alarm setpoints "
            "(GB/T 50493-2019 §5.5: <= 100 % / 200 % OEL)",
        )
    if point.signal is not None and point.type is not DataType.BOOL:
        yield (*where, "signal"), f"signal is for bool status points (type is {point.type})"
    has_limits = point.alarms is not None and bool(point.alarms.limits())
    if point.signal in (Signal.FAULT, Signal.MAINTENANCE) and has_limits:
        yield (
            (*where, "alarms"),
            f"a {point.signal} bit raises no concentration alarm: remove its limits "
            "(GB/T 50493-2019 §5.4.1: faults distinct from concentration alarms)",
        )
    if point.kind is Kind.STATUS and point.signal is None and has_limits:
        yield (
            (*where, "signal"),
            "a status point with alarms must declare `signal: alarm` (or fault / "
            "maintenance): a detector's fault bit is a FAULT, not an H",
        )


def alarm_warnings(point: Point, where: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """Allowed but unwise settings: reported as warnings at load, with the rule."""
    alarms = point.alarms
    if point.kind in _GAS_KINDS and alarms is not None and alarms.on_delay_s > GAS_ON_DELAY_MAX_S:
        yield (
            (*where, "on_delay_s"),
            f"on_delay_s={alarms.on_delay_s:g} on a gas point delays a leak alarm: keep "
            f"it <= {GAS_ON_DELAY_MAX_S:g} s and use the deadband against chatter "
            "(GB/T 50493-2019 response times; DOMAIN.md §3.5)",
        )
