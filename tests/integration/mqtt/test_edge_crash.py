"""SIGKILL the edge agent mid-stream: no alarm detected before the kill goes missing."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.netutil import free_port
from tests.harness import Mosquitto
from tests.harness.cli_process import CliProcess as Process
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.integration.mqtt.collect import Received, start_site

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _site(path: Path) -> Path:
    path.write_text(
        "enterprise: crash-test\nsite: plant-1\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.25\n",
        encoding="utf-8",
    )
    return path


def test_sigkill_loses_no_detected_alarm(
    start_server: Callable[..., Any], tmp_path: Path, procs: list[Process]
) -> None:
    site = _site(tmp_path / "site.yaml")
    state = tmp_path / "state"
    broker = start_server(Mosquitto, tmp_path / "broker", persistence=True)
    probe = MqttProbe(broker.host, broker.port, client_id="sub", clean_session=False)
    probe.connect()
    probe.subscribe("hazard/v1/#", qos=1)
    edge_args, edge = start_site(procs, site, broker.url, state, "--scenario", "gas-leak")
    received = Received()

    def online() -> bool:
        received.drain(probe)
        return any(s["state"] == "online" for s in received.status)

    wait_for(online, 20, "edge status online")
    broker.stop()  # alarms now pile up in the outbox
    wait_for(lambda: ("active", "HH") in {(s, k) for _, s, k in edge.alarms()}, 30, "HH detected")
    detected = edge.alarms()
    edge.stop(signal.SIGKILL)
    broker.start()
    restarted = Process(*edge_args)
    procs.append(restarted)

    def all_delivered() -> bool:
        received.drain(probe)
        got = {(a["ts"][11:23], a["state"], a["kind"]) for a in received.alarms}
        return set(detected) <= got

    wait_for(all_delivered, 40, f"delivery of {detected}")
    before = len(received.status)

    def backlog_drained() -> bool:  # the restarted agent says nothing is left to send
        received.drain(probe)
        fresh = received.status[before:]
        return any(s["state"] == "online" and s["outbox"]["queued_alarms"] == 0 for s in fresh)

    wait_for(backlog_drained, 30, "the restarted agent's empty outbox")
    probe.close()
    restarted.stop()

    assert [k for _, s, k in detected if s == "active"][:2] == ["H", "HH"]
    actives = [(a["kind"], a["ts"]) for a in received.alarms if a["state"] == "active"]
    assert len(actives) == len(set(actives)), "the restarted agent raised an alarm twice"
    assert received.seqs_in_order_per_point()
    assert any("Restored" in line for line in restarted.lines), "restart must restore alarm state"


def test_killed_agent_leaves_offline_status_by_last_will(
    start_server: Callable[..., Any], tmp_path: Path, procs: list[Process]
) -> None:
    site = _site(tmp_path / "site.yaml")
    broker = start_server(Mosquitto, tmp_path / "broker")
    edge = Process(
        "edge", "--site", str(site), "--mqtt", broker.url, "--state-dir", str(tmp_path / "s")
    )
    procs.append(edge)
    watcher = MqttProbe(broker.host, broker.port).connect()
    watcher.subscribe("hazard/v1/crash-test/plant-1/status", qos=1)
    received = Received()

    def status_is(state: str) -> bool:
        received.drain(watcher)
        return bool(received.status) and received.status[-1]["state"] == state

    wait_for(lambda: status_is("online"), 20, "status online")
    edge.stop(signal.SIGKILL)
    wait_for(lambda: status_is("offline"), 10, "last will: status offline")
    late = MqttProbe(broker.host, broker.port).connect()  # a panel connecting later
    late.subscribe("hazard/v1/crash-test/plant-1/status", qos=1)
    message = late.get(timeout=5)
    assert message.retain and b'"offline"' in message.payload
    watcher.close()
    late.close()
