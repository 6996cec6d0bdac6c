"""The telemetry window: aggregates of one device's points over one window.

The edge builds :class:`TelemetryWindow` from edge_core's aggregates and sends
:meth:`TelemetryWindow.to_dict`; ingest, push and the panel parse the payload back with
:meth:`TelemetryWindow.from_payload` (docs/schemas/telemetry.json). ``NaN`` in a window
means "no good sample"; on the wire it is ``null``. Ingest, which turns every point into a
line, takes the validated wire form itself (:func:`parse_window`: typed dicts, no per-point
objects).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, NamedTuple, NotRequired

import orjson
from pydantic import ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from gateway.contracts.parsing import NAME, TS_PATTERN, Finite, parse_json
from gateway.errors import ContractError
from gateway.memo import remember
from gateway.timeutil import parse_ts, rfc3339

__all__ = [
    "MAX_TELEMETRY_PAYLOAD",
    "Columns",
    "PointWindow",
    "PointWire",
    "TelemetryWindow",
    "WindowWire",
    "parse_window",
]

MAX_TELEMETRY_PAYLOAD = 256 * 1024
# Every device's window of one tick starts at the same instant: format it once (it was a
# twentieth of the edge's CPU on a 200-device site, bench/pipeline.py).
_WIRE_TS: dict[float, str] = {}


class PointWindow(NamedTuple):
    """Aggregates of one point over one telemetry window (NaN: no good sample).

    A named tuple, not a frozen dataclass: the edge builds one per point and window (on a
    wide site tens of thousands a second), and a tuple is three times cheaper to make.
    """

    key: str
    min: float
    max: float
    mean: float
    last: float
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, on purpose

    def to_dict(self) -> dict[str, Any]:
        """The wire form of one point (NaN becomes null)."""
        if math.isfinite(self.min + self.max + self.mean + self.last):  # the common case
            return {
                "min": self.min,
                "max": self.max,
                "mean": self.mean,
                "last": self.last,
                "count": self.count,
            }
        return {
            "min": _json_number(self.min),
            "max": _json_number(self.max),
            "mean": _json_number(self.mean),
            "last": _json_number(self.last),
            "count": self.count,
        }


#: A window's points as columns: keys, min, max, mean, last, count (one entry per point).
Columns = tuple[list[str], list[float], list[float], list[float], list[float], list[int]]


class TelemetryWindow:
    """One device's reported points for the window starting at ``start`` (epoch s).

    Immutable. The edge makes one per device and window from edge_core's aggregate columns
    (:meth:`of_columns`) and mostly only encodes it: then the wire form is built straight
    from the columns, and the :class:`PointWindow` tuples only if someone reads
    :attr:`points` (objects and dicts per point were a sixth of the edge's CPU on a
    200-device site, bench/pipeline.py).
    """

    __slots__ = ("_columns", "_points", "device", "replayed", "start", "window_s")
    device: str
    start: float
    window_s: float
    replayed: bool
    _points: tuple[PointWindow, ...] | None
    _columns: Columns | None

    def __init__(
        self,
        device: str,
        start: float,
        window_s: float,
        points: tuple[PointWindow, ...],
        replayed: bool = False,
    ) -> None:
        self._init(device, start, window_s, tuple(points), None, replayed)

    @classmethod
    def of_columns(
        cls, device: str, start: float, window_s: float, columns: Columns
    ) -> TelemetryWindow:
        """A window from its points' columns (lists of equal length, see ``Columns``)."""
        window = cls.__new__(cls)
        window._init(device, start, window_s, None, columns, False)
        return window

    def _init(
        self,
        device: str,
        start: float,
        window_s: float,
        points: tuple[PointWindow, ...] | None,
        columns: Columns | None,
        replayed: bool,
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "device", device)
        setattr_(self, "start", start)
        setattr_(self, "window_s", window_s)
        setattr_(self, "replayed", replayed)
        setattr_(self, "_points", points)
        setattr_(self, "_columns", columns)

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"TelemetryWindow is immutable: cannot set {name!r}"
        raise AttributeError(msg)

    @property
    def points(self) -> tuple[PointWindow, ...]:
        """The points' aggregates (NaN: no good sample)."""
        points = self._points
        if points is None:
            assert self._columns is not None
            points = tuple(map(PointWindow._make, zip(*self._columns, strict=True)))
            object.__setattr__(self, "_points", points)
        return points

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TelemetryWindow):
            return NotImplemented
        mine = (self.device, self.start, self.window_s, self.points, self.replayed)
        return mine == (other.device, other.start, other.window_s, other.points, other.replayed)

    def __hash__(self) -> int:
        return hash((self.device, self.start, self.window_s, self.points, self.replayed))

    def __repr__(self) -> str:
        return (
            f"TelemetryWindow(device={self.device!r}, start={self.start!r}, "
            f"window_s={self.window_s!r}, points={self.points!r}, replayed={self.replayed!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """One telemetry window of one device (docs/mqtt.md, schema telemetry.json)."""
        return self._wire(nan_checked=True)

    def to_json(self) -> bytes:
        """The payload: :meth:`to_dict` as JSON (orjson writes NaN and inf as null itself)."""
        return orjson.dumps(self._wire(nan_checked=False))

    def _wire(self, *, nan_checked: bool) -> dict[str, Any]:
        # nan_checked=False may leave NaN in, for an encoder that writes it as null anyway.
        ts = _WIRE_TS.get(self.start) or remember(_WIRE_TS, self.start, rfc3339(self.start), 64)
        out: dict[str, Any] = {
            "device": self.device,
            "ts": ts,
            "window_s": self.window_s,
            "points": self._wire_points(nan_checked),
        }
        if self.replayed:
            out["replayed"] = True
        return out

    def _wire_points(self, nan_checked: bool) -> dict[str, dict[str, Any]]:
        columns = self._columns
        if columns is None:  # built from points (a parsed payload)
            return {p.key: p.to_dict() for p in self.points}
        keys, low, high, mean, last, count = columns
        if nan_checked and not math.isfinite(sum(low) + sum(high) + sum(mean) + sum(last)):
            return {p.key: p.to_dict() for p in self.points}  # NaN becomes null
        return {
            k: {"min": lo, "max": hi, "mean": mu, "last": x, "count": n}
            for k, lo, hi, mu, x, n in zip(keys, low, high, mean, last, count, strict=True)
        }

    @classmethod
    def from_payload(cls, payload: bytes | str) -> TelemetryWindow:
        """Parse and validate a telemetry payload; ContractError names the field."""
        wire, start = parse_window(payload)
        points = tuple(_point(key, p) for key, p in wire["points"].items())
        return cls(wire["device"], start, wire["window_s"], points, bool(wire.get("replayed")))


class PointWire(TypedDict):
    """One point of a validated telemetry payload (None: no good sample)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    min: Finite | None
    max: Finite | None
    mean: Finite | None
    last: Finite | None
    count: Annotated[int, Field(ge=0)]


class WindowWire(TypedDict):
    """A validated telemetry payload, as plain typed dicts (see :func:`parse_window`)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    device: NAME
    ts: Annotated[str, Field(pattern=TS_PATTERN)]
    window_s: Annotated[float, Field(gt=0, le=86400)]
    points: Annotated[dict[NAME, PointWire], Field(max_length=4096)]
    replayed: NotRequired[bool | None]


_ADAPTER: TypeAdapter[WindowWire] = TypeAdapter(WindowWire)
_EPOCHS: dict[str, float] = {}  # ts text -> epoch s: every device of a site shares a window
_MAX_EPOCHS = 4096


def parse_window(payload: bytes | str) -> tuple[WindowWire, float]:
    """The validated payload and its window start (epoch s); ContractError names the field.

    The hot path of ingest (every point of every window): pydantic-core validates straight
    into typed dicts, with the same field rules as ever, so the payload is checked once and
    no model or dataclass is built per point. :meth:`TelemetryWindow.from_payload` builds
    the frozen dataclasses from it for everyone else.
    """
    wire = parse_json(_ADAPTER, payload, "telemetry", MAX_TELEMETRY_PAYLOAD)
    return wire, _epoch(wire["ts"])


def _epoch(ts: str) -> float:
    """``ts`` as epoch seconds, memoised (the pattern admits month 13: a ContractError)."""
    start = _EPOCHS.get(ts)
    if start is None:
        try:
            start = parse_ts(ts)
        except ValueError as exc:
            raise ContractError("telemetry", "ts", ts, str(exc)) from None
        remember(_EPOCHS, ts, start, _MAX_EPOCHS)  # bounded: distinct stamps cannot grow it
    return start


def _json_number(value: float) -> float | None:
    """NaN/inf are not JSON: a window without good samples reports null."""
    return value if math.isfinite(value) else None


def _point(key: str, p: PointWire) -> PointWindow:
    return PointWindow(
        key, _nan(p["min"]), _nan(p["max"]), _nan(p["mean"]), _nan(p["last"]), p["count"]
    )


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
