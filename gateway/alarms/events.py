"""The alarm event: one JSON shape for the MQTT payload, the journal row and the push body.

Fields follow DESIGN.md's contract. ``event_id`` is derived from what identifies
the transition (site, device, point, kind, state, the detection time and ``seq``, the
site's monotonic counter): the event is created once and its stored payload is what a
retry or a replay sends again, so it carries the same id and subscribers can
de-duplicate, while two events of one alarm in one millisecond never collide.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from gateway.timeutil import rfc3339

__all__ = ["AlarmEvent", "AlarmKind", "AlarmState", "level_of", "rfc3339"]

_NAMESPACE = uuid.UUID("6f1d2b1c-8d0e-4c59-9d59-4f1e0c6a7a11")


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


def level_of(kind: AlarmKind) -> int:
    """GB/T 50493 level: HH/LL are second-level (2), the rest first-level (1)."""
    return 2 if kind in (AlarmKind.HH, AlarmKind.LL) else 1


@dataclass(frozen=True)
class AlarmEvent:
    """One alarm transition of one point."""

    event_id: str
    seq: int
    enterprise: str
    site: str
    device: str
    point: str
    kind: AlarmKind
    level: int
    state: AlarmState
    value: float | None
    limit: float | None
    unit: str
    ts: str
    sent_ts: str | None = None
    by: str | None = None
    note: str | None = None
    isa_state: str | None = None
    first_out: bool | None = None
    activation_id: str | None = None
    cause: str | None = None
    action: str | None = None

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

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of DESIGN.md's contract (absent optional fields omitted)."""
        out = asdict(self)
        out["kind"] = self.kind.value
        out["state"] = self.state.value
        return {k: v for k, v in out.items() if v is not None or k in ("value", "limit")}


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
