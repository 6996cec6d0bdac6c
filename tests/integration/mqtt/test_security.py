"""Broker auth + ACL and signed commands: who may publish what, and clear refusals."""

from __future__ import annotations

import asyncio
import json
import queue
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.alarms.commands import sign_command
from gateway.alarms.lifecycle import IsaState
from gateway.config import load_site
from gateway.mqtt.publisher import MqttSettings
from gateway.netutil import free_port
from gateway.simulator.server import Simulator
from gateway.site import EdgeSite
from gateway.timeutil import rfc3339
from tests.harness import Mosquitto, MosquittoTLS
from tests.harness.mqtt_probe import MqttConnectError, MqttProbe
from tests.harness.pki import TestPKI
from tests.integration.mqtt.collect import Received

STOP_WITHIN_S = 12.0

pytestmark = pytest.mark.integration

USERS = {"edge-a": "pw-edge-a", "edge-b": "pw-edge-b", "op-a": "pw-op-a", "admin": "pw-admin"}
ACL = """
user edge-a
topic write hazard/v1/ent/site-a/#
topic read hazard/v1/ent/site-a/cmd/#

user edge-b
topic write hazard/v1/ent/site-b/#
topic read hazard/v1/ent/site-b/cmd/#

user op-a
topic write hazard/v1/ent/site-a/cmd/#
topic read hazard/v1/ent/site-a/#

user admin
topic read #
"""
OPERATOR_KEY = b"li-wei-secret-0123456789"
A = "hazard/v1/ent/site-a"


def _site_file(folder: Path, site: str = "site-a") -> Path:
    path = folder / f"{site}.yaml"
    path.write_text(
        f"enterprise: ent\nsite: {site}\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.25\n",
        encoding="utf-8",
    )
    return path


def _probe(broker: Mosquitto, user: str) -> MqttProbe:
    return MqttProbe(broker.host, broker.port, username=user, password=USERS[user]).connect()


def test_anonymous_client_is_refused(start_server: Callable[..., Any], tmp_path: Path) -> None:
    broker = start_server(Mosquitto, tmp_path / "m", users=USERS, acl=ACL)
    with pytest.raises(MqttConnectError):
        MqttProbe(broker.host, broker.port).connect()
    with pytest.raises(MqttConnectError):
        MqttProbe(broker.host, broker.port, username="op-a", password="wrong").connect()


def test_a_site_cannot_publish_into_another_sites_topics(
    start_server: Callable[..., Any], tmp_path: Path
) -> None:
    broker = start_server(Mosquitto, tmp_path / "m", users=USERS, acl=ACL)
    admin = _probe(broker, "admin")
    admin.subscribe("hazard/v1/#")
    intruder = _probe(broker, "edge-b")
    intruder.publish(f"{A}/alarm/gas-01/gas", b'{"fake": true}')
    intruder.publish(f"{A}/cmd/ack", b'{"fake": true}')
    intruder.publish("hazard/v1/ent/site-b/status", b'{"state": "online"}')  # its own: allowed
    message = admin.get(timeout=5)
    assert message.topic == "hazard/v1/ent/site-b/status"
    with pytest.raises(queue.Empty):  # nothing else arrives
        admin.get(timeout=1)
    admin.close()
    intruder.close()


def _command(action: str, key: bytes = OPERATOR_KEY, **fields: Any) -> tuple[str, bytes, str]:
    request_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "request_id": request_id,
        "by": "li.wei",
        "ts": rfc3339(time.time()),
    }
    body.update(fields)
    body["sig"] = sign_command(body, key)
    return f"{A}/cmd/{action}", json.dumps(body).encode(), request_id


async def test_commands_need_a_valid_signature_and_refusals_change_nothing(
    start_server: Callable[..., Any], tmp_path: Path
) -> None:
    broker = start_server(Mosquitto, tmp_path / "m", users=USERS, acl=ACL)
    site = load_site(_site_file(tmp_path))
    settings = MqttSettings.from_url(
        broker.url, client_id="edge-a", username="edge-a", password=USERS["edge-a"]
    )
    service = EdgeSite(site, tmp_path / "state", settings, operator_keys={"li.wei": OPERATOR_KEY})
    operator = _probe(broker, "op-a")
    operator.subscribe(f"{A}/#")
    received = Received()
    stop = asyncio.Event()
    async with Simulator(site, "gas-leak"):
        runner = asyncio.create_task(service.run(stop))
        key = None
        for _ in range(200):  # H rises at ~10.7 s of the scenario
            await asyncio.sleep(0.1)
            received.drain(operator)
            if received.alarms:
                key = next(iter(service.manager.alarms))
                break
        assert key is not None, "no alarm arrived"
        target = {"device": "gas-01", "point": "gas", "kind": key.kind.value}

        async def send(topic: str, payload: bytes, request_id: str | None) -> dict[str, Any]:
            operator.publish(topic, payload)
            for _ in range(100):
                await asyncio.sleep(0.05)
                received.drain(operator)
                for reply in received.replies:
                    if reply["request_id"] == request_id:
                        return reply
            raise AssertionError(f"no reply to {request_id}")

        malformed = await send(
            f"{A}/cmd/ack", b'{"request_id": "abcdefgh-1", "by": 7}', "abcdefgh-1"
        )
        forged = await send(*_command("ack", key=b"not-the-operators-key", **target))
        assert malformed["error"]["code"] == "malformed"
        assert forged["error"]["code"] == "unauthorised"
        assert service.manager.alarms[key].state is IsaState.UNACK  # nothing changed
        good = await send(*_command("ack", note="on my way", **target))
        stop.set()
        await asyncio.wait_for(runner, timeout=10)
    operator.close()
    service.close()
    assert (
        good["ok"] and good["event"]["state"] == "acknowledged" and good["event"]["by"] == "li.wei"
    )
    assert service.manager.alarms[key].state in (IsaState.ACKED, IsaState.NORMAL)


async def test_edge_agent_over_mutual_tls(
    start_server: Callable[..., Any], pki: TestPKI, tmp_path: Path
) -> None:
    tls = MosquittoTLS(pki.ca_cert, pki.server_cert, pki.server_key, require_certificate=True)
    broker = start_server(Mosquitto, tmp_path / "m", tls=tls)
    watcher = MqttProbe(
        "localhost",
        broker.port,
        ca_cert=pki.ca_cert,
        client_cert=pki.client_cert,
        client_key=pki.client_key,
    ).connect()
    watcher.subscribe("hazard/v1/#")
    site = load_site(_site_file(tmp_path))
    settings = MqttSettings.from_url(
        f"mqtts://localhost:{broker.port}",
        ca_file=str(pki.ca_cert),
        cert_file=str(pki.client_cert),
        key_file=str(pki.client_key),
    )
    service = EdgeSite(site, tmp_path / "state", settings)
    stop = asyncio.Event()
    received = Received()
    try:
        async with Simulator(site, "normal"):
            runner = asyncio.create_task(service.run(stop))
            for _ in range(200):  # until the agent said online over mutual TLS
                await asyncio.sleep(0.05)
                received.drain(watcher)
                if any(s["state"] == "online" for s in received.status):
                    break
            stop.set()
            # The publisher's own bounds: the "offline" status (5 s) and the disconnect (5 s).
            await asyncio.wait_for(runner, timeout=STOP_WITHIN_S)
        service.close()
        received.drain(watcher)
    finally:
        watcher.close()  # a failure must not leave its reconnecting thread to later tests
    assert any(s["state"] == "online" for s in received.status)
    assert service.publisher is not None and service.publisher.stats.protocol == "5"
