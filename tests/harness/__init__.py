"""Test harness: real servers as subprocesses on free loopback ports, in temporary folders.

Used by ``tests/conftest.py`` fixtures and by the benches (``from tests.harness import ...``
with the repository root on ``sys.path``). Each server class is a context manager::

    with Mosquitto() as broker:          # starts, waits until ready
        connect(broker.host, broker.port)
        broker.restart(downtime=30)      # same port, for outage tests
    # stopped, temporary folder removed

A missing system tool raises ``MissingToolError`` (its message has the apt command); a server that
does not come up raises ``ServerStartError`` with the tail of its log.
"""

from __future__ import annotations

from .http import HTTPStatusError
from .influxdb import InfluxDB1
from .mosquitto import Mosquitto, MosquittoTLS, hash_password, write_password_file
from .mqtt_probe import MqttConnectError, MqttProbe, ReceivedMessage
from .pki import TestPKI, make_test_pki
from .process import ServerProcess, ServerStartError
from .socat import SocatPtyPair
from .tools import TOOLS, MissingToolError, Tool, in_ci, require
from .victoria import VictoriaMetrics
from .waiting import free_port, http_status, tcp_open, wait_for

__all__ = [
    "TOOLS",
    "HTTPStatusError",
    "InfluxDB1",
    "MissingToolError",
    "Mosquitto",
    "MosquittoTLS",
    "MqttConnectError",
    "MqttProbe",
    "ReceivedMessage",
    "ServerProcess",
    "ServerStartError",
    "SocatPtyPair",
    "TestPKI",
    "Tool",
    "VictoriaMetrics",
    "free_port",
    "hash_password",
    "http_status",
    "in_ci",
    "make_test_pki",
    "require",
    "tcp_open",
    "wait_for",
    "write_password_file",
]
