"""The panel on a real Mosquitto: live state from MQTT, and a restart that loses nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.contracts import AlarmEvent, AlarmKind, AlarmState, IsaState, alarm_topic
from gateway.web import PanelServer, WebConfig
from gateway.web.config import load_web_config
from tests.harness import Mosquitto
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.unit.web.factory import ENT, PASSWORD, SITE, event, manifest, telemetry, write_config

pytestmark = [pytest.mark.integration]


def panel_config(tmp_path: Path, broker: Mosquitto) -> WebConfig:
    text = write_config(tmp_path, broker_url=broker.url)
    config = load_web_config(text)
    return config.model_copy(
        update={"broker": config.broker.model_copy(update={"client_id": "web-test"})}
    )


def client_for(url: str, user: str = "ops") -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    response = client.post(
        "/api/login", json={"user": user, "password": PASSWORD}, headers={"Origin": url}
    )
    response.raise_for_status()
    return client


@pytest.fixture(name="probe")
def fixture_probe(mosquitto: Mosquitto) -> Iterator[MqttProbe]:
    probe = MqttProbe(mosquitto.host, mosquitto.port).connect()
    yield probe
    probe.close()


def send(probe: MqttProbe, e: AlarmEvent) -> None:
    probe.publish(alarm_topic(ENT, SITE, e.device, e.point), json.dumps(e.to_dict()), qos=1)


def test_restart_shows_the_same_alarms_and_history(
    tmp_path: Path, mosquitto: Mosquitto, probe: MqttProbe
) -> None:
    probe.publish(f"hazard/v1/{ENT}/{SITE}/manifest", json.dumps(manifest()), retain=True)
    status = {"state": "online", "ts": "2026-12-01T00:00:00.000Z", "site": SITE}
    probe.publish(f"hazard/v1/{ENT}/{SITE}/status", json.dumps(status), retain=True)
    config = panel_config(tmp_path, mosquitto)
    server = PanelServer(config, port=0)
    url = server.start()
    client = client_for(url)
    wait_for(lambda: client.get("/api/overview").json()["sites"], 10, "site from retained status")
    h = event(1, isa_state=IsaState.UNACK, first_out=True)
    hh = event(2, kind=AlarmKind.HH, isa_state=IsaState.UNACK)
    for e in (h, hh, h):  # h twice: a redelivery
        send(probe, e)
    probe.publish(
        f"hazard/v1/{ENT}/{SITE}/gas-01/telemetry",
        telemetry("gas-01", {"gas": 31.0, "p1": 2.0}, "2026-12-01T00:00:01.000Z"),
    )
    wait_for(lambda: len(client.get("/api/alarms").json()["alarms"]) == 2, 10, "two alarms")
    wait_for(lambda: client.get(f"/api/site/{ENT}/{SITE}").json()["points"], 10, "telemetry")
    before = client.get("/api/alarms").json()["alarms"]
    assert [a["kind"] for a in before] == ["HH", "H"] and before[1]["first_out"] is True
    server.stop()
    client.close()

    # While the panel is down the edge clears HH: the persistent session keeps the event.
    send(
        probe,
        event(
            3,
            AlarmState.CLEARED,
            kind=AlarmKind.HH,
            isa_state=IsaState.RTN_UNACK,
            activation=hh.event_id,
        ),
    )
    server = PanelServer(config, port=0)
    url = server.start()
    client = client_for(url)
    try:
        wait_for(
            lambda: client.get("/api/alarms").json()["alarms"][0]["isa"] == "rtn_unack",
            10,
            "the event published while the panel was down",
        )
        after = client.get("/api/alarms").json()["alarms"]
        assert [(a["kind"], a["first_out"]) for a in after] == [("HH", False), ("H", True)]
        history = client.get("/api/history").json()
        assert history["total"] == 2  # two activations, the redelivery doubled nothing
        site = client.get(f"/api/site/{ENT}/{SITE}").json()
        assert site["manifest"]["devices"][0]["name"] == "gas-01"  # retained manifest again
        assert site["site"]["state"] == "online"
    finally:
        client.close()
        server.stop()


def test_sse_stream_sends_batches_to_a_logged_in_client(
    tmp_path: Path, mosquitto: Mosquitto, probe: MqttProbe
) -> None:
    server = PanelServer(panel_config(tmp_path, mosquitto), port=0)
    url = server.start()
    client = client_for(url, "eve")
    try:
        with client.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(lines).startswith("event: hello")
            probe.publish(
                f"hazard/v1/{ENT}/{SITE}/gas-01/telemetry",
                telemetry("gas-01", {"gas": 4.2}, "2026-12-01T00:00:01.000Z"),
            )
            for line in lines:
                if line.startswith("data: {") and "points" in line:
                    batch = json.loads(line[6:])
                    assert batch["points"][f"{ENT}/{SITE}/gas-01/gas"][0] == 4.2
                    break
    finally:
        client.close()
        server.stop()
