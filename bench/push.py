"""Push bench: events/s through one push worker, and latency at a realistic rate.

    python3 bench/push.py [--events 3000] [--rate 200] [--seconds 10]
    python3 bench/push.py --quick      # 600 events, 100/s for 4 s, < 30 s

What one run does:

1. starts Mosquitto (``tests.harness.Mosquitto``, ``max_queued_messages 100000``), a local
   HTTP receiver in its own process that verifies every HMAC signature itself
   (tests/integration/push/receiver.py), and the push service
   in this process (``PushService``: the production path, one ``webhook`` channel, so one
   worker task, queue on disk with ``synchronous=FULL``);
2. **throughput**: publishes ``--events`` alarm events as fast as a paho client can (QoS 1)
   and times from the first publish until the receiver verified the last one;
3. **baseline**: the same number of signed POSTs from a plain sequential ``httpx.Client``
   loop to the same receiver (no MQTT, no queue): the ceiling of one HTTP connection here;
4. **latency**: publishes at ``--rate`` events/s for ``--seconds`` and prints p50/p90/p99/max
   of (a) push's own latency, MQTT arrival -> receiver's 2xx committed in the queue, and
   (b) publish -> receiver (adds the MQTT hop);
5. prints PASS/MISS for the targets this bench sets (the issue gives none): p99 of (a)
   <= 100 ms at >= 100 events/s, and throughput >= 100 events/s.

Exit 1 only when something broke (events lost, bad signatures).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from gateway.contracts import alarm_topic  # noqa: E402
from tests.harness import Mosquitto  # noqa: E402
from tests.harness.mqtt_probe import MqttProbe  # noqa: E402
from tests.harness.waiting import wait_for  # noqa: E402
from tests.integration.push.pushkit import (  # noqa: E402
    HMAC_KEY,
    PushThread,
    alarm,
    manifest,
    point,
    publish_manifest,
    webhook,
    write_config,
    write_keys,
)

# Mosquitto queues at most 1000 messages per client by default and drops QoS 1 beyond
# that: a burst of thousands published at once would overflow push's queue at the broker.
BROKER_CONFIG = "max_queued_messages 100000\n"
TARGET_P99_MS = 100.0
TARGET_EVENTS_S = 100.0


def _publisher(broker: Mosquitto) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    client.max_inflight_messages_set(100)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _payloads(count: int, start: int) -> list[tuple[str, str, bytes]]:
    out = []
    for seq in range(start, start + count):
        event = alarm(seq, device=f"gas-0{1 + seq % 4}")
        topic = alarm_topic(event.enterprise, event.site, event.device, event.point)
        out.append((event.event_id, topic, json.dumps(event.to_dict()).encode()))
    return out


class RemoteReceiver:
    """The verifying receiver in its own process, so it does not share push's GIL."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.push.receiver"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"receiver did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def got(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/got", timeout=10) as answer:
            body: dict[str, Any] = json.load(answer)
            return body

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def _received(receiver: RemoteReceiver) -> dict[str, float]:
    return {event_id: t for event_id, t in receiver.got()["webhook"] if event_id}


def throughput(client: mqtt.Client, receiver: RemoteReceiver, count: int) -> float:
    payloads = _payloads(count, 1)
    started = time.time()
    for _, topic, body in payloads:
        client.publish(topic, body, qos=1)
    ids = {p[0] for p in payloads}
    wait_for(lambda: ids <= _received(receiver).keys(), 120, "all events at the receiver", 0.2)
    return count / (max(_received(receiver)[i] for i in ids) - started)


def baseline(receiver: RemoteReceiver, count: int) -> float:
    bodies = [body for _, _, body in _payloads(count, 10_000_000)]
    with httpx.Client() as http:
        started = time.perf_counter()
        for body in bodies:
            stamp = str(int(time.time()))
            mac = hmac.new(HMAC_KEY, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers = {"X-Hazard-Timestamp": stamp, "X-Hazard-Signature": f"sha256={mac}"}
            http.post(receiver.url + "/webhook", content=body, headers=headers).raise_for_status()
        return count / (time.perf_counter() - started)


def latency(
    client: mqtt.Client, receiver: RemoteReceiver, rate: float, seconds: float
) -> list[float]:
    payloads = _payloads(int(rate * seconds), 20_000_000)
    sent: dict[str, float] = {}
    start = time.perf_counter()
    for n, (event_id, topic, body) in enumerate(payloads):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[event_id] = time.time()
        client.publish(topic, body, qos=1)
    wait_for(lambda: sent.keys() <= _received(receiver).keys(), 60, "latency events", 0.2)
    got = _received(receiver)
    return sorted((got[k] - t) * 1000 for k, t in sent.items())


def _line(label: str, values: list[float]) -> str:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"{label:<34} n {len(values):>5}  p50 {q[49]:7.1f}  p90 {q[89]:7.1f}  "
        f"p99 {q[98]:7.1f}  max {max(values):7.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=None, help="throughput events (3000; quick 600)"
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="latency rate, events/s (200; quick 100)"
    )
    parser.add_argument("--seconds", type=float, default=None, help="latency phase (10; quick 4)")
    parser.add_argument("--quick", action="store_true", help="short run for the test suite")
    args = parser.parse_args()
    events = args.events or (600 if args.quick else 3000)
    rate = args.rate or (100.0 if args.quick else 200.0)
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    with (
        tempfile.TemporaryDirectory(prefix="push-bench-") as tmp,
        Mosquitto(Path(tmp) / "mq", extra_config=BROKER_CONFIG) as broker,
    ):
        folder = Path(tmp)
        keys = write_keys(folder / "keys")
        receiver = RemoteReceiver()
        with MqttProbe(broker.host, broker.port).connect() as probe:
            publish_manifest(probe, manifest({f"gas-0{i}": [point("gas", i)] for i in range(1, 5)}))
        config = write_config(
            folder / "push.json", broker.url, [webhook("wh", receiver.url + "/webhook", keys)]
        )
        push = PushThread(config).start()
        client = _publisher(broker)
        try:
            per_s = throughput(client, receiver, events)
            plain = baseline(receiver, events)
            push.service.workers[0].counters.latencies.clear()
            e2e = latency(client, receiver, rate, seconds)
            wait_for(
                lambda: len(push.service.workers[0].counters.latencies) >= len(e2e), 10, "commits"
            )
            own = sorted(x * 1000 for x in push.service.workers[0].counters.latencies)
            stats = push.service.stats().channels[0].queue
            final = receiver.got()
        finally:
            client.loop_stop()
            client.disconnect()
            push.stop()
            receiver.stop()
    bad = final["bad_signatures"]
    print(f"throughput: {events} events, one push worker: {per_s:,.0f} events/s")
    print(
        f"baseline  : plain sequential signed POST loop (httpx): {plain:,.0f} events/s; "
        f"ratio {per_s / plain:.2f}"
    )
    print(f"latency at {rate:g} events/s for {seconds:g} s:")
    print(_line("push (MQTT arrival -> 2xx)", own))
    print(_line("total (publish -> receiver)", e2e))
    print(
        f"queue: delivered {stats.delivered}, retries {stats.retries}, dead {stats.dead}; "
        f"bad signatures {bad}"
    )
    p99 = statistics.quantiles(own, n=100, method="inclusive")[98]
    ok = p99 <= TARGET_P99_MS and per_s >= TARGET_EVENTS_S and rate >= 100
    verdict = "PASS" if ok else "MISS"
    print(
        f"{verdict}  push p99 {p99:.1f} ms at {rate:g} events/s (target <= {TARGET_P99_MS:g} ms), "
        f"throughput {per_s:,.0f} events/s (target >= {TARGET_EVENTS_S:g})"
    )
    return 1 if bad or stats.dead else 0


if __name__ == "__main__":
    sys.exit(main())
