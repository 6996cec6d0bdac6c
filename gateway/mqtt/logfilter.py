"""First occurrence loud, repeats counted and summarised (STYLE.md, log floods).

aiomqtt warns ``There are N pending publish calls`` on every publish while a backlog
drains (about 900 lines per outage), and a full disk would log the same complaint on
every poll. :class:`RepeatSummary` is a :class:`logging.Filter`: the first record of a
message template passes; later ones within ``window_s`` are swallowed and counted, and
the next record after the window carries a note saying how many were left out.
Templates (``record.msg``), not rendered text, are compared, so ``%d`` counts that
change on every call still count as one message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["RepeatSummary"]

_TEMPLATES = 256  # distinct templates remembered; the oldest is forgotten beyond that


class RepeatSummary(logging.Filter):
    """Pass a message template once per ``window_s``, counting the repeats in between."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record``; a repeat inside the window is counted instead."""
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        since, repeats = self._seen.get(key, (-float("inf"), 0))
        if now - since < self.window_s:
            self._seen[key] = (since, repeats + 1)
            self.suppressed += 1
            return False
        if repeats:
            record.msg = f"{record.msg} [repeated {repeats} times in the last {now - since:.0f} s]"
        self._seen.pop(key, None)
        self._seen[key] = (now, 0)
        while len(self._seen) > _TEMPLATES:
            del self._seen[next(iter(self._seen))]
        return True
