"""One MQTT message -> line-protocol rows, in the data model of docs/influxdb.md.

Every payload is parsed with the shared contract (gateway.contracts), and the names in
the payload must agree with its topic: a message that fails either is a
:class:`ContractError`, dead-lettered before it can reach InfluxDB. Each row's
timestamp is the payload's ``ts`` (the reading's or the event's), never the receive
time, so a redelivered message rewrites the same points: InfluxDB keeps one point per
series and time, and replays never duplicate.

Telemetry is the hot path (nearly every row ingest writes): the payload is validated once
into typed dicts (:func:`gateway.contracts.telemetry.parse_window`) and
gateway.ingest.windows turns them into lines; a message's rows travel as one joined text.

Alarm rows carry ``seq % 10**6`` in the nanosecond digits below the payload's
milliseconds: two events of one point and kind in the same millisecond (a shelve sent
twice) stay two rows, and a replay still lands on the same time.
"""

from __future__ import annotations

from gateway.contracts import (
    DEADLETTER_ROOT,
    AlarmEvent,
    SiteStatus,
    TopicInfo,
    TopicKind,
    parse_topic,
)
from gateway.contracts.telemetry import parse_window
from gateway.errors import ContractError
from gateway.ingest.lineproto import line, series_prefix
from gateway.ingest.model import Rows
from gateway.ingest.windows import window_rows
from gateway.memo import remember

__all__ = ["Rows", "classify", "to_rows"]

_MIN_TS = 631152000.0  # 1990-01-01: older is a broken clock, not history
_MAX_TS = 7258118400.0  # 2200-01-01: far below the int64-nanosecond limit (2262)
_WRITTEN = (TopicKind.TELEMETRY, TopicKind.ALARM, TopicKind.STATUS)
_MAX_TOPICS = 65536  # topics remembered; cleared when full


_TOPICS: dict[str, TopicInfo | None] = {}


def classify(topic: str) -> TopicInfo | None:
    """The topic's kind and names; None for topics ingest does not store.

    Manifests, commands, replies and the dead-letter tree are someone else's; any other
    shape is a ContractError (an unknown topic is dead-lettered, not ignored).
    """
    try:
        return _TOPICS[topic]  # a worker sees the same few thousand topics again and again
    except KeyError:
        pass
    if topic.startswith(DEADLETTER_ROOT + "/") or topic == DEADLETTER_ROOT:
        info = None
    else:
        parsed = parse_topic(topic)  # ContractError: not remembered
        info = parsed if parsed.kind in _WRITTEN else None
    return remember(_TOPICS, topic, info, _MAX_TOPICS)  # bounded, whatever a broker sends


def to_rows(info: TopicInfo, payload: bytes) -> Rows:
    """The rows of one stored message; ContractError when it breaks the contract."""
    if info.kind is TopicKind.TELEMETRY:
        return _telemetry(info, payload)
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


def _telemetry(info: TopicInfo, payload: bytes) -> Rows:
    wire, start = parse_window(payload)
    _same("telemetry", "device", wire["device"], info.device)
    return window_rows(info, wire, _ts_ns("telemetry", start), start)


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
    return Rows.of((row,), epoch)


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
    return Rows.of((row,), epoch)


def _count(value: object) -> int | None:
    """A counter from the free-form ``outbox`` object, if it is one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62:
        return value
    return None
