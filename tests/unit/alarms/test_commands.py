"""Operator commands: signature, freshness, replay protection, clear refusals."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.alarms.commands import CommandProcessor, load_operator_keys, sign_command
from gateway.alarms.journal import AlarmJournal
from gateway.alarms.lifecycle import AlarmKey, AlarmManager, IsaState
from gateway.alarms.model import Transition
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmEvent, AlarmKind
from gateway.errors import ConfigError
from gateway.timeutil import rfc3339

NOW = 1_800_000_000.0
KEYS = {"li.wei": b"0123456789abcdef-li", "zhang": b"fedcba9876543210-zh"}


@pytest.fixture(name="processor")
def fixture_processor(tmp_path: Path) -> Iterator[CommandProcessor]:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    events: list[AlarmEvent] = []
    manager = AlarmManager(load_site_arg(None), journal, events.append, clock=lambda: NOW)
    manager.on_transitions([Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW)])
    yield CommandProcessor(manager, KEYS, clock=lambda: NOW)
    journal.close()


def _body(by: str = "li.wei", key: bytes | None = None, **fields: Any) -> bytes:
    body: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "by": by,
        "ts": rfc3339(NOW),
        "device": "gas-01",
        "point": "gas",
        "kind": "HH",
        "note": "checking",
    }
    body.update(fields)
    body["sig"] = sign_command(body, key if key is not None else KEYS.get(by, b"x" * 16))
    return json.dumps(body).encode()


def _state(processor: CommandProcessor) -> IsaState:
    return next(iter(processor.manager.alarms.values())).state


def test_signed_ack_is_applied(processor: CommandProcessor) -> None:
    reply = processor.handle("ack", _body())
    assert reply["ok"] is True and reply["event"]["state"] == "acknowledged"
    assert reply["event"]["by"] == "li.wei" and _state(processor) is IsaState.ACKED


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("ack", b"{not json", "malformed"),
        ("ack", b"[1, 2]", "malformed"),
        ("ack", _body(kind="XX"), "malformed"),
        ("launch", _body(), "unknown_action"),
        ("ack", _body(by="mallory", key=b"guessed-secret-123"), "unauthorised"),
        ("ack", _body(key=b"wrong-secret-wrong"), "unauthorised"),
        ("ack", _body(ts=rfc3339(NOW - 3600)), "expired"),
        ("ack", _body(point="nope"), "not_found"),
        ("shelve", _body(), "malformed"),
        ("shelve", _body(duration_s=99999), "invalid_argument"),
        ("unshelve", _body(), "invalid_state"),
        # nested past the parser's recursion limit: RecursionError is not a ValueError
        pytest.param("ack", b"[" * 100_000, "malformed", id="deeply-nested"),
        # a NaN clock skew compares False with the limit: it would never expire
        pytest.param("ack", _body(ts="NaN"), "malformed", id="nan-ts"),
        # the reply topic is .../reply/{request_id}: wildcards make that publish raise
        pytest.param("ack", _body(request_id="abcdefgh/#"), "malformed", id="wildcard-id"),
    ],
)
def test_refused_commands_change_nothing(
    processor: CommandProcessor, action: str, payload: bytes, code: str
) -> None:
    before = processor.manager.journal.events()
    reply = processor.handle(action, payload)
    assert reply["ok"] is False and reply["error"]["code"] == code, reply
    assert reply["error"]["message"]
    assert processor.manager.journal.events() == before
    assert _state(processor) is IsaState.UNACK


def test_tampered_body_fails_signature(processor: CommandProcessor) -> None:
    body = json.loads(_body())
    body["kind"] = "H"  # changed after signing
    reply = processor.handle("ack", json.dumps(body).encode())
    assert reply["error"]["code"] == "unauthorised"


def test_replayed_request_is_refused(processor: CommandProcessor) -> None:
    payload = _body()
    assert processor.handle("ack", payload)["ok"]
    assert processor.handle("ack", payload)["error"]["code"] == "replayed"


def test_no_keys_means_commands_disabled(processor: CommandProcessor) -> None:
    processor.keys = {}
    reply = processor.handle("ack", _body())
    assert reply["error"]["code"] == "unauthorised" and "disabled" in reply["error"]["message"]


def test_disposition_by_command(processor: CommandProcessor) -> None:
    activation = next(iter(processor.manager.alarms.values())).activation_id
    body: dict[str, Any] = {"activation_id": activation, "cause": "leak", "action": "fixed"}
    refused = processor.handle("disposition", _body("zhang", None, **body))
    assert refused["error"]["code"] == "invalid_state"  # not acknowledged yet
    assert processor.handle("ack", _body())["ok"]
    reply = processor.handle("disposition", _body("zhang", None, **body))
    assert reply["ok"] and reply["event"]["state"] == "disposition"


def test_operator_keys_file(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# operators\nli.wei:0123456789abcdef-li\n\n", encoding="utf-8")
    assert load_operator_keys(path) == {"li.wei": b"0123456789abcdef-li"}
    path.write_text("li.wei:short\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"keys:1: expected"):
        load_operator_keys(path)


def test_an_ack_hands_a_latched_alarm_to_the_detector_and_nothing_else(tmp_path: Path) -> None:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    manager = AlarmManager(load_site_arg(None), journal, lambda event: None, clock=lambda: NOW)
    latched = ("dust-col-01", "extinguisher_discharged")
    manager.on_transitions(
        [
            Transition(*latched, AlarmKind.H, True, 1.0, 0.5, NOW),
            Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW),
        ]
    )
    released: list[AlarmKey] = []
    processor = CommandProcessor(manager, KEYS, clock=lambda: NOW, release_latch=released.append)
    assert processor.handle("ack", _body())["ok"] is True  # gas HH: no latch
    assert released == []
    fields = {"device": latched[0], "point": latched[1], "kind": "H"}
    assert processor.handle("ack", _body(**fields))["ok"] is True
    assert released == [AlarmKey(*latched, AlarmKind.H)]
    journal.close()
