"""The MQTT topic tree, version 1 (documented in docs/mqtt.md), both directions.

hazard/v1/{enterprise}/{site}/status                      retained, LWT "offline"
hazard/v1/{enterprise}/{site}/manifest                    retained site manifest
hazard/v1/{enterprise}/{site}/{device}/telemetry          telemetry windows
hazard/v1/{enterprise}/{site}/alarm/{device}/{point}      alarm events, QoS 1
hazard/v1/{enterprise}/{site}/cmd/{action}                commands (authenticated)
hazard/v1/{enterprise}/{site}/reply/{request_id}          command replies

Builders make topics for the edge; :func:`parse_topic` turns a received topic into a
:class:`TopicInfo` for central services, refusing any shape it does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gateway.contracts.parsing import NAME_PATTERN
from gateway.errors import ContractError

__all__ = [
    "DEADLETTER_ROOT",
    "ROOT",
    "TopicInfo",
    "TopicKind",
    "alarm_topic",
    "command_filter",
    "command_topic",
    "manifest_topic",
    "parse_topic",
    "reply_topic",
    "status_topic",
    "telemetry_topic",
]

ROOT = "hazard/v1"
DEADLETTER_ROOT = f"{ROOT}/_deadletter"
_LEVEL = re.compile(NAME_PATTERN)
MAX_TOPIC = 512


class TopicKind(StrEnum):
    """What a topic of the tree carries."""

    STATUS = "status"
    MANIFEST = "manifest"
    TELEMETRY = "telemetry"
    ALARM = "alarm"
    COMMAND = "cmd"
    REPLY = "reply"


@dataclass(frozen=True)
class TopicInfo:
    """A parsed topic: what it carries and whose it is."""

    kind: TopicKind
    enterprise: str
    site: str
    device: str | None = None
    point: str | None = None
    action: str | None = None
    request_id: str | None = None


def status_topic(enterprise: str, site: str) -> str:
    """Retained site status; the broker publishes the last will ``offline`` here."""
    return f"{ROOT}/{enterprise}/{site}/status"


def manifest_topic(enterprise: str, site: str) -> str:
    """Retained site manifest: devices, points, limits, regulator codes."""
    return f"{ROOT}/{enterprise}/{site}/manifest"


def telemetry_topic(enterprise: str, site: str, device: str) -> str:
    """Telemetry windows of one device."""
    return f"{ROOT}/{enterprise}/{site}/{device}/telemetry"


def alarm_topic(enterprise: str, site: str, device: str, point: str) -> str:
    """Alarm events of one point (one topic per point keeps per-point order)."""
    return f"{ROOT}/{enterprise}/{site}/alarm/{device}/{point}"


def command_topic(enterprise: str, site: str, action: str) -> str:
    """Where an operator publishes a command (ack, shelve, ...)."""
    return f"{ROOT}/{enterprise}/{site}/cmd/{action}"


def command_filter(enterprise: str, site: str) -> str:
    """The edge agent's subscription to its site's commands."""
    return f"{ROOT}/{enterprise}/{site}/cmd/+"


def reply_topic(enterprise: str, site: str, request_id: str) -> str:
    """Where the edge agent answers the command with ``request_id``."""
    return f"{ROOT}/{enterprise}/{site}/reply/{request_id}"


def parse_topic(topic: str) -> TopicInfo:
    """The kind and names of a v1 topic; ContractError for anything else."""
    if len(topic) > MAX_TOPIC:
        raise ContractError("topic", "", topic, f"longer than {MAX_TOPIC} characters")
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != ROOT:
        raise ContractError("topic", "", topic, f"not a {ROOT}/{{enterprise}}/{{site}}/... topic")
    for level in parts[2:]:
        if not _LEVEL.match(level):
            raise ContractError("topic", "", topic, f"level {level!r} is not a valid name")
    enterprise, site, rest = parts[2], parts[3], parts[4:]
    info = _classify(enterprise, site, rest)
    if info is None:
        raise ContractError("topic", "", topic, "unknown topic shape (see docs/mqtt.md)")
    return info


def _classify(enterprise: str, site: str, rest: list[str]) -> TopicInfo | None:
    kind: TopicKind | None = None
    names: dict[str, str] = {}
    match rest:
        case ["status" | "manifest" as what]:
            kind = TopicKind(what)
        case [device, "telemetry"]:
            kind, names = TopicKind.TELEMETRY, {"device": device}
        case ["alarm", device, point]:
            kind, names = TopicKind.ALARM, {"device": device, "point": point}
        case ["cmd", action]:
            kind, names = TopicKind.COMMAND, {"action": action}
        case ["reply", request_id]:
            kind, names = TopicKind.REPLY, {"request_id": request_id}
    return None if kind is None else TopicInfo(kind, enterprise, site, **names)
