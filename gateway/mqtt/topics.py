"""The MQTT topic tree, version 1 (documented in docs/mqtt.md).

hazard/v1/{enterprise}/{site}/status                      retained, LWT "offline"
hazard/v1/{enterprise}/{site}/{device}/telemetry          telemetry windows
hazard/v1/{enterprise}/{site}/alarm/{device}/{point}      alarm events, QoS 1
hazard/v1/{enterprise}/{site}/cmd/...                     commands (authenticated)
"""

from __future__ import annotations

__all__ = [
    "ROOT",
    "alarm_topic",
    "command_filter",
    "command_topic",
    "reply_topic",
    "status_topic",
    "telemetry_topic",
]

ROOT = "hazard/v1"


def status_topic(enterprise: str, site: str) -> str:
    """Retained site status; the broker publishes the last will ``offline`` here."""
    return f"{ROOT}/{enterprise}/{site}/status"


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
