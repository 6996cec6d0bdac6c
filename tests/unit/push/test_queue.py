"""The channel queue: order, de-duplication, delivery, retry, dead-letter, reopening."""

from __future__ import annotations

from pathlib import Path

from gateway.push.queue import ChannelQueue
from tests.unit.push.helpers import alarm_item


def test_order_dedup_and_delivery_survive_reopen(tmp_path: Path) -> None:
    queue = ChannelQueue(tmp_path / "q.sqlite")
    items = [alarm_item(i) for i in range(1, 5)]
    assert [queue.put(i, 100.0) for i in items] == [True] * 4
    assert not queue.put(items[0], 101.0), "the same key is queued once"
    rows = queue.head(2)
    assert [i.key for _, i in rows] == [items[0].key, items[1].key]
    queue.delivered([r for r, _ in rows], 110.0)
    assert not queue.put(items[0], 111.0), "a redelivered, delivered event is not sent again"
    queue.failed([queue.head(1)[0][0]], "retry: HTTP 503", 112.0)
    queue.close()
    again = ChannelQueue(tmp_path / "q.sqlite")
    stats = again.stats()
    assert (stats.backlog, stats.delivered, stats.retries, stats.oldest) == (2, 2, 1, 100.0)
    assert stats.last_success == 110.0 and stats.last_error == "retry: HTTP 503"
    assert [i.key for _, i in again.head(10)] == [items[2].key, items[3].key]
    again.close()


def test_dead_letter_keeps_item_and_reason(tmp_path: Path) -> None:
    queue = ChannelQueue(tmp_path / "q.sqlite")
    item = alarm_item(1)
    queue.put(item, 1.0)
    queue.dead_letter([queue.head(1)[0][0]], "rejected: HTTP 422: bad", 2.0)
    assert queue.head(5) == []
    assert queue.dead_items() == [(item, "rejected: HTTP 422: bad")]
    assert queue.stats().dead == 1
    queue.close()
