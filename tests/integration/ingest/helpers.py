"""Shared by the ingest integration tests: configs, a worker thread, a load publisher,
and readers for InfluxDB 1.6.7 and VictoriaMetrics."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from gateway.contracts import AlarmEvent, AlarmKind, AlarmState, IsaState, telemetry_topic
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.contracts.topics import alarm_topic, status_topic
from gateway.ingest import IngestConfig, IngestService
from tests.harness import InfluxDB1, Mosquitto

__all__ = [
    "BIG_QUEUE",
    "LoadPublisher",
    "influx_rows",
    "make_config",
    "running_worker",
    "write_config",
]

# Mosquitto drops QoS 1 messages beyond 1000 queued for an offline or slow session by
# default; ingest's docs ask for a larger queue, and so do these tests.
BIG_QUEUE = "max_queued_messages 1000000\nmax_inflight_messages 0\n"


def make_config(
    tmp_path: Path, broker: Mosquitto, influx: dict[str, Any], **extra: Any
) -> IngestConfig:
    """An IngestConfig for ``broker`` and the back end described by ``influx``."""
    body: dict[str, Any] = {
        "broker": {"url": broker.url, "client_id": extra.pop("client_id", "ingest-test")},
        "influxdb": influx,
        "deadletter": {"path": str(tmp_path / f"dead-{time.monotonic_ns()}.sqlite")},
        "metrics": {"port": extra.pop("metrics_port", 0), "status_every_s": 0},
        "batch": {
            "max_points": 2000,
            "max_messages": 500,
            "flush_interval_s": 0.2,
            "max_backoff_s": 1.0,
        },
    }
    body.update(extra)
    return IngestConfig.model_validate(body)


def write_config(path: Path, config: IngestConfig) -> Path:
    """``config`` as a YAML file for `hazard-gateway ingest --config`."""
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_none=True)))
    return path


@contextmanager
def running_worker(config: IngestConfig) -> Iterator[IngestService]:
    """An ingest worker in a thread, stopped (and joined) on exit."""
    stop = threading.Event()
    service = IngestService(config)
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive(), "ingest worker did not stop"


class LoadPublisher:
    """Publishes telemetry windows (QoS 1) for ``sites`` x ``devices`` at a fixed rate,
    remembering what it published: ``published[(site, device, ts_ms)] = window``."""

    def __init__(self, broker: Mosquitto, enterprise: str, sites: int, devices: int = 2) -> None:
        self.enterprise = enterprise
        self.sites = [f"site-{i}" for i in range(sites)]
        self.devices = [f"dev-{i}" for i in range(devices)]
        self.published: dict[tuple[str, str, int], TelemetryWindow] = {}
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"load-{id(self)}")
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # an hour ago (VictoriaMetrics refuses the future), distinct per run
        self._start = float(int(time.time()) - 3600 - time.time_ns() % 100_000)

    def window(self, n: int, device: str) -> TelemetryWindow:
        """The n-th window of a device: two points with values derived from n."""
        points = (
            PointWindow("gas", n * 0.5, n * 0.5 + 2, n * 0.5 + 1, n * 0.5 + 1.5, 10),
            PointWindow("temp", 20.0 + n % 7, 21.0 + n % 7, 20.5 + n % 7, 20.25 + n % 7, 10),
        )
        return TelemetryWindow(device, self._start + n, 1.0, points)

    def publish_round(self, n: int) -> None:
        """One window for every device of every site."""
        for site in self.sites:
            for device in self.devices:
                window = self.window(n, device)
                topic = telemetry_topic(self.enterprise, site, device)
                info = self._client.publish(topic, json.dumps(window.to_dict()), qos=1)
                info.wait_for_publish(10)
                self.published[(site, device, round(window.start * 1000))] = window

    def run(self, rate_hz: float) -> None:
        """Publish rounds at ``rate_hz`` in a thread until :meth:`stop`."""

        def loop() -> None:
            n = 0
            while not self._stop.wait(1 / rate_hz):
                self.publish_round(n)
                n += 1

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def alarm(self, site: str, seq: int) -> AlarmEvent:
        """Publish one alarm event and return it."""
        event = AlarmEvent.create(
            seq=seq,
            enterprise=self.enterprise,
            site=site,
            device="dev-0",
            point="gas",
            kind=AlarmKind.H,
            state=AlarmState.ACTIVE,
            value=26.5 + seq,
            limit=25.0,
            unit="%LEL",
            ts=self._start + seq,
            isa_state=IsaState.UNACK,
            first_out=seq == 1,
        )
        topic = alarm_topic(self.enterprise, site, "dev-0", "gas")
        self._client.publish(topic, json.dumps(event.to_dict()), qos=1).wait_for_publish(10)
        return event

    def raw(self, topic: str, payload: bytes | str) -> None:
        """Publish anything (malformed floods)."""
        self._client.publish(topic, payload, qos=1).wait_for_publish(10)

    def status_topic(self, site: str) -> str:
        return status_topic(self.enterprise, site)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._client.loop_stop()
        self._client.disconnect()


def influx_rows(server: InfluxDB1, db: str, q: str) -> list[dict[str, Any]]:
    """Rows of ``q`` across all series as dicts (tags merged in; time in ns)."""
    results = server.query(q, db).get("results", [{}])
    rows: list[dict[str, Any]] = []
    for series in results[0].get("series", []) if results else []:
        tags = series.get("tags", {})
        for values in series["values"]:
            rows.append({**tags, **dict(zip(series["columns"], values, strict=True))})
    return rows


def same(a: float, b: float | None) -> bool:
    """Equal floats (NaN equals absent)."""
    if b is None:
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)


Key = tuple[str, str, str, int]  # site, device, point, ms


def published_points(publisher: LoadPublisher) -> dict[Key, tuple[float, float, float, float, int]]:
    """What the publisher sent, per series and time: (min, max, mean, last, count)."""
    out = {}
    for (site, device, ms), window in publisher.published.items():
        for p in window.points:
            out[(site, device, p.key, ms)] = (p.min, p.max, p.mean, p.last, p.count)
    return out


def written_points(
    server: InfluxDB1, db: str, enterprise: str
) -> dict[Key, tuple[float, float, float, float, int]]:
    """The telemetry rows of ``enterprise`` in InfluxDB, keyed like published_points."""
    q = (
        'SELECT "min", "max", "mean", "last", "count", site, device, point FROM telemetry '
        f"WHERE enterprise = '{enterprise}'"
    )
    rows = influx_rows(server, db, q)
    out = {
        (r["site"], r["device"], r["point"], r["time"] // 1_000_000): (
            r["min"],
            r["max"],
            r["mean"],
            r["last"],
            r["count"],
        )
        for r in rows
    }
    assert len(out) == len(rows), "two rows for one series and time"
    return out


def count_rows(server: InfluxDB1, db: str, enterprise: str) -> int:
    """How many telemetry rows of ``enterprise`` are stored."""
    q = f"SELECT count(\"last\") FROM telemetry WHERE enterprise = '{enterprise}'"
    values = server.series_values(q, db)
    return int(values[0][1]) if values else 0
