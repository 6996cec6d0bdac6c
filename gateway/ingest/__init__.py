"""MQTT -> InfluxDB ingest (central side): at least once, idempotent, scalable.

Package map (one concern per module)::

    config      IngestConfig and its parts, load_ingest_config (file:line errors)
    convert     topic + payload -> line-protocol Rows (contract parse, payload timestamps)
    windows     telemetry windows -> lines, the hot path (cached tags, orjson numbers)
    lineproto   line-protocol escaping and formatting, in bulk
    writer      one HTTP write (v2 /api/v2/write or v1 /write) -> Verdict by error class
    delivery    a batch until written or dead-lettered: retry, split (413), bisect (400)
    pipeline    the writer thread: rounds delivered in order, then acknowledged
    deadletter  SQLite dead-letter store
    model       Message, Rows, Pending and Round, the values passed between stages
    source      the paho-mqtt persistent session with manual ack; the network loop (poll)
    mqttclient  paho's Client with a lean path for plain PUBLISH packets
    partition   scale-out modes: static partitions, shared subscriptions
    metrics     IngestStats, the Prometheus collector, the console status line
    service     IngestService: the composition root and its loop
    setup       --init: database/bucket with retention, DBRP on 2.x

Programmatic use (e.g. inside ``hazard-gateway demo``)::

    stop = threading.Event()
    thread = threading.Thread(target=run_ingest, args=(config, stop), daemon=True)
    thread.start(); ...; stop.set(); thread.join()

Imports neither the edge, the simulator nor edge_core: the two sides meet over MQTT.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gateway.ingest.config import IngestConfig, load_ingest_config
from gateway.ingest.service import DEADLETTER_TOPIC, IngestService

__all__ = ["DEADLETTER_TOPIC", "IngestConfig", "IngestService", "load_ingest_config", "run_ingest"]


def run_ingest(
    config: IngestConfig,
    stop: threading.Event,
    on_status: Callable[[str], None] | None = None,
) -> IngestService:
    """Run one ingest worker in this thread until ``stop`` is set; return it (its stats)."""
    service = IngestService(config, on_status=on_status)
    service.run(stop)
    return service
