"""Disposition time limits (闭环): an activation not disposed of in time is pushed as overdue.

An activation is an ``active`` alarm event; it is closed by a ``disposition`` event whose
``activation_id`` is that event's ``event_id`` (gateway/alarms/commands.py). An activation
still open ``periods.disposition_limit_s`` after its ``ts`` becomes one OVERDUE item, once,
and is counted. Open activations live in memory: after a restart, push learns again only
of activations it receives (the edge's journal and ``hazard-gateway history`` keep the
full record).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.contracts import AlarmEvent, AlarmState
from gateway.push.items import ItemKind, PushItem, item_key
from gateway.timeutil import rfc3339

__all__ = ["Dispositions"]


@dataclass
class _Open:
    event: AlarmEvent
    since: float
    pushed: bool = False


class Dispositions:
    """Open activations and their deadlines."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.overdue = 0
        self._open: dict[str, _Open] = {}

    def on_event(self, event: AlarmEvent, now: float) -> None:
        """Track an activation, or close one on its disposition."""
        if event.state is AlarmState.ACTIVE:
            self._open.setdefault(event.event_id, _Open(event, min(event.epoch, now)))
        elif event.state is AlarmState.DISPOSITION and event.activation_id:
            self._open.pop(event.activation_id, None)

    def due(self, now: float) -> list[PushItem]:
        """OVERDUE items for activations past the limit (each pushed once)."""
        out = []
        for entry in self._open.values():
            if entry.pushed or now - entry.since < self.limit_s:
                continue
            entry.pushed = True
            self.overdue += 1
            event = entry.event
            out.append(
                PushItem(
                    kind=ItemKind.OVERDUE,
                    key=item_key(ItemKind.OVERDUE, event.event_id),
                    enterprise=event.enterprise,
                    site=event.site,
                    ts=rfc3339(now),
                    received=now,
                    event=event,
                    overdue_after_s=self.limit_s,
                    reason=f"no disposition {self.limit_s:g} s after activation",
                )
            )
        return out

    @property
    def open_count(self) -> int:
        """Activations without a disposition yet."""
        return len(self._open)
