"""Synthetic events through a real Mosquitto to real receivers: both channel formats, bad data."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.contracts import AlarmKind, AlarmState
from gateway.netutil import free_port
from tests.harness import Mosquitto
from tests.harness.http import request
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.integration.push.pushkit import (
    PushThread,
    alarm,
    manifest,
    mem_http,
    point,
    publish_alarm,
    publish_manifest,
    webhook,
    write_config,
    write_keys,
)
from tests.integration.push.receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def probe(mosquitto: Mosquitto) -> Iterator[MqttProbe]:
    with MqttProbe(mosquitto.host, mosquitto.port).connect() as client:
        yield client


def _start(tmp_path: Path, mosquitto: Mosquitto, channels: list[dict[str, Any]]) -> PushThread:
    config = write_config(tmp_path / "push.json", mosquitto.url, channels)
    return PushThread(config).start()


def test_every_event_reaches_both_channels_verified(
    tmp_path: Path, mosquitto: Mosquitto, probe: MqttProbe, receiver: Receiver
) -> None:
    keys = write_keys(tmp_path / "keys")
    publish_manifest(probe, manifest({"gas-01": [point("gas", 1)], "gas-02": [point("gas", 2)]}))
    push = _start(
        tmp_path,
        mosquitto,
        [
            webhook("wh", receiver.url + "/webhook", keys),
            mem_http("mem", receiver.url + "/mem", keys),
        ],
    )
    try:
        events = [alarm(i, device=f"gas-0{1 + i % 2}") for i in range(1, 41)]
        for event in events:
            publish_alarm(probe, event)
        ids = {e.event_id for e in events}
        wait_for(
            lambda: {a["event_id"] for a in receiver.got.webhook_alarms()} >= ids, 20, "webhook"
        )
        wait_for(lambda: {r["dataId"] for r in receiver.got.mem_alarms()} >= ids, 20, "mem-http")
    finally:
        push.stop()
    assert receiver.got.bad_signatures == 0 and receiver.got.bad_bodies == 0
    hooks = receiver.got.webhook_alarms()
    assert [a["seq"] for a in hooks if a["device"] == "gas-01"] == [
        e.seq for e in events if e.device == "gas-01"
    ]
    idem = [h["Idempotency-Key"] for _, h, b in receiver.got.webhook if "event_id" in b]
    assert sorted(idem) == sorted(a["event_id"] for a in hooks)
    record = next(r for r in receiver.got.mem_alarms() if r["dataId"] == events[0].event_id)
    assert record["enterpriseCode"] == "91330100MA2B3C4D5N"
    assert record["quotaCode"] == "IND-gas" and record["tagNumber"] == "GT-2"
    assert record["thresholdHH"] == 40.0 and record["alarmType"] == "H"


def test_4xx_and_missing_code_are_dead_lettered_others_flow(
    tmp_path: Path, mosquitto: Mosquitto, probe: MqttProbe, receiver: Receiver
) -> None:
    keys = write_keys(tmp_path / "keys")
    publish_manifest(
        probe, manifest({"gas-01": [point("gas", 1)], "gas-02": [point("gas", 2, tag_number=None)]})
    )
    poison = alarm(2, kind=AlarmKind.HH, state=AlarmState.ACTIVE)
    receiver.answer = lambda path, body: (
        (422, "unknown alarm") if body.get("event_id") == poison.event_id else None
    )
    push = _start(
        tmp_path,
        mosquitto,
        [
            webhook("wh", receiver.url + "/webhook", keys),
            mem_http("mem", receiver.url + "/mem", keys),
        ],
    )
    try:
        good = [alarm(1), poison, alarm(3), alarm(4, device="gas-02"), alarm(5)]
        for event in good:
            publish_alarm(probe, event)
        wanted_wh = {e.event_id for e in good} - {poison.event_id}
        wanted_mem = {e.event_id for e in good if e.device == "gas-01"}
        wait_for(
            lambda: {a["event_id"] for a in receiver.got.webhook_alarms()} >= wanted_wh, 20, "wh"
        )
        wait_for(lambda: {r["dataId"] for r in receiver.got.mem_alarms()} >= wanted_mem, 20, "mem")
        stats = {c.name: c for c in push.service.stats().channels}
        wait_for(
            lambda: push.service.stats().channels[0].queue.dead == 1, 10, "webhook dead letter"
        )
        wh_dead = push.service.workers[0].queue.dead_items()
        mem_dead = push.service.workers[1].queue.dead_items()
    finally:
        push.stop()
    assert [(i.key, "422" in r and "unknown alarm" in r) for i, r in wh_dead] == [
        (poison.event_id, True)
    ]
    assert len(mem_dead) == 1 and mem_dead[0][0].key == good[3].event_id
    assert "devices.gas-02.points.gas.tag_number" in mem_dead[0][1]
    assert stats["mem"].counters.failures.get("missing_code") == 1
    assert poison.event_id not in {a["event_id"] for a in receiver.got.webhook_alarms()}


def test_overdue_disposition_is_pushed_and_counted_at_metrics(
    tmp_path: Path, mosquitto: Mosquitto, probe: MqttProbe, receiver: Receiver
) -> None:
    keys = write_keys(tmp_path / "keys")
    publish_manifest(probe, manifest({"gas-01": [point("gas", 1)]}))
    port = free_port()
    config = write_config(
        tmp_path / "push.json",
        mosquitto.url,
        [webhook("wh", receiver.url + "/webhook", keys)],
        periods={"disposition_limit_s": 1.5},
        metrics={"host": "127.0.0.1", "port": port},
    )
    push = PushThread(config).start()
    try:
        late, handled = alarm(1), alarm(2, kind=AlarmKind.HH)
        disposition = alarm(
            3,
            kind=AlarmKind.HH,
            state=AlarmState.DISPOSITION,
            activation_id=handled.event_id,
            by="op",
            cause="valve",
            action="closed",
        )
        for event in (late, handled, disposition):
            publish_alarm(probe, event)

        def overdue() -> list[dict[str, Any]]:
            return [b for _, _, b in receiver.got.webhook if b.get("type") == "overdue"]

        wait_for(lambda: bool(overdue()), 10, "overdue pushed")
        time.sleep(1.5)  # the handled activation must not follow
        _, text = request("GET", f"http://127.0.0.1:{port}/metrics")
    finally:
        push.stop()
    [item] = overdue()
    assert item["event"]["event_id"] == late.event_id and item["overdue_after_s"] == 1.5
    metrics = text.decode()
    assert "hazard_push_overdue_total 1.0" in metrics
    assert 'hazard_push_delivered_total{channel="wh"} 4.0' in metrics
    assert 'hazard_push_backlog{channel="wh"} 0.0' in metrics


def test_malformed_input_is_kept_counted_and_never_stops_the_flow(
    tmp_path: Path, mosquitto: Mosquitto, probe: MqttProbe, receiver: Receiver
) -> None:
    keys = write_keys(tmp_path / "keys")
    push = _start(tmp_path, mosquitto, [webhook("wh", receiver.url + "/webhook", keys)])
    try:
        wrong_site = alarm(1).to_dict() | {"site": "elsewhere"}
        for payload in (b"\xff not json", b'{"event_id": 1}', json.dumps(wrong_site).encode()):
            probe.publish("hazard/v1/push-ent/plant-1/alarm/gas-01/gas", payload, qos=1)
        probe.publish("hazard/v1/push-ent/plant-1/status", b"[]", qos=1)
        good = alarm(2)
        publish_alarm(probe, good)
        wait_for(lambda: bool(receiver.got.webhook_alarms()), 10, "the good event")
        malformed = push.service.stats().malformed
    finally:
        push.stop()
    assert [a["event_id"] for a in receiver.got.webhook_alarms()] == [good.event_id]
    assert malformed == 4
    db = sqlite3.connect(tmp_path / "state" / "_input.sqlite")
    reasons = [r for (r,) in db.execute("SELECT reason FROM bad")]
    db.close()
    assert len(reasons) == 4 and any("does not match its topic" in r for r in reasons)
