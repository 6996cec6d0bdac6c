"""The server classes in one place, for benches and tests that import them by this name."""

from __future__ import annotations

from .influxdb import InfluxDB1
from .mosquitto import Mosquitto, MosquittoTLS
from .process import ServerProcess, ServerStartError
from .socat import SocatPtyPair
from .victoria import VictoriaMetrics

__all__ = [
    "InfluxDB1",
    "Mosquitto",
    "MosquittoTLS",
    "ServerProcess",
    "ServerStartError",
    "SocatPtyPair",
    "VictoriaMetrics",
]
