"""The harness' servers really work: each is started and used the way the gateway uses it."""

from __future__ import annotations

import queue
import socket
import ssl
import time
import uuid
from pathlib import Path

import pytest
import serial
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from tests.harness import (
    InfluxDB1,
    Mosquitto,
    MosquittoTLS,
    MqttConnectError,
    MqttProbe,
    SocatPtyPair,
    TestPKI,
    VictoriaMetrics,
)
from tests.harness.pytest_support import StartServer

pytestmark = pytest.mark.integration

ACL = """\
user edge
topic readwrite sites/site1/#

user reader
topic read #
"""


def test_mqtt_publish_reaches_subscriber(mosquitto: Mosquitto) -> None:
    with (
        MqttProbe(mosquitto.host, mosquitto.port) as sub,
        MqttProbe(mosquitto.host, mosquitto.port) as pub,
    ):
        sub.subscribe("sites/+/alarms")
        pub.publish("sites/s1/alarms", b'{"level": "HH"}', qos=1)
        message = sub.get(timeout=5)
    assert (message.topic, message.payload, message.qos) == (
        "sites/s1/alarms",
        b'{"level": "HH"}',
        1,
    )


def test_mosquitto_restart_keeps_port_and_clients_reconnect(mosquitto: Mosquitto) -> None:
    port = mosquitto.port
    with MqttProbe(mosquitto.host, port) as sub, MqttProbe(mosquitto.host, port) as pub:
        mosquitto.restart(downtime=0.5)
        assert mosquitto.port == port
        sub.wait_connects(2)
        pub.wait_connects(2)
        sub.subscribe("after/restart")  # persistence off: the broker forgot the old session
        pub.publish("after/restart", b"back")
        assert sub.get(timeout=5).payload == b"back"


def test_password_and_acl_limit_each_user_to_its_topics(
    start_server: StartServer, tmp_path: Path
) -> None:
    broker = start_server(
        Mosquitto, tmp_path / "m", users={"edge": "edge-pw", "reader": "reader-pw"}, acl=ACL
    )
    with pytest.raises(MqttConnectError):
        MqttProbe(broker.host, broker.port).connect()
    with pytest.raises(MqttConnectError):
        MqttProbe(broker.host, broker.port, username="edge", password="wrong").connect()

    host, port = broker.host, broker.port
    with (
        MqttProbe(host, port, username="reader", password="reader-pw") as reader,
        MqttProbe(host, port, username="edge", password="edge-pw") as edge,
    ):
        reader.subscribe("sites/#")
        edge.publish("sites/site2/alarms", b"denied")  # broker acks but drops it
        edge.publish("sites/site1/alarms", b"allowed")
        first = reader.get(timeout=5)  # same publisher -> in order: a delivered "denied" is first
        assert (first.topic, first.payload) == ("sites/site1/alarms", b"allowed")
        with pytest.raises(queue.Empty):
            reader.get(timeout=0.3)


def test_tls_listener_accepts_only_clients_trusting_the_test_ca(
    start_server: StartServer, tmp_path: Path, pki: TestPKI
) -> None:
    tls = MosquittoTLS(pki.ca_cert, pki.server_cert, pki.server_key)
    broker = start_server(Mosquitto, tmp_path / "m", tls=tls)
    assert broker.url.startswith("mqtts://")

    with MqttProbe(broker.host, broker.port, ca_cert=pki.ca_cert) as client:
        client.subscribe("tls/check")
        client.publish("tls/check", b"secret")
        assert client.get(timeout=5).payload == b"secret"

    untrusting = ssl.create_default_context()  # system CAs only
    with (
        socket.create_connection((broker.host, broker.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        untrusting.wrap_socket(raw, server_hostname="localhost")


def test_influxdb1_write_then_influxql_query(influxdb1: InfluxDB1, influxdb1_db: str) -> None:
    ts = 1_700_000_000_000_000_000
    influxdb1.write(f"gas,site=s1,point=LEL01 value=12.5 {ts}\n", db=influxdb1_db)
    rows = influxdb1.series_values(
        "SELECT value FROM gas WHERE site = 's1' AND point = 'LEL01'", influxdb1_db
    )
    assert rows == [[ts, 12.5]]


def test_victoria_metrics_takes_influxdb_client_v2_writes(
    victoria_metrics: VictoriaMetrics,
) -> None:
    measurement = f"m{uuid.uuid4().hex[:8]}"
    ts_ms = int(time.time() * 1000) // 1000 * 1000
    with InfluxDBClient(url=victoria_metrics.url, token="x", org="x") as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        write_api.write(bucket="b", record=f"{measurement},t=a f=1.5 {ts_ms * 1_000_000}")
        write_api.close()

    series = victoria_metrics.export(f'{{__name__="{measurement}_f"}}')
    assert len(series) == 1
    assert series[0]["metric"]["t"] == "a"
    assert series[0]["values"] == [1.5]
    assert series[0]["timestamps"] == [ts_ms]


def test_socat_pty_pair_carries_bytes_both_ways(pty_pair: SocatPtyPair) -> None:
    with (
        serial.Serial(str(pty_pair.a), 19200, timeout=2) as a,
        serial.Serial(str(pty_pair.b), 19200, timeout=2) as b,
    ):
        a.write(b"\x01\x03\x00\x00\x00\x0a\xc5\xcd")
        assert b.read(8) == b"\x01\x03\x00\x00\x00\x0a\xc5\xcd"
        b.write(b"reply")
        assert a.read(5) == b"reply"
