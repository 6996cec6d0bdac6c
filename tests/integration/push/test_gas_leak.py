"""End to end: simulator (gas-leak) -> edge -> Mosquitto -> push -> receivers that verify.

Every alarm event the edge publishes (an independent subscriber records them) reaches the
webhook receiver (signature verified) and the mem-http receiver (SM4 decrypted), in
per-point order, each event_id once after de-duplication; the periodic real-time values
and the heartbeat arrive; and when the edge is SIGKILLed the site's offline status is
pushed within the configured offline threshold.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.netutil import free_port
from tests.harness import Mosquitto
from tests.harness.cli_process import CliProcess as Process
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for
from tests.integration.mqtt.collect import Received
from tests.integration.push.pushkit import (
    HMAC_KEY,
    SM4_IV,
    SM4_KEY,
    PushThread,
    mem_http,
    webhook,
    write_config,
    write_keys,
)
from tests.integration.push.receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OFFLINE_THRESHOLD_S = 5.0
SITE_FILE = """\
enterprise: leak-ent
site: plant-1
regulator: {credit_code: 91330100MA2B3C4D5N}
devices:
  - name: gas-01
    profile: generic-combustible-gas
    tcp: {host: 127.0.0.1, port: PORT}
    poll_interval_s: 0.25
    telemetry_window_s: 1
    regulator: {hazard_source_code: "330100-0001", equipment_code: GD-01}
    points:
      gas: {regulator: {indicator_code: KRQT-ND, tag_number: GT-101}}
"""


@pytest.fixture
def procs() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for proc in started:
        proc.stop(signal.SIGKILL)


def _first_seen(bodies: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """(point, seq, event_id) de-duplicated on event_id, in arrival order."""
    seen: dict[str, tuple[str, int, str]] = {}
    for body in bodies:
        seen.setdefault(body[2], body)
    return list(seen.values())


def test_gas_leak_run_reaches_both_receivers_and_offline_is_pushed(
    tmp_path: Path, mosquitto: Mosquitto, procs: list[Process]
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE_FILE.replace("PORT", str(free_port())), encoding="utf-8")
    keys = write_keys(tmp_path / "keys")
    receiver = Receiver(HMAC_KEY, SM4_KEY, SM4_IV).start()
    channels = [
        webhook("wh", receiver.url + "/webhook", keys),
        mem_http("mem", receiver.url + "/mem", keys),
    ]
    periods = {"realtime_s": 2, "heartbeat_s": 2, "offline_threshold_s": OFFLINE_THRESHOLD_S}
    config = write_config(
        tmp_path / "push.json", mosquitto.url, channels, periods=periods, sites=[str(site)]
    )
    push = PushThread(config).start()
    watcher = MqttProbe(mosquitto.host, mosquitto.port).connect()
    watcher.subscribe("hazard/v1/leak-ent/plant-1/alarm/#", qos=1)
    published = Received()
    try:
        simulator = Process("simulate", "--site", str(site), "--scenario", "gas-leak")
        procs.append(simulator)
        wait_for(lambda: any("READY" in line for line in simulator.lines), 20, "simulator READY")
        edge = Process(
            "edge", "--site", str(site), "--mqtt", mosquitto.url, "--state-dir", str(tmp_path / "s")
        )
        procs.append(edge)

        def cleared() -> bool:
            published.drain(watcher)
            states = {(a["kind"], a["state"]) for a in published.alarms}
            return {("H", "cleared"), ("HH", "cleared")} <= states

        wait_for(cleared, 75, "the gas-leak alarms raised and cleared")
        ids = {a["event_id"] for a in published.alarms}
        wait_for(lambda: {a["event_id"] for a in receiver.got.webhook_alarms()} >= ids, 20, "wh")
        wait_for(lambda: {r["dataId"] for r in receiver.got.mem_alarms()} >= ids, 20, "mem")
        killed = time.time()
        edge.stop(signal.SIGKILL)

        def offline_pushed() -> bool:
            return any(
                b.get("type") == "site_status" and b.get("state") == "offline"
                for _, _, b in receiver.got.webhook
            )

        wait_for(offline_pushed, OFFLINE_THRESHOLD_S + 5, "offline pushed")
        offline_at = next(
            t
            for t, _, b in receiver.got.webhook
            if b.get("type") == "site_status" and b.get("state") == "offline"
        )
    finally:
        push.stop()
        watcher.close()
        receiver.stop()
    assert receiver.got.bad_signatures == 0 and receiver.got.bad_bodies == 0, receiver.got.bad
    assert offline_at - killed <= OFFLINE_THRESHOLD_S
    expected = [(a["point"], a["seq"], a["event_id"]) for a in published.alarms]
    hooks = _first_seen(
        [(a["point"], a["seq"], a["event_id"]) for a in receiver.got.webhook_alarms()]
    )
    mems = _first_seen([("gas", 0, r["dataId"]) for r in receiver.got.mem_alarms()])
    assert sorted(hooks) == sorted(expected)
    assert [h[1] for h in hooks] == sorted(h[1] for h in hooks), "per-point order"
    assert [m[2] for m in mems] == [e[2] for e in expected], "mem-http: same events, same order"
    types = {b.get("type") for _, _, b in receiver.got.webhook}
    assert {"heartbeat", "realtime", "site_status"} <= types, types
    realtime = [r for _, r in receiver.got.mem if r["dataType"] == "realtime"]
    assert (
        realtime
        and realtime[-1]["quotaCode"] == "KRQT-ND"
        and realtime[-1]["tagNumber"] == "GT-101"
    )
    assert realtime[-1]["equipCode"] == "GD-01" and realtime[-1]["quality"] == "good"
    print(json.dumps({"alarms": len(expected), "offline_after_s": round(offline_at - killed, 2)}))
