"""Every payload we publish validates against its JSON Schema in docs/schemas/."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from math import nan
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.alarms.commands import CommandProcessor, sign_command
from gateway.alarms.journal import AlarmJournal
from gateway.alarms.lifecycle import AlarmKey, AlarmManager
from gateway.alarms.model import Transition
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmEvent, AlarmKind
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.mqtt.publisher import MqttPublisher, MqttSettings
from gateway.outbox import Outbox, mark_replayed
from gateway.timeutil import rfc3339

SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"
NOW = 1_800_000_000.0


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(name="manager")
def fixture_manager(tmp_path: Path) -> Iterator[tuple[AlarmManager, list[AlarmEvent]]]:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    events: list[AlarmEvent] = []
    yield AlarmManager(load_site_arg(None), journal, events.append, clock=lambda: NOW), events
    journal.close()


def test_every_alarm_event_state_matches_the_schema(
    manager: tuple[AlarmManager, list[AlarmEvent]],
) -> None:
    alarms, events = manager
    key = AlarmKey("gas-01", "gas", AlarmKind.HH)
    alarms.on_transitions([Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW)])
    alarms.acknowledge(key, "op", "checking")
    alarms.on_transitions([Transition("gas-01", "gas", AlarmKind.HH, False, 30.0, 40.0, NOW)])
    alarms.shelve(key, "op", "recalibration", 60)
    alarms.unshelve(key, "op")
    alarms.remove_from_service(key, "tech", "replacement")
    alarms.return_to_service(key, "tech")
    alarms.record_disposition(events[0].event_id, "leak", "fixed", "zhang")
    alarms.on_transitions(
        [Transition("gas-01", "gas", AlarmKind.FAULT, True, float("nan"), 1.0, NOW)]
    )
    validator = _validator("alarm-event.json")
    states = set()
    for event in events:
        payload = json.loads(mark_replayed(json.dumps(event.to_dict()).encode()))
        validator.validate(payload)
        states.add(payload["state"])
    assert states == {
        "active",
        "acknowledged",
        "cleared",
        "shelved",
        "unshelved",
        "out_of_service",
        "in_service",
        "disposition",
    }


def test_telemetry_payload_matches_the_schema() -> None:
    window = TelemetryWindow(
        "gas-01",
        NOW,
        5.0,
        (
            PointWindow("gas", 1.0, 2.0, 1.5, 1.8, 10),
            PointWindow("status", nan, nan, nan, nan, 0),
        ),
    )
    text = json.dumps(window.to_dict(), allow_nan=False)  # strict JSON, no NaN
    payload = json.loads(text)
    _validator("telemetry.json").validate(payload)
    assert payload["points"]["status"]["mean"] is None


def test_status_payload_matches_the_schema(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", quota_bytes=10_000_000)
    publisher = MqttPublisher("e", "s", MqttSettings(), outbox, status_extra=lambda: {"polls": 3})
    for state in ("online", "offline"):
        _validator("status.json").validate(json.loads(publisher._status_payload(state)))
    outbox.close()


def test_command_and_replies_match_their_schemas(
    manager: tuple[AlarmManager, list[AlarmEvent]],
) -> None:
    alarms, _ = manager
    alarms.on_transitions([Transition("gas-01", "gas", AlarmKind.H, True, 25.0, 20.0, NOW)])
    key = b"0123456789abcdef-op"
    processor = CommandProcessor(alarms, {"op": key}, clock=lambda: NOW)
    body: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "by": "op",
        "ts": rfc3339(NOW),
        "device": "gas-01",
        "point": "gas",
        "kind": "H",
        "note": "ok",
    }
    body["sig"] = sign_command(body, key)
    _validator("command.json").validate(body)
    replies = [processor.handle("ack", json.dumps(body).encode()), processor.handle("ack", b"{}")]
    for reply in replies:
        _validator("reply.json").validate(reply)
    assert [r["ok"] for r in replies] == [True, False]
