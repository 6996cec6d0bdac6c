"""Messages become rows of docs/influxdb.md's data model, or a ContractError."""

from __future__ import annotations

import json
import math
import random
import struct

import orjson
import pytest

from gateway.contracts import AlarmEvent, AlarmKind, AlarmState, IsaState, TopicInfo
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.errors import ContractError
from gateway.ingest.convert import classify, to_rows

TS = 1764583200.123  # 2025-12-01T10:00:00.123Z
TELEMETRY = "hazard/v1/ent/site-1/gas-01/telemetry"
ALARM = "hazard/v1/ent/site-1/alarm/gas-01/gas"
STATUS = "hazard/v1/ent/site-1/status"


def _info(topic: str) -> TopicInfo:
    info = classify(topic)
    assert info is not None
    return info


def _window(**overrides: object) -> dict[str, object]:
    points = (
        PointWindow("gas", 1.0, 2.0, 1.5, 2.0, 10),
        PointWindow("o2", math.nan, math.nan, math.nan, math.nan, 0),
    )
    body = TelemetryWindow("gas-01", TS, 1.0, points).to_dict()
    body.update(overrides)
    return body


def _event(**extra: object) -> AlarmEvent:
    return AlarmEvent.create(
        seq=7, enterprise="ent", site="site-1", device="gas-01", point="gas",
        kind=AlarmKind.HH, state=AlarmState.ACTIVE, value=40.5, limit=40.0, unit="%LEL",
        ts=TS, isa_state=IsaState.UNACK, first_out=True, **extra,
    )  # fmt: skip


def test_telemetry_rows_carry_the_window_timestamp_and_every_aggregate() -> None:
    rows = to_rows(_info(TELEMETRY), json.dumps(_window()).encode())
    assert rows.lines == (
        "telemetry,device=gas-01,enterprise=ent,point=gas,site=site-1 "
        "value=2.0,last=2.0,min=1.0,max=2.0,mean=1.5,count=10i,quality=1i 1764583200123000000",
        "telemetry,device=gas-01,enterprise=ent,point=o2,site=site-1 "
        "count=0i,quality=0i 1764583200123000000",
    )
    assert rows.oldest_ts == pytest.approx(TS)


def test_alarm_row_keeps_seq_below_the_millisecond() -> None:
    rows = to_rows(_info(ALARM), json.dumps(_event().to_dict()).encode())
    assert rows.lines == (
        "alarm,device=gas-01,enterprise=ent,kind=HH,point=gas,site=site-1 level=2i,"
        'state="active",isa_state="unack",value=40.5,limit=40.0,'
        f'event_id="{_event().event_id}",first_out=true,seq=7i 1764583200123000007',
    )


def test_status_row_counts_devices_and_reads_outbox_counters() -> None:
    body = {
        "state": "online", "ts": "2025-12-01T10:00:00.123Z", "site": "site-1",
        "devices": {"a": {"ok": True}, "b": {"ok": False}}, "polls": 9,
        "outbox": {"queued_alarms": 2, "queued_telemetry": "lots"},
    }  # fmt: skip
    rows = to_rows(_info(STATUS), json.dumps(body).encode())
    assert rows.lines == (
        "site_status,enterprise=ent,site=site-1 online=1i,devices=2i,devices_ok=1i,polls=9i,"
        "queued_alarms=2i 1764583200123000000",
    )


def test_a_replayed_message_gives_the_same_rows() -> None:
    first = to_rows(_info(ALARM), json.dumps(_event().to_dict()).encode())
    again = to_rows(_info(ALARM), json.dumps({**_event().to_dict(), "replayed": True}).encode())
    assert first == again
    window = to_rows(_info(TELEMETRY), json.dumps(_window()).encode())
    assert to_rows(_info(TELEMETRY), json.dumps(_window(replayed=True)).encode()) == window


@pytest.mark.parametrize(
    ("topic", "payload", "field"),
    [
        (TELEMETRY, b"{not json", ""),
        (TELEMETRY, json.dumps(_window()).replace("1.5", "NaN").encode(), "points.gas.mean"),
        (TELEMETRY, json.dumps(_window()).replace("1.5", "Infinity").encode(), "points.gas.mean"),
        (TELEMETRY, json.dumps(_window(window_s="long")).encode(), "window_s"),
        (TELEMETRY, json.dumps(_window(device="other")).encode(), "device"),
        (TELEMETRY, json.dumps(_window(ts="2025-13-45T10:00:00.000Z")).encode(), "ts"),
        (TELEMETRY, json.dumps(_window(ts="2300-01-01T00:00:00.000Z")).encode(), "ts"),
        (TELEMETRY, json.dumps(_window(junk="x" * 1_000_000)).encode(), ""),
        (ALARM, json.dumps({**_event().to_dict(), "value": "high"}).encode(), "value"),
        (ALARM, json.dumps({**_event().to_dict(), "site": "site-2"}).encode(), "site"),
        (STATUS, b'{"state": "online", "ts": "yesterday", "site": "site-1"}', "ts"),
        (STATUS, b'{"state": "online", "ts": "NaN", "site": "site-1"}', "ts"),
        (STATUS, b"[]", ""),
    ],
)
def test_payloads_that_break_the_contract_are_refused(
    topic: str, payload: bytes, field: str
) -> None:
    with pytest.raises(ContractError) as caught:
        to_rows(_info(topic), payload)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "topic",
    [
        "hazard/v1/ent/site-1/manifest",
        "hazard/v1/ent/site-1/cmd/ack",
        "hazard/v1/ent/site-1/reply/abc12345",
        "hazard/v1/_deadletter/ingest",
    ],
)
def test_topics_of_other_services_are_ignored(topic: str) -> None:
    assert classify(topic) is None


@pytest.mark.parametrize("topic", ["hazard/v1/ent/site-1/what/is/this", "other/root/a/b/c"])
def test_unknown_topics_are_contract_errors(topic: str) -> None:
    with pytest.raises(ContractError):
        classify(topic)


def _reference_fields(p: PointWindow) -> dict[str, float]:
    """The slow, obvious reading of docs/influxdb.md for one point (repr of each number)."""
    good = not math.isnan(p.last)
    fields = {"value": p.last, "last": p.last} if good else {}
    fields |= {
        k: v for k, v in (("min", p.min), ("max", p.max), ("mean", p.mean)) if not math.isnan(v)
    }
    return fields | {"count": float(p.count), "quality": float(good)}


def _parsed_fields(line: str) -> dict[str, float]:
    _series, fields, _ts = line.split(" ")
    return {k: float(v.removesuffix("i")) for k, v in (f.split("=") for f in fields.split(","))}


EDGE_VALUES = [0.0, -0.0, 1e-07, 2.5e-05, 1e16, -1.5e300, 5e-324, 11.039999961853027, 1 / 3, 1e22]


@pytest.mark.parametrize("seed", range(20))
def test_telemetry_numbers_parse_back_to_the_payload_values(seed: int) -> None:
    rng = random.Random(seed)

    def number() -> float:
        pick = rng.random()
        if pick < 0.15:
            return math.nan  # null on the wire: no good sample
        if pick < 0.35:
            return rng.choice(EDGE_VALUES)
        return float(struct.unpack("f", struct.pack("f", rng.uniform(-1e4, 1e4)))[0])

    points = tuple(
        PointWindow(f"p{i}", number(), number(), number(), number(), rng.randrange(0, 100))
        for i in range(rng.randrange(0, 30))
    )
    window = TelemetryWindow("gas-01", TS, 1.0, points)
    rows = to_rows(_info(TELEMETRY), orjson.dumps(window.to_dict()))
    assert rows.count == len(points) == len(rows.lines)
    for line, p in zip(rows.lines, points, strict=True):
        assert line.startswith(f"telemetry,device=gas-01,enterprise=ent,point={p.key},site=site-1 ")
        assert line.endswith(" 1764583200123000000")
        assert _parsed_fields(line) == _reference_fields(p)
