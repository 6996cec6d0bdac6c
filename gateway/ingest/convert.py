"""One MQTT message -> line-protocol rows, in the data model of docs/influxdb.md.

Every payload is parsed with the shared contract (gateway.contracts), and the names in
the payload must agree with its topic: a message that fails either is a
:class:`ContractError`, dead-lettered before it can reach InfluxDB. Each row's
timestamp is the payload's ``ts`` (the reading's or the event's), never the receive
time, so a redelivered message rewrites the same points: InfluxDB keeps one point per
series and time, and replays never duplicate.

Alarm rows carry ``seq % 10**6`` in the nanosecond digits below the payload's
milliseconds: two events of one point and kind in the same millisecond (a shelve sent
twice) stay two rows, and a replay still lands on the same time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.contracts import (
    DEADLETTER_ROOT,
    AlarmEvent,
    SiteStatus,
    TelemetryWindow,
    TopicInfo,
    TopicKind,
    parse_topic,
)
from gateway.contracts.telemetry import PointWindow
from gateway.errors import ContractError
from gateway.ingest.lineproto import line, series_prefix

__all__ = ["Rows", "classify", "to_rows"]

_MIN_TS = 631152000.0  # 1990-01-01: older is a broken clock, not history
_MAX_TS = 7258118400.0  # 2200-01-01: far below the int64-nanosecond limit (2262)
_WRITTEN = (TopicKind.TELEMETRY, TopicKind.ALARM, TopicKind.STATUS)


@dataclass(frozen=True)
class Rows:
    """The lines one message becomes, and the oldest reading in it (for the lag gauge)."""

    lines: tuple[str, ...]
    oldest_ts: float


def classify(topic: str) -> TopicInfo | None:
    """The topic's kind and names; None for topics ingest does not store.

    Manifests, commands, replies and the dead-letter tree are someone else's; any other
    shape is a ContractError (an unknown topic is dead-lettered, not ignored).
    """
    if topic.startswith(DEADLETTER_ROOT + "/") or topic == DEADLETTER_ROOT:
        return None
    info = parse_topic(topic)
    return info if info.kind in _WRITTEN else None


def to_rows(info: TopicInfo, payload: bytes) -> Rows:
    """The rows of one stored message; ContractError when it breaks the contract."""
    if info.kind is TopicKind.TELEMETRY:
        return _telemetry(info, TelemetryWindow.from_payload(payload))
    if info.kind is TopicKind.ALARM:
        return _alarm(info, AlarmEvent.from_payload(payload))
    return _status(info, SiteStatus.from_payload(payload))


def _epoch(what: str, item: AlarmEvent | SiteStatus) -> float:
    try:
        return item.epoch
    except ValueError as exc:  # the ts pattern admits impossible dates (month 13)
        raise ContractError(what, "ts", item.ts, str(exc)) from None


def _ts_ns(what: str, epoch: float) -> int:
    if not _MIN_TS <= epoch <= _MAX_TS:
        raise ContractError(what, "ts", epoch, "timestamp outside 1990..2200")
    return round(epoch * 1000) * 1_000_000


def _same(what: str, field: str, got: str, topic_value: str | None) -> None:
    if got != topic_value:
        raise ContractError(what, field, got, f"does not match the topic's {topic_value!r}")


def _telemetry(info: TopicInfo, window: TelemetryWindow) -> Rows:
    _same("telemetry", "device", window.device, info.device)
    ts = _ts_ns("telemetry", window.start)
    head = f"telemetry,device={window.device},enterprise={info.enterprise},point="
    tail = f",site={info.site} "
    lines = []
    # Hot path (most of ingest's CPU): the contract admits only finite numbers, so a
    # value is either finite or NaN (null on the wire), and ``v == v`` tells which.
    for p in window.points:
        lo, hi, mean, last = p.min, p.max, p.mean, p.last
        if lo == lo and hi == hi and mean == mean and last == last:  # noqa: PLR0124 - NaN test
            text = repr(last)
            lines.append(
                f"{head}{p.key}{tail}value={text},last={text},min={lo!r},max={hi!r},"
                f"mean={mean!r},count={p.count}i,quality=1i {ts}"
            )
        else:
            lines.append(f"{head}{p.key}{tail}{_partial_fields(p)} {ts}")
    return Rows(tuple(lines), window.start)


def _partial_fields(p: PointWindow) -> str:
    """The fields of a point with some aggregates missing (no good sample)."""
    good = not math.isnan(p.last)
    fields = [f"value={p.last!r},last={p.last!r}"] if good else []
    pairs = (("min", p.min), ("max", p.max), ("mean", p.mean))
    fields += [f"{k}={v!r}" for k, v in pairs if not math.isnan(v)]
    fields.append(f"count={p.count}i,quality={int(good)}i")
    return ",".join(fields)


def _alarm(info: TopicInfo, event: AlarmEvent) -> Rows:
    for field, got, want in (
        ("enterprise", event.enterprise, info.enterprise),
        ("site", event.site, info.site),
        ("device", event.device, info.device),
        ("point", event.point, info.point),
    ):
        _same("alarm event", field, got, want)
    epoch = _epoch("alarm event", event)
    ts = _ts_ns("alarm event", epoch) + event.seq % 1_000_000
    tags = (
        ("enterprise", event.enterprise),
        ("site", event.site),
        ("device", event.device),
        ("point", event.point),
        ("kind", event.kind.value),
    )
    fields = {
        "level": event.level,
        "state": event.state.value,
        "isa_state": event.isa_state.value if event.isa_state is not None else None,
        "value": event.value,
        "limit": event.limit,
        "event_id": event.event_id,
        "first_out": event.first_out,
        "seq": event.seq,
    }
    row = line(series_prefix("alarm", tags), fields, ts)
    assert row is not None  # level, state and event_id are always there
    return Rows((row,), epoch)


def _status(info: TopicInfo, status: SiteStatus) -> Rows:
    _same("site status", "site", status.site, info.site)
    epoch = _epoch("site status", status)
    ts = _ts_ns("site status", epoch)
    outbox = status.outbox or {}
    fields: dict[str, int | None] = {
        "online": int(status.online),
        "devices": len(status.devices),
        "devices_ok": sum(1 for d in status.devices.values() if d.ok),
        "polls": status.polls,
        "alarms_annunciated": status.alarms_annunciated,
        "queued_alarms": _count(outbox.get("queued_alarms")),
        "queued_telemetry": _count(outbox.get("queued_telemetry")),
    }
    prefix = series_prefix("site_status", (("enterprise", info.enterprise), ("site", info.site)))
    row = line(prefix, fields, ts)
    assert row is not None  # online and devices are always there
    return Rows((row,), epoch)


def _count(value: object) -> int | None:
    """A counter from the free-form ``outbox`` object, if it is one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62:
        return value
    return None
