"""The compose stack's broker, for real: deploy/mosquitto.conf + ACL + the init password file.

Mosquitto runs the committed config (paths moved into a temporary folder, the port made
free) with the password file that deploy/init/make_secrets.py writes from .env-style values;
then the ACL must hold: an edge writes only its own site, central services read
everything, the panel commands only its own sites, and nobody gets in without a password.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.harness import MqttConnectError, MqttProbe, free_port, require, tcp_open, wait_for
from tests.harness.pytest_support import tools_or_skip

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[3]
DEPLOY = REPO / "deploy"
SITE = "hazard/v1/demo-chem/tank-farm-1"
OTHER = "hazard/v1/other-ent/other-site"


def _secrets_module() -> ModuleType:
    path = DEPLOY / "init" / "make_secrets.py"
    spec = importlib.util.spec_from_file_location("make_secrets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env(module: ModuleType) -> dict[str, str]:
    env = {var: f"{user}-password-0123" for user, var in module.BROKER_USERS.items()}
    return {
        **env,
        "HAZARD_PANEL_USER": "safety",
        "HAZARD_PANEL_PASSWORD": "panel-password-0123",
        "HAZARD_OPERATOR_KEY": "operator-key-0123456789",
        "HAZARD_WEBHOOK_SECRET": "webhook-secret-0123456789",
        "HAZARD_SECRETS_CHOWN": "0",
    }


class Broker:
    """The committed mosquitto.conf on a free loopback port, with files in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        with tools_or_skip():
            binary = require("mosquitto")
        module = _secrets_module()
        self.passwords = _env(module)
        module.write_secrets(self.passwords, workdir / "secrets", DEPLOY / "web.yaml")
        self.port = free_port()
        text = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
        text = (
            text.replace("listener 1883", f"listener {self.port} 127.0.0.1")
            .replace("/run/hazard-secrets", str(workdir / "secrets"))
            .replace("/mosquitto/config/acl", str(DEPLOY / "mosquitto" / "acl"))
            .replace("/mosquitto/data/", f"{workdir}/")
        )
        if os.geteuid() == 0:
            text = "user root\n" + text
        config = workdir / "mosquitto.conf"
        config.write_text(text, encoding="utf-8")
        self.log = (workdir / "mosquitto.log").open("wb")
        self.proc = subprocess.Popen(
            [str(binary), "-c", str(config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for(lambda: tcp_open("127.0.0.1", self.port), 10, "mosquitto with deploy config")

    def client(self, user: str) -> MqttProbe:
        variable = next(v for u, v in _secrets_module().BROKER_USERS.items() if u == user)
        probe = MqttProbe("127.0.0.1", self.port, username=user, password=self.passwords[variable])
        return probe.connect()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    server = Broker(tmp_path)
    yield server
    server.close()


def _delivered(reader: MqttProbe, topic: str) -> bool:
    try:
        while True:
            if reader.get(timeout=1.5).topic == topic:
                return True
    except queue.Empty:
        return False


def test_anonymous_and_wrong_password_are_refused(broker: Broker) -> None:
    with pytest.raises(MqttConnectError):
        MqttProbe("127.0.0.1", broker.port).connect()
    with pytest.raises(MqttConnectError):
        MqttProbe("127.0.0.1", broker.port, username="ingest", password="wrong").connect()


def test_acl_keeps_each_site_and_service_to_its_topics(broker: Broker) -> None:
    ingest = broker.client("ingest")
    ingest.subscribe("hazard/v1/#")
    edge = broker.client("edge-tank-farm-1")
    web = broker.client("web")
    try:
        edge.publish(f"{SITE}/gas-01/telemetry", b"{}")
        assert _delivered(ingest, f"{SITE}/gas-01/telemetry"), "the edge writes its own site"
        edge.publish(f"{OTHER}/gas-01/telemetry", b"{}")
        assert not _delivered(ingest, f"{OTHER}/gas-01/telemetry"), "not another site"
        web.publish(f"{SITE}/cmd/ack", b"{}")
        assert _delivered(ingest, f"{SITE}/cmd/ack"), "the panel commands its site"
        web.publish(f"{OTHER}/cmd/ack", b"{}")
        assert not _delivered(ingest, f"{OTHER}/cmd/ack"), "not a site it does not serve"
        edge.subscribe(f"{SITE}/cmd/#")
        web.publish(f"{SITE}/cmd/shelve", b"{}")
        assert _delivered(edge, f"{SITE}/cmd/shelve"), "the edge reads its commands"
    finally:
        for probe in (ingest, edge, web):
            probe.close()
