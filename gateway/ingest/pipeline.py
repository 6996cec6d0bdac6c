"""Write one round while the next is collected: the worker's two stages.

Converting messages costs CPU in this process; a write mostly waits for the server.
Done one after the other, a worker reaches at best server / (server + convert) of the
server's limit; overlapped, max(server, convert). :class:`BatchWriter` is the second
stage: a thread that takes finished rounds from a queue of one, delivers each batch
(gateway.ingest.delivery) and then acknowledges every message of the round, in order.
The queue of one bounds memory to two rounds, and MQTT's Receive Maximum bounds the
unacknowledged messages of both together.

On stop, a delivery waiting for InfluxDB gives up and nothing of its round is
acknowledged; a round still queued is dropped unacknowledged. The broker delivers
both again to the worker's next session.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

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
        ack: Callable[[Message], None],
        done: Callable[[Round], None],
        stop: threading.Event,
    ) -> None:
        self._delivery = delivery
        self._ack = ack
        self._done = done
        self._stop = stop
        self._rounds: queue.Queue[Round] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.failed: BaseException | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def submit(self, work: Round) -> bool:
        """Queue ``work`` (waits while a round is already queued); False once stopping."""
        while not self._stop.is_set() and self._thread.is_alive():
            try:
                self._rounds.put(work, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (call after setting ``stop``)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    work = self._rounds.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if work.batch and not self._delivery.deliver(work.batch):
                    return  # stopping while InfluxDB was away: nothing is acknowledged
                for message in work.received:
                    self._ack(message)
                self._done(work)
        except BaseException as exc:  # a bug: stop the worker rather than ack blindly
            log.exception("The ingest writer failed; stopping")
            self.failed = exc
            self._stop.set()
