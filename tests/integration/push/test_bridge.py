"""mqtt-bridge: republish to a second, password-protected Mosquitto (the regulator's)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Mosquitto
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.integration.push.pushkit import (
    ENT,
    SITE,
    PushThread,
    alarm,
    manifest,
    point,
    publish_alarm,
    publish_manifest,
    write_config,
)

pytestmark = pytest.mark.integration


def _bridge(name: str, url: str, password: Path) -> dict[str, Any]:
    return {
        "name": name,
        "type": "mqtt-bridge",
        "broker": {
            "url": url,
            "username": "ent",
            "password": {"file": str(password)},
            "client_id": f"bridge-{name}",
        },
        "topic_prefix": "reg/in",
    }


def test_bridge_republishes_with_its_own_credentials_and_bad_ones_are_kept(
    tmp_path: Path, mosquitto: Mosquitto, start_server: Callable[..., Any]
) -> None:
    regulator = start_server(Mosquitto, tmp_path / "regulator", users={"ent": "s3cret"})
    good, bad = tmp_path / "good.pw", tmp_path / "bad.pw"
    good.write_text("s3cret")
    bad.write_text("wrong")
    watcher = MqttProbe(regulator.host, regulator.port, username="ent", password="s3cret")
    watcher.connect()
    watcher.subscribe("reg/in/#", qos=1)
    probe = MqttProbe(mosquitto.host, mosquitto.port).connect()
    publish_manifest(probe, manifest({"gas-01": [point("gas", 1)]}))
    channels = [_bridge("reg", regulator.url, good), _bridge("badpw", regulator.url, bad)]
    push = PushThread(write_config(tmp_path / "push.json", mosquitto.url, channels)).start()
    try:
        events = [alarm(i) for i in range(1, 6)]
        for event in events:
            publish_alarm(probe, event)
        got = [watcher.get(timeout=10) for _ in events]
        wait_for(
            lambda: push.service.stats().channels[1].counters.failures.get("auth", 0) > 0,
            10,
            "auth",
        )
        wait_for(lambda: push.service.stats().channels[0].queue.delivered == 5, 10, "committed")
        stats = push.service.stats().channels
    finally:
        push.stop()
        probe.close()
        watcher.close()
    assert [m.topic for m in got] == [f"reg/in/{ENT}/{SITE}/alarm/gas-01/gas"] * 5
    assert [json.loads(m.payload)["event_id"] for m in got] == [e.event_id for e in events]
    assert stats[0].queue.delivered == 5 and stats[0].queue.backlog == 0
    assert stats[1].queue.backlog == 5 and "refused" in (stats[1].queue.last_error or "")
    assert "wrong" not in (stats[1].queue.last_error or "")
