"""Hostile and flooding commands against the real edge over a real Mosquitto.

A request_id of 70,000 characters, one with a lone surrogate and one with control
characters used to end the command reader (and then the agent, at the next reconnect,
or get it disconnected for a malformed packet). A flood of 2,000 garbage commands used
to delay a real operator's ack by over a minute. Now: every hostile command is refused
on ``reply/unknown`` or not at all, the agent never goes offline, and the signed ack in
the middle of the flood is answered within 2 s.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.alarms.commands import sign_command
from gateway.alarms.lifecycle import IsaState
from gateway.alarms.model import DEVICE_POINT
from gateway.config import load_site
from gateway.mqtt.publisher import MqttSettings
from gateway.netutil import free_port
from gateway.site import EdgeSite
from gateway.timeutil import rfc3339
from tests.harness import Mosquitto
from tests.harness.mqtt_probe import MqttProbe

pytestmark = pytest.mark.integration

KEY = b"li-wei-secret-0123456789"
A = "hazard/v1/ent/site-a"


def _site_file(folder: Path) -> Path:
    # No simulator on the port: the device's COMM alarm comes up at once, to be acked.
    path = folder / "site-a.yaml"
    path.write_text(
        "enterprise: ent\nsite: site-a\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.2\n",
        encoding="utf-8",
    )
    return path


def _signed_ack(request_id: str) -> bytes:
    body: dict[str, Any] = {
        "request_id": request_id,
        "by": "li.wei",
        "ts": rfc3339(time.time()),
        "device": "gas-01",
        "point": DEVICE_POINT,
        "kind": "COMM",
    }
    body["sig"] = sign_command(body, KEY)
    return json.dumps(body).encode()


def _garbage(i: int) -> bytes:
    forged = {"request_id": f"forged-{i:06d}", "by": "li.wei", "ts": rfc3339(time.time())}
    kinds = [
        b"\xff\xfe not even UTF-8",
        b"{" * 3000,
        b"x" * 5000,
        json.dumps({"request_id": f"garbage-{i:06d}", "by": f"mallory-{i % 40}"}).encode(),
        json.dumps({**forged, "device": "gas-01", "point": DEVICE_POINT, "sig": "0" * 64}).encode(),
    ]
    return kinds[i % len(kinds)]


def _hostile(request_id: str) -> bytes:
    body = {"request_id": request_id, "by": "li.wei", "ts": "now", "sig": "0"}
    return json.dumps(body, ensure_ascii=True).encode()


async def _wait_for_alarm(service: EdgeSite) -> None:
    for _ in range(100):
        if service.manager.alarms:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no COMM alarm came up")


def _replies(probe: MqttProbe) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], int]:
    by_id: dict[str, dict[str, Any]] = {}
    status: list[dict[str, Any]] = []
    unknown = 0
    while True:
        try:
            message = probe.messages.get_nowait()
        except queue.Empty:
            return by_id, status, unknown
        body = json.loads(message.payload)
        if message.topic.endswith("/status"):
            status.append(body)
        elif message.topic == f"{A}/reply/unknown":
            unknown += 1
        else:
            by_id[message.topic.rsplit("/", 1)[-1]] = body


async def test_hostile_ids_and_a_flood_never_silence_the_reader(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = load_site(_site_file(tmp_path))
    settings = MqttSettings.from_url(mosquitto.url, client_id="edge-a")
    service = EdgeSite(site, tmp_path / "state", settings, operator_keys={"li.wei": KEY})
    watcher = MqttProbe(mosquitto.host, mosquitto.port).connect()
    watcher.subscribe(f"{A}/reply/#", qos=1)
    watcher.subscribe(f"{A}/status", qos=1)
    operator = MqttProbe(mosquitto.host, mosquitto.port).connect()
    stop = asyncio.Event()
    runner = asyncio.create_task(service.run(stop))
    try:
        await _wait_for_alarm(service)
        for request_id in ("x" * 70_000, "abc\ud800defgh", "abc\x01\x02\x1bdefgh"):
            operator.publish(f"{A}/cmd/ack", _hostile(request_id), qos=1)
        await asyncio.sleep(0.5)
        sent: list[float] = []

        def flood() -> None:  # in a thread, so replies are watched while it runs
            for i in range(2000):
                if i == 1000:
                    sent.append(time.monotonic())
                    operator.publish(f"{A}/cmd/ack", _signed_ack("operator-ack-0001"), qos=1)
                operator.publish(f"{A}/cmd/ack", _garbage(i), qos=0)

        flooding = asyncio.create_task(asyncio.to_thread(flood))
        answered = None
        by_id: dict[str, dict[str, Any]] = {}
        status: list[dict[str, Any]] = []
        unknown = 0
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not (flooding.done() and answered is not None):
            await asyncio.sleep(0.01)
            more, more_status, more_unknown = _replies(watcher)
            by_id.update(more)
            status += more_status
            unknown += more_unknown
            if "operator-ack-0001" in by_id and answered is None:
                answered = time.monotonic() - sent[0]
        await flooding
        await asyncio.sleep(1.0)  # the last refusals
        # one more normal command after the flood: the reader is still there
        operator.publish(f"{A}/cmd/ack", _signed_ack("operator-ack-0002"))
        await asyncio.sleep(1.0)
        more, more_status, more_unknown = _replies(watcher)
        by_id.update(more)
        status += more_status
        unknown += more_unknown
        assert service.publisher is not None
        stats = service.publisher.stats
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=10)
        operator.close()
        watcher.close()
        service.close()
    assert answered is not None and answered < 2.0, f"ack answered after {answered} s: {stats}"
    assert by_id["operator-ack-0001"]["ok"] is True
    assert "operator-ack-0002" in by_id, "the reader must still answer after the flood"
    assert unknown >= 3, "the hostile ids are answered on reply/unknown"
    assert stats.reconnects == 0 and stats.connected, "the agent must never disconnect"
    assert all(s["state"] != "offline" for s in status[:-1]), "no last will during the test"
    assert stats.commands_unanswered > 1000, f"the flood's refusals are rate-limited: {stats}"
    assert any(a.state is IsaState.ACKED for a in service.manager.alarms.values())
