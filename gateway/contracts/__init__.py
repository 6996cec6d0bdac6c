"""The MQTT contract (docs/mqtt.md) as frozen types, both directions.

The edge builds payloads with these types; ingest, push and the panel parse what they
receive with them (``from_payload``), never with ``dict["key"]``. This package imports
neither the edge nor the alarm lifecycle, so both sides can depend on it::

    alarm       AlarmEvent, AlarmKind, AlarmState, IsaState, level_of
    telemetry   TelemetryWindow, PointWindow
    status      SiteStatus, DeviceStatus
    manifest    SiteManifest, ManifestDevice, ManifestPoint
    command     CommandRequest, CommandReply, sign_command, reply_body
    topics      topic builders and parse_topic -> TopicInfo
    parsing     size and shape checks shared by every parser (ContractError)
"""

from gateway.contracts.alarm import AlarmEvent, AlarmKind, AlarmState, IsaState, level_of
from gateway.contracts.command import (
    ACTIONS,
    CommandReply,
    CommandRequest,
    canonical,
    reply_body,
    sign_command,
)
from gateway.contracts.manifest import ManifestDevice, ManifestPoint, SiteManifest
from gateway.contracts.status import DeviceStatus, SiteStatus
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.contracts.topics import (
    DEADLETTER_ROOT,
    ROOT,
    TopicInfo,
    TopicKind,
    alarm_topic,
    command_topic,
    manifest_topic,
    parse_topic,
    reply_topic,
    status_topic,
    telemetry_topic,
)
from gateway.errors import ContractError

__all__ = [
    "ACTIONS",
    "DEADLETTER_ROOT",
    "ROOT",
    "AlarmEvent",
    "AlarmKind",
    "AlarmState",
    "CommandReply",
    "CommandRequest",
    "ContractError",
    "DeviceStatus",
    "IsaState",
    "ManifestDevice",
    "ManifestPoint",
    "PointWindow",
    "SiteManifest",
    "SiteStatus",
    "TelemetryWindow",
    "TopicInfo",
    "TopicKind",
    "alarm_topic",
    "canonical",
    "command_topic",
    "level_of",
    "manifest_topic",
    "parse_topic",
    "reply_body",
    "reply_topic",
    "sign_command",
    "status_topic",
    "telemetry_topic",
]
