"""The MQTT contract both ways: what the edge builds parses back; what breaks it is named."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from gateway.commands.common import load_site_arg
from gateway.contracts import (
    AlarmEvent,
    AlarmKind,
    AlarmState,
    CommandRequest,
    ContractError,
    PointWindow,
    SiteManifest,
    SiteStatus,
    TelemetryWindow,
    TopicKind,
    parse_topic,
)
from gateway.manifest import build_manifest

SCHEMAS = Path(__file__).parents[3] / "docs" / "schemas"
NOW = 1_800_000_000.0


def _event(**extra: object) -> AlarmEvent:
    return AlarmEvent.create(
        seq=7, enterprise="e1", site="s1", device="gas-01", point="gas", kind=AlarmKind.HH,
        state=AlarmState.ACTIVE, value=41.5, limit=40.0, unit="%LEL", ts=NOW, **extra,
    )  # fmt: skip


def _payload(**changes: object) -> bytes:
    body = _event(isa_state="unack", first_out=True).to_dict()
    body.update(changes)
    return json.dumps(body).encode()


def test_an_alarm_event_parses_back_to_itself() -> None:
    event = _event(isa_state="unack", first_out=True, activation_id="a" * 36)
    parsed = AlarmEvent.from_payload(json.dumps(event.to_dict()))
    assert parsed.to_dict() == event.to_dict()
    assert parsed.kind is AlarmKind.HH and parsed.epoch == pytest.approx(NOW)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"kind": "XX"}, "kind", "Input should be"),
        ({"level": 1}, "level", "does not match kind HH"),
        ({"seq": 0}, "seq", "greater than or equal to 1"),
        ({"ts": "yesterday"}, "ts", "should match pattern"),
        ({"device": "a/b"}, "device", "should match pattern"),
        ({"value": "high"}, "value", "valid number"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"note": "x" * 5000}, "note", "at most 1000"),
    ],
)
def test_a_broken_alarm_event_names_field_and_rule(
    changes: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(ContractError) as caught:
        AlarmEvent.from_payload(_payload(**changes))
    assert caught.value.field == field and rule in caught.value.rule, str(caught.value)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"value": NaN}',
        b"[1, 2]",
        b'{"event_id": "\\ud800"}',
        b"[" * 100_000,
        b'{"a": "' + b"x" * 100_000 + b'"}',
    ],
    ids=["garbage", "nan", "list", "surrogate", "deep", "oversized"],
)
def test_hostile_payloads_are_contract_errors(payload: bytes) -> None:
    with pytest.raises(ContractError):
        AlarmEvent.from_payload(payload)


def test_missing_field_is_named() -> None:
    body = json.loads(_payload())
    del body["unit"]
    with pytest.raises(ContractError, match="field 'unit'"):
        AlarmEvent.from_payload(json.dumps(body))


def test_telemetry_round_trip_keeps_nan_as_null() -> None:
    window = TelemetryWindow(
        "gas-01", NOW, 5.0, (PointWindow("gas", 1.0, 3.0, 2.0, 2.5, 10),
                             PointWindow("p2", math.nan, math.nan, math.nan, math.nan, 0)),
    )  # fmt: skip
    text = json.dumps(window.to_dict(), allow_nan=False)
    parsed = TelemetryWindow.from_payload(text)
    assert parsed.points[0] == window.points[0]
    assert math.isnan(parsed.points[1].mean) and parsed.points[1].count == 0
    assert parsed.start == pytest.approx(NOW) and not parsed.replayed
    with pytest.raises(ContractError, match="count"):
        TelemetryWindow.from_payload(text.replace('"count": 10', '"count": -1'))


def test_status_parses_the_last_will_and_a_full_status() -> None:
    will = SiteStatus.from_payload(
        b'{"state": "offline", "ts": "2026-12-01T00:00:00.000Z", "site": "s1"}'
    )
    assert not will.online
    full = SiteStatus.from_payload(
        json.dumps({"state": "online", "ts": "2026-12-01T00:00:00.000Z", "site": "s1",
                    "devices": {"gas-01": {"ok": True, "polls": 3, "failures": 0, "overruns": 0}},
                    "outbox": {"queued_alarms": 0}, "future_field": 1})
    )  # fmt: skip
    assert full.online and full.devices["gas-01"].polls == 3
    with pytest.raises(ContractError, match="state"):
        SiteStatus.from_payload(b'{"state": "maybe", "ts": "x", "site": "s1"}')


def test_the_manifest_carries_limits_levels_and_regulator_codes() -> None:
    site = load_site_arg(None)
    manifest = build_manifest(site, now=NOW)
    body = manifest.to_dict()
    schema = json.loads((SCHEMAS / "manifest.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(body)
    parsed = SiteManifest.from_payload(json.dumps(body))
    gas = parsed.device("gas-01")
    assert parsed.credit_code == "91330100MA2B3C4D5N"
    assert gas.hazard_source_code == "330100-0001"
    point = gas.points[0]
    assert point.limits == {"H": 20.0, "HH": 40.0} and point.levels == {"H": 1, "HH": 2}
    assert point.tag_number == "GT-101" and point.unit == "%LEL"
    assert build_manifest(site, now=NOW + 60).version == manifest.version  # content, not time


@pytest.mark.parametrize(
    ("topic", "kind", "names"),
    [
        ("hazard/v1/e1/s1/status", TopicKind.STATUS, {}),
        ("hazard/v1/e1/s1/manifest", TopicKind.MANIFEST, {}),
        ("hazard/v1/e1/s1/gas-01/telemetry", TopicKind.TELEMETRY, {"device": "gas-01"}),
        ("hazard/v1/e1/s1/alarm/gas-01/gas", TopicKind.ALARM, {"device": "gas-01", "point": "gas"}),
        ("hazard/v1/e1/s1/alarm/gas-01/_device", TopicKind.ALARM, {"point": "_device"}),
        ("hazard/v1/e1/s1/cmd/ack", TopicKind.COMMAND, {"action": "ack"}),
        ("hazard/v1/e1/s1/reply/abcdefgh", TopicKind.REPLY, {"request_id": "abcdefgh"}),
    ],
)
def test_topics_parse(topic: str, kind: TopicKind, names: dict[str, str]) -> None:
    info = parse_topic(topic)
    assert info.kind is kind and (info.enterprise, info.site) == ("e1", "s1")
    assert all(getattr(info, k) == v for k, v in names.items())


@pytest.mark.parametrize(
    "topic",
    ["hazard/v2/e1/s1/status", "hazard/v1/e1/s1/whatever", "hazard/v1/e1/s1/alarm/x",
     "hazard/v1/e1/s 1/status", "hazard/v1/e1/s1/" + "x" * 600, "other/e1/s1/status"],
)  # fmt: skip
def test_unknown_topics_are_refused(topic: str) -> None:
    with pytest.raises(ContractError):
        parse_topic(topic)


@pytest.mark.parametrize(
    "request_id", ["x" * 70_000, "abc\ud800defgh", "abc\x01defgh", "short", "a/b+c#d-e"]
)
def test_commands_with_unsafe_request_ids_are_refused(request_id: str) -> None:
    body = {"request_id": request_id, "by": "li", "ts": "2026-12-01T00:00:00.000Z", "sig": "0" * 64}
    with pytest.raises(ContractError):
        CommandRequest.from_payload(json.dumps(body))


@pytest.mark.parametrize("gap", [False, True])
def test_a_window_of_columns_is_the_window_of_its_points(gap: bool) -> None:
    nan = math.nan
    low = [1.0, nan if gap else 0.5, -3.25]
    columns = (["gas", "o2", "t"], low, [3.0, 21.0, 4.0], [2.0, 20.5, 0.125], [2.5, 21.0, 4.0],
               [10, 0 if gap else 3, 7])  # fmt: skip
    fast = TelemetryWindow.of_columns("gas-01", NOW, 5.0, columns)
    body = fast.to_dict()  # from the columns, before anyone asked for the points
    points = tuple(PointWindow(*p) for p in zip(*columns, strict=True))
    slow = TelemetryWindow("gas-01", NOW, 5.0, points)
    assert json.dumps(body, allow_nan=False) == json.dumps(slow.to_dict(), allow_nan=False)
    fresh = TelemetryWindow.of_columns("gas-01", NOW, 5.0, columns)
    assert json.loads(fresh.to_json()) == json.loads(slow.to_json()) == body  # NaN: null
    assert fast == slow and hash(fast) == hash(slow) and fast.points == points
    assert (body["points"]["o2"]["min"] is None) is gap
    with pytest.raises(AttributeError, match="immutable"):
        fast.device = "other"  # type: ignore[misc]
