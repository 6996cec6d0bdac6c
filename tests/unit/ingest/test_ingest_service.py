"""The worker loop without a broker: messages are injected into the source's queue and
the writer is in-process, so triage, partitions and dead-lettering run for real."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.ingest import IngestConfig, IngestService
from gateway.ingest.model import Message
from gateway.ingest.partition import Partition
from gateway.ingest.writer import Verdict, WriteResult


def _config(tmp_path: Path, partition: str | None = None) -> IngestConfig:
    scale = {"mode": "partition", "partition": partition} if partition else {"mode": "single"}
    return IngestConfig.model_validate(
        {
            "broker": {"url": "mqtt://127.0.0.1:9", "client_id": "unit"},
            "influxdb": {"url": "http://127.0.0.1:9", "api": "v1", "database": "x"},
            "deadletter": {"path": str(tmp_path / "dead.sqlite"), "publish": False},
            "metrics": {"port": 0},
            "batch": {"flush_interval_s": 0.05},
            "scale": scale,
        }
    )


def _telemetry(site: str) -> tuple[str, bytes]:
    window = TelemetryWindow("d1", 1764583200.0, 1.0, (PointWindow("p", 1, 2, 1.5, 2, 4),))
    return f"hazard/v1/ent/{site}/d1/telemetry", json.dumps(window.to_dict()).encode()


def _run(service: IngestService, messages: list[tuple[str, bytes]]) -> None:
    stop = threading.Event()
    for mid, (topic, payload) in enumerate(messages, start=1):
        service.source.messages.put(Message(mid, 0, 0, topic, payload))
    thread = threading.Thread(target=service.run, args=(stop,))
    thread.start()
    handled = len(messages)
    waited = threading.Event()
    while not waited.wait(0.02):
        s = service.stats
        done = s.messages_written + s.messages_ignored + s.messages_foreign
        if done + sum(s.deadletters.values()) >= handled and s.unacked == 0:
            break
    stop.set()
    thread.join(10)


def test_triage_writes_ours_ignores_others_and_dead_letters_the_malformed(
    tmp_path: Path,
) -> None:
    bodies: list[bytes] = []

    def write(body: bytes) -> WriteResult:
        bodies.append(body)
        return WriteResult(Verdict.OK)

    service = IngestService(_config(tmp_path), write=write)
    _run(
        service,
        [
            _telemetry("s1"),
            ("hazard/v1/ent/s1/manifest", b"{}"),
            ("hazard/v1/ent/s1/d1/telemetry", b"[1, 2"),
            ("hazard/v1/ent/s1/nothing/like/this", b"{}"),
            _telemetry("s2"),
        ],
    )
    assert service.stats.messages_written == 2 and service.stats.points_written == 2
    assert service.stats.messages_ignored == 1
    assert service.stats.deadletters == {"contract": 2}
    assert b"site=s1" in b"".join(bodies) and b"site=s2" in b"".join(bodies)


def test_a_partition_writes_only_its_own_sites(tmp_path: Path) -> None:
    mine = Partition(1, 2)
    sites = [f"s{i}" for i in range(8)]
    own = [s for s in sites if mine.owns("ent", s)]
    theirs = next(s for s in sites if s not in own)
    service = IngestService(_config(tmp_path, "1/2"), write=lambda _b: WriteResult(Verdict.OK))
    _run(service, [_telemetry(own[0]), _telemetry(theirs), ("hazard/v1/x/y/bad/bad", b"")])
    assert service.stats.messages_written == 1
    assert service.stats.messages_foreign == 2  # the stray topic is worker 0's to store
    assert service.stats.deadletters == {}
