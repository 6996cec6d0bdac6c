"""Ingest bench: one worker's MQTT -> InfluxDB points/s beside a plain POST loop.

    python3 bench/ingest.py               # 10-minute backlog of 100 devices x 20 points
    python3 bench/ingest.py --devices 50 --minutes 2
    python3 bench/ingest.py --quick       # 20 devices x 1 minute (< 60 s; run by
                                          # tests/integration/ingest/test_ingest_bench_quick.py)

What one run does, for VictoriaMetrics (v2 API) and InfluxDB 1.6.7 (v1 /write), each
started by the test harness on loopback:

1. **plain POST loop** (the server's own limit): the same line protocol the worker
   writes, pre-serialised into bodies of ``--batch`` lines, POSTed back to back by one
   httpx client; points/s. It runs once before and once after the worker (new
   timestamps each time, same series) and the mean is the baseline, since servers slow
   down as they fill;
2. **backlog**: the worker's persistent session is created (connect, subscribe, leave),
   then ``--minutes`` of telemetry windows (1 per device per second, ``--points`` per
   window) are published with QoS 1 while it is away, so Mosquitto holds them;
3. **worker**: an IngestService (this process, its own thread) drains the backlog;
   points/s from its first to its last write, CPU seconds of this process per point
   (only the worker runs then; also split by thread: the worker's MQTT + parsing thread,
   its writer thread, and the rest: this bench's sampling loop), and peak RSS growth
   while draining (the backlog stays in the broker: the worker holds at most the
   receive maximum of messages).

Prints ratio = worker / plain POST per server and PASS/MISS against DESIGN.md (>= 0.5).
Exit 1 only when something broke (not every point written); a MISS is printed, not raised.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gateway.contracts import telemetry_topic  # noqa: E402
from gateway.contracts.telemetry import PointWindow, TelemetryWindow  # noqa: E402
from gateway.ingest import IngestConfig, IngestService  # noqa: E402
from gateway.ingest.convert import classify, to_rows  # noqa: E402
from tests.harness import InfluxDB1, Mosquitto, VictoriaMetrics  # noqa: E402

TARGET = 0.5
QUEUE = "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
START = float(int(time.time()) - 86400)  # a day ago: VictoriaMetrics refuses the future


def windows(devices: int, seconds: range, points: int, enterprise: str) -> list[tuple[str, bytes]]:
    """(topic, payload) of every telemetry window of the backlog."""
    out = []
    for s in seconds:
        for d in range(devices):
            device = f"dev-{d:03d}"
            pts = tuple(
                PointWindow(f"p{p:02d}", s + p * 0.5, s + p + 2.0, s + p + 1.0, s + p + 1.5, 10)
                for p in range(points)
            )
            window = TelemetryWindow(device, START + s, 1.0, pts)
            topic = telemetry_topic(enterprise, f"site-{d // 10}", device)
            out.append((topic, json.dumps(window.to_dict()).encode()))
    return out


def lines_of(messages: list[tuple[str, bytes]]) -> list[str]:
    """The line protocol the worker writes for ``messages``."""
    out: list[str] = []
    for topic, payload in messages:
        info = classify(topic)
        assert info is not None
        out += to_rows(info, payload).lines
    return out


def post_loop(url: str, params: dict[str, str], lines: list[str], batch: int) -> float:
    """Points/s of back-to-back POSTs of pre-serialised bodies."""
    bodies = ["\n".join(lines[i : i + batch]).encode() for i in range(0, len(lines), batch)]
    with httpx.Client(params=params, timeout=60) as client:
        started = time.perf_counter()
        for body in bodies:
            client.post(url, content=body).raise_for_status()
        return len(lines) / (time.perf_counter() - started)


def publish_backlog(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    """Publish everything with QoS 1 and wait for the broker's PUBACKs."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(120)
    client.loop_stop()
    client.disconnect()


@dataclass(frozen=True)
class WorkerRun:
    """What one worker's drain measured."""

    points: int
    rate: float  # points/s from the first write to the last
    cpu_us: float  # CPU µs of this process per point
    threads_us: dict[str, float]  # the same by thread: ingest, ingest-writer, other
    rss_mb: float
    dead: int


def run_worker(config: IngestConfig, total_points: int, timeout: float) -> WorkerRun:
    """Drain the backlog with one worker; its points/s, CPU s per point (in all and by
    thread), RSS growth."""
    me = psutil.Process()
    stop = threading.Event()
    service = IngestService(config)
    rss0, cpu0 = me.memory_info().rss, time.process_time()
    threads0 = _thread_cpu(me)
    thread = threading.Thread(target=service.run, args=(stop,), name="ingest", daemon=True)
    started = time.perf_counter()
    thread.start()
    peak, first = rss0, None
    names: dict[int, str] = {}
    deadline = started + timeout
    while service.stats.points_written < total_points and time.perf_counter() < deadline:
        time.sleep(0.05)
        peak = max(peak, me.memory_info().rss)
        names.update((t.native_id or 0, t.name) for t in threading.enumerate())
        if first is None and service.stats.points_written:
            first = time.perf_counter()
    elapsed = time.perf_counter() - (first or started)
    cpu = time.process_time() - cpu0
    written = service.stats.points_written
    by_thread: dict[str, float] = {}
    for tid, seconds in _thread_cpu(me).items():
        name = names.get(tid, "other")
        name = name if name in ("ingest", "ingest-writer") else "other"
        by_thread[name] = by_thread.get(name, 0.0) + (seconds - threads0.get(tid, 0.0))
    stop.set()
    thread.join(30)
    return WorkerRun(
        points=written,
        rate=written / elapsed if elapsed > 0 else 0.0,
        cpu_us=cpu / max(written, 1) * 1e6,
        threads_us={k: v / max(written, 1) * 1e6 for k, v in by_thread.items()},
        rss_mb=(peak - rss0) / 2**20,
        dead=sum(service.stats.deadletters.values()),
    )


def _thread_cpu(me: psutil.Process) -> dict[int, float]:
    """CPU seconds so far of each thread of this process, by native thread id."""
    return {t.id: t.user_time + t.system_time for t in me.threads()}


def make_config(broker: Mosquitto, influx: dict[str, Any], tmp: Path, batch: int) -> IngestConfig:
    return IngestConfig.model_validate(
        {
            "broker": {"url": broker.url, "client_id": f"bench-{influx['api']}"},
            "influxdb": influx,
            "deadletter": {"path": str(tmp / f"dead-{influx['api']}.sqlite"), "publish": False},
            "metrics": {"port": 0, "status_every_s": 0},
            "batch": {"max_points": batch, "max_messages": 2000, "flush_interval_s": 0.5},
        }
    )


def create_session(config: IngestConfig) -> None:
    """Start and stop the worker once so the broker keeps its session and queues for it."""
    stop = threading.Event()
    service = IngestService(config)
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not service.stats.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # SUBACK
    stop.set()
    thread.join(10)


def bench_server(
    name: str, broker: Mosquitto, server: Any, args: argparse.Namespace, tmp: Path
) -> bool:
    if name == "victoria-metrics":
        influx = {"url": server.url, "api": "v2", "org": "bench", "bucket": "bench"}
        url, params = (
            f"{server.url}/api/v2/write",
            {"org": "bench", "bucket": "bench", "precision": "ns"},
        )
    else:
        server.create_database("bench")
        influx = {"url": server.url, "api": "v1", "database": "bench"}
        url, params = f"{server.url}/write", {"db": "bench", "precision": "ns"}
    config = make_config(broker, influx, tmp, args.batch)
    seconds = int(args.minutes * 60)
    # Both write the same series (created by a warm-up write), at different times.
    enterprise = f"bench-{name}"
    post_loop(
        url, params, lines_of(windows(args.devices, range(1), args.points, enterprise)), 10**6
    )
    posted = windows(args.devices, range(1, seconds + 1), args.points, enterprise)
    lines = lines_of(posted)
    post_rate = post_loop(url, params, lines, args.batch)
    backlog = windows(args.devices, range(seconds + 1, 2 * seconds + 1), args.points, enterprise)
    create_session(config)
    publish_backlog(broker, backlog)
    result = run_worker(config, len(lines), timeout=600)
    # The plain loop again after the worker: servers slow down as they fill (compaction),
    # so the baseline is the mean of one loop before and one after.
    after = lines_of(
        windows(args.devices, range(2 * seconds + 1, 3 * seconds + 1), args.points, enterprise)
    )
    post_after = post_loop(url, params, after, args.batch)
    post_rate = (post_rate + post_after) / 2
    ratio = result.rate / post_rate
    verdict = "PASS" if ratio >= TARGET else "MISS"
    print(
        f"{name:<17} plain POST {post_rate:>11,.0f} pts/s  worker {result.rate:>11,.0f} pts/s  "
        f"ratio {ratio:.2f}  cpu {result.cpu_us:.2f} us/pt  rss +{result.rss_mb:.0f} MB  "
        f"points {result.points:,}/{len(lines):,}"
    )
    split = {k: result.threads_us.get(k, 0.0) for k in ("ingest", "ingest-writer", "other")}
    print(
        f"{'':<17} cpu by thread: mqtt + parse {split['ingest']:.2f} us/pt, "
        f"writer {split['ingest-writer']:.2f}, bench and other {split['other']:.2f}"
    )
    print(f"{verdict} {name}: one worker {ratio:.2f} x plain POST (target >= {TARGET})")
    return result.points >= len(lines) and result.dead == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--points", type=int, default=20, help="points per telemetry window")
    parser.add_argument("--minutes", type=float, default=10.0, help="backlog length")
    parser.add_argument("--batch", type=int, default=5000, help="lines per write")
    parser.add_argument("--quick", action="store_true", help="20 devices x 1 minute")
    args = parser.parse_args()
    if args.quick:
        args.devices, args.minutes = 20, 1.0
    print(
        f"backlog: {args.devices} devices x {args.points} points x {args.minutes:g} min "
        f"= {int(args.devices * args.points * args.minutes * 60):,} points, batch {args.batch}"
    )
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        with Mosquitto(tmp / "mosquitto", extra_config=QUEUE) as broker:
            with VictoriaMetrics(tmp / "vm") as vm:
                ok &= bench_server("victoria-metrics", broker, vm, args, tmp)
            with InfluxDB1(tmp / "influx") as influx:
                ok &= bench_server("influxdb-1.6.7", broker, influx, args, tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
