"""The alarm event: one JSON shape for the MQTT payload, the journal row and the push body.

Fields follow DESIGN.md's contract. ``event_id`` is derived from what identifies
the transition (site, device, point, kind, state, the detection time and ``seq``, the
site's monotonic counter): the event is created once and its stored payload is what a
retry or a replay sends again, so it carries the same id and subscribers can
de-duplicate, while two events of one alarm in one millisecond never collide.

Both directions live here: :meth:`AlarmEvent.create` builds an event on the edge,
:meth:`AlarmEvent.from_payload` parses and validates one on the central side (ingest,
push, panel) into the same frozen type, raising :class:`ContractError` naming the field.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, TypeAdapter

from gateway.contracts.parsing import NAME, TS_PATTERN, Finite, parse_json
from gateway.errors import ContractError
from gateway.timeutil import parse_ts, rfc3339

__all__ = ["AlarmEvent", "AlarmKind", "AlarmState", "IsaState", "level_of", "rfc3339"]

_NAMESPACE = uuid.UUID("6f1d2b1c-8d0e-4c59-9d59-4f1e0c6a7a11")
MAX_ALARM_PAYLOAD = 16 * 1024


class AlarmKind(StrEnum):
    """What raised the alarm."""

    HH = "HH"
    H = "H"
    L = "L"
    LL = "LL"
    ROC = "ROC"
    FAULT = "FAULT"
    COMM = "COMM"


class AlarmState(StrEnum):
    """What happened to the alarm, as seen on the wire (docs/mqtt.md)."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    SHELVED = "shelved"
    UNSHELVED = "unshelved"
    OUT_OF_SERVICE = "out_of_service"
    IN_SERVICE = "in_service"
    DISPOSITION = "disposition"


class IsaState(StrEnum):
    """ISA-18.2 alarm states (``isa_state`` of an event: the state after it)."""

    NORMAL = "normal"
    UNACK = "unack"
    ACKED = "acked"
    RTN_UNACK = "rtn_unack"
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out_of_service"


def level_of(kind: AlarmKind) -> int:
    """GB/T 50493 level: HH/LL are second-level (2), the rest first-level (1).

    Oxygen follows the columns of GB/T 50493-2019's setpoint table (§5.5): over-oxygen is
    configured as H (first level), deficiency as LL (second level); docs/profiles.md.
    """
    return 2 if kind in (AlarmKind.HH, AlarmKind.LL) else 1


_Text = Annotated[str, Field(max_length=1000)]


@dataclass(frozen=True)
class AlarmEvent:
    """One alarm transition of one point."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid", strict=False)

    event_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]
    seq: Annotated[int, Field(ge=1)]
    enterprise: NAME
    site: NAME
    device: NAME
    point: NAME
    kind: AlarmKind
    level: Annotated[int, Field(ge=1, le=2)]
    state: AlarmState
    value: Finite | None
    limit: Finite | None
    unit: Annotated[str, Field(max_length=32)]
    ts: Annotated[str, Field(pattern=TS_PATTERN)]
    sent_ts: Annotated[str, Field(max_length=40)] | None = None
    by: Annotated[str, Field(max_length=64)] | None = None
    note: _Text | None = None
    isa_state: IsaState | None = None
    first_out: bool | None = None
    activation_id: Annotated[str, Field(max_length=64)] | None = None
    cause: _Text | None = None
    action: _Text | None = None
    replayed: bool | None = None

    @classmethod
    def create(
        cls,
        *,
        seq: int,
        enterprise: str,
        site: str,
        device: str,
        point: str,
        kind: AlarmKind,
        state: AlarmState,
        value: float | None,
        limit: float | None,
        unit: str,
        ts: float,
        **extra: Any,
    ) -> AlarmEvent:
        """A new event with its stable id and level filled in (``extra``: optional fields)."""
        stamp = rfc3339(ts)
        # seq is part of the name: two events of one alarm in one millisecond (a shelve
        # sent twice, unshelve and shelve again) must not share an id, or the journal
        # ignores the second and subscribers de-duplicate it away. Retries and replays
        # resend the stored payload, so the id stays stable across them.
        name = "/".join([enterprise, site, device, point, kind.value, state.value, stamp, str(seq)])
        if extra.get("by"):
            name += "/" + str(extra["by"])
        return cls(
            event_id=str(uuid.uuid5(_NAMESPACE, name)),
            seq=seq,
            enterprise=enterprise,
            site=site,
            device=device,
            point=point,
            kind=kind,
            level=level_of(kind),
            state=state,
            value=_finite_or_none(value),
            limit=_finite_or_none(limit),
            unit=unit,
            ts=stamp,
            **extra,
        )

    @classmethod
    def from_payload(cls, payload: bytes | str) -> AlarmEvent:
        """Parse and validate an MQTT payload; ContractError names the field and rule."""
        event = parse_json(_ADAPTER, payload, "alarm event", MAX_ALARM_PAYLOAD)
        if event.level != level_of(event.kind):
            msg = f"level {event.level} does not match kind {event.kind.value}"
            raise ContractError("alarm event", "level", event.level, msg)
        return event

    @property
    def epoch(self) -> float:
        """``ts`` as epoch seconds (the time of the reading or of the operator's action)."""
        return parse_ts(self.ts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of DESIGN.md's contract (absent optional fields omitted)."""
        out = asdict(self)
        out["kind"] = str(self.kind)
        out["state"] = str(self.state)
        if self.isa_state is not None:
            out["isa_state"] = str(self.isa_state)
        return {k: v for k, v in out.items() if v is not None or k in ("value", "limit")}


_ADAPTER: TypeAdapter[AlarmEvent] = TypeAdapter(AlarmEvent)


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
