"""The worker loop without a broker: an in-process source hands over injected messages and
the writer is in-process, so triage, partitions, dead-lettering and acks run for real."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.ingest import IngestConfig, IngestService
from gateway.ingest.model import Message
from gateway.ingest.partition import Partition
from gateway.ingest.writer import Verdict, WriteResult


def _config(tmp_path: Path, partition: str | None = None, max_messages: int = 1000) -> IngestConfig:
    scale = {"mode": "partition", "partition": partition} if partition else {"mode": "single"}
    return IngestConfig.model_validate(
        {
            "broker": {"url": "mqtt://127.0.0.1:9", "client_id": "unit"},
            "influxdb": {"url": "http://127.0.0.1:9", "api": "v1", "database": "x"},
            "deadletter": {"path": str(tmp_path / "dead.sqlite"), "publish": False},
            "metrics": {"port": 0},
            "batch": {"flush_interval_s": 0.05, "max_messages": max_messages},
            "scale": scale,
        }
    )


def _telemetry(site: str) -> tuple[str, bytes]:
    window = TelemetryWindow("d1", 1764583200.0, 1.0, (PointWindow("p", 1, 2, 1.5, 2, 4),))
    return f"hazard/v1/ent/{site}/d1/telemetry", json.dumps(window.to_dict()).encode()


class FakeSource:
    """Delivers the given messages in turns of ``turn``, records acks and publishes."""

    def __init__(self, messages: list[tuple[str, bytes]], turn: int = 2) -> None:
        self.pending = [Message(m, 1, 0, t, p) for m, (t, p) in enumerate(messages, start=1)]
        self.total = len(self.pending)
        self.turn = turn
        self.acked: list[int] = []
        self.published: list[str] = []
        self.started = self.stopped = False
        self.reads: list[bool] = []

    def start(self) -> None:
        self.started = True

    def poll(self, timeout: float, read: bool = True) -> list[Message]:
        self.reads.append(read)
        if not read:
            threading.Event().wait(min(timeout, 0.01))
            return []
        if not self.pending:
            threading.Event().wait(min(timeout, 0.01))
        taken, self.pending = self.pending[: self.turn], self.pending[self.turn :]
        return taken

    def ack_all(self, messages: Sequence[Message]) -> None:
        self.acked += [m.mid for m in messages]

    def publish(self, topic: str, payload: bytes) -> None:
        self.published.append(topic)

    def stop(self) -> None:
        self.stopped = True


def _run(service: IngestService, source: FakeSource) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,))
    thread.start()
    waited = threading.Event()
    while len(source.acked) < source.total and not waited.wait(0.02):
        pass
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and source.stopped


def test_triage_writes_ours_ignores_others_and_dead_letters_the_malformed(
    tmp_path: Path,
) -> None:
    bodies: list[bytes] = []

    def write(body: bytes) -> WriteResult:
        bodies.append(body)
        return WriteResult(Verdict.OK)

    source = FakeSource(
        [
            _telemetry("s1"),
            ("hazard/v1/ent/s1/manifest", b"{}"),
            ("hazard/v1/ent/s1/d1/telemetry", b"[1, 2"),
            ("hazard/v1/ent/s1/nothing/like/this", b"{}"),
            _telemetry("s2"),
        ]
    )
    service = IngestService(_config(tmp_path), write=write, source=source)
    _run(service, source)
    assert service.stats.messages_written == 2 and service.stats.points_written == 2
    assert service.stats.messages_ignored == 1
    assert service.stats.deadletters == {"contract": 2}
    assert b"site=s1" in b"".join(bodies) and b"site=s2" in b"".join(bodies)
    assert source.acked == [1, 2, 3, 4, 5]  # every message, in order, once its round is done


def test_no_message_is_acknowledged_before_its_rows_are_written(tmp_path: Path) -> None:
    source = FakeSource([_telemetry(f"s{mid}") for mid in range(1, 7)], turn=1)
    early: list[int] = []

    def write(body: bytes) -> WriteResult:
        early.extend(m for m in source.acked if f"site=s{m} ".encode() in body)
        return WriteResult(Verdict.OK)

    service = IngestService(_config(tmp_path), write=write, source=source)
    _run(service, source)
    assert source.acked == [1, 2, 3, 4, 5, 6] and early == []
    assert service.stats.unacked == 0


def test_a_partition_writes_only_its_own_sites(tmp_path: Path) -> None:
    mine = Partition(1, 2)
    sites = [f"s{i}" for i in range(8)]
    own = [s for s in sites if mine.owns("ent", s)]
    theirs = next(s for s in sites if s not in own)
    source = FakeSource([_telemetry(own[0]), _telemetry(theirs), ("hazard/v1/x/y/bad/bad", b"")])
    config = _config(tmp_path, "1/2")
    service = IngestService(config, write=lambda _b: WriteResult(Verdict.OK), source=source)
    _run(service, source)
    assert service.stats.messages_written == 1
    assert service.stats.messages_foreign == 2  # the stray topic is worker 0's to store
    assert service.stats.deadletters == {}


def test_a_stalled_writer_stops_reading_once_max_messages_wait(tmp_path: Path) -> None:
    source = FakeSource([_telemetry("s1") for _ in range(200)], turn=10)
    release = threading.Event()

    def write(_body: bytes) -> WriteResult:
        release.wait(10)
        return WriteResult(Verdict.OK)

    config = _config(tmp_path, max_messages=20)
    service = IngestService(config, write=write, source=source)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,))
    thread.start()
    waited = threading.Event()
    while source.reads.count(False) < 5 and not waited.wait(0.01):
        pass
    taken = 200 - len(source.pending)
    release.set()
    while len(source.acked) < source.total and not waited.wait(0.02):
        pass
    stop.set()
    thread.join(10)
    # one round writing, _AHEAD = 2 waiting, and max_messages unparsed (+ one turn): no more
    assert taken <= 20 * 3 + 20 + 10, taken
    assert source.acked == list(range(1, 201))
