"""The writer stage acknowledges a round only after its batch is delivered, in order."""

from __future__ import annotations

import threading

from gateway.ingest.convert import Rows
from gateway.ingest.delivery import Delivery
from gateway.ingest.metrics import IngestStats
from gateway.ingest.model import Message, Pending, Round
from gateway.ingest.pipeline import BatchWriter
from gateway.ingest.writer import Verdict, WriteResult


def _round(mids: range, stored: bool = True) -> Round:
    work = Round()
    for mid in mids:
        message = Message(mid, 1, 1, "t", b"")
        work.received.append(message)
        if stored:
            work.add(Pending(message, Rows.of((f"m v={mid}i {mid}",), float(mid))))
    return work


def _writer(verdict: Verdict) -> tuple[BatchWriter, list[int], list[Round], threading.Event]:
    stop = threading.Event()
    acked: list[int] = []
    done: list[Round] = []
    delivery = Delivery(
        lambda _b: WriteResult(verdict), lambda _p, _r: None, IngestStats(), stop,
        base_backoff_s=0.01, max_backoff_s=0.01,
    )  # fmt: skip
    writer = BatchWriter(delivery, lambda ms: acked.extend(m.mid for m in ms), done.append, stop)
    writer.start()
    return writer, acked, done, stop


def test_rounds_are_acknowledged_in_order_once_written() -> None:
    writer, acked, done, stop = _writer(Verdict.OK)
    first, second = _round(range(1, 4)), _round(range(4, 6), stored=False)
    assert writer.submit(first) and writer.submit(second)
    deadline = threading.Event()
    while len(done) < 2 and not deadline.wait(0.01):
        pass
    stop.set()
    writer.join(5)
    assert acked == [1, 2, 3, 4, 5]
    assert done == [first, second]
    assert writer.failed is None


def test_nothing_is_acknowledged_while_writes_fail_and_stop_ends_the_thread() -> None:
    writer, acked, done, stop = _writer(Verdict.RETRY)
    assert writer.submit(_round(range(1, 3)))
    threading.Event().wait(0.2)
    stop.set()
    writer.join(5)
    assert acked == [] and done == []
    assert not writer.submit(_round(range(3, 4)))
