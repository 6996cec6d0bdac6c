"""The `mem-http` record: one mapping table from our data to the platform's field names.

The provincial access gateways name records after their published sensor table. The
names below are the ones this gateway sends; a province that spells them differently
changes this table (or copies it into its own channel module), nothing else. docs/push.md
prints the same table; a test checks the two agree.

Sources: ``site`` is the manifest (credit code), ``device``/``point`` its entries
(regulator codes, unit, limits), ``event`` the alarm event, ``value`` a real-time value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.contracts import SiteManifest
from gateway.push.items import ItemKind, PointValue, PushItem
from gateway.push.manifests import PointRef

__all__ = ["FIELDS", "RecordSource", "record"]


@dataclass(frozen=True)
class RecordSource:
    """Everything one record is made from."""

    item: PushItem
    site: SiteManifest
    ref: PointRef | None = None
    value: PointValue | None = None


def _limit(name: str) -> Callable[[RecordSource], Any]:
    return lambda s: s.ref.point.limits.get(name) if s.ref else None


def _event(name: str) -> Callable[[RecordSource], Any]:
    return lambda s: getattr(s.item.event, name) if s.item.event is not None else None


def _value(s: RecordSource) -> Any:
    if s.value is not None:
        return s.value.value
    return s.item.event.value if s.item.event is not None else None


def _quality(s: RecordSource) -> Any:
    return None if s.value is None else ("good" if s.value.good else "bad")


def _online(s: RecordSource) -> Any:
    return None if s.item.online is None else int(s.item.online)


_DATA_TYPE = {
    ItemKind.ALARM: "alarm",
    ItemKind.REALTIME: "realtime",
    ItemKind.STATUS: "status",
    ItemKind.HEARTBEAT: "heartbeat",
    ItemKind.OVERDUE: "overdue",
}

#: (record field, where it comes from, how it is read). Order is the record's key order.
FIELDS: tuple[tuple[str, str, Callable[[RecordSource], Any]], ...] = (
    (
        "dataType",
        "item kind: alarm, realtime, status, heartbeat, overdue",
        lambda s: _DATA_TYPE[s.item.kind],
    ),
    ("dataId", "event_id (alarms), else the item key; stable across retries", lambda s: s.item.key),
    ("enterpriseCode", "site.credit_code (统一社会信用代码)", lambda s: s.site.credit_code),
    (
        "hazardCode",
        "device.hazard_source_code (重大危险源编码)",
        lambda s: s.ref.device.hazard_source_code if s.ref else None,
    ),
    (
        "equipCode",
        "point.equipment_code, else device.equipment_code (设备编码)",
        lambda s: s.ref.equipment_code if s.ref else None,
    ),
    (
        "quotaCode",
        "point.indicator_code (指标编码)",
        lambda s: s.ref.point.indicator_code if s.ref else None,
    ),
    ("tagNumber", "point.tag_number (位号)", lambda s: s.ref.point.tag_number if s.ref else None),
    ("value", "event.value, or the point's latest value", _value),
    ("unit", "point.unit", lambda s: s.ref.point.unit if s.ref else None),
    ("quality", "good / bad (real-time values)", _quality),
    ("alarmType", "event.kind: HH, H, L, LL, ROC, FAULT, COMM", _event("kind")),
    ("alarmLevel", "event.level: 1 or 2 (GB/T 50493)", _event("level")),
    (
        "alarmState",
        "event.state: active, acknowledged, cleared, shelved, disposition",
        _event("state"),
    ),
    ("alarmTime", "event.ts (RFC 3339 UTC)", _event("ts")),
    ("thresholdLL", "point.limits.LL", _limit("LL")),
    ("thresholdL", "point.limits.L", _limit("L")),
    ("thresholdH", "point.limits.H", _limit("H")),
    ("thresholdHH", "point.limits.HH", _limit("HH")),
    ("online", "1 online / 0 offline (status, heartbeat)", _online),
    (
        "dataTime",
        "when it happened or was sampled (RFC 3339 UTC)",
        lambda s: s.value.ts if s.value is not None else s.item.ts,
    ),
)


def record(source: RecordSource) -> dict[str, Any]:
    """One record, fields in table order, absent values left out."""
    out = {name: read(source) for name, _, read in FIELDS}
    return {k: v for k, v in out.items() if v is not None}
