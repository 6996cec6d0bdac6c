"""The delivery policy by error class, against a scripted in-process writer."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from gateway.ingest.convert import Rows
from gateway.ingest.delivery import MAX_BACKOFF_S, REFUSED_BACKOFF_S, Delivery
from gateway.ingest.metrics import IngestStats
from gateway.ingest.model import Message, Pending
from gateway.ingest.writer import Verdict, WriteResult


def _pending(n: int) -> list[Pending]:
    return [
        Pending(Message(i + 1, 1, 1, f"t/{i}", b"{}"), Rows.of((f"m v={i}i {i}",), float(i)))
        for i in range(n)
    ]


class Clock(threading.Event):
    """A stop event whose waits are recorded instead of slept."""

    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.waits: list[float] = []
        self._stop_after = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        if self._stop_after is not None and len(self.waits) >= self._stop_after:
            self.set()
        return self.is_set()


class Server:
    """Answers each body with ``answer(body)``; remembers the bodies."""

    def __init__(self, answer: Callable[[bytes], WriteResult]) -> None:
        self.bodies: list[bytes] = []
        self._answer = answer

    def write(self, body: bytes) -> WriteResult:
        self.bodies.append(body)
        return self._answer(body)


def _run(
    server: Server, batch: list[Pending], clock: Clock | None = None
) -> tuple[bool, list[tuple[str, str]], IngestStats, Clock]:
    dead: list[tuple[str, str]] = []
    stats = IngestStats()
    clock = clock or Clock()
    delivery = Delivery(server.write, lambda p, r: dead.append((p.message.topic, r)), stats, clock)
    return delivery.deliver(batch), dead, stats, clock


def _script(*results: WriteResult) -> Callable[[bytes], WriteResult]:
    queue = list(results)
    return lambda _body: queue.pop(0) if queue else WriteResult(Verdict.OK)


def test_one_write_for_a_good_batch() -> None:
    server = Server(_script())
    done, dead, stats, _ = _run(server, _pending(3))
    assert done and not dead
    assert server.bodies == [b"m v=0i 0\nm v=1i 1\nm v=2i 2"]
    assert (stats.points_written, stats.messages_written, stats.batches) == (3, 3, 1)


def test_retries_back_off_exponentially_and_honour_retry_after() -> None:
    retry = WriteResult(Verdict.RETRY, "HTTP 503", status=503)
    server = Server(_script(retry, retry, WriteResult(Verdict.RETRY, "429", 7.0, 429), retry))
    done, dead, stats, clock = _run(server, _pending(2))
    assert done and not dead
    assert clock.waits == [0.5, 1.0, 7.0, 4.0]
    assert stats.retries == {"throttle": 4}
    assert not stats.write_failing


def test_backoff_is_capped() -> None:
    server = Server(_script(*[WriteResult(Verdict.RETRY, "refused")] * 12))
    _, _, stats, clock = _run(server, _pending(1))
    assert max(clock.waits) == MAX_BACKOFF_S
    assert stats.retries == {"connection": 12}


def test_refused_writes_wait_long_and_are_never_acknowledged_or_dropped() -> None:
    server = Server(lambda _b: WriteResult(Verdict.REFUSED, "HTTP 401: unauthorized", status=401))
    done, dead, stats, clock = _run(server, _pending(2), Clock(stop_after=3))
    assert not done and not dead
    assert clock.waits == [REFUSED_BACKOFF_S] * 3
    assert stats.retries == {"refused": 3} and stats.write_failing
    assert stats.points_written == 0


def test_too_large_batches_are_split_until_they_fit() -> None:
    server = Server(lambda b: WriteResult(Verdict.TOO_LARGE if b.count(b"\n") >= 2 else Verdict.OK))
    done, dead, stats, _ = _run(server, _pending(8))
    assert done and not dead
    assert stats.points_written == 8
    assert max(b.count(b"\n") for b in server.bodies if b"m v=0i" in b) >= 2


@pytest.mark.parametrize("bad", [{3}, {0, 7}, {4, 5, 6}, set(range(8))])
def test_bad_data_is_bisected_down_to_the_offending_messages(bad: set[int]) -> None:
    def answer(body: bytes) -> WriteResult:
        values = {int(line.split(b"=")[1].split(b"i")[0]) for line in body.split(b"\n")}
        if values & bad:
            return WriteResult(Verdict.BAD_DATA, "HTTP 400: field type conflict", status=400)
        return WriteResult(Verdict.OK)

    done, dead, stats, _ = _run(Server(answer), _pending(8))
    assert done
    assert sorted(dead) == sorted((f"t/{i}", "HTTP 400: field type conflict") for i in bad)
    assert stats.messages_written == 8 - len(bad)
