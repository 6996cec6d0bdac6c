"""Write rounds while the next ones are collected: the worker's two stages.

Converting messages costs CPU in this process; a write mostly waits for the server.
Done one after the other, a worker reaches at best server / (server + convert) of the
server's limit; overlapped, max(server, convert). :class:`BatchWriter` is the second
stage: a thread that takes finished rounds in order, delivers each batch
(gateway.ingest.delivery) and then acknowledges every message of the round at once
(one call, one wake-up of the network loop). Handing a round over never waits, so the
collecting thread, which also runs the MQTT connection, keeps its keepalive going while
InfluxDB is away; it hands over at most two rounds ahead (:attr:`BatchWriter.queued`,
gateway.ingest.service) and holds the rest back.

On stop, a delivery waiting for InfluxDB gives up and nothing of its round is
acknowledged; rounds still queued are dropped unacknowledged. The broker delivers
them again to the worker's next session.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from gateway.ingest.delivery import Delivery
from gateway.ingest.model import Message, Round

__all__ = ["BatchWriter"]

log = logging.getLogger(__name__)

_POLL_S = 0.2


class BatchWriter:
    """The delivery thread; ``done(round)`` is called after a round's acks."""

    def __init__(
        self,
        delivery: Delivery,
        ack_all: Callable[[Sequence[Message]], None],
        done: Callable[[Round], None],
        stop: threading.Event,
    ) -> None:
        self._delivery = delivery
        self._ack_all = ack_all
        self._done = done
        self._stop = stop
        self._rounds: deque[Round] = deque()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.failed: BaseException | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(self, work: Round) -> bool:
        """Queue ``work`` behind the rounds before it (never waits); False once stopping."""
        if self._stop.is_set() or not self._thread.is_alive():
            return False
        self._rounds.append(work)
        self._ready.set()
        return True

    @property
    def queued(self) -> int:
        """Rounds waiting for the writer (not counting the one it is writing)."""
        return len(self._rounds)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (call after setting ``stop``)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._rounds:
                    self._ready.wait(_POLL_S)
                    self._ready.clear()  # a submit after this is seen by the check above
                    continue
                work = self._rounds.popleft()
                if work.batch and not self._delivery.deliver(work.batch):
                    return  # stopping while InfluxDB was away: nothing is acknowledged
                self._ack_all(work.received)
                self._done(work)
        except BaseException as exc:  # a bug: stop the worker rather than ack blindly
            log.exception("The ingest writer failed; stopping")
            self.failed = exc
            self._stop.set()
