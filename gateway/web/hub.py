"""Server-sent events: one batch per tick to every open page.

MQTT messages only mark keys dirty in the live state; every ``tick_s`` the hub collects
what changed (point values, site rows, and the whole console list when any alarm
changed: it is short) into one JSON batch stamped with the server time ``t`` (ms), and
hands it to each client's queue. A page therefore gets at most one update per tick, and
the browser applies it in one animation frame. A client too slow to keep up is not
allowed to grow memory: its queue is bounded, and on overflow it is told to resync
(fetch a fresh snapshot) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from gateway.web.state import LiveState

__all__ = ["Hub"]

log = logging.getLogger(__name__)

QUEUE_SIZE = 8
_RESYNC = json.dumps({"resync": True})


class Hub:
    """Fan-out of per-tick batches to SSE clients."""

    def __init__(self, state: LiveState, tick_s: float) -> None:
        self.state = state
        self.tick_s = tick_s
        self.clients: set[asyncio.Queue[str]] = set()
        self.batches = 0
        self.overflows = 0

    def subscribe(self) -> asyncio.Queue[str]:
        """A queue that receives every batch from now on."""
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop sending to ``queue``."""
        self.clients.discard(queue)

    def collect(self) -> dict[str, Any] | None:
        """What changed since the last call, as one batch (None: nothing)."""
        state = self.state
        if not (state.dirty_points or state.dirty_sites or state.alarms_changed):
            return None
        batch: dict[str, Any] = {
            "t": round(time.time() * 1000),
            "points": {key: state.point_row(key) for key in state.dirty_points},
            "sites": [state.overview_row(key) for key in state.dirty_sites],
        }
        if state.alarms_changed:
            batch["alarms"] = [row.to_dict() for row in state.active()]
        state.dirty_points.clear()
        state.dirty_sites.clear()
        state.alarms_changed = False
        return batch

    def broadcast(self) -> None:
        """Collect one batch and queue it for every client."""
        batch = self.collect()
        if batch is None:
            return
        text = json.dumps(batch, separators=(",", ":"), ensure_ascii=False)
        self.batches += 1
        for queue in list(self.clients):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                self.overflows += 1
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(_RESYNC)

    async def run(self) -> None:
        """Broadcast every tick until cancelled."""
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.broadcast()
            except Exception:  # one bad batch must not stop the live view
                log.exception("SSE batch failed")

    @staticmethod
    async def cancel(task: asyncio.Task[None]) -> None:
        """Stop a ``run`` task."""
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
