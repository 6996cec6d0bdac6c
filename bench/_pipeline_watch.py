"""The subscriber of bench/pipeline.py: status, alarms and telemetry of one site.

At every retained status message (``online``) the paho network thread samples, in this
order and at once, the CPU time of the edge and of every simulator process (psutil), the
edge's RSS and its anonymous part (``status_mib``), the machine's CPU times and the
run-queue wait of the edge's main thread (/proc/PID/schedstat), so that two statuses
bound a measurement window exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
import psutil
from _pipeline_sites import ENTERPRISE
from _pipeline_steal import WindowCount
from paho.mqtt.enums import CallbackAPIVersion

from gateway.contracts.telemetry import parse_window
from gateway.errors import ContractError

if TYPE_CHECKING:
    from tests.harness import Mosquitto

__all__ = ["Sample", "Watcher", "busy_share", "cpu_s", "runq_s", "status_mib", "steal_share"]


@dataclass
class Sample:
    """One status message and what the subscriber measured when it arrived."""

    arrival: float
    mono: float
    body: dict[str, Any]
    edge_cpu: float
    sim_cpu: list[float]
    machine: Any
    rss: int
    anon_mib: float  # RssAnon: the edge's own memory, without the libraries' file pages
    runq_s: float


class Watcher:
    """paho subscriber for one site; samples CPU and RSS at each status arrival."""

    def __init__(self, broker: Mosquitto, site: str, edge: psutil.Process | None = None) -> None:
        self.prefix = f"hazard/v1/{ENTERPRISE}/{site}"
        self.edge: psutil.Process | None = edge
        self.sims: list[psutil.Process] = []
        self.statuses: list[Sample] = []
        self.alarms: list[tuple[float, dict[str, Any]]] = []
        self.telemetry: list[float] = []
        self.windows: list[WindowCount] = []
        self.lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pipeline-{site}")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not self._ready.wait(10.0):
            self.stop()
            raise SystemExit("subscriber: no CONNACK/SUBACK from the broker")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        topics = ["status", "alarm/#", "+/telemetry"]
        client.subscribe([(f"{self.prefix}/{t}", 1) for t in topics])

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.time()
        topic = message.topic[len(self.prefix) + 1 :]
        if topic.endswith("/telemetry"):
            window = _window_count(message.payload)
            with self.lock:
                self.telemetry.append(now)
                if window is not None:
                    self.windows.append(window)
        elif topic.startswith("alarm/"):
            with self.lock:
                self.alarms.append((now, json.loads(message.payload)))
        elif topic == "status":
            body = json.loads(message.payload)
            if body.get("state") == "online" and self.edge is not None:
                self._sample(now, body)

    def _sample(self, now: float, body: dict[str, Any]) -> None:
        try:
            edge_cpu = cpu_s(self.edge)
            rss = self.edge.memory_info().rss if self.edge else 0
            sims = [cpu_s(p) for p in self.sims]
        except psutil.Error:
            return  # a process is gone; the main loop notices
        runq = runq_s(self.edge.pid) if self.edge else 0.0
        anon = status_mib(self.edge.pid, "RssAnon") if self.edge else 0.0
        machine = psutil.cpu_times()
        sample = Sample(now, time.monotonic(), body, edge_cpu, sims, machine, rss, anon, runq)
        with self.lock:
            self.statuses.append(sample)

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        with contextlib.suppress(Exception):
            self.client.disconnect()
        with contextlib.suppress(Exception):
            self.client.loop_stop()


def _window_count(payload: bytes | bytearray) -> WindowCount | None:
    """The window's device, start, length and most samples of a point (None: unreadable).

    Read with the contract's own parser, as ingest reads it.
    """
    try:
        wire, start = parse_window(bytes(payload))
    except ContractError:
        return None
    counts = [p["count"] for p in wire["points"].values()]
    if not counts:
        return None
    return WindowCount(wire["device"], start, wire["window_s"], max(counts))


def cpu_s(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    times = proc.cpu_times()
    return float(times.user + times.system)


def status_mib(pid: int, field: str) -> float:
    """A memory line of /proc/PID/status (``VmHWM``, ``RssAnon``...) in MiB; NaN if gone.

    RSS counts the pages of shared libraries mapped from the page cache too: llvmlite's
    179 MB library alone adds 43 MB after a cold start and 105 MB once the page cache holds
    it in large folios (the same code, bench/README.md "Eighth pass"). ``RssAnon`` is the
    memory the process itself allocated, which that state does not change.
    """
    with contextlib.suppress(OSError, IndexError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return math.nan


def runq_s(pid: int) -> float:
    """Seconds the edge's main (event loop) thread has waited, runnable, for a CPU."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return math.nan


def steal_share(t0: Any, t1: Any) -> float:
    """Share of all cores the hypervisor gave to other guests (0 on bare metal)."""
    total = sum(t1) - sum(t0)
    stolen = getattr(t1, "steal", 0.0) - getattr(t0, "steal", 0.0)
    return stolen / total if total > 0 else float("nan")


def busy_share(t0: Any, t1: Any) -> float:
    """Share of all cores that was busy between two psutil.cpu_times() snapshots."""
    idle = (t1.idle + getattr(t1, "iowait", 0.0)) - (t0.idle + getattr(t0, "iowait", 0.0))
    total = sum(t1) - sum(t0)
    return 1.0 - idle / total if total > 0 else float("nan")
