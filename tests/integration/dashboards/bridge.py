"""Fallback writer: the edge's real MQTT output into InfluxDB, in ingest's data model.

Used by the dashboard query test while ``hazard-gateway ingest`` cannot run it; parses
every message with the shared contract (gateway.contracts) and writes the rows ingest
writes (docs/influxdb.md): ``telemetry`` (tags enterprise, site, device, point; fields
value, last, min, max, mean, count, quality), ``alarm`` (tags enterprise, site, device,
point, kind; fields level, state, isa_state, value, limit, event_id, first_out, seq) and
``site_status`` (tags enterprise, site; fields online, devices, devices_ok, polls).
Timestamps come from the payloads, as in ingest.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Iterable, Mapping

from gateway.contracts import (
    AlarmEvent,
    SiteStatus,
    TelemetryWindow,
    TopicInfo,
    TopicKind,
    parse_topic,
)
from tests.harness import InfluxDB1, MqttProbe

__all__ = ["MqttToInflux", "alarm_line", "status_line", "telemetry_lines"]

Field = float | int | bool | str | None


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value: float | int | bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Field], ns: int) -> str:
    head = ",".join([measurement, *(f"{k}={_tag(v)}" for k, v in sorted(tags.items()))])
    body = ",".join(
        f"{k}={_field(v)}"
        for k, v in fields.items()
        if v is not None and not (isinstance(v, float) and not math.isfinite(v))
    )
    return f"{head} {body} {ns}"


def _ns(epoch: float) -> int:
    return round(epoch * 1000) * 1_000_000


def telemetry_lines(info: TopicInfo, window: TelemetryWindow) -> list[str]:
    """One row per point of a telemetry window, at the window's start."""
    tags = {"enterprise": info.enterprise, "site": info.site, "device": window.device}
    lines = []
    for p in window.points:
        fields: dict[str, Field] = {"value": p.last, "last": p.last}
        fields |= {"min": p.min, "max": p.max, "mean": p.mean, "count": p.count}
        fields["quality"] = 1 if math.isfinite(p.last) else 0
        lines.append(_line("telemetry", {**tags, "point": p.key}, fields, _ns(window.start)))
    return lines


def alarm_line(event: AlarmEvent) -> str:
    """The row of one alarm event (``seq`` in the nanoseconds keeps same-ms events apart)."""
    tags = {
        "enterprise": event.enterprise,
        "site": event.site,
        "device": event.device,
        "point": event.point,
        "kind": event.kind.value,
    }
    fields: dict[str, Field] = {
        "level": event.level,
        "state": event.state.value,
        "isa_state": event.isa_state.value if event.isa_state is not None else None,
        "value": event.value,
        "limit": event.limit,
        "event_id": event.event_id,
        "first_out": event.first_out,
        "seq": event.seq,
    }
    return _line("alarm", tags, fields, _ns(event.epoch) + event.seq % 1_000_000)


def status_line(info: TopicInfo, status: SiteStatus) -> str:
    """The row of one site status (the last will ``offline`` included)."""
    fields: dict[str, Field] = {
        "online": int(status.online),
        "devices": len(status.devices),
        "devices_ok": sum(1 for d in status.devices.values() if d.ok),
        "polls": status.polls,
    }
    tags = {"enterprise": info.enterprise, "site": info.site}
    return _line("site_status", tags, fields, _ns(status.epoch))


class MqttToInflux:
    """Drains an MQTT probe subscribed to ``hazard/v1/#`` into an InfluxDB 1.x database.

    With ``write=False`` it only parses (and remembers alarms and statuses): the test then
    watches the scenarios through it while the real ingest writes.
    """

    def __init__(
        self, probe: MqttProbe, influxdb: InfluxDB1, database: str, *, write: bool = True
    ) -> None:
        self.probe = probe
        self.write = write
        self.influxdb = influxdb
        self.database = database
        self.alarms: list[AlarmEvent] = []
        self.statuses: list[tuple[TopicInfo, SiteStatus]] = []
        self.rows = 0

    def pump(self) -> int:
        """Convert and write everything received so far; the number of rows written."""
        lines: list[str] = []
        while True:
            try:
                message = self.probe.messages.get_nowait()
            except queue.Empty:
                break
            lines.extend(self._rows(message.topic, message.payload))
        if lines and self.write:
            self.influxdb.write("\n".join(lines), self.database)
            self.rows += len(lines)
        return len(lines)

    def _rows(self, topic: str, payload: bytes) -> Iterable[str]:
        info = parse_topic(topic)
        if info.kind is TopicKind.TELEMETRY:
            return telemetry_lines(info, TelemetryWindow.from_payload(payload))
        if info.kind is TopicKind.ALARM:
            event = AlarmEvent.from_payload(payload)
            self.alarms.append(event)
            return [alarm_line(event)]
        if info.kind is TopicKind.STATUS:
            status = SiteStatus.from_payload(payload)
            self.statuses.append((info, status))
            return [status_line(info, status)]
        return []  # manifests, commands, replies: not stored
