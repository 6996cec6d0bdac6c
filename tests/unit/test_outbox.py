"""Unit tests of the durable outbox (gateway/outbox): order, durability, quota, replay."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import gateway.outbox as outbox_pkg
import gateway.outbox.store as outbox_store
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.contracts.topics import alarm_topic, telemetry_topic
from gateway.errors import GatewayError
from gateway.outbox import (
    Lane,
    Outbox,
    OutboxError,
    OutboxMessage,
    is_replay,
    mark_replayed,
)
from gateway.outbox.fallback import MemoryLane
from gateway.outbox.quota import row_bytes, thin_victims

BIG = 1 << 40  # a quota that never thins


class Clock:
    """Injected time: starts at a fixed epoch, moves only when told."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "outbox.sqlite"


@pytest.fixture
def box(db: Path) -> Iterator[Outbox]:
    with Outbox(db, quota_bytes=BIG) as outbox:
        yield outbox


def _f32(rng: random.Random) -> float:
    return float(np.float32(rng.uniform(0.0, 100.0)))


def real_telemetry(device: str, start: float, points: int, rng: random.Random) -> bytes:
    """A telemetry payload exactly as the edge service builds it."""
    pts = tuple(
        PointWindow(f"point-{k}", _f32(rng), _f32(rng), rng.uniform(0, 100), _f32(rng), 10)
        for k in range(points)
    )
    window = TelemetryWindow(device, start, 5.0, pts)
    return json.dumps(window.to_dict()).encode()


def tele(device: str = "gas-01", n: int = 0) -> tuple[Lane, str, bytes, int]:
    topic = telemetry_topic("demo-chem", "tank-farm-1", device)
    return Lane.TELEMETRY, topic, json.dumps({"device": device, "n": n}).encode(), 0


def alarm_payload(point: str, seq: int) -> bytes:
    return json.dumps({"point": point, "seq": seq, "state": "active"}).encode()


def used_bytes(outbox: Outbox) -> int:
    conn = outbox._live()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * conn.execute("PRAGMA page_size").fetchone()[0])


# -- public surface ---------------------------------------------------------------------


def test_all_names_exist() -> None:
    for name in outbox_pkg.__all__:
        assert hasattr(outbox_pkg, name), name
    assert issubclass(OutboxError, GatewayError)
    assert Outbox.default_quota is outbox_pkg.default_quota


# -- order ----------------------------------------------------------------------------------


def test_alarms_come_before_telemetry_whatever_the_insertion_order(box: Outbox) -> None:
    a_topic = alarm_topic("e", "s", "gas-01", "lel")
    kinds = [Lane.TELEMETRY, Lane.ALARM, Lane.TELEMETRY, Lane.TELEMETRY, Lane.ALARM]
    ids = [box.put(lane, a_topic, f'{{"i": {i}}}'.encode(), 1) for i, lane in enumerate(kinds)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    got = box.peek(10)
    assert [m.lane for m in got] == [Lane.ALARM] * 2 + [Lane.TELEMETRY] * 3
    assert [m.id for m in got] == [ids[1], ids[4], ids[0], ids[2], ids[3]]
    assert box.peek(10) == got  # peek does not remove
    assert [m.id for m in box.peek(1)] == [ids[1]]
    assert [m.id for m in box.peek(10, lane=Lane.TELEMETRY)] == [ids[0], ids[2], ids[3]]


def test_put_many_returns_ids_in_order_and_ack_removes(box: Outbox) -> None:
    ids = box.put_many([tele(n=i) for i in range(100)])
    assert ids == list(range(ids[0], ids[0] + 100))
    box.ack(ids[:60])
    left = box.peek(1000)
    assert [m.id for m in left] == ids[60:]
    s = box.stats()
    assert (s.queued_telemetry, s.put_telemetry, s.sent, s.replayed) == (40, 100, 60, 0)
    box.ack(ids[:60])  # acking twice is harmless and counts nothing
    assert box.stats().sent == 60


def test_message_fields_round_trip(box: Outbox) -> None:
    payload = bytes(range(256))  # any bytes
    mid = box.put(Lane.ALARM, "hazard/v1/é/s/alarm/d/p", payload, 1)
    box.mark_attempt([mid])
    box.mark_attempt([mid])
    (msg,) = box.peek(5)
    assert msg == OutboxMessage(
        mid, Lane.ALARM, "hazard/v1/é/s/alarm/d/p", payload, 1, msg.created, 2
    )


def test_bad_arguments_are_refused(box: Outbox) -> None:
    with pytest.raises(ValueError, match="qos"):
        box.put(Lane.ALARM, "t", b"{}", 3)
    with pytest.raises(TypeError, match="bytes"):
        box.put(Lane.ALARM, "t", "{}", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        box.put(7, "t", b"{}", 1)
    assert box.put_many([]) == []
    assert box.stats().put_alarms == 0


# -- durability across restarts --------------------------------------------------------------


def test_messages_counters_and_order_survive_reopen(db: Path) -> None:
    with Outbox(db, quota_bytes=BIG) as box:
        first = [box.put(Lane.ALARM, "a/p1", alarm_payload("p1", i), 1) for i in range(5)]
        box.put_many([tele(n=i) for i in range(5)])
        box.ack(first[:2])
        before = box.stats()
    with Outbox(db, quota_bytes=BIG) as box:
        after = box.stats()
        assert (after.queued_alarms, after.queued_telemetry) == (3, 5)
        assert (after.sent, after.put_alarms, after.put_telemetry) == (2, 5, 5)
        assert after.bytes_on_disk == before.bytes_on_disk == box.recount()[2]
        later = box.put(Lane.ALARM, "a/p1", alarm_payload("p1", 5), 1)
        assert later > max(first)
        alarms = [m for m in box.peek(100) if m.lane is Lane.ALARM]
        assert [json.loads(m.payload)["seq"] for m in alarms] == [2, 3, 4, 5]
        box.ack([m.id for m in box.peek(100)])
    with Outbox(db, quota_bytes=BIG) as box:  # ids never reused, even after the queue emptied
        assert box.put(Lane.ALARM, "a/p1", alarm_payload("p1", 6), 1) > later
        assert box.stats().sent == 11


def test_database_settings(box: Outbox) -> None:
    conn = box._live()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL for puts
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    plan = conn.execute("EXPLAIN QUERY PLAN SELECT id FROM messages ORDER BY lane, id").fetchall()
    assert "TEMP B-TREE" not in str(plan)


def test_not_a_database_names_the_path_and_the_remedy(tmp_path: Path) -> None:
    bad = tmp_path / "outbox.sqlite"
    bad.write_bytes(b"this is not sqlite, just some text that got here somehow" * 100)
    with pytest.raises(OutboxError, match="move it aside") as info:
        Outbox(bad, quota_bytes=BIG)
    assert str(bad) in str(info.value)


def test_newer_schema_is_refused(db: Path) -> None:
    Outbox(db, quota_bytes=BIG).close()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    with pytest.raises(OutboxError, match="schema version 99"):
        Outbox(db, quota_bytes=BIG)


def test_folder_is_created_and_closed_outbox_refuses(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "outbox.sqlite"
    box = Outbox(db, quota_bytes=BIG)
    assert db.exists()
    box.close()
    box.close()  # idempotent
    with pytest.raises(OutboxError, match="closed"):
        box.put(Lane.ALARM, "t", b"{}", 1)
    with pytest.raises(ValueError):
        Outbox(db, quota_bytes=0)


# -- quota and thinning ------------------------------------------------------------------


def fill(box: Outbox, devices: int, rounds: int, points: int = 4, batch: int = 20) -> list[int]:
    rng = random.Random(7)
    ids: list[int] = []
    items = [
        (
            Lane.TELEMETRY,
            telemetry_topic("e", "s", f"dev-{d}"),
            real_telemetry(f"dev-{d}", 1e9 + 5 * r, points, rng),
            0,
        )
        for r in range(rounds)
        for d in range(devices)
    ]
    for start in range(0, len(items), batch):
        ids += box.put_many(items[start : start + batch])
    return ids


def test_thinning_drops_only_telemetry_keeps_a_coarse_history_and_counts(db: Path) -> None:
    quota = 400_000
    with Outbox(db, quota_bytes=quota) as box:
        alarms = [box.put(Lane.ALARM, f"a/p{i % 3}", alarm_payload("p", i), 1) for i in range(50)]
        ids = fill(box, devices=10, rounds=300)  # about 3x the quota
        s = box.stats()
        assert s.thinned > 0
        assert s.bytes_on_disk <= quota
        assert s.queued_telemetry + s.thinned == s.put_telemetry == len(ids)
        assert (s.queued_alarms, s.queued_telemetry, s.bytes_on_disk) == box.recount()
        left = box.peek(10_000)
        assert [m.id for m in left if m.lane is Lane.ALARM] == alarms
        per_device: dict[str, list[int]] = {}
        for m in left:
            if m.lane is Lane.TELEMETRY:
                per_device.setdefault(m.topic, []).append(m.id)
        assert len(per_device) == 10  # no device vanished
        for kept in per_device.values():
            assert kept[0] in ids[:10]  # each device's oldest window is still there
            assert kept[-1] in ids[-10:]  # and its newest
    with Outbox(db, quota_bytes=quota) as box:
        assert box.stats().thinned == s.thinned


def test_alarms_over_quota_are_all_kept_with_one_warning(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.outbox")
    with Outbox(db, quota_bytes=50_000) as box:
        fill(box, devices=2, rounds=5)
        ids = [box.put(Lane.ALARM, "a/p", alarm_payload("p", i) * 20, 1) for i in range(200)]
        s = box.stats()
        assert s.queued_alarms == 200 and s.bytes_on_disk > 50_000
        assert s.queued_telemetry == 0 and s.thinned == 10
        assert [m.id for m in box.peek(1000)] == ids
        warnings = [r for r in caplog.records if "keeping every alarm" in r.getMessage()]
        assert len(warnings) == 1


def test_thin_victims_is_every_second_row_per_topic() -> None:
    rows = [(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "a"), (6, "c")]
    assert thin_victims(rows) == [3, 4]
    assert thin_victims([(9, "a"), (10, "b")]) == [9]  # nothing to halve: the oldest goes
    assert thin_victims([]) == []


def test_disk_full_makes_room_by_thinning_telemetry(db: Path) -> None:
    with Outbox(db, quota_bytes=BIG) as box:
        fill(box, devices=4, rounds=100)
        conn = box._live()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        big = alarm_payload("p", 0) * 100  # needs new pages
        mid = box.put(Lane.ALARM, "a/p", big, 1)
        assert box.peek(1)[0].id == mid
        assert box.stats().thinned > 0


@pytest.mark.parametrize("points", [0, 1, 4, 8, 16, 32])
def test_row_bytes_matches_the_pages_sqlite_uses(db: Path, points: int) -> None:
    with Outbox(db, quota_bytes=BIG) as box:
        empty = used_bytes(box)  # schema, counters: a few fixed pages
        fill(box, devices=20, rounds=60, points=points, batch=200)
        accounted = box.stats().bytes_on_disk
        assert 0.9 < (used_bytes(box) - empty) / accounted < 1.1


def test_default_quota_holds_seven_days_of_real_telemetry() -> None:
    devices, points, window = 20, 8, 5.0
    quota = Outbox.default_quota([points] * devices, [window] * devices)
    rng = random.Random(3)
    topic = telemetry_topic("demo-chemical-enterprise", "tank-farm-north-1", "device-name-00")
    real = max(
        row_bytes(len(topic) + len(real_telemetry("device-name-00", 1e9, points, rng)))
        for _ in range(50)
    )
    week = devices * 7 * 86_400 / window * real
    print(
        f"\ndefault quota {quota / 2**30:.2f} GiB for 7 days of 20 x 8 points at 5 s "
        f"(real rows {week / 2**30:.2f} GiB)"
    )
    assert week <= quota * 0.9  # fits even below the thinning target
    assert quota < 1.6 * week  # and is not wildly generous
    assert Outbox.default_quota([], []) == 1 << 20
    assert Outbox.default_quota([8], [5.0], days=14) > Outbox.default_quota([8], [5.0])
    with pytest.raises(ValueError):
        Outbox.default_quota([8], [])
    with pytest.raises(ValueError):
        Outbox.default_quota([8], [0.0])


# -- replay ----------------------------------------------------------------------------------


def _msg(attempts: int = 0, created: float = 100.0, mid: int = 1) -> OutboxMessage:
    return OutboxMessage(mid, Lane.ALARM, "t", b"{}", 1, created, attempts)


@pytest.mark.parametrize(
    ("attempts", "created", "expected"),
    [(0, 100.0, False), (1, 100.0, True), (0, 99.9, True), (0, 150.0, False)],
)
def test_is_replay(attempts: int, created: float, expected: bool) -> None:
    assert is_replay(_msg(attempts, created), session_start=100.0) is expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"a": 1}', b'{"a":1,"replayed":true}'),
        ('{"nom": "é"}'.encode(), '{"nom":"é","replayed":true}'.encode()),
        (b"[1, 2]", b"[1, 2]"),
        (b"not json", b"not json"),
        (b"\xff\xfe", b"\xff\xfe"),
        (b"", b""),
    ],
)
def test_mark_replayed(payload: bytes, expected: bytes) -> None:
    assert mark_replayed(payload) == expected


def test_replays_are_recognised_and_counted_even_if_the_clock_steps_back(db: Path) -> None:
    clock = Clock()
    with Outbox(db, quota_bytes=BIG, clock=clock) as box:
        old = box.put(Lane.ALARM, "a/p", alarm_payload("p", 0), 1)
        box.mark_attempt([old])  # published, but the PUBACK never came
    clock.now -= 3600  # NTP stepped the clock back during the restart
    with Outbox(db, quota_bytes=BIG, clock=clock) as box:
        fresh = box.put(Lane.ALARM, "a/p", alarm_payload("p", 1), 1)
        m_old, m_fresh = box.peek(10)
        assert box.is_replay(m_old) and not box.is_replay(m_fresh)
        box.begin_session()  # a reconnect: everything stored so far is now stale
        assert box.is_replay(box.peek(10)[1])
        box.mark_attempt([old, fresh])
        box.ack([old, fresh])
        assert (box.stats().sent, box.stats().replayed) == (2, 2)
    with Outbox(db, quota_bytes=BIG, clock=clock) as box:
        mid = box.put(Lane.ALARM, "a/p", alarm_payload("p", 2), 1)
        box.mark_attempt([mid])
        box.ack([mid])
        assert (box.stats().sent, box.stats().replayed) == (3, 2)


# -- latency ---------------------------------------------------------------------------------


def test_put_latency(box: Outbox) -> None:
    rng = random.Random(1)
    batch = [
        (
            Lane.TELEMETRY,
            telemetry_topic("e", "s", f"d{i % 20}"),
            real_telemetry("d", 1e9, 8, rng),
            0,
        )
        for i in range(10_000)
    ]
    started = time.perf_counter()
    box.put_many(batch)
    bulk = time.perf_counter() - started
    singles = []
    for i in range(200):
        started = time.perf_counter()
        box.put(Lane.ALARM, "a/p", alarm_payload("p", i), 1)
        singles.append(time.perf_counter() - started)
    peeks = []
    for _ in range(200):
        started = time.perf_counter()
        box.peek(64)
        peeks.append(time.perf_counter() - started)
    singles.sort()
    print(
        f"\nput_many 10,000 telemetry: {bulk * 1e3:.0f} ms; alarm put (synchronous=FULL) "
        f"median {statistics.median(singles) * 1e3:.2f} ms p99 {singles[197] * 1e3:.2f} ms; "
        f"peek(64) median {statistics.median(peeks) * 1e3:.3f} ms"
    )
    assert bulk < 1.0


# -- model-based test ----------------------------------------------------------------------


class OutboxModel(RuleBasedStateMachine):
    """Random put / ack / attempt / reopen against a list kept in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-model-"))
        self.path = self.dir / "o.sqlite"
        self.box = Outbox(self.path, quota_bytes=BIG)
        self.model: list[tuple[int, Lane, str, bytes]] = []  # in insertion order
        self.attempts: dict[int, int] = {}
        self.sent = 0
        self.seq = 0

    def expected(self) -> list[int]:
        return [m[0] for m in sorted(self.model, key=lambda m: (m[1], m[0]))]

    @rule(lane=st.sampled_from(Lane), point=st.sampled_from(["p1", "p2", "p3"]))
    def put(self, lane: Lane, point: str) -> None:
        self.seq += 1
        payload = alarm_payload(point, self.seq)
        mid = self.box.put(lane, point, payload, 1)
        assert not self.model or mid > max(m[0] for m in self.model)
        self.model.append((mid, lane, point, payload))
        self.attempts[mid] = 0

    @rule(n=st.integers(1, 20))
    def put_many(self, n: int) -> None:
        items = [tele(f"d{i % 3}", self.seq + i) for i in range(n)]
        self.seq += n
        for mid, item in zip(self.box.put_many(items), items, strict=True):
            self.model.append((mid, item[0], item[1], item[2]))
            self.attempts[mid] = 0

    @precondition(lambda self: self.model)
    @rule(n=st.integers(1, 10), attempt=st.booleans())
    def send_and_ack(self, n: int, attempt: bool) -> None:
        ids = [m.id for m in self.box.peek(n)]
        if attempt:
            self.box.mark_attempt(ids)
            for i in ids:
                self.attempts[i] += 1
        self.box.ack(ids)
        self.model = [m for m in self.model if m[0] not in ids]
        self.sent += len(ids)

    @rule()
    def reopen(self) -> None:
        self.box.close()
        self.box = Outbox(self.path, quota_bytes=BIG)

    @invariant()
    def same_order_and_counters(self) -> None:
        got = self.box.peek(10_000)
        assert [m.id for m in got] == self.expected()
        by_id = {m[0]: m for m in self.model}
        for m in got:
            assert (m.lane, m.topic, m.payload) == by_id[m.id][1:]
            assert m.attempts == self.attempts[m.id]
        s = self.box.stats()
        assert (s.queued_alarms, s.queued_telemetry, s.bytes_on_disk) == self.box.recount()
        assert s.sent == self.sent

    def teardown(self) -> None:
        self.box.close()
        shutil.rmtree(self.dir, ignore_errors=True)


OutboxModel.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_outbox_model = OutboxModel.TestCase


# -- a full disk (issue 9): alarms kept and sent, telemetry thinned, start degraded -------


@pytest.fixture(name="small_disk")
def fixture_small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB file system (tmpfs) to fill up; mounting needs root, as CI runs."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full-disk test mounts a small tmpfs, which needs root (CI is root)")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill_disk(where: Path, name: str = "filler") -> int:
    """Write zeros to ``where/name`` until the file system is full; the bytes written."""
    written = 0
    with (where / name).open("ab", buffering=0) as stream:
        block = bytes(64 * 1024)
        while True:
            try:
                written += stream.write(block)
            except OSError:
                break
        while True:  # the last few bytes
            try:
                written += stream.write(b"\0" * 512)
            except OSError:
                return written


def _alarm(i: int) -> bytes:
    return json.dumps({"event_id": f"e{i:05d}", "n": i}).encode()


def _padded(i: int) -> bytes:
    return json.dumps({"event_id": f"e{i:05d}", "n": i, "pad": "x" * 1500}).encode()


def test_on_a_full_disk_telemetry_is_thinned_and_every_alarm_is_kept_and_sent(
    small_disk: Path,
) -> None:
    box = Outbox(small_disk / "outbox.sqlite", quota_bytes=BIG, reserve_bytes=1 << 20)
    assert box.stats().reserve_held
    telemetry = b"t" * 600
    for _ in range(800):
        box.put(Lane.TELEMETRY, "hazard/v1/e/s/d/telemetry", telemetry, 0)
    fill_disk(small_disk)
    alarms = 0
    for i in range(2000):  # used to raise "database or disk is full" on every put
        box.put(Lane.TELEMETRY, "hazard/v1/e/s/d/telemetry", telemetry, 0)
        if i % 20 == 0:
            box.put(Lane.ALARM, "hazard/v1/e/s/alarm/d/p", _alarm(alarms), 1)
            alarms += 1
    stats = box.stats()
    assert stats.thinned > 0, "thinning must free room on a full disk"
    assert not stats.reserve_held, "the reserve was given up to make that possible"
    assert stats.queued_alarms == alarms
    batch = box.peek(500, lane=Lane.ALARM)
    assert [json.loads(m.payload)["n"] for m in batch] == list(range(alarms))
    box.mark_attempt([m.id for m in batch])  # used to fail and hold every send back
    box.ack([m.id for m in batch])
    assert box.peek(500, lane=Lane.ALARM) == []
    assert box.stats().sent >= alarms
    box.close()


def test_alarms_the_disk_refuses_wait_in_memory_in_order_and_go_to_disk_later(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "outbox.sqlite", quota_bytes=BIG, reserve_bytes=0)
    assert box._conn is not None
    pages = box._conn.execute("PRAGMA page_count").fetchone()[0]
    box._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # a full disk, to SQLite
    ids = [box.put(Lane.ALARM, "a/d/p", _padded(i), 1) for i in range(10)]
    assert any(i < 0 for i in ids), "some alarms must have gone to memory"
    stats = box.stats()
    assert stats.memory_alarms > 0 and stats.degraded and stats.queued_alarms == 10
    order = [json.loads(m.payload)["n"] for m in box.peek(100)]
    assert order == list(range(10))
    box._conn.execute("PRAGMA max_page_count = 1000000")  # space again
    box.put(Lane.ALARM, "a/d/p", _padded(10), 1)
    stats = box.stats()
    assert stats.memory_alarms == 0 and not stats.degraded and stats.queued_alarms == 11
    assert all(m.id > 0 for m in box.peek(100))
    order = [json.loads(m.payload)["n"] for m in box.peek(100)]
    assert order == list(range(11))
    box.close()


def test_telemetry_in_memory_is_bounded_and_what_is_dropped_is_counted() -> None:
    lane = MemoryLane(telemetry_limit=5)
    ids = [lane.put(Lane.TELEMETRY, "t", bytes([i]), 0, 0.0) for i in range(12)]
    lane.put(Lane.ALARM, "a", b"alarm", 1, 0.0)
    assert ids == list(range(-1, -13, -1)), "ids are negative and only shrink"
    assert [m.payload for m in lane.telemetry] == [bytes([i]) for i in range(7, 12)]
    assert lane.dropped_telemetry == 7 and len(lane.alarms) == 1


def test_an_outbox_on_a_completely_full_disk_starts_degraded_and_keeps_its_backlog(
    small_disk: Path,
) -> None:
    path = small_disk / "outbox.sqlite"
    box = Outbox(path, quota_bytes=BIG, reserve_bytes=1 << 20)
    for i in range(50):
        box.put(Lane.ALARM, "a/d/p", _alarm(i), 1)
    box.close()
    fill_disk(small_disk)
    box = Outbox(path, quota_bytes=BIG, reserve_bytes=1 << 20)  # used to refuse to start
    fill_disk(small_disk, "filler-2")  # whatever the released reserve gave back
    box.put(Lane.ALARM, "a/d/p", _alarm(50), 1)
    batch = box.peek(100)
    assert [json.loads(m.payload)["n"] for m in batch] == list(range(51))
    box.mark_attempt([m.id for m in batch])
    box.ack([m.id for m in batch])
    assert box.peek(100) == [], "sent messages are not sent again, even if not yet deleted"
    box.close()
    (small_disk / "filler").unlink()
    (small_disk / "filler-2").unlink()
    box = Outbox(path, quota_bytes=BIG, reserve_bytes=1 << 20)
    assert not box.stats().degraded
    box.close()


def test_a_full_disk_is_never_advised_away_by_moving_the_outbox(tmp_path: Path) -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    error = OutboxError("outbox x: the disk is full")
    error.__cause__ = full
    assert outbox_store._disk_trouble(error)
    corrupt = sqlite3.DatabaseError("file is not a database")
    corrupt.sqlite_errorcode = sqlite3.SQLITE_NOTADB
    error.__cause__ = corrupt
    assert not outbox_store._disk_trouble(error)
