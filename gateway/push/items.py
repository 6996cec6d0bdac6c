"""What a channel queue holds: one :class:`PushItem` per thing to push.

An item is built once, when push accepts it (from an MQTT message or a timer), and
stored as JSON; a retry sends the same stored item, so its ``key`` (the alarm's
``event_id``, or a key derived from the site, kind and time for the rest) is stable and
the receiver can de-duplicate on it. Items are typed: channels read fields, never
``dict["key"]``.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import Field

from gateway.contracts import AlarmEvent
from gateway.contracts.parsing import NAME, Finite
from gateway.modelbase import FrozenModel

__all__ = ["ItemKind", "PointValue", "PushItem", "item_key"]

_NAMESPACE = uuid.UUID("0b7a4c62-4f43-4b2e-9a53-2f6a7c1d9e10")


class ItemKind(StrEnum):
    """The kinds of thing pushed to a regulator."""

    ALARM = "alarm"
    STATUS = "site_status"
    REALTIME = "realtime"
    HEARTBEAT = "heartbeat"
    OVERDUE = "overdue"


class PointValue(FrozenModel):
    """The latest value of one point, for the periodic real-time upload."""

    device: NAME
    point: NAME
    value: Finite | None
    good: bool
    ts: str


class PushItem(FrozenModel):
    """One thing to push, as stored in a channel queue."""

    kind: ItemKind
    key: str = Field(max_length=64)
    enterprise: NAME
    site: NAME
    ts: str = Field(description="RFC 3339: when it happened (alarm ts, status change, tick)")
    received: float = Field(description="epoch s when push accepted it (latency base)")
    event: AlarmEvent | None = None
    online: bool | None = None
    reason: str = ""
    values: tuple[PointValue, ...] = ()
    overdue_after_s: float | None = None

    def body(self) -> dict[str, Any]:
        """The JSON object sent by webhook and mqtt-bridge (docs/push.md, "Bodies")."""
        if self.kind is ItemKind.ALARM and self.event is not None:
            return self.event.to_dict()
        out: dict[str, Any] = {
            "type": str(self.kind),
            "id": self.key,
            "enterprise": self.enterprise,
            "site": self.site,
            "ts": self.ts,
        }
        if self.online is not None:
            out["state"] = "online" if self.online else "offline"
        if self.reason:
            out["reason"] = self.reason
        if self.kind is ItemKind.REALTIME:
            out["points"] = [v.model_dump(mode="json") for v in self.values]
        if self.event is not None:
            out["event"] = self.event.to_dict()
            out["overdue_after_s"] = self.overdue_after_s
        return out

    @property
    def idempotency_key(self) -> str:
        """What the receiver de-duplicates on: ``event_id`` for alarms, ``key`` else."""
        return self.key


def item_key(kind: ItemKind, *parts: str) -> str:
    """A stable key for a non-alarm item (same parts, same key)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join([str(kind), *parts])))
